"""Evaluate: test-set metrics, predictions and error breakdowns of one model, with their plots.

Each breakdown is written as CSV (for `dvc plots`) and drawn as PNG (for the report).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from snakeml.errors import DataError
from snakeml.importance import sample_rows
from snakeml.io import atomic_path, write_csv, write_json
from snakeml.models import feature_frame, limit_threads, load_model, target_vector
from snakeml.plots import plot_error_by_period, plot_predicted_vs_actual, plot_residuals_by
from snakeml.task_kinds import regression_metrics

log = logging.getLogger(__name__)

# Points in the predicted-vs-actual scatter (and its CSV): enough to see the shape.
SCATTER_POINTS = 2000
# pandas' period codes of the split's period units.
PERIOD_CODES = {"year": "Y", "month": "M", "week": "W", "day": "D"}
# The scored frame's column of periods; named after split.period only in the written table, so a
# task group column of that name (a month number, say) keeps its own values.
PERIOD = "__period__"


def residual_table(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """Per value of ``key``: rows, mean, median and quartiles of the residual, MAE and RMSE."""
    residual = frame["predicted"] - frame["actual"]
    grouped = residual.groupby(frame[key], sort=True)
    table = pd.DataFrame(
        {
            "rows": grouped.size(),
            "mean": grouped.mean(),
            "median": grouped.median(),
            "q25": grouped.quantile(0.25),
            "q75": grouped.quantile(0.75),
            "mae": residual.abs().groupby(frame[key], sort=True).mean(),
            "rmse": np.sqrt((residual**2).groupby(frame[key], sort=True).mean()),
        }
    )
    return table.rename_axis(key).reset_index()


def periods(times: pd.Series, unit: str, time_zone: str) -> pd.Series:
    """Each time's period (``"2013-12"`` for a month), as wall-clock periods in ``time_zone``."""
    if getattr(times.dtype, "tz", None) is not None:
        times = times.dt.tz_convert(time_zone).dt.tz_localize(None)
    return pd.to_datetime(times).dt.to_period(PERIOD_CODES[unit]).astype(str)


def scored_frame(
    test: pd.DataFrame, actual: np.ndarray, predicted: np.ndarray, settings: dict[str, Any]
) -> pd.DataFrame:
    """The test rows' group columns and period beside their actual and predicted values."""
    task, period = settings["task"], settings["period"]
    groups = [group["column"] for group in task["groups"]]
    missing = [c for c in (*groups, task["time"]) if c not in test.columns]
    if missing:
        raise DataError(f"test split lacks columns {missing} the error breakdowns need: rebuild")
    frame = test[list(dict.fromkeys(groups))].reset_index(drop=True).copy()
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].astype("string").fillna("unknown")
    frame[PERIOD] = periods(
        test[task["time"]].reset_index(drop=True), period["unit"], period["time_zone"]
    ).to_numpy()
    frame["actual"], frame["predicted"] = actual, predicted
    return frame


def write_breakdowns(
    scored: pd.DataFrame,
    model_name: str,
    outputs: dict[str, str | Path],
    settings: dict[str, Any],
) -> None:
    """Predicted vs actual, residuals per task group, error per period: CSV and PNG each."""
    task, unit = settings["task"], settings["period"]["unit"]
    points = sample_rows(scored[["actual", "predicted"]], SCATTER_POINTS, settings["seed"])
    write_csv(points, outputs["scatter_csv"])
    plot_predicted_vs_actual(
        points, f"Predicted vs actual: {model_name}", outputs["scatter_png"], task
    )
    for group in task["groups"]:
        table = residual_table(scored, group["column"])
        write_csv(table, outputs[f"by_{group['name']}_csv"])
        plot_residuals_by(
            table,
            group["column"],
            group["label"],
            f"Residuals by {group['label']}: {model_name}",
            outputs[f"by_{group['name']}_png"],
            task["units"],
        )
    by_period = residual_table(scored, PERIOD).rename(columns={PERIOD: unit})
    write_csv(by_period, outputs["by_period_csv"])
    plot_error_by_period(
        by_period, unit, f"Error by {unit}: {model_name}", outputs["by_period_png"], task["units"]
    )


def evaluate_model(
    model_path: str | Path,
    test_path: str | Path,
    settings: dict[str, Any],
    model_name: str,
    outputs: dict[str, str | Path],
    threads: int = 1,
) -> dict[str, float]:
    """Score the model on the test rows; write metrics, predictions and error breakdowns."""
    columns, key = settings["columns"], list(settings["key"])
    test = pd.read_parquet(test_path)
    if test.empty:
        raise DataError(f"test split {test_path} is empty: check the split settings (split.*)")
    missing = [c for c in key if c not in test.columns]
    if missing:
        raise DataError(f"test split {test_path} lacks key columns {missing}: rebuild the features")
    pipeline = load_model(model_path)
    x, y = feature_frame(test, columns), target_vector(test, columns)
    with limit_threads(threads):
        predicted = pipeline.predict(x)
    scores = regression_metrics(y, predicted)
    scored = scored_frame(test, y, predicted, settings)
    write_json(outputs["metrics"], {"model": model_name, "rows": len(test), **scores})
    predictions = test[key].reset_index(drop=True).copy()
    predictions["actual"], predictions["predicted"] = y, predicted
    with atomic_path(outputs["predictions"]) as tmp:
        predictions.to_parquet(tmp, index=False)
    write_breakdowns(scored, model_name, outputs, settings)
    log.info("model %s on %d test rows: %s", model_name, len(test), scores)
    return scores
