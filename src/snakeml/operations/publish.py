"""Publish a run's artifacts with DVC, and pull them back so that Snakemake finds them fresh.

Why it exists: DVC restores files with arbitrary modification times, by which Snakemake judges
them out of date; neither tool sets them so the other sees the pulled run as fresh.

``make publish`` tracks the paths in PUBLISHED with ``dvc add`` (one ``.dvc`` file each, staged in
git) and pushes them to the DVC remote. ``make pull`` runs ``dvc pull``, checks every file against
the md5 its ``.dvc`` file records, and only then gives the files it restored one common
modification time. Snakemake decides by modification times (and does not checksum large files);
DVC restores files in no particular order, so without that a pulled run would look out of date.
Where the pipeline has made other outputs locally (features, split, tuning), files whose bytes did
not change keep their times, so those outputs stay fresh unless what they were made from really
changed. Where it has not (a fresh clone, even after a plain ``dvc pull``), every published file
gets the common time.

A pull that fails leaves nothing half-restored that looks valid: the files it restored are
removed again, and a damaged copy in the cache is dropped so that the next pull fetches it anew.

    python -m snakeml.operations.publish push [--remote NAME]
    python -m snakeml.operations.publish pull [--remote NAME]
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from snakeml.core.errors import SnakemlError

log = logging.getLogger("snakeml.operations.publish")

# What a run publishes: the raw data, the configuration slice each rule ran with (Snakemake's
# inputs: without them a pulled run would be rebuilt), and the final artifacts. One .dvc file each.
# Every target of `rule all` must lie under one of these paths, or a clone that pulls a run has to
# rebuild it (tests/dvc checks that `snakemake -n` has nothing to do after make pull).
PUBLISHED: tuple[str, ...] = (
    "data/raw",
    "results/configs",
    "results/models",
    "results/evaluation",
    "results/tuning",
    "results/leaderboard.csv",
    "results/champion",
    "results/manifest.json",
    "results/report.html",
)

# Runs other than the configured data set and task's (snakeml.experiments.runs), published beside it
# when there are any: a sweep's experiments, other pairs' runs, and the shared jobs' folders
# they read.
EXPERIMENTS_PUBLISHED: tuple[str, ...] = ("results/shared", "results/experiments", "results/runs")
# What a checkout holding only other pairs' runs publishes besides them: the raw data and the
# configuration slices outside the runs' folders (ingest's, one per data set).
PAIRS_PUBLISHED: tuple[str, ...] = ("data/raw", "results/configs")

# The rules whose config slices `dvc params diff` compares, in this order.
DVC_PARAMS: tuple[str, ...] = (
    "features", "split", "leaderboard", "tune_shard", "train", "importance"
)  # fmt: skip
DVC_YAML_HEADER = (
    "# What DVC reads from Snakemake's outputs, written by `make publish` for the run's models\n"
    "# (snakeml.core.outputs). No stages: Snakemake is the one DAG, and DVC only versions the\n"
    "# published files and compares them across commits:\n"
    "#   dvc metrics show / diff <rev>    dvc params diff <rev>    dvc plots show / diff <rev>\n"
)

# (inode, size, modification time): a file DVC restores is a new file, so one of these changes.
FileStamp = tuple[int, int, int]


class PublishError(SnakemlError):
    """Publishing or pulling the artifacts failed; the message says what to do."""


@dataclass(frozen=True)
class PullSummary:
    restored: list[str]
    unchanged: list[str]


def dvc_file(path: str) -> str:
    """The .dvc file that tracks ``path``."""
    return f"{path}.dvc"


def run_dvc(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run this environment's DVC in ``root``; never raises on DVC's own failures."""
    return subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=root,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def dvc_error(result: subprocess.CompletedProcess[str]) -> str:
    """DVC's error, on one line."""
    lines = [line.strip() for line in (result.stderr or result.stdout).splitlines()]
    lines = [line for line in lines if line and not line.startswith("<https://")]
    start = next((i for i, line in enumerate(lines) if line.startswith("ERROR")), 0)
    text = " ".join(lines[start:]) or f"dvc exited with code {result.returncode}"
    return text.removeprefix("ERROR: ").replace(" ERROR: ", "; ")


def missing_objects(result: subprocess.CompletedProcess[str]) -> str:
    """How many objects DVC found neither in the cache nor in the remote, if any."""
    count = sum(line.startswith("md5: ") for line in result.stderr.splitlines())
    return f" ({count} objects are in neither the cache nor the remote)" if count else ""


def remote_args(remote: str | None) -> list[str]:
    return ["--remote", remote] if remote else []


