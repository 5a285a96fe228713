"""Projects on which the smoke experiment has run, built once per test run and shared by the
workflow, DVC and cluster tests (and by every pytest-xdist worker: see built_once)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.workflow.project import SEATTLE, SMOKE, built_once, copy_project, snakemake


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist, the workflow tests first: the many short unit tests then keep every
    worker busy to the end, instead of one long workflow test running alone.

    Among the workflow files (pytest-xdist hands out whole files), the first that reads the
    smoke build (tests/cluster aside: its tests run only where a cluster does), then the files
    that do not: while one worker builds it, the other runs those instead of waiting for the
    build's lock.
    """
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return
    smoke = {item.path for item in items if "smoke_build" in item.fixturenames}
    builder = next(
        (
            path
            for path in dict.fromkeys(i.path for i in items)
            if path in smoke and path.parent.name != "cluster"
        ),
        None,
    )

    def order(item: pytest.Item) -> tuple[bool, int]:
        if item.get_closest_marker("workflow") is None:
            return (True, 0)  # the unit tests in the order collected
        return (False, 0 if item.path == builder else 2 if item.path in smoke else 1)

    items.sort(key=order)


def run_in_copy(overrides: str) -> Callable[[Path], None]:
    """A build that runs ``overrides`` in a fresh copy of the project."""

    def build(workdir: Path) -> None:
        copy_project(workdir)
        run = snakemake(workdir, overrides)
        assert run.returncode == 0, run.output[-5000:]

    return build


@pytest.fixture(scope="session")
def smoke_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project copy on which the smoke experiment has run once, successfully. Shared by the
    whole run, so never changed: copy it (copy_run) to change it."""
    return built_once(tmp_path_factory, "smoke", run_in_copy(SMOKE))


@pytest.fixture(scope="session")
def seattle_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """seattle_weather's regression task run once on the smoke experiment; never changed."""
    return built_once(tmp_path_factory, "seattle", run_in_copy(SEATTLE))
