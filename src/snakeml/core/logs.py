"""One logging setup for every rule: the rule's log file and stderr, one format."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


class NoInterruptTraceback(logging.Filter):
    """Drop the traceback of a record about Ctrl-C (Optuna logs a trial it stopped with one).

    The interrupt is reported once, as one line, by snakeml.operations.rule.run_rule.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], KeyboardInterrupt):
            record.exc_info = None
            record.exc_text = None
        return True


def setup_logging(log_file: str | Path | None = None, level: int = logging.INFO) -> logging.Logger:
    """Send snakeml's log records to ``log_file`` (truncated) and stderr; return the root logger."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    formatter = logging.Formatter(LOG_FORMAT, DATE_FORMAT)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        path = Path(log_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(path, mode="w", encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(NoInterruptTraceback())
        root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
    return root
