"""Tests against real system services and optional extras. They skip with a reason where one
is missing, unless SNAKEML_REQUIRE_SERVICES=1 (set by .ci/run): then a missing one fails the run."""

from __future__ import annotations

import importlib.util
import os

import pytest


def unavailable(reason: str) -> None:
    """Skip with ``reason``, or fail under SNAKEML_REQUIRE_SERVICES=1."""
    if os.environ.get("SNAKEML_REQUIRE_SERVICES") == "1":
        pytest.fail(f"SNAKEML_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def require_module(module: str, install: str) -> None:
    """Skip (or fail, in CI) when ``module`` is not installed; ``install`` says how to add it."""
    if importlib.util.find_spec(module) is None:
        unavailable(f"{module} is not installed: {install}")
