"""Tuning in the real workflow: shards, reproducibility across --cores, resuming after a kill."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from snakeml.core.io import read_yaml
from tests.workflow.project import SMOKE, SNAKEMAKE, copy_run, snakemake

pytestmark = pytest.mark.workflow

MODELS = ("hgb", "rf", "ridge")


def test_every_model_is_tuned_and_gathered(smoke_project: Path) -> None:
    for model in MODELS:
        tuning = smoke_project / "results/tuning" / model
        trials = pd.read_parquet(tuning / "trials.parquet")
        # The smoke budget of 3 trials in one shard (two shards: the test below).
        assert trials.groupby("shard").size().to_dict() == {0: 3}, model
        assert set(trials["state"]) <= {"COMPLETE", "PRUNED"}
        assert (trials.loc[trials["state"] == "COMPLETE", "steps_reported"] == 3).all()
        best = read_yaml(tuning / "best_params.yaml")
        complete = trials[trials["state"] == "COMPLETE"]
        assert best["cv_loss"] == pytest.approx(complete["value"].min())
        assert sorted(best["params"]) == sorted(
            c.removeprefix("param_") for c in trials.columns if c.startswith("param_")
        )
        for png in ("history.png", "param_importances.png"):
            assert (tuning / png).read_bytes()[:4] == b"\x89PNG"
        assert (tuning / "journal.log").stat().st_size > 0


def untuned_copy(smoke_build: Path, target: Path, *models: str) -> Path:
    """A copy of the smoke run without the tuning of ``models``, its logs and what it led to:
    the raw tables, features and split are there, so a run starts with the tuning."""
    workdir = copy_run(smoke_build, target)
    for model in models:
        for folder in ("results/tuning", "logs/tune_shard", "results/models", "results/evaluation"):
            shutil.rmtree(workdir / folder / model, ignore_errors=True)
        for suffix in (".skops", ".decision.json"):
            (workdir / "results/models" / f"{model}{suffix}").unlink(missing_ok=True)
    return workdir


def test_two_shards_give_the_same_results_at_one_core_and_side_by_side(
    smoke_build: Path, tmp_path: Path
) -> None:
    """A model's two shards run one after another at --cores 1 and side by side at --cores 2;
    both are gathered, and the tuning and the fit (what evaluate scores) are the same byte for
    byte."""
    overrides = f"{SMOKE} model=[hgb] tuning.n_shards=2"
    outputs = (
        "results/tuning/hgb/best_params.yaml",
        "results/models/hgb.decision.json",
        "results/models/hgb.skops",
    )
    projects = {}
    for cores in (1, 2):
        workdir = untuned_copy(smoke_build, tmp_path / f"cores-{cores}", "hgb")
        run = snakemake(workdir, overrides, outputs[-1], cores=cores)
        assert run.returncode == 0, run.output[-3000:]
        counts = run.job_counts()
        assert (counts["tune_shard"], counts["tune_best"], counts["train"]) == (2, 1, 1), counts
        projects[cores] = workdir
    trials = pd.read_parquet(projects[1] / "results/tuning/hgb/trials.parquet")
    # The smoke budget of 3 trials, split 2 + 1 across the two shards.
    assert trials.groupby("shard").size().to_dict() == {0: 2, 1: 1}
    for path in outputs:
        assert (projects[1] / path).read_bytes() == (projects[2] / path).read_bytes(), path


def finished_trials(log: Path) -> int:
    if not log.is_file():
        return 0
    return len(re.findall(r"Trial \d+ finished", log.read_text()))


def shard_pids(workdir: Path) -> list[int]:
    """Processes running a tune_shard job of the project in ``workdir``."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            cwd = str((proc / "cwd").readlink())
        except OSError:
            continue
        if "tune_shard.py" in command and "python" in command and cwd == str(workdir):
            pids.append(int(proc.name))
    return pids


