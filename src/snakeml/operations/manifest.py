"""The run manifest: what a run read and made, so any two runs can be told apart.

``results/manifest.json`` holds the git state of the checkout, the overrides and the composed
configuration, the sha256 and size of every file the run read (``inputs``: the conf/ files Hydra
composed, the data set's SQL steps and steps.yaml, the raw tables' source files, snakeml's own
code, one entry per file), of the ingested tables and of every final artifact, the leaderboard,
the package versions and each job's benchmark. It holds no wall-clock time of its own: the same
inputs give the same bytes, so an unchanged rerun leaves it as it was (`dvc status` stays clean).

``python -m snakeml.operations.manifest diff A B`` prints what differs between two runs' manifests
(see ``diff_manifests``; docs/manifest.md).
"""

from __future__ import annotations

import csv
import logging
import math
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

from snakeml.core.errors import SnakemlError, show_value
from snakeml.core.io import write_json
from snakeml.core.metadata import file_sha256
from snakeml.core.schema import TableConfig

log = logging.getLogger(__name__)

DISTRIBUTION = "snakeml"
# Bumped when what the manifest holds changes shape (1: before inputs, config and leaderboard).
FORMAT = 2
# Benchmarks of jobs that are not part of the run `make run` makes: scoring new data, a sweep's
# experiments (benchmarks/shared/, benchmarks/experiments/) and other pairs' runs (runs/).
OUTSIDE_THE_RUN: tuple[str, ...] = ("predict", "shared", "experiments", "runs")
# Where an untracked file makes the checkout dirty: what a run reads lives there.
WATCHED_FOLDERS: tuple[str, ...] = ("conf", "sql", "src", "rules", "scripts", "data")
# snakeml's own code, relative to the project's root.
CODE_PATTERNS: tuple[str, ...] = ("Snakefile", "rules/*.smk", "scripts/*.py", "src/snakeml/**/*.py")


class ManifestError(SnakemlError):
    """A file given as a run manifest is missing or is not one."""


def git_state(root: str | Path) -> dict[str, Any]:
    """The checkout's commit and whether it differs from it, by git's own account.

    Returns ``{"commit": <sha1 or None before the first commit>, "dirty": bool, "changed":
    [...], "untracked": [...]}``: ``changed`` are the tracked files that differ from the commit
    (staged or not; ``git status --porcelain``), ``untracked`` the files git does not track
    under WATCHED_FOLDERS, ignored files aside (``git ls-files --others --exclude-standard``);
    paths relative to the repository's top, sorted. ``dirty`` is true when either list is
    not empty. Outside a git repository, or without git, ``{"commit": None, "dirty": None,
    "reason": "..."}``. Never raises.
    """

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=60
        )

    def unknown(reason: str) -> dict[str, Any]:
        return {"commit": None, "dirty": None, "reason": reason}

    try:
        inside = git("rev-parse", "--is-inside-work-tree")
        if inside.returncode != 0 or inside.stdout.strip() != "true":
            message = (inside.stderr.strip().splitlines() or ["not a work tree"])[0]
            if "not a git repository" in message or inside.stdout.strip() == "false":
                return unknown("not a git repository")
            return unknown(f"git cannot read the checkout: {message.removeprefix('fatal: ')}")
        head = git("rev-parse", "--verify", "--quiet", "HEAD")
        status = git("status", "--porcelain=v1", "-z", "--no-renames", "--untracked-files=no")
        others = git(
            "ls-files", "--others", "--exclude-standard", "--full-name", "-z", "--",
            *WATCHED_FOLDERS,
        )  # fmt: skip
    except FileNotFoundError:
        return unknown("git is not installed")
    except (OSError, subprocess.TimeoutExpired) as exc:
        return unknown(f"git did not answer: {exc}")
    for done in (status, others):
        if done.returncode != 0:
            message = (done.stderr.strip().splitlines() or ["no message"])[0]
            return unknown(f"git cannot read the checkout: {message.removeprefix('fatal: ')}")
    # porcelain v1 with -z: "XY <path>" per entry; renames are off, so one path each
    changed = sorted(entry[3:] for entry in status.stdout.split("\0") if entry)
    untracked = sorted(path for path in others.stdout.split("\0") if path)
    return {
        "commit": head.stdout.strip() or None,
        "dirty": bool(changed or untracked),
        "changed": changed,
        "untracked": untracked,
    }


