"""snakeml.operations.runlock: Snakemake's lock left by a killed run is cleared only when no run
holds it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from snakeml.operations.runlock import (
    UNLOCK_COMMAND,
    clear_before_run,
    clear_stale_lock,
    lock_owners,
    locking_run_config,
    process_started,
    record_lock_owner,
    snakemake_processes,
    unlock_command,
)

SRC = str(Path(__file__).resolve().parents[2] / "src")
LOCKS = ["0.input.lock", "0.output.lock"]


def dead_pid():
    """The id of a process of this host that has ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def leave_lock(directory, owner=True, **record):
    """The lock files a SIGKILLed run leaves in .snakemake/locks, with its owner record."""
    locks = directory / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text("results/split/train.parquet\n")
    (locks / "0.output.lock").write_text("results/leaderboard.csv\n")
    if owner:
        data = {
            "host": socket.gethostname(),
            "pid": dead_pid(),
            "started": 1.0,
            "executor": "local",
            "locks": LOCKS,
            **record,
        }
        (locks / "snakeml-owner-host-1.json").write_text(json.dumps(data))
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
    (pid,) = [owner.pid for owner in lock_owners(tmp_path).values()]
    ok, line = clear_stale_lock(tmp_path)
    assert ok
    assert line == (
        f"snakeml: removed Snakemake's lock left by stopped process {pid} "
        "(no Snakemake runs here now)"
    )
    assert not list(locks.iterdir())


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"host": "login2.example"}, "on login2.example, which cannot be checked from here"),
        ({"pid": os.getpid(), "started": process_started(os.getpid())}, "which runs"),
        ({"executor": "slurm"}, "whose slurm jobs may still run"),
    ],
)
def test_a_lock_whose_holder_may_live_is_kept_and_named(tmp_path, record, reason):
    locks = leave_lock(tmp_path, **record)
    ok, line = clear_stale_lock(tmp_path, "snakemake --unlock --config overrides=x")
    assert not ok
    assert line.startswith("snakeml: Snakemake's lock in this directory is held by ")
    assert reason in line
    assert line.endswith(
        ": once that run is over, clear it with `snakemake --unlock --config overrides=x`"
    )
    assert "\n" not in line
    assert len(list(locks.glob("*.lock"))) == 2


def test_a_lock_with_no_record_of_its_holder_is_kept(tmp_path):
    locks = leave_lock(tmp_path, owner=False)
    ok, line = clear_stale_lock(tmp_path)
    assert not ok
    assert "a run that left no record of itself (0.input.lock, 0.output.lock)" in line
    assert len(list(locks.iterdir())) == 2


def test_a_record_names_this_process_and_the_locks_it_holds(tmp_path):
    (tmp_path / ".snakemake" / "locks").mkdir(parents=True)
    assert record_lock_owner([], "local", tmp_path) is None
    path = record_lock_owner([f"/x/.snakemake/locks/{name}" for name in LOCKS], "local", tmp_path)
    (owner,) = lock_owners(tmp_path).values()
    assert path.name == f"snakeml-owner-{socket.gethostname()}-{os.getpid()}.json"
    assert (owner.pid, owner.executor, owner.locks) == (os.getpid(), "local", tuple(LOCKS))
    assert owner.started == process_started(os.getpid())


@pytest.mark.parametrize(
    ("argv", "config"),
    [
        (
            ["snakemake", "--cores", "2", "--config", "overrides=+experiment=smoke"],
            ["overrides=+experiment=smoke"],
        ),
        (["/v/bin/snakemake", "--cores", "2"], []),
        (["/v/lib/snakemake/__main__.py", "--cores", "2", "--config", "a=1"], ["a=1"]),
        (["snakemake", "-n", "--cores", "2"], None),
        (["snakemake", "--cores", "2", "--nolock"], None),
        (["snakemake", "--unlock"], None),
        (["snakemake", "--cores", "2", "--mode", "remote", "--nolock"], None),
        (["snakemake", "--cores", "2", "--mode", "subprocess"], None),
        (["pytest", "-x"], None),
        (["snakemake", "--no-such-option"], None),
    ],
)
def test_only_a_run_that_takes_the_lock_may_clear_it(argv, config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert locking_run_config(argv) == config


def test_the_unlock_command_repeats_the_config():
    assert unlock_command(["overrides=+experiment=smoke model=[ridge]"]) == (
        "snakemake --unlock --config 'overrides=+experiment=smoke model=[ridge]'"
    )
    assert unlock_command([]) == "snakemake --unlock"


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
    assert len(list(locks.glob("*.lock"))) == 2


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
    command = [
        sys.executable,
        "-m",
        "snakeml.operations.runlock",
        "--overrides",
        "+experiment=smoke",
    ]
    held = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert held.returncode == 1
    assert len(held.stderr.strip().splitlines()) == 1
    assert f"{UNLOCK_COMMAND} --config overrides=+experiment=smoke`" in held.stderr
    running_snakemake.kill()
    running_snakemake.wait()
    cleared = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert cleared.returncode == 0
    assert "removed Snakemake's lock" in cleared.stderr


def test_before_a_run_a_stale_lock_goes_and_a_dry_run_leaves_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    locks = leave_lock(tmp_path)
    assert clear_before_run(["snakemake", "--cores", "1", "-n"]) is None
    assert len(list(locks.glob("*.lock"))) == 2
    line = clear_before_run(["snakemake", "--cores", "1"])
    assert line.startswith("snakeml: removed Snakemake's lock left by stopped process")
    assert not list(locks.iterdir())
    assert clear_before_run(["snakemake", "--cores", "1"]) is None