def check_local_remote(root: Path, remote: str | None) -> None:
    """A local directory remote that does not exist holds nothing: say so before DVC does."""
    name = remote or run_dvc(root, "remote", "default").stdout.strip()
    if not name:
        return  # DVC itself names the missing remote
    url = run_dvc(root, "config", f"remote.{name}.url").stdout.strip()
    if url and "://" not in url and not Path(url).is_dir():
        raise PublishError(
            f"the DVC remote '{name}' is the directory {url}, which does not exist: point it at "
            f"the team's remote (dvc remote modify --local {name} url <directory>) or publish "
            "a run there first (make publish)"
        )


def publish(root: str | Path = ".", remote: str | None = None) -> list[str]:
    """Track PUBLISHED with DVC and push them; return the .dvc files (staged in git).

    With other runs beside it (EXPERIMENTS_PUBLISHED), those too; a checkout that ran only
    other pairs (results/runs/) publishes them with PAIRS_PUBLISHED. Raises PublishError, one
    line, when the configured run is incomplete and no other pair's run exists.
    """
    root = Path(root)
    missing = [path for path in PUBLISHED if not (root / path).exists()]
    pairs_only = bool(missing) and any((root / "results/runs").glob("*/*/leaderboard.csv"))
    if missing and not pairs_only:
        raise PublishError(
            f"{missing[0]} does not exist: run the pipeline (make run) before publishing"
        )
    write_dvc_yaml(root)
    own = [path for path in PAIRS_PUBLISHED if (root / path).exists()] if pairs_only else PUBLISHED
    paths = [*own, *(path for path in EXPERIMENTS_PUBLISHED if (root / path).is_dir())]
    added = run_dvc(root, "add", *paths)
    if added.returncode != 0:
        raise PublishError(f"dvc add failed: {dvc_error(added)}")
    dvc_files = [dvc_file(path) for path in paths]
    pushed = run_dvc(root, "push", *remote_args(remote), *dvc_files)
    if pushed.returncode != 0:
        raise PublishError(
            f"dvc push failed: {dvc_error(pushed)}; the artifacts are tracked and cached "
            "locally: fix the remote (dvc remote list) and run make publish again"
        )
    log.info("published %s: %s", ", ".join(paths), pushed.stdout.strip() or "pushed")
    log.info("commit the .dvc files (staged): git commit -m 'Publish run'")
    return dvc_files


def write_dvc_yaml(root: Path) -> bool:
    """Write dvc.yaml (metrics, params, plots) for the models of the run in ``root``.

    The models are those the run evaluated, the metric the champion's; the content comes from
    snakeml.core.outputs.dvc_yaml. Rewritten only when it changes; returns whether it was.
    """
    from snakeml.core.io import dump_yaml, read_json, write_text_if_changed
    from snakeml.core.outputs import dvc_yaml
    from snakeml.models.task_kinds import Regression, task_kind

    models = sorted(p.parent.name for p in (root / "results/evaluation").glob("*/metrics.json"))
    champion = root / "results/champion/metrics.json"
    if not models or not champion.is_file():
        return False  # no evaluated run to describe: dvc.yaml stays as it is
    metric = read_json(champion)["metric"]
    decision = root / "results/champion/decision.json"
    # a run without a decision file is a regression's from before classification
    kind = task_kind(read_json(decision)["kind"]) if decision.is_file() else Regression()
    configs = root / "results/configs"
    params = [
        str(path.relative_to(root))
        for rule in DVC_PARAMS
        for path in sorted(configs.glob(f"{rule}.yaml")) + sorted(configs.glob(f"{rule}/*.yaml"))
    ]
    text = DVC_YAML_HEADER + dump_yaml(dvc_yaml(models, metric, params, kind))
    return write_text_if_changed(root / "dvc.yaml", text)


def files_under(root: Path, paths: Iterable[str]) -> list[Path]:
    """Every file under each path (a file or a directory), relative to ``root``."""
    found: list[Path] = []
    for path in paths:
        target = root / path
        if target.is_file():
            found.append(Path(path))
        elif target.is_dir():
            found.extend(p.relative_to(root) for p in sorted(target.rglob("*")) if p.is_file())
    return found


def stamp_files(root: Path, paths: Iterable[str]) -> dict[Path, FileStamp]:
    stamps: dict[Path, FileStamp] = {}
    for path in files_under(root, paths):
        stat = (root / path).stat()
        stamps[path] = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    return stamps