def code_files(root: str | Path = ".") -> list[str]:
    """snakeml's own code under project ``root``: Snakefile, rules/*.smk, scripts/*.py and
    src/snakeml/**/*.py, as sorted paths relative to ``root``."""
    root = Path(root)
    return sorted(
        {
            path.relative_to(root).as_posix()
            for pattern in CODE_PATTERNS
            for path in root.glob(pattern)
            if path.is_file()
        }
    )


def project_files(paths: Sequence[str | Path], root: str | Path = ".") -> dict[str, Path]:
    """Files given relative to project ``root``, keyed by that relative path."""
    return {Path(path).as_posix(): Path(root) / path for path in paths}


def table_source_files(
    tables: Mapping[str, TableConfig], root: str | Path = "."
) -> dict[str, Path]:
    """The files the data set's tables are read from (``data.tables``), keyed for the record.

    A project file is keyed by its path relative to ``root`` (``data/stations.csv``), a file
    of an installed package by ``<package>:<path in the package>``
    (``<package>:<path in it>``), so no key names the machine. Raises ConfigError
    when a table's path matches no file (snakeml.data.dataset.table_files).
    """
    from snakeml.data.dataset import package_dir, table_files

    found: dict[str, Path] = {}
    for table, spec in tables.items():
        package = spec.package
        base = package_dir(package) if package else Path(root)
        for path in table_files(table, spec, root):
            key = path.relative_to(base).as_posix()
            found[f"{package}:{key}" if package else key] = path
    return dict(sorted(found.items()))


def input_files(
    config_files: Sequence[str | Path],
    sql_files: Sequence[str | Path],
    code: Sequence[str | Path],
    tables: Mapping[str, TableConfig],
    root: str | Path = ".",
) -> dict[str, dict[str, Path]]:
    """What a run read, by group: ``config`` (conf/ files Hydra composed), ``sql`` (the data
    set's step files and steps.yaml), ``data`` (the tables' source files, see
    ``table_source_files``) and ``code``; each ``{key: file}``, paths relative to ``root``."""
    return {
        "config": project_files(config_files, root),
        "sql": project_files(sql_files, root),
        "data": table_source_files(tables, root),
        "code": project_files(code, root),
    }


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


def benchmarks(root: str | Path, data: str | None = None) -> dict[str, dict[str, float]]:
    """Every job's benchmark under ``root``, keyed by ``<rule>/<job>`` (the file's path). Given
    the run's ``data`` set, ingest's is that data set's alone (``ingest/<data>``)."""
    root = Path(root)
    jobs = {str(path.relative_to(root).with_suffix("")): path for path in root.rglob("*.tsv")}
    return {
        job: read_benchmark(path)
        for job, path in sorted(jobs.items())
        if job.split("/", 1)[0] not in OUTSIDE_THE_RUN
        and not (data is not None and job.startswith("ingest/") and job != f"ingest/{data}")
    }


def checksum(path: str | Path) -> dict[str, Any]:
    """``{"sha256": <hex>, "bytes": <size>}`` of one file; OSError when it cannot be read."""
    return {"sha256": file_sha256(path), "bytes": Path(path).stat().st_size}


def checksums(paths: list[str | Path]) -> dict[str, dict[str, Any]]:
    """sha256 and size of each file, keyed by its path as given."""
    return {str(path): checksum(path) for path in sorted(paths, key=str)}


def read_leaderboard(path: str | Path) -> dict[str, dict[str, Any]]:
    """The leaderboard (results/leaderboard.csv) as ``{model: {column: value}}``.

    Numbers become floats (an empty or non-finite one None), other cells stay text (``kind``).
    """
    with Path(path).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))

    def cell(text: str) -> Any:
        try:
            number = float(text)
        except ValueError:
            return text if text else None
        return number if math.isfinite(number) else None

    return {
        row["model"]: {key: cell(value) for key, value in sorted(row.items()) if key != "model"}
        for row in rows
    }


