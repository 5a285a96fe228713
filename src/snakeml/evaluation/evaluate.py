"""Evaluate: test-set metrics, predictions and error breakdowns of one model, with their plots.

Each breakdown is written as CSV (for `dvc plots`) and drawn as PNG (for the report). A
regression gets residuals per group and errors per period; a classifier its confusion matrix at
the decision threshold, the task's metrics per group and per period, and ROC, precision-recall
and calibration curves (a binary task's of its positive class, a multiclass task's one per class
against the rest).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from snakeml.core.errors import DataError
from snakeml.core.io import atomic_path, write_csv, write_json
from snakeml.core.plots import (
    plot_confusion,
    plot_curve,
    plot_error_by_period,
    plot_metric_by,
    plot_predicted_vs_actual,
    plot_residuals_by,
)
from snakeml.core.slices import EvaluateSlice
from snakeml.models.estimators import (
    feature_frame,
    limit_threads,
    load_model,
    parquet_rows,
    read_model_rows,
    target_vector,
)
from snakeml.models.task_kinds import metric_label, task_kind
from snakeml.training.train import read_decision
from snakeml.validation.split import periods, sample_rows

log = logging.getLogger(__name__)

# Points in the predicted-vs-actual scatter (and its CSV): enough to see the shape.
SCATTER_POINTS = 2000
# Points kept of a ROC or precision-recall curve in its CSV and figure.
CURVE_POINTS = 2000
# Bins of predicted probability in the calibration curve.
CALIBRATION_BINS = 10
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


def scored_frame(
    test: pd.DataFrame, actual: np.ndarray, predicted: np.ndarray, cfg: EvaluateSlice
) -> pd.DataFrame:
    """The test rows' group columns and period (``split.period`` in ``split.time_zone``) beside
    their actual and predicted values. Raises DataError for a missing group or time column."""
    task, split = cfg.task, cfg.split
    groups = [group.column for group in task.groups]
    needed = [*groups] if task.time is None else [*groups, task.time]
    missing = [c for c in needed if c not in test.columns]
    if missing:
        raise DataError(f"test split lacks columns {missing} the error breakdowns need: rebuild")
    frame = test[list(dict.fromkeys(groups))].reset_index(drop=True).copy()
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].astype("string").fillna("unknown")
    if task.time is not None:  # a table without time has no periods to break down by
        frame[PERIOD] = periods(
            test[task.time].reset_index(drop=True), split.period, split.time_zone
        ).to_numpy()
    frame["actual"], frame["predicted"] = actual, predicted
    return frame


def write_breakdowns(
    scored: pd.DataFrame,
    model_name: str,
    outputs: dict[str, str | Path],
    cfg: EvaluateSlice,
) -> None:
    """Predicted vs actual, residuals per task group, error per period: CSV and PNG each."""
    task, unit = cfg.task, cfg.split.period
    points = sample_rows(scored[["actual", "predicted"]], SCATTER_POINTS, cfg.seed)
    write_csv(points, outputs["scatter_csv"])
    plot_predicted_vs_actual(
        points, f"Predicted vs actual: {model_name}", outputs["scatter_png"], task
    )
    for group in task.groups:
        table = residual_table(scored, group.column)
        write_csv(table, outputs[f"by_{group.name}_csv"])
        plot_residuals_by(
            table,
            group.column,
            group.label,
            f"Residuals by {group.label}: {model_name}",
            outputs[f"by_{group.name}_png"],
            task.units,
        )
    if PERIOD not in scored.columns:
        return
    by_period = residual_table(scored, PERIOD).rename(columns={PERIOD: unit})
    write_csv(by_period, outputs["by_period_csv"])
    plot_error_by_period(
        by_period, unit, f"Error by {unit}: {model_name}", outputs["by_period_png"], task.units
    )


def metrics_by(
    scored: pd.DataFrame,
    key: str,
    proba: np.ndarray,
    decision: dict[str, Any],
) -> pd.DataFrame:
    """Per value of ``key``: rows and each of the kind's metrics (NaN where undefined there).

    A metric is undefined in a group whose true labels hold one class (ROC AUC, say).
    """
    kind = task_kind(decision["kind"])
    classes, threshold = decision["classes"], decision["threshold"]
    actual = scored["actual"].to_numpy()
    rows = []
    for value, index in sorted(scored.groupby(key, sort=True).indices.items()):
        row: dict[str, Any] = {key: value, "rows": len(index)}
        for name in kind.metrics:
            try:
                row[name] = kind.metric_value(name, actual[index], proba[index], classes, threshold)
            except DataError:
                row[name] = np.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=[key, "rows", *kind.metrics])


def confusion_table(actual: np.ndarray, predicted: np.ndarray, classes: list[Any]) -> pd.DataFrame:
    """Test rows per (actual, predicted) class pair, every pair listed, in class order."""
    counts = pd.crosstab(pd.Series(actual, name="actual"), pd.Series(predicted, name="predicted"))
    counts = counts.reindex(index=classes, columns=classes, fill_value=0)
    table = counts.stack().rename("rows").reset_index()
    table["rows"] = table["rows"].astype("int64")
    return table


def _thinned(table: pd.DataFrame, points: int) -> pd.DataFrame:
    if len(table) <= points:
        return table
    keep = np.unique(np.linspace(0, len(table) - 1, points).round().astype(int))
    return table.iloc[keep].reset_index(drop=True)


def _one_class_curves(truth: np.ndarray, score: np.ndarray) -> dict[str, pd.DataFrame]:
    from sklearn.metrics import precision_recall_curve, roc_curve

    fpr, tpr, roc_thresholds = roc_curve(truth, score)
    roc = pd.DataFrame(
        {
            "false_positive_rate": fpr,
            "true_positive_rate": tpr,
            "threshold": np.minimum(roc_thresholds, 1.0),
        }
    )
    precision, recall, pr_thresholds = precision_recall_curve(truth, score)
    pr = pd.DataFrame(
        {
            "recall": recall[:-1],
            "precision": precision[:-1],
            "threshold": pr_thresholds,
        }
    )
    bins = np.clip((score * CALIBRATION_BINS).astype(int), 0, CALIBRATION_BINS - 1)
    frame = pd.DataFrame({"bin": bins, "predicted": score, "observed": truth.astype(float)})
    grouped = frame.groupby("bin", sort=True)
    calibration = pd.DataFrame(
        {
            "bin_low": grouped.size().index / CALIBRATION_BINS,
            "rows": grouped.size().to_numpy(),
            "mean_predicted": grouped["predicted"].mean().to_numpy(),
            "observed_rate": grouped["observed"].mean().to_numpy(),
        }
    )
    return {
        "roc": _thinned(roc, CURVE_POINTS),
        "pr": _thinned(pr, CURVE_POINTS),
        "calibration": calibration,
    }


def class_curves(
    actual: np.ndarray, proba: np.ndarray, classes: list[Any]
) -> dict[str, pd.DataFrame]:
    """ROC, precision-recall and calibration curves, one per class against the rest.

    ``proba`` is (rows, len(classes)), columns in ``classes`` order. A binary task gets the
    curves of its positive class (``classes[1]``) only; a multiclass task one per class (one vs
    rest, as scikit-learn's ``roc_auc_score(multi_class="ovr")``). A class absent from
    ``actual`` has no ROC curve (no positives to find) and is left out. Each table starts with
    a ``class`` column; calibration bins are tenths of the predicted probability.
    """
    shown = [1] if len(classes) == 2 else range(len(classes))
    parts: dict[str, list[pd.DataFrame]] = {"roc": [], "pr": [], "calibration": []}
    for index in shown:
        truth = actual == classes[index]
        if not truth.any():
            continue
        for key, table in _one_class_curves(truth, proba[:, index]).items():
            parts[key].append(table.assign(**{"class": str(classes[index])}))
    columns = {
        "roc": ["false_positive_rate", "true_positive_rate", "threshold"],
        "pr": ["recall", "precision", "threshold"],
        "calibration": ["bin_low", "rows", "mean_predicted", "observed_rate"],
    }
    return {
        key: pd.concat(tables, ignore_index=True)[["class", *columns[key]]]
        if tables
        else pd.DataFrame(columns=["class", *columns[key]])
        for key, tables in parts.items()
    }


def write_classifier_breakdowns(
    scored: pd.DataFrame,
    proba: np.ndarray,
    decision: dict[str, Any],
    model_name: str,
    outputs: dict[str, str | Path],
    cfg: EvaluateSlice,
) -> None:
    """Confusion matrix, metrics per task group and per period, class curves: CSV and PNG."""
    task, unit, metric = cfg.task, cfg.split.period, cfg.evaluation.metric
    classes, label = list(decision["classes"]), metric_label(metric)
    confusion = confusion_table(scored["actual"].to_numpy(), scored["predicted"], classes)
    write_csv(confusion, outputs["confusion_csv"])
    decided = "" if decision["threshold"] is None else f" (threshold {decision['threshold']:.3f})"
    plot_confusion(confusion, f"Confusion matrix{decided}: {model_name}", outputs["confusion_png"])
    for group in task.groups:
        table = metrics_by(scored, group.column, proba, decision)
        write_csv(table, outputs[f"by_{group.name}_csv"])
        plot_metric_by(
            table,
            group.column,
            group.label,
            metric,
            label,
            f"Test {label} by {group.label}: {model_name}",
            outputs[f"by_{group.name}_png"],
        )
    if PERIOD in scored.columns:  # a table without time has no periods
        by_period = metrics_by(scored, PERIOD, proba, decision).rename(columns={PERIOD: unit})
        write_csv(by_period, outputs["by_period_csv"])
        plot_metric_by(
            by_period,
            unit,
            unit,
            metric,
            label,
            f"Test {label} by {unit}: {model_name}",
            outputs["by_period_png"],
        )
    curves = class_curves(scored["actual"].to_numpy(), proba, classes)
    positive = task_kind(decision["kind"]).curve_subject(classes)
    for key, x, y, axes, title in (
        (
            "roc",
            "false_positive_rate",
            "true_positive_rate",
            ("false positive rate", "true positive rate"),
            "ROC curve",
        ),
        ("pr", "recall", "precision", ("recall", "precision"), "Precision-recall curve"),
        (
            "calibration",
            "mean_predicted",
            "observed_rate",
            (f"mean predicted probability of {positive}", f"observed share of {positive}"),
            "Calibration curve",
        ),
    ):
        write_csv(curves[key], outputs[f"{key}_csv"])
        plot_curve(curves[key], x, y, axes, f"{title}: {model_name}", outputs[f"{key}_png"])


def evaluate_model(
    model_path: str | Path,
    test_path: str | Path,
    cfg: EvaluateSlice,
    model_name: str,
    outputs: dict[str, str | Path],
    threads: int = 1,
    decision_path: str | Path | None = None,
) -> dict[str, float]:
    """Score the model on the test rows; write metrics, predictions and error breakdowns.

    ``cfg`` is the model's evaluate slice (snakeml.core.slices.EvaluateSlice). Returns the test
    metrics by name.
    ``decision_path`` is the model's decision file (task kind, classes, threshold), needed for
    a classifier. Raises DataError when the test period holds a class training never had.
    """
    columns, key = cfg.columns, list(cfg.key)
    kind = task_kind(cfg.task.kind)
    import pyarrow.parquet as pq

    if parquet_rows([test_path]) == 0:
        raise DataError(f"test split {test_path} is empty: check the split settings (split.*)")
    present = pq.read_schema(test_path).names
    missing = [c for c in key if c not in present]
    if missing:
        raise DataError(f"test split {test_path} lacks key columns {missing}: rebuild the features")
    task = cfg.task
    described = [*key, *(group.column for group in task.groups), task.time]
    # the key, group and time columns as stored (the breakdowns label their values), and the
    # model's columns in compact types
    test = pd.read_parquet(
        test_path, columns=[c for c in dict.fromkeys(described) if c is not None and c in present]
    )
    model_rows = read_model_rows([test_path], columns)
    decision = None if decision_path is None else read_decision(decision_path)
    classes, threshold = kind.decision_classes(decision, "evaluating")
    x, y = feature_frame(model_rows, columns), target_vector(model_rows, columns, kind)
    del model_rows
    kind.check_unseen_classes(classes, y, columns["target"])
    pipeline = load_model(model_path)
    with limit_threads(threads):
        predicted = kind.predict(pipeline, x, classes)
    scores = kind.score_predictions(y, predicted, classes, threshold)
    output = kind.prediction_frame(predicted, classes, threshold)
    scored = scored_frame(test, y, output["predicted"].to_numpy(), cfg)
    write_json(outputs["metrics"], {"model": model_name, "rows": len(test), **scores})
    predictions = test[key].reset_index(drop=True).copy()
    predictions["actual"] = y
    for column in output.columns:
        predictions[column] = output[column].to_numpy()
    with atomic_path(outputs["predictions"]) as tmp:
        predictions.to_parquet(tmp, index=False)
    if decision is None or classes is None:
        write_breakdowns(scored, model_name, outputs, cfg)
    else:
        write_classifier_breakdowns(scored, predicted, decision, model_name, outputs, cfg)
    log.info("model %s on %d test rows: %s", model_name, len(test), scores)
    return scores
