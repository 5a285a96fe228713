"""Workflow tests run the real Snakefile in a copy of the project on the smoke experiment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.workflow.browser import chromium_unavailable
from tests.workflow.project import copy_project, copy_run


@pytest.fixture(scope="session")
def smoke_project(smoke_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This worker's copy of the smoke run, which its tests may add to (scoring new rows)."""
    return copy_run(smoke_build, tmp_path_factory.mktemp("smoke") / "project")


@pytest.fixture
def fresh_project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


@pytest.fixture
def smoke_copy(smoke_build: Path, tmp_path: Path) -> Path:
    """A copy of the smoke run, outputs and Snakemake's records included, to change freely."""
    return copy_run(smoke_build, tmp_path / "project")


@pytest.fixture(scope="session")
def chromium() -> None:
    """Skip without chromium, unless SNAKEML_REQUIRE_SERVICES=1 (CI): then fail."""
    reason = chromium_unavailable()
    if reason is None:
        return
    if os.environ.get("SNAKEML_REQUIRE_SERVICES") == "1":
        pytest.fail(f"SNAKEML_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)
