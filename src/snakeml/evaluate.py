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
from snakeml.metrics import regression_metrics
from snakeml.models import feature_frame, limit_threads, load_model, target_vector
from snakeml.plots import plot_error_by_month, plot_predicted_vs_actual, plot_residuals_by

log = logging.getLogger(__name__)

# Columns of the test split the error breakdowns group by.
BREAKDOWN_COLUMNS: tuple[str, ...] = ("month", "sched_dep_hour", "carrier")
# Points in the predicted-vs-actual scatter (and its CSV): enough to see the shape.
SCATTER_POINTS = 2000


def residual_table(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """Per value of ``key``: flights, mean, median and quartiles of the residual, MAE and RMSE."""
    residual = frame["predicted"] - frame["actual"]
    grouped = residual.groupby(frame[key], sort=True)
    table = pd.DataFrame(
        {
            "flights": grouped.size(),
            "mean": grouped.mean(),
            "median": grouped.median(),
            "q25": grouped.quantile(0.25),
            "q75": grouped.quantile(0.75),
            "mae": residual.abs().groupby(frame[key], sort=True).mean(),
            "rmse": np.sqrt((residual**2).groupby(frame[key], sort=True).mean()),
        }
    )
    return table.rename_axis(key).reset_index()


def scored_frame(test: pd.DataFrame, actual: np.ndarray, predicted: np.ndarray) -> pd.DataFrame:
    """The test flights' breakdown columns beside their actual and predicted delays."""
    missing = [c for c in BREAKDOWN_COLUMNS if c not in test.columns]
    if missing:
        raise DataError(f"test split lacks columns {missing} the error breakdowns need: rebuild")
    frame = test[list(BREAKDOWN_COLUMNS)].reset_index(drop=True).copy()
    frame["carrier"] = frame["carrier"].astype("string").fillna("unknown")
    frame["actual"], frame["predicted"] = actual, predicted
    return frame


def write_breakdowns(
    scored: pd.DataFrame, model_name: str, outputs: dict[str, str | Path], seed: int
) -> None:
    """Predicted vs actual, residuals by departure hour and by carrier, error by month."""
    points = sample_rows(scored[["actual", "predicted"]], SCATTER_POINTS, seed)
    write_csv(points, outputs["scatter_csv"])
    plot_predicted_vs_actual(points, f"Predicted vs actual: {model_name}", outputs["scatter_png"])

    by_hour = residual_table(scored, "sched_dep_hour")
    write_csv(by_hour, outputs["by_hour_csv"])
    plot_residuals_by(
        by_hour,
        "sched_dep_hour",
        "scheduled departure hour (local)",
        f"Residuals by departure hour: {model_name}",
        outputs["by_hour_png"],
    )
    by_carrier = residual_table(scored, "carrier")
    write_csv(by_carrier, outputs["by_carrier_csv"])
    plot_residuals_by(
        by_carrier,
        "carrier",
        "carrier",
        f"Residuals by carrier: {model_name}",
        outputs["by_carrier_png"],
    )
    by_month = residual_table(scored, "month")
    write_csv(by_month, outputs["by_month_csv"])
    plot_error_by_month(by_month, f"Error by month: {model_name}", outputs["by_month_png"])


def evaluate_model(
    model_path: str | Path,
    test_path: str | Path,
    settings: dict[str, Any],
    model_name: str,
    outputs: dict[str, str | Path],
    threads: int = 1,
) -> dict[str, float]:
    """Score the model on the test months; write metrics, predictions and error breakdowns."""
    columns = settings["columns"]
    test = pd.read_parquet(test_path)
    if test.empty:
        raise DataError(f"test split {test_path} is empty: check split.test_months")
    if "flight_id" not in test.columns:
        raise DataError(f"test split {test_path} has no flight_id column: rebuild the features")
    pipeline = load_model(model_path)
    x, y = feature_frame(test, columns), target_vector(test, columns)
    with limit_threads(threads):
        predicted = pipeline.predict(x)
    scores = regression_metrics(y, predicted)
    scored = scored_frame(test, y, predicted)
    write_json(outputs["metrics"], {"model": model_name, "rows": len(test), **scores})
    predictions = pd.DataFrame(
        {"flight_id": test["flight_id"].to_numpy(), "actual": y, "predicted": predicted}
    )
    with atomic_path(outputs["predictions"]) as tmp:
        predictions.to_parquet(tmp, index=False)
    write_breakdowns(scored, model_name, outputs, settings["seed"])
    log.info("model %s on %d test rows: %s", model_name, len(test), scores)
    return scores
