"""snakeml.evaluate: test metrics, predictions and error breakdowns of one model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from snakeml.errors import DataError, ModelLoadError
from snakeml.evaluate import SCATTER_POINTS, evaluate_model, residual_table
from snakeml.io import read_json
from snakeml.metrics import regression_metrics
from snakeml.models import build_pipeline, feature_frame, save_model, target_vector

pytestmark = pytest.mark.usefixtures("single_thread")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
BREAKDOWNS = ("scatter", "by_hour", "by_carrier", "by_month")


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
    assert table["flights"].tolist() == [1, 3]
    ua = table.set_index("carrier").loc["UA"]
    assert ua["mean"] == pytest.approx(2.0)  # residuals 2, -2, 6
    assert ua["median"] == pytest.approx(2.0)
    assert ua["mae"] == pytest.approx(10.0 / 3)
    assert ua["rmse"] == pytest.approx(np.sqrt(44.0 / 3))
    assert ua["q25"] == pytest.approx(0.0) and ua["q75"] == pytest.approx(4.0)


@pytest.fixture
def fitted(model_spec, synthetic_frame, columns):
    train = synthetic_frame[synthetic_frame["month"] < 4]
    test = synthetic_frame[synthetic_frame["month"] == 4].reset_index(drop=True)
    pipeline = build_pipeline(model_spec("ridge"), columns, {"alpha": 1.0})
    pipeline.fit(feature_frame(train, columns), target_vector(train, columns))
    return pipeline, train, test


@pytest.fixture
def evaluate_inputs(fitted, settings, tmp_path):
    pipeline, _, test = fitted
    save_model(pipeline, tmp_path / "ridge.skops")
    test.to_parquet(tmp_path / "test.parquet")
    out = tmp_path / "out"
    outputs = {
        "metrics": out / "metrics.json",
        "predictions": out / "predictions.parquet",
        **{f"{name}_csv": out / f"{name}.csv" for name in BREAKDOWNS},
        **{f"{name}_png": out / f"{name}.png" for name in BREAKDOWNS},
    }
    return tmp_path / "ridge.skops", tmp_path / "test.parquet", settings("evaluate"), outputs


def test_evaluate_model_writes_every_output(evaluate_inputs, fitted, columns):
    model_path, test_path, settings, outputs = evaluate_inputs
    pipeline, _, test = fitted
    scores = evaluate_model(model_path, test_path, settings, "ridge", outputs)

    expected = regression_metrics(
        target_vector(test, columns), pipeline.predict(feature_frame(test, columns))
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
    assert by_hour["flights"].sum() == 50
    by_carrier = pd.read_csv(outputs["by_carrier_csv"])
    assert sorted(by_carrier["carrier"]) == sorted(test["carrier"].unique())
    by_month = pd.read_csv(outputs["by_month_csv"])
    assert by_month["month"].tolist() == [4]
    assert by_month["rmse"].iloc[0] == pytest.approx(expected["rmse"], abs=1e-6)
    assert by_month["mae"].iloc[0] == pytest.approx(expected["mae"], abs=1e-6)
    for name in BREAKDOWNS:
        assert outputs[f"{name}_png"].read_bytes()[:8] == PNG_MAGIC
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
    with pytest.raises(DataError, match=r"lacks feature columns \['origin'\]"):
        evaluate_model(model_path, test_path, settings, "ridge", outputs)


def test_evaluate_model_missing_breakdown_column_writes_nothing(evaluate_inputs, fitted):
    model_path, test_path, settings, outputs = evaluate_inputs
    fitted[2].drop(columns=["sched_dep_hour"]).to_parquet(test_path)
    with pytest.raises(DataError, match=r"lacks columns \['sched_dep_hour'\]"):
        evaluate_model(model_path, test_path, settings, "ridge", outputs)
    assert not outputs["metrics"].parent.exists()
