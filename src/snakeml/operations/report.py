"""The HTML report, `snakemake --report results/report.html`, rewritten only when it changes.

`make run` calls this after the run (a report cannot be a job of the run it describes). The report
embeds the results, the rule graph and the runtime statistics Snakemake recorded for the jobs
that made the current outputs, so it changes only when a job reran. To keep an unchanged rerun
from touching it (DVC tracks it), it is rebuilt only when something it shows is newer than it or
the overrides differ from the last build, and the new file replaces the old one only when their
bytes differ. Job times are rendered in UTC, so the same run gives the same bytes on any machine.
Snakemake writes the report straight into the file it is given, so it is given a file in a
temporary folder, `.report.html.<random>.tmp/`; a build killed midway leaves that folder, which
the next build removes (builds in a directory take turns: a second one at the same time stops).

The report sits beside the run it describes: ``results/report.html`` for the data set and task
conf/config.yaml chooses, ``results/runs/<data>/<task>/report.html`` for another pair's run.

    python -m snakeml.operations.report [--overrides "+experiment=smoke"]
        [--output results/report.html] [--finished]
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from snakeml.configuration.compose import compose_config
from snakeml.core.errors import ConfigError, SnakemlError
from snakeml.core.io import TEMPORARY_NAME, write_text_if_changed
from snakeml.core.logs import setup_logging

log = logging.getLogger(__name__)

REPORT_NAME = "report.html"
RESULTS = Path("results")
# What the report shows or is built from, besides the run's outputs.
SOURCES: tuple[str, ...] = ("Snakefile", "rules", "report")
# Folders under results/ that the configured pair's report does not show: batch predictions,
# other pairs' runs, and the jobs and records of sweeps.
UNSHOWN: tuple[str, ...] = ("predictions", "runs", "shared", "experiments")
STAMP = Path(".snakemake/snakeml-report.json")
# Held (flock) while a build runs; the kernel lets go of it when the build dies, even by SIGKILL.
BUILD_LOCK = Path(".snakemake/snakeml-report.lock")
# What a killed build leaves: ".report-<random>.html", the temporary of earlier versions.
EARLIER_TEMPORARY = re.compile(r"^\.report-[a-z0-9_]{8}\.html$")


def report_inputs(root: Path, output: Path) -> Iterable[Path]:
    """Files whose change can change the report: the run's outputs, captions, rules.

    The run's outputs are the files beside ``output`` (below results/ for the configured pair,
    without UNSHOWN; below results/runs/<data>/<task>/ and the shared jobs' results/shared/ for
    another pair), never batch predictions.
    """
    own = output.parent
    pair = own != root / RESULTS
    unshown = [own / "predictions"] if pair else [own / name for name in UNSHOWN]
    folders = [own, root / RESULTS / "shared"] if pair else [own]
    for path in [*folders, *(root / source for source in SOURCES)]:
        if path.is_file():
            yield path
        elif path.is_dir():
            for item in path.rglob("*"):
                hidden = item.name.startswith(".")
                if (
                    item.is_file()
                    and item != output
                    and not hidden
                    and not any(folder in item.parents for folder in unshown)
                ):
                    yield item


def newest_input(root: Path, output: Path) -> int:
    """The latest modification time (ns) of the report's inputs; 0 if there are none."""
    return max((path.stat().st_mtime_ns for path in report_inputs(root, output)), default=0)


def is_stale(root: Path, output: Path, overrides: str) -> bool:
    """Whether the report is missing, older than anything it shows, or built with other overrides.

    The stamp records the newest input of the last build, so inputs that were touched without a
    change to the report do not rebuild it again and again.
    """
    if not output.is_file():
        return True
    recorded = read_stamps(root).get(str(output.relative_to(root)))
    if recorded is None:
        # A report that came with its results (make pull) and is not older than any of them.
        return newest_input(root, output) > output.stat().st_mtime_ns
    if recorded.get("overrides") != overrides:
        return True
    built = max(output.stat().st_mtime_ns, int(recorded.get("newest_input", 0)))
    return newest_input(root, output) > built


def read_stamps(root: Path) -> dict[str, dict[str, object]]:
    """The last build of each report, by its path below ``root``: overrides and newest input.

    A stamp of another layout (or none) is no stamp: the report is judged by its time.
    """
    path = root / STAMP
    if not path.is_file():
        return {}
    stamps = json.loads(path.read_text(encoding="utf-8"))
    return {
        name: value
        for name, value in stamps.items()
        if isinstance(value, dict) and "overrides" in value
    }


@contextlib.contextmanager
def build_turn(root: Path) -> Iterator[None]:
    """Hold the directory's report build lock; raise SnakemlError if another build holds it."""
    path = root / BUILD_LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SnakemlError(
                "another `python -m snakeml.operations.report` builds the report in this "
                "directory: "
                "wait for it to finish, then run this again"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def remove_build_leftovers(folder: Path, targets: Iterable[str]) -> list[Path]:
    """Delete what killed builds left in ``folder`` for ``targets``; only while in build_turn.

    That is the temporary folders and files (snakeml.core.io.atomic_path) made for those file names.
    """
    removed = []
    for path in sorted(folder.glob(".*")) if folder.is_dir() else []:
        match = TEMPORARY_NAME.match(path.name)
        ours = (match is not None and match["target"] in targets) or EARLIER_TEMPORARY.match(
            path.name
        )
        if not ours or path.is_symlink():
            continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    if removed:
        log.info("removed %d temporaries of a stopped report build: %s", len(removed), removed)
    return removed


def last_line(run: subprocess.CompletedProcess[str]) -> str:
    """What a failed snakemake said last (its error), or its exit code when it said nothing."""
    said = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]
    return said[-1] if said else f"exit code {run.returncode}"


