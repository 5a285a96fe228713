"""Workflow tests run the real Snakefile in a copy of the project on the smoke experiment."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.workflow.browser import chromium_unavailable
from tests.workflow.project import copy_project, snakemake


@pytest.fixture(scope="session")
def smoke_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project copy on which the smoke experiment has run once, successfully."""
    workdir = copy_project(tmp_path_factory.mktemp("smoke") / "project")
    run = snakemake(workdir)
    assert run.returncode == 0, run.output[-5000:]
    return workdir


@pytest.fixture
def fresh_project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


@pytest.fixture
def smoke_copy(smoke_project: Path, tmp_path: Path) -> Path:
    """A copy of the smoke project, outputs and Snakemake's records included, to change freely."""
    target = tmp_path / "project"
    shutil.copytree(smoke_project, target, symlinks=True)
    return target


@pytest.fixture(scope="session")
def chromium() -> None:
    """Skip without chromium, unless SNAKEML_REQUIRE_SERVICES=1 (CI): then fail."""
    reason = chromium_unavailable()
    if reason is None:
        return
    if os.environ.get("SNAKEML_REQUIRE_SERVICES") == "1":
        pytest.fail(f"SNAKEML_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)
