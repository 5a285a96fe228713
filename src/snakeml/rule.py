"""The one entry point every scripts/<rule>.py goes through."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from snakeml.errors import SnakemlError
from snakeml.logs import setup_logging


def run_rule(body: Callable[[Any], object], smk: Any) -> None:
    """Set up logging to the rule's log file, run ``body(smk)``, turn user errors into one line.

    A SnakemlError (bad data, bad config) is logged as a single line and exits non-zero; any
    other exception is a bug and keeps its traceback.
    """
    setup_logging(smk.log[0] if smk.log else None)
    log = logging.getLogger(f"snakeml.rule.{smk.rule}")
    try:
        body(smk)
    except SnakemlError as exc:
        log.error("%s: %s", smk.rule, exc)
        raise SystemExit(1) from None


def share_import_path(path: str) -> None:
    """Put ``path`` first on PYTHONPATH, so the scripts of jobs this process starts import it."""
    current = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != path]
    os.environ["PYTHONPATH"] = os.pathsep.join([path, *current])