def build_manifest(
    raw_data: list[str | Path],
    artifacts: list[str | Path],
    configs: dict[str, str | Path],
    benchmark_dir: str | Path,
    project_root: str | Path = ".",
    inputs: Mapping[str, Mapping[str, str | Path]] | None = None,
    settings: Mapping[str, Any] | None = None,
    overrides: Sequence[str] = (),
    leaderboard: str | Path | None = None,
) -> dict[str, Any]:
    """The manifest as plain data (see the module's docstring).

    ``inputs`` are the files the run read by group, ``{group: {key: file}}`` (``input_files``),
    ``settings`` the composed configuration, ``overrides`` the run's Hydra overrides,
    ``leaderboard`` the leaderboard CSV. Raises OSError when a listed file cannot be read.
    """
    return {
        "format": FORMAT,
        "git": git_state(project_root),
        "overrides": list(overrides),
        "config": dict(settings or {}),
        "inputs": {
            group: {key: checksum(path) for key, path in sorted(files.items())}
            for group, files in sorted((inputs or {}).items())
        },
        "config_sha256": {rule: file_sha256(path) for rule, path in sorted(configs.items())},
        "raw_data": checksums(raw_data),
        "artifacts": checksums(artifacts),
        "leaderboard": read_leaderboard(leaderboard) if leaderboard is not None else {},
        "packages": package_versions(),
        "benchmarks": benchmarks(
            benchmark_dir, settings["data"]["name"] if settings and "data" in settings else None
        ),
    }


def write_manifest(target: str | Path, **inputs: Any) -> dict[str, Any]:
    """Build the manifest (``build_manifest``'s arguments) and write it as sorted, indented
    JSON, atomically; returns it."""
    manifest = build_manifest(**inputs)
    write_json(target, manifest)
    git = manifest["git"]
    log.info(
        "manifest: commit %s (dirty: %s%s), %d files read, %d artifacts, %d benchmarks",
        git["commit"],
        git["dirty"],
        f", {git['reason']}" if "reason" in git else "",
        sum(len(files) for files in manifest["inputs"].values()),
        len(manifest["artifacts"]),
        len(manifest["benchmarks"]),
    )
    for path in [*git.get("changed", []), *git.get("untracked", [])]:
        log.warning("manifest: the checkout differs from its commit at %s", path)
    return manifest


# --- comparing two runs -----------------------------------------------------------------------

MANIFEST_FILE = "manifest.json"
# What a run read, then what it made: the sections whose files are compared by sha256.
READ_SECTIONS = ("inputs", "raw_data")
MADE_SECTIONS = ("artifacts",)


class Difference(NamedTuple):
    """One difference between run A and run B: ``change`` is "changed", "added" (only in B)
    or "removed" (only in A); ``before`` / ``after`` are None where the key is absent."""

    key: str
    change: str
    before: Any = None
    after: Any = None


