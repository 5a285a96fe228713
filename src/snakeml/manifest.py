"""The run manifest: what made the final artifacts, and their checksums.

It holds no wall-clock time of its own: the same inputs give the same bytes, so an unchanged
rerun leaves it as it was (`dvc status` stays clean).
"""

from __future__ import annotations

import csv
import logging
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from snakeml.io import write_json
from snakeml.metadata import file_sha256

log = logging.getLogger(__name__)

DISTRIBUTION = "snakeml"
# Benchmarks of jobs that are not part of the run `make run` makes: scoring new data, and a
# sweep's experiments (benchmarks/shared/, benchmarks/experiments/).
OUTSIDE_THE_RUN: tuple[str, ...] = ("predict", "shared", "experiments")


def git_state(root: str | Path) -> dict[str, Any]:
    """The checkout's commit and whether tracked files differ from it (None outside git)."""

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=60
        )

    try:
        head = git("rev-parse", "HEAD")
    except (OSError, subprocess.TimeoutExpired):
        return {"commit": None, "dirty": None}
    if head.returncode != 0:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


def package_versions() -> dict[str, str]:
    """Python and the versions of snakeml's direct dependencies, as installed."""
    import re

    versions = {"python": platform.python_version()}
    try:
        requirements = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        requirements = []
    for requirement in requirements:
        if "extra ==" in requirement:
            continue
        name = re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0]
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return dict(sorted(versions.items()))


def read_benchmark(path: str | Path) -> dict[str, float]:
    """Wall time (s) and maximum resident memory (MB) from a Snakemake benchmark file."""
    with Path(path).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if not rows:
        return {}
    row = rows[-1]

    def number(key: str) -> float | None:
        try:
            return round(float(row[key]), 3)
        except (KeyError, TypeError, ValueError):
            return None

    return {"wall_seconds": number("s"), "max_rss_mb": number("max_rss")}


def benchmarks(root: str | Path) -> dict[str, dict[str, float]]:
    """Every job's benchmark under ``root``, keyed by ``<rule>/<job>`` (the file's path)."""
    root = Path(root)
    jobs = {str(path.relative_to(root).with_suffix("")): path for path in root.rglob("*.tsv")}
    return {
        job: read_benchmark(path)
        for job, path in sorted(jobs.items())
        if job.split("/", 1)[0] not in OUTSIDE_THE_RUN
    }


def checksums(paths: list[str | Path]) -> dict[str, dict[str, Any]]:
    """sha256 and size of each file, keyed by its path as given."""
    return {
        str(path): {"sha256": file_sha256(path), "bytes": Path(path).stat().st_size}
        for path in sorted(paths, key=str)
    }


def rule_config_keys(paths: list[str | Path]) -> dict[str, str | Path]:
    """Config slice files keyed by rule, their path below the common folder without .yaml."""
    if not paths:
        return {}
    root = Path(os.path.commonpath([Path(p).parent for p in paths]))
    return {str(Path(p).relative_to(root).with_suffix("")): p for p in paths}


def build_manifest(
    raw_data: list[str | Path],
    artifacts: list[str | Path],
    configs: dict[str, str | Path],
    benchmark_dir: str | Path,
    project_root: str | Path = ".",
) -> dict[str, Any]:
    """The manifest as plain data (see the module's docstring)."""
    return {
        "git": git_state(project_root),
        "config_sha256": {rule: file_sha256(path) for rule, path in sorted(configs.items())},
        "raw_data": checksums(raw_data),
        "artifacts": checksums(artifacts),
        "packages": package_versions(),
        "benchmarks": benchmarks(benchmark_dir),
    }


def write_manifest(target: str | Path, **inputs: Any) -> dict[str, Any]:
    """Build the manifest and write it as sorted, indented JSON, atomically."""
    manifest = build_manifest(**inputs)
    write_json(target, manifest)
    log.info(
        "manifest: commit %s (dirty: %s), %d artifacts, %d benchmarks",
        manifest["git"]["commit"],
        manifest["git"]["dirty"],
        len(manifest["artifacts"]),
        len(manifest["benchmarks"]),
    )
    return manifest
