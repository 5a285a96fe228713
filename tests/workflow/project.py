"""Run the real Snakefile in a copy of the project, as a user would."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from filelock import FileLock

ROOT = Path(__file__).resolve().parents[2]
PROJECT_PARTS = (
    "Snakefile",
    "rules",
    "scripts",
    "src",
    "sql",
    "conf",
    "profiles",
    "report",
    "environment.yml",
    "data/reference",
)
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
SMOKE = "+experiment=smoke"
# The second bundled data set's regression task, and where its run's own files go. One of the
# three regressors: the steps work alike for each, and the three run in the smoke build.
SEATTLE = f"{SMOKE} data=seattle_weather task=seattle_temp_max model=[ridge]"
SEATTLE_RESULTS = "results/runs/seattle_weather/seattle_temp_max"


def job_folder(workdir: Path, results: str, key: str) -> Path:
    """The folder of job ``key`` (``split``, ``evaluate/hgb``) of the run whose own files are
    below ``results`` (``results/runs/<data>/<task>``), as its record lists it."""
    record = yaml.safe_load((workdir / results / "configs/experiment.yaml").read_text())
    return workdir / record["jobs"][key]


@dataclass
class Run:
    returncode: int
    output: str

    def job_counts(self) -> dict[str, int]:
        """Snakemake's 'Job stats' table: how many jobs of each rule it ran (or would run)."""
        counts: dict[str, int] = {}
        in_table = False
        for line in self.output.splitlines():
            if line.startswith("Job stats:"):
                in_table, counts = True, {}
                continue
            if in_table:
                match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
                if match and match.group(1) != "total":
                    counts[match.group(1)] = int(match.group(2))
                elif not line.strip() and counts:
                    in_table = False
        return counts


def copy_project(target: Path) -> Path:
    """A fresh copy of the workflow's own files (no results, no data)."""
    target.mkdir(parents=True, exist_ok=True)
    for part in PROJECT_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / part)
    return target


def copy_run(source: Path, target: Path) -> Path:
    """A copy of a project that has run: outputs, their times and Snakemake's records."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, target, symlinks=True)
    return target


def built_once(factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """The project ``build(workdir)`` makes, made once in the whole test run.

    Under pytest-xdist each worker has its own session fixtures: the first worker to ask builds
    the project in the run's common temporary folder while it holds a file lock; the others
    wait for it and reuse it, or fail at once with its error. Callers only read the project:
    to change it, they copy it (copy_run).
    """
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        workdir = factory.mktemp(name) / "project"
        build(workdir)
        return workdir
    root = factory.getbasetemp().parent / f"built-{name}"
    workdir, built, failed = root / "project", root / "built", root / "failed"
    with FileLock(f"{root}.lock"):
        if failed.is_file():
            pytest.fail(f"building {name} failed in another worker:\n{failed.read_text()}")
        if not built.is_file():
            root.mkdir(exist_ok=True)
            try:
                build(workdir)
            except BaseException as exc:
                failed.write_text(f"{type(exc).__name__}: {exc}")
                raise
            built.touch()
    return workdir


def snakemake(
    workdir: Path, overrides: str = SMOKE, *args: str, cores: int = 2, **config: str
) -> Run:
    """Run snakemake in ``workdir`` with Hydra ``overrides``; never raises on failure.

    ``args`` (options, targets) come before --config, which takes every value after it:
    ``overrides=...``, then each of ``config`` (``sweep="model=[hgb],[ridge]"``).
    """
    values = [f"overrides={overrides}", *(f"{key}={value}" for key, value in config.items())]
    command = [str(SNAKEMAKE), "--cores", str(cores), *args, "--config", *values]
    result = subprocess.run(
        command, cwd=workdir, capture_output=True, text=True, timeout=600, check=False
    )
    return Run(result.returncode, result.stdout + result.stderr)