def load_manifest(path: str | Path) -> dict[str, Any]:
    """A run's manifest from its manifest.json, or from a folder holding one (``results``).

    Raises ManifestError, one line naming the file, when there is none, it is not JSON, or it
    is not a manifest (a JSON object with ``git`` and ``packages``).
    """
    import json

    path = Path(path)
    if path.is_dir():
        if not (path / MANIFEST_FILE).is_file():
            raise ManifestError(
                f"{path}: no {MANIFEST_FILE} in this folder; give a run's results folder or "
                f"its {MANIFEST_FILE}"
            )
        path = path / MANIFEST_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(
            f"{path}: no such file; give a run's {MANIFEST_FILE} or the folder holding it"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ManifestError(f"{path}: cannot be read ({reason}); give a readable file") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(
            f"{path}: not JSON ({exc.msg} at line {exc.lineno}); give the {MANIFEST_FILE} a run "
            "wrote"
        ) from None
    if not isinstance(data, dict) or not {"git", "packages"} <= set(data):
        raise ManifestError(
            f"{path}: not a run manifest (no git and packages sections); give the "
            f"{MANIFEST_FILE} a run wrote"
        )
    return data


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings as ``{dotted.key: value}``; lists and other values are leaves, and an
    empty mapping is a leaf too (``{"a": {"b": 1}}`` gives ``{"a.b": 1}``)."""
    if not isinstance(data, Mapping) or (not data and prefix):
        return {prefix: data}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def compare_values(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Difference]:
    """The keys whose values differ between two flat mappings, sorted by key."""
    found = []
    for key in sorted({*before, *after}):
        if key not in after:
            found.append(Difference(key, "removed", before=before[key]))
        elif key not in before:
            found.append(Difference(key, "added", after=after[key]))
        elif before[key] != after[key]:
            found.append(Difference(key, "changed", before[key], after[key]))
    return found


def file_hashes(manifest: Mapping[str, Any], sections: Sequence[str]) -> dict[str, str]:
    """``{path: sha256}`` of the files in ``sections`` of a manifest (inputs by group)."""
    hashes: dict[str, str] = {}
    for section in sections:
        entries = manifest.get(section) or {}
        groups = entries.values() if section == "inputs" else [entries]
        for group in groups:
            hashes.update({path: entry.get("sha256") for path, entry in group.items()})
    return hashes


def diff_manifests(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, list[Difference]]:
    """What differs from run A's manifest to run B's, by section, sections without a
    difference left out.

    ``git`` (commit, dirty and its paths), ``overrides``, ``config`` (dotted keys, see
    ``flatten``), ``files`` (what the run read: ``inputs`` and the ingested tables, by sha256),
    ``artifacts`` (by sha256), ``packages`` (versions) and ``leaderboard`` (``<model>.<column>``).
    Benchmarks (times differ on every run) and the rule slices' hashes (they follow from the
    configuration) are not compared.
    """
    sections = {
        "git": compare_values(a.get("git") or {}, b.get("git") or {}),
        "overrides": compare_values(
            {"overrides": a.get("overrides", [])}, {"overrides": b.get("overrides", [])}
        ),
        "config": compare_values(flatten(a.get("config") or {}), flatten(b.get("config") or {})),
        "files": compare_values(file_hashes(a, READ_SECTIONS), file_hashes(b, READ_SECTIONS)),
        "artifacts": compare_values(file_hashes(a, MADE_SECTIONS), file_hashes(b, MADE_SECTIONS)),
        "packages": compare_values(a.get("packages") or {}, b.get("packages") or {}),
        "leaderboard": compare_values(
            flatten(a.get("leaderboard") or {}), flatten(b.get("leaderboard") or {})
        ),
    }
    return {name: found for name, found in sections.items() if found}


def format_difference(section: str, difference: Difference) -> str:
    """One line: ``~ key: before -> after``, ``+ key: value`` (only in B), ``- key: value``
    (only in A); a file's sha256 is cut to 12 digits."""

    def show(value: Any) -> str:
        if section in ("files", "artifacts") and isinstance(value, str):
            return value[:12]
        return show_value(value)

    if difference.change == "added":
        return f"+ {difference.key}: {show(difference.after)}"
    if difference.change == "removed":
        return f"- {difference.key}: {show(difference.before)}"
    return f"~ {difference.key}: {show(difference.before)} -> {show(difference.after)}"


def format_diff(differences: Mapping[str, list[Difference]], a: str, b: str) -> str:
    """The text ``python -m snakeml.operations.manifest diff`` prints; ``no differences`` when
    empty."""
    if not differences:
        return "no differences"
    lines = [f"--- {a}", f"+++ {b}"]
    for section, found in differences.items():
        lines.append(f"{section}:")
        lines.extend(f"  {format_difference(section, item)}" for item in found)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m snakeml.operations.manifest diff A B``: exit 0 and ``no differences`` when the
    runs' manifests agree, 1 and the differences when they do not, 2 and one line for bad input."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m snakeml.operations.manifest",
        description="Compare the manifests of two runs.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    diff = commands.add_parser(
        "diff", help="print what differs between two runs (exit 1 when anything does)"
    )
    diff.add_argument("a", help="run A: its manifest.json or the folder holding it (results/)")
    diff.add_argument("b", help="run B: its manifest.json or the folder holding it")
    args = parser.parse_args(argv)
    try:
        a, b = load_manifest(args.a), load_manifest(args.b)
    except ManifestError as exc:
        print(f"snakeml: {exc}", file=sys.stderr)
        return 2
    differences = diff_manifests(a, b)
    print(format_diff(differences, args.a, args.b))
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