def pending_rules(root: Path, overrides: str, snakemake: str) -> dict[str, int]:
    """The rules whose outputs the run of ``overrides`` would still update, with how many
    files each: empty when the run has finished. Read from ``snakemake --summary`` (one row
    per output file; its last column, the plan, says ``update pending`` or ``no update``).

    Raises SnakemlError with snakemake's last line when the summary cannot be made.
    """
    command = [snakemake, "--summary", "--config", f"overrides={overrides}"]
    run = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise SnakemlError(f"snakemake --summary failed: {last_line(run)}")
    pending: dict[str, int] = {}
    rows = [line.split("\t") for line in run.stdout.splitlines()]
    header = next((row for row in rows if row[:1] == ["output_file"]), None)
    if header is None or "rule" not in header or "plan" not in header:
        raise SnakemlError("snakemake --summary printed no table of output files")
    rule, plan = header.index("rule"), header.index("plan")
    for row in rows[rows.index(header) + 1 :]:
        if len(row) > max(rule, plan) and row[plan] == "update pending":
            pending[row[rule]] = pending.get(row[rule], 0) + 1
    return pending


def build_report(root: Path, output: Path, overrides: str, snakemake: str) -> bool:
    """Run `snakemake --report` into a temporary folder; replace ``output`` only if it differs.

    Returns whether ``output`` was written.
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent))
    tmp = folder / output.name
    try:
        command = [snakemake, "--report", str(tmp), "--config", f"overrides={overrides}"]
        env = {**os.environ, "TZ": "UTC"}
        run = subprocess.run(
            command, cwd=root, env=env, capture_output=True, text=True, check=False
        )
        if run.returncode != 0:
            raise SnakemlError(
                f"snakemake --report failed (run the pipeline first: make run): {last_line(run)}"
            )
        if output.is_file() and output.read_bytes() == tmp.read_bytes():
            return False
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)
        tmp.replace(output)
        return True
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def update_report(
    root: str | Path = ".",
    output: str | Path = RESULTS / REPORT_NAME,
    overrides: str = "",
    snakemake: str | None = None,
    finished: bool = False,
) -> bool:
    """Rebuild the report if it is stale; return whether the file changed.

    A report shows a finished run only: unless ``finished`` says the run of ``overrides`` has
    just finished (``make run`` reaches the report only after snakemake succeeded), the files
    it would still update are asked of ``snakemake --summary`` first, and any raises
    SnakemlError naming them.
    """
    root = Path(root).resolve()
    output = root / output
    overrides = " ".join(overrides.split())
    with build_turn(root):
        remove_build_leftovers(output.parent, [output.name])
        remove_build_leftovers((root / STAMP).parent, [STAMP.name])
        if not is_stale(root, output, overrides):
            log.info("%s is up to date", output.relative_to(root))
            return False
        snakemake = snakemake or str(Path(sys.executable).with_name("snakemake"))
        # A report shows one finished run: after a failed or unfinished one, results/ mixes its
        # first outputs (its configuration slices, say) with the last finished run's.
        pending = {} if finished else pending_rules(root, overrides, snakemake)
        if pending:
            files = sum(pending.values())
            finish = f'make run OVERRIDES="{overrides}"' if overrides else "make run"
            raise SnakemlError(
                f"{output.relative_to(root)}: the run of these overrides has not finished: "
                f"{files} of its files are out of date ({', '.join(pending)}): finish it first "
                f"({finish}), or give the overrides of the last run that finished"
            )
        newest = newest_input(root, output)
        written = build_report(root, output, overrides, snakemake)
        stamps = {
            **read_stamps(root),
            str(output.relative_to(root)): {"overrides": overrides, "newest_input": newest},
        }
        write_text_if_changed(root / STAMP, json.dumps(stamps, sort_keys=True) + "\n")
    log.info("%s %s", output.relative_to(root), "written" if written else "unchanged")
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m snakeml.operations.report``: check the overrides, then update the report if
    stale.

    The report is the one of the run made with ``--overrides``, beside its results unless
    ``--output`` says otherwise. Exits 1 with one line on failure.
    """
    from snakeml.experiments.runs import configured_pair, pair_folder

    parser = argparse.ArgumentParser(
        prog="python -m snakeml.operations.report", description=__doc__
    )
    parser.add_argument("--overrides", default="", help="the Hydra overrides of the run")
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument(
        "--finished",
        action="store_true",
        help="the run of these overrides has just finished (make run): skip asking snakemake",
    )
    args = parser.parse_args(argv)
    setup_logging()
    try:
        # The run's own validation, before snakemake is started: a setting that cannot work
        # is named in one line here, as `snakemake` names it.
        # (The models' params were checked against scikit-learn by the run itself.)
        cfg = compose_config(args.overrides, Path("conf"), estimators=False)
        pair = (cfg["data"]["name"], cfg["task"]["name"])
        results = (
            RESULTS if pair == configured_pair("conf") else Path(f"results{pair_folder(*pair)}")
        )
    except ConfigError as exc:
        sys.exit(f"snakeml: {exc}")
    try:
        update_report(
            ".", args.output or results / REPORT_NAME, args.overrides, finished=args.finished
        )
    except SnakemlError as exc:
        log.error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
