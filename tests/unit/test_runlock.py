"""snakeml.runlock: Snakemake's lock left by a killed run is cleared only when no run holds it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from snakeml.runlock import UNLOCK_COMMAND, clear_stale_lock, snakemake_processes

SRC = str(Path(__file__).resolve().parents[2] / "src")


def leave_lock(directory):
    """The lock files a SIGKILLed run leaves in .snakemake/locks."""
    locks = directory / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text("results/split/train.parquet\n")
    (locks / "0.output.lock").write_text("results/leaderboard.csv\n")
    return locks


@pytest.fixture
def running_snakemake(tmp_path):
    """A process in ``tmp_path`` that looks like a Snakemake job: a script under .snakemake."""
    script = tmp_path / ".snakemake" / "scripts" / "tmpab12.tune_shard.py"
    script.parent.mkdir(parents=True)
    script.write_text("import time\ntime.sleep(120)\n")
    process = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path)
    yield process
    process.kill()
    process.wait()


def test_no_lock_is_nothing_to_do(tmp_path):
    assert clear_stale_lock(tmp_path) == (True, None)


def test_a_lock_no_process_holds_is_removed(tmp_path):
    locks = leave_lock(tmp_path)
    ok, line = clear_stale_lock(tmp_path)
    assert ok
    assert line == "snakeml: removed Snakemake's lock left by a stopped run (none runs here now)"
    assert not list(locks.iterdir())


def test_a_lock_while_snakemake_works_here_is_kept_and_named(tmp_path, running_snakemake):
    locks = leave_lock(tmp_path)
    assert snakemake_processes(tmp_path) == [running_snakemake.pid]
    ok, line = clear_stale_lock(tmp_path)
    assert not ok
    pid = running_snakemake.pid
    assert line.startswith(f"snakeml: Snakemake runs in this directory (process {pid})")
    assert f"kill {pid}" in line
    assert line.endswith(f"clear the lock with `{UNLOCK_COMMAND}`")
    assert "\n" not in line
    assert len(list(locks.iterdir())) == 2


def test_snakemake_working_elsewhere_does_not_count(tmp_path, running_snakemake):
    other = tmp_path / "other"
    other.mkdir()
    locks = leave_lock(other)
    assert snakemake_processes(other) == []
    assert clear_stale_lock(other)[0]
    assert not list(locks.iterdir())


def test_the_command_exits_1_with_one_line_while_a_run_holds_the_lock(tmp_path, running_snakemake):
    leave_lock(tmp_path)
    env = {**os.environ, "PYTHONPATH": SRC}
    command = [sys.executable, "-m", "snakeml.runlock"]
    held = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert held.returncode == 1
    assert len(held.stderr.strip().splitlines()) == 1
    assert UNLOCK_COMMAND in held.stderr
    running_snakemake.kill()
    running_snakemake.wait()
    cleared = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert cleared.returncode == 0
    assert "removed Snakemake's lock" in cleared.stderr
