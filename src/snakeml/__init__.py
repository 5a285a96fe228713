"""snakeml: a reproducible tabular machine-learning pipeline."""

__version__ = "0.1.0"
