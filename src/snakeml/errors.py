"""The library's own errors: each message names the problem and what would fix it."""


class SnakemlError(Exception):
    """Base class of every error snakeml raises on purpose."""


class ConfigError(SnakemlError):
    """The composed configuration is invalid (unknown key, wrong type, impossible value)."""


class DataError(SnakemlError):
    """Input data does not have the columns, types or values the pipeline needs."""


class ModelLoadError(SnakemlError):
    """A saved model cannot be loaded safely."""