def test_a_killed_shard_resumes_and_runs_only_the_missing_trials(
    smoke_build: Path, tmp_path: Path
) -> None:
    workdir = untuned_copy(smoke_build, tmp_path / "project", "hgb")
    # Folds of every train + valid row (the smoke's 25,000): a trial takes long enough to be
    # caught between the second and the fourth.
    overrides = (
        f"{SMOKE} model=[hgb] tuning.n_trials=4 tuning.n_shards=1 tuning.pruner=none "
        "tuning.max_rows=null"
    )
    target = "results/tuning/hgb/shards/0.parquet"
    log = workdir / "logs/tune_shard/hgb/0.log"
    command = [str(SNAKEMAKE), "--cores", "1", target, "--config", f"overrides={overrides}"]
    job = subprocess.Popen(
        command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 300
        while finished_trials(log) < 2 and job.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        if job.poll() is not None:
            pytest.fail(f"the run ended before two trials finished: {job.stdout.read()[-3000:]}")
        assert finished_trials(log) >= 2, "no two trials finished within 300 s"
        pids = shard_pids(workdir)
        assert pids, "no tune_shard process found"
        for pid in pids:  # as the OOM killer or a node failure would
            os.kill(pid, signal.SIGKILL)
        output, _ = job.communicate(timeout=120)
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode != 0, output[-2000:]
    assert not (workdir / target).exists()
    done_before = finished_trials(log)
    assert 2 <= done_before < 4

    rerun = snakemake(workdir, overrides, target, cores=1)
    assert rerun.returncode == 0, rerun.output[-3000:]
    trials = pd.read_parquet(workdir / target)
    assert (trials["state"] == "COMPLETE").sum() == 4
    assert set(trials["state"]) <= {"COMPLETE", "FAIL"}
    # The rerun's log says what it found and ran only the rest.
    text = log.read_text()
    assert f"{done_before} of 4 trials finished before" in text, text[-2000:]
    assert finished_trials(log) == 4 - done_before

    # Resumed or not, a shard's trials are the same: tests/unit/test_tune.py::
    # test_a_stopped_shard_resumes_with_the_same_trials (a trial left running, as here).


def test_an_unreachable_storage_stops_before_any_job(fresh_project: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql+psycopg://snakeml@127.0.0.1:{port}/optuna"
    run = snakemake(fresh_project, f"{SMOKE} tuning.storage={url}")
    assert run.returncode != 0
    lines = [line for line in run.output.splitlines() if line.startswith("snakeml:")]
    assert len(lines) == 1, run.output[-3000:]
    assert lines[0].startswith(f"snakeml: tuning.storage: cannot use {url}:")
    assert not (fresh_project / "data/raw").exists()


def test_the_journal_opens_in_optuna_dashboard(smoke_project: Path, tmp_path: Path) -> None:
    """A user watching a run points optuna-dashboard at the journal file, unchanged."""
    dashboard = Path(sys.executable).with_name("optuna-dashboard")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    journal = smoke_project / "results/tuning/ridge/journal.log"
    said = tmp_path / "dashboard.log"
    server = subprocess.Popen(
        [str(dashboard), str(journal), "--host", "127.0.0.1", "--port", str(port)],
        stdout=said.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline, answer = time.monotonic() + 180, None
        while answer is None and server.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=5) as r:
                    answer = json.load(r)
            except OSError:
                time.sleep(1)
        assert answer is not None, f"optuna-dashboard did not answer: {said.read_text()[-2000:]}"
    finally:
        server.terminate()
        server.wait(timeout=30)
    names = sorted(s["study_name"] for s in answer["study_summaries"])
    assert names, answer
    assert all(name.startswith("snakeml-ridge-") for name in names), names
    assert {name.rsplit("-", 1)[1] for name in names} == {"shard0"}  # the smoke's one shard


def stop_holding(pid: int, lock: Path) -> bool:
    """Freeze ``pid`` with SIGSTOP if it holds ``lock``; False (and running again) if not.

    Optuna's lock file does not name its holder, but with one shard its only holder is that shard.
    """
    os.kill(pid, signal.SIGSTOP)
    if os.path.lexists(lock):
        return True
    os.kill(pid, signal.SIGCONT)
    return False


def test_a_shard_killed_while_holding_the_journal_lock_reruns_to_the_end(
    smoke_build: Path, tmp_path: Path
) -> None:
    workdir = untuned_copy(smoke_build, tmp_path / "project", "ridge")
    # Optuna's smallest grace period without a warning: the rerun breaks the lock in seconds.
    overrides = (
        f"{SMOKE} model=[ridge] tuning.n_trials=12 tuning.n_shards=1 tuning.pruner=none "
        "tuning.lock_grace_seconds=3"
    )
    target = "results/tuning/ridge/shards/0.parquet"
    lock = workdir / "results/tuning/ridge/journal.log.lock"
    command = [str(SNAKEMAKE), "--cores", "1", target, "--config", f"overrides={overrides}"]
    job = subprocess.Popen(
        command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    killed = None
    try:
        deadline = time.monotonic() + 300
        while killed is None and job.poll() is None and time.monotonic() < deadline:
            for pid in shard_pids(workdir):
                # An append holds the lock for milliseconds: look often, freeze, then check.
                for _ in range(20000):
                    if os.path.lexists(lock) and stop_holding(pid, lock):
                        os.kill(pid, signal.SIGKILL)  # as the OOM killer would, mid-append
                        killed = pid
                        break
            time.sleep(0.01)
        output, _ = job.communicate(timeout=120)
    finally:
        if job.poll() is None:
            job.kill()
    assert killed is not None, f"never caught the shard holding the lock: {output[-3000:]}"
    assert job.returncode != 0
    assert os.path.lexists(lock), "the killed shard's lock is gone: the test proves nothing"
    assert not (workdir / target).exists()
    # A temporary as a writer killed by the same SIGKILL leaves it.
    leftover = workdir / "results/tuning/ridge/shards/.0.parquet.k1lled_8.tmp"
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_bytes(b"half a table")

    rerun = subprocess.Popen(
        command,
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = rerun.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(rerun.pid, signal.SIGKILL)
        output, _ = rerun.communicate()
        log = (workdir / "logs/tune_shard/ridge/0.log").read_text()
        pytest.fail(f"the rerun did not finish within 300 s: {log[-2000:]}")
    assert rerun.returncode == 0, output[-3000:]
    trials = pd.read_parquet(workdir / target)
    assert (trials["state"] == "COMPLETE").sum() == 12
    assert set(trials["state"]) <= {"COMPLETE", "FAIL"}
    text = (workdir / "logs/tune_shard/ridge/0.log").read_text()
    # Optuna's open lock breaks it after the grace period (it names the lock only after 10 s
    # of waiting, longer than this grace period).
    assert "Forcibly releasing the lock file" in text, text[-2000:]
    assert not os.path.lexists(lock)
    assert not leftover.exists()
    assert "snakeml: removed 1 temporary files of a stopped run" in output
