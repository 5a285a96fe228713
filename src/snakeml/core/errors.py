"""The library's own errors: each message names the problem and what would fix it."""

from __future__ import annotations

from collections.abc import Sequence


class SnakemlError(Exception):
    """Base class of every error snakeml raises on purpose."""


class ConfigError(SnakemlError):
    """The composed configuration is invalid (unknown key, wrong type, impossible value)."""


class DataError(SnakemlError):
    """Input data does not have the columns, types or values the pipeline needs."""


class ModelLoadError(SnakemlError):
    """A saved model cannot be loaded safely."""


class SettingError(ConfigError):
    """A setting holds a value it cannot take: names the key, the value and what it must be."""

    def __init__(self, key: str, value: object, requirement: str, hint: str = "") -> None:
        self.key, self.value, self.requirement, self.hint = key, value, requirement, hint
        message = f"{key} = {show_value(value)}: must be {requirement}"
        super().__init__(f"{message} ({hint})" if hint else message)

    def with_hint(self, hint: str) -> SettingError:
        """The same error, saying where the setting is set."""
        return SettingError(self.key, self.value, self.requirement, hint)


def show_value(value: object) -> str:
    """A setting's value as YAML would write it: null, true, 'text', nan, [1, 2]."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show_value(item) for item in value) + "]"
    return str(value)


def closest_name(name: str, known: Sequence[str]) -> str | None:
    """The name of ``known`` closest to a misspelt ``name`` (difflib ratio >= 0.6), or None."""
    import difflib

    close = difflib.get_close_matches(name, known, n=1)
    return close[0] if close else None