def has_local_outputs(root: Path) -> bool:
    """Whether results/ holds anything the pipeline made that is not published."""
    published = set(files_under(root, [*PUBLISHED, *EXPERIMENTS_PUBLISHED]))
    return any(
        path not in published and path.suffix != ".dvc" for path in files_under(root, ["results"])
    )


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def recorded_hashes(root: Path, paths: Iterable[str]) -> dict[Path, str]:
    """The md5 of every file under ``paths`` as the .dvc files in the workspace record it."""
    from dvc.api import DVCFileSystem

    fs = DVCFileSystem(str(root.resolve()))
    hashes: dict[Path, str] = {}
    for path in paths:
        for name, info in fs.find(path, detail=True).items():
            hashes[Path(name.lstrip("/"))] = info["dvc_info"]["md5"]
    return hashes


def damaged_files(root: Path, expected: dict[Path, str]) -> dict[Path, str]:
    """Files that are missing or whose md5 differs from the recorded one, with that md5."""
    return {
        path: md5
        for path, md5 in expected.items()
        if not (root / path).is_file() or file_md5(root / path) != md5
    }


def drop_cached_copies(root: Path, md5s: Iterable[str]) -> None:
    """Remove damaged objects from DVC's cache, as DVC does when it finds one itself."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        for md5 in md5s:
            Path(repo.cache.local.oid_to_path(md5)).unlink(missing_ok=True)


def remove_files(root: Path, paths: Iterable[Path]) -> list[str]:
    removed = []
    for path in sorted(paths):
        (root / path).unlink(missing_ok=True)
        removed.append(str(path))
    return removed


def pull(root: str | Path = ".", remote: str | None = None) -> PullSummary:
    """``dvc pull`` the published artifacts, verify them, make the restored files fresh."""
    root = Path(root)
    tracked = [
        path for path in (*PUBLISHED, *EXPERIMENTS_PUBLISHED) if (root / dvc_file(path)).is_file()
    ]
    if not tracked:
        raise PublishError(
            f"nothing to pull: no .dvc file for any of {', '.join(PUBLISHED)}; check out a "
            "commit with a published run (git pull) or publish one (make publish)"
        )
    check_local_remote(root, remote)
    before = stamp_files(root, tracked)
    pulled = run_dvc(root, "pull", *remote_args(remote), *(dvc_file(p) for p in tracked))
    after = stamp_files(root, tracked)
    restored = sorted(path for path, stamp in after.items() if before.get(path) != stamp)
    if pulled.returncode != 0:
        remove_files(root, restored)
        undone = f"the {len(restored)} files it had restored were removed" if restored else ""
        raise PublishError(
            f"dvc pull failed{f' and {undone}' if undone else ', nothing restored'}: "
            f"{dvc_error(pulled)}{missing_objects(pulled)}; check that the remote is reachable "
            "and holds this run (dvc remote list; dvc status --cloud), or name another remote: "
            "make pull REMOTE=<name>"
        )
    expected = recorded_hashes(root, tracked)
    damaged = damaged_files(root, expected)
    if damaged:
        drop_cached_copies(root, set(damaged.values()))
        remove_files(root, set(restored) | set(damaged))
        first = sorted(damaged)[0]
        raise PublishError(
            f"{first}{f' and {len(damaged) - 1} more files' if len(damaged) > 1 else ''} did not "
            f"match the md5 recorded in its .dvc file: the copy in the cache or in the remote is "
            f"damaged. Dropped the cache copy and removed the {len(restored)} files this pull had "
            "restored; run make pull again, and if it fails the same way, publish again from a "
            "clone that has good files"
        )
    # One time for all: among them, no output is older than one of its inputs.
    fresh = restored if has_local_outputs(root) else sorted(expected)
    now = time.time_ns()
    for path in fresh:
        os.utime(root / path, ns=(now, now))
    unchanged = sorted(str(p) for p in set(expected) - set(restored))
    log.info(
        "pulled %s: %d files restored and checked against their md5, %d already up to date",
        ", ".join(tracked),
        len(restored),
        len(unchanged),
    )
    return PullSummary([str(p) for p in restored], unchanged)


def main(argv: Sequence[str] | None = None) -> int:
    from snakeml.core.logs import setup_logging

    parser = argparse.ArgumentParser(
        prog="python -m snakeml.operations.publish", description=__doc__
    )
    parser.add_argument("command", choices=["push", "pull"])
    parser.add_argument("--remote", help="DVC remote to use instead of the default one")
    parser.add_argument("--root", default=".", help="the project's root (default: .)")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        if args.command == "push":
            publish(args.root, args.remote)
        else:
            pull(args.root, args.remote)
    except PublishError as exc:
        sys.exit(f"snakeml: {exc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
