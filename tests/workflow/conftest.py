"""Workflow tests run the real Snakefile in a copy of the project on the smoke experiment."""

from __future__ import annotations

from pathlib import Path

import pytest

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
