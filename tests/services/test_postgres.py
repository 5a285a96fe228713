"""Optuna's RDB storage on a real PostgreSQL server: two shards at once, pooled, bad password."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import optuna
import pandas as pd
import pytest

from tests.services.conftest import Postgres
from tests.workflow.project import SMOKE, SNAKEMAKE, Run, copy_project

pytestmark = [pytest.mark.workflow, pytest.mark.postgres]


def run_with_password(workdir: Path, overrides: str, password: str, *targets: str) -> Run:
    """snakemake with the password in PGPASSWORD only, as a user would give it."""
    env = {**os.environ, "PGPASSWORD": password}
    command = [str(SNAKEMAKE), "--cores", "2", *targets, "--config", f"overrides={overrides}"]
    result = subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    return Run(result.returncode, result.stdout + result.stderr)


def files_holding(root: Path, secret: str) -> list[str]:
    return [
        str(path.relative_to(root))
        for folder in ("results", "logs", "benchmarks", ".snakemake")
        for path in (root / folder).rglob("*")
        if path.is_file() and secret.encode() in path.read_bytes()
    ]


@pytest.fixture
def studies(postgres: Postgres, monkeypatch: pytest.MonkeyPatch):
    """Read the server's studies with the password from the environment."""
    monkeypatch.setenv("PGPASSWORD", postgres.password)
    storage = optuna.storages.RDBStorage(postgres.url)

    def load(prefix: str) -> dict[str, list[optuna.trial.FrozenTrial]]:
        return {
            s.study_name: optuna.load_study(study_name=s.study_name, storage=storage).trials
            for s in optuna.get_all_study_summaries(storage)
            if s.study_name.startswith(prefix)
        }

    return load


def test_two_shards_run_side_by_side_on_postgres(
    postgres: Postgres, studies, tmp_path: Path
) -> None:
    # A seed no other test uses gives this run studies of its own on the shared server.
    seed = uuid.uuid4().int % 10**6
    workdir = copy_project(tmp_path / "project")
    overrides = (
        f"{SMOKE} model=[hgb] seed={seed} tuning.n_trials=4 tuning.n_shards=2 "
        f"tuning.pruner=none tuning.storage={postgres.url}"
    )
    run = run_with_password(
        workdir, overrides, postgres.password, "results/tuning/hgb/best_params.yaml"
    )
    assert run.returncode == 0, run.output[-3000:]

    trials = pd.read_parquet(workdir / "results/tuning/hgb/trials.parquet")
    assert trials.groupby("shard").size().to_dict() == {0: 2, 1: 2}
    assert not (workdir / "results/tuning/hgb/journal.log").exists()

    # The run's seed is new to the server, so its two shard studies are the only ones whose
    # trials hold these values.
    values = {round(v, 9) for v in trials["value"]}
    ours = [
        name
        for name, study_trials in studies("snakeml-hgb-").items()
        if name.endswith(("-shard0", "-shard1"))
        and {round(x.value, 9) for x in study_trials if x.value is not None} <= values
        and len(study_trials) == 2
    ]
    assert len(ours) == 2, sorted(studies("snakeml-hgb-"))
    found = studies("snakeml-hgb-")
    # Side by side: each shard's first trial started before the other shard's last one ended.
    first = {n: min(t.datetime_start for t in found[n]) for n in ours}
    last = {n: max(t.datetime_complete for t in found[n]) for n in ours}
    a, b = ours
    assert first[a] < last[b] and first[b] < last[a], (first, last)

    assert files_holding(workdir, postgres.password) == []
    assert postgres.password not in run.output


def test_pooled_shards_share_one_postgres_study(postgres: Postgres, studies, tmp_path) -> None:
    seed = uuid.uuid4().int % 10**6
    workdir = copy_project(tmp_path / "project")
    overrides = (
        f"{SMOKE} model=[ridge] seed={seed} tuning.n_trials=5 tuning.n_shards=2 "
        f"tuning.pooled=true tuning.storage={postgres.url}"
    )
    run = run_with_password(
        workdir, overrides, postgres.password, "results/tuning/ridge/best_params.yaml"
    )
    assert run.returncode == 0, run.output[-3000:]
    trials = pd.read_parquet(workdir / "results/tuning/ridge/trials.parquet")
    assert trials.groupby("shard").size().to_dict() == {0: 3, 1: 2}
    pooled = {
        name: t
        for name, t in studies("snakeml-ridge-").items()
        if not name.endswith(tuple(f"-shard{i}" for i in range(10)))
        and sorted(x.number for x in t) == [0, 1, 2, 3, 4]
        and {round(x.value, 9) for x in t if x.value is not None}
        == {round(v, 9) for v in trials["value"].dropna()}
    }
    assert len(pooled) == 1, sorted(studies("snakeml-ridge-"))
    (study_trials,) = pooled.values()
    assert sorted(t.user_attrs["shard"] for t in study_trials) == [0, 0, 0, 1, 1]
    assert sorted(trials["study_trial"]) == [0, 1, 2, 3, 4]


def test_a_wrong_password_is_one_line_and_runs_nothing(postgres: Postgres, tmp_path) -> None:
    workdir = copy_project(tmp_path / "project")
    run = run_with_password(workdir, f"{SMOKE} tuning.storage={postgres.url}", "not-the-password")
    assert run.returncode != 0
    lines = [line for line in run.output.splitlines() if line.startswith("snakeml:")]
    assert len(lines) == 1, run.output[-3000:]
    assert "password authentication failed" in lines[0]
    assert "PGPASSWORD" in lines[0]
    assert "not-the-password" not in run.output
    assert not (workdir / "data/raw").exists()
