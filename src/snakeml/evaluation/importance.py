"""Permutation importance of a whole Pipeline on the test rows, per column and per family.

Columns are permuted in the raw feature frame the Pipeline receives, so the importance of a
categorical column covers all of its one-hot columns. Every repeat is kept (a long table); the
summaries give the mean and standard deviation over the repeats.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from snakeml.core.errors import DataError
from snakeml.core.io import write_csv
from snakeml.core.plots import plot_importances
from snakeml.core.slices import ImportanceSlice
from snakeml.models.estimators import (
    feature_frame,
    limit_threads,
    load_model,
    parquet_rows,
    read_model_rows,
    target_vector,
)
from snakeml.models.task_kinds import (
    greater_is_better,
    metric_label,
    regression_metrics,
    task_kind,
)
from snakeml.training.train import read_decision
from snakeml.validation.split import kept_rows

log = logging.getLogger(__name__)


def feature_groups(columns: list[str], families: dict[str, list[str]]) -> dict[str, list[str]]:
    """The families present among ``columns``, each with its columns in column order.

    ``families`` maps each family to its columns (the data set's declaration), in family order.
    """
    groups = {family: [c for c in columns if c in members] for family, members in families.items()}
    return {family: members for family, members in groups.items() if members}


def family_of(families: dict[str, list[str]]) -> dict[str, str]:
    """Each feature column's family."""
    return {column: family for family, members in families.items() for column in members}


def rmse_score(pipeline: Any, x: pd.DataFrame, y: np.ndarray) -> float:
    """The negated test RMSE of a regressor: greater is better, as a scikit-learn scorer."""
    return -regression_metrics(y, pipeline.predict(x))["rmse"]


# Rows predicted in one call: a prediction's fixed cost (the ColumnTransformer's pass over the
# frame, one call per tree of a boosting model) outweighs its cost per row on a sample of a few
# thousand rows, so the repeats of a permutation are stacked and predicted together.
STACKED_ROWS = 200_000


class _StackedPredictions:
    """Stands in for a fitted pipeline while one repeat of a stacked frame is scored.

    ``predict`` and ``predict_proba`` return the current repeat's rows of a single call on the
    whole stacked frame (made on first use); every other attribute (``classes_``) is the
    pipeline's. A scorer ``score(estimator, x, y)`` thus scores the repeat as if it had
    predicted ``x`` itself. Predictions are row by row, so the values are the same.
    """

    def __init__(self, pipeline: Any, stacked: pd.DataFrame, rows: int) -> None:
        self._pipeline, self._stacked, self._rows = pipeline, stacked, rows
        self._made: dict[str, np.ndarray] = {}
        self.repeat = 0

    def _part(self, method: str, x: pd.DataFrame) -> np.ndarray:
        if len(x) != self._rows:
            raise ValueError(f"scoring {len(x)} rows, but each stacked repeat has {self._rows}")
        if method not in self._made:
            self._made[method] = getattr(self._pipeline, method)(self._stacked)
        start = self.repeat * self._rows
        return self._made[method][start : start + self._rows]

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        return self._part("predict", x)

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        return self._part("predict_proba", x)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pipeline, name)


def family_importances(
    pipeline: Any,
    x: pd.DataFrame,
    y: np.ndarray,
    groups: dict[str, list[str]],
    repeats: int,
    seed: int,
    score: Any = rmse_score,
) -> pd.DataFrame:
    """Every repeat of grouped permutation importance: a family's columns permuted together.

    One shuffle of the rows is applied to all of a family's columns, so their joint distribution
    is kept and only their link to the target is broken. ``score(pipeline, x, y)`` is greater
    is better; an importance is how much it drops (the RMSE increase by default). The shuffles
    come from ``numpy.random.default_rng(seed)``, family by family, repeat by repeat. The
    repeats of a family are predicted in one call on their frames stacked (up to STACKED_ROWS
    rows): the same values as one call each, at a fraction of the cost on small samples.
    """
    if repeats < 1:
        raise ValueError(f"n_repeats must be >= 1, got {repeats}")
    rng = np.random.default_rng(seed)
    reference = score(pipeline, x, y)
    per_call = max(1, STACKED_ROWS // max(len(x), 1))
    rows = []
    for family, columns in groups.items():
        orders = [rng.permutation(len(x)) for _ in range(repeats)]
        for first in range(0, repeats, per_call):
            batch = orders[first : first + per_call]
            frames = []
            for order in batch:
                shuffled = x.copy()
                for column in columns:
                    shuffled[column] = x[column].to_numpy()[order]
                frames.append(shuffled)
            served = _StackedPredictions(pipeline, pd.concat(frames, ignore_index=True), len(x))
            for offset in range(len(batch)):
                served.repeat = offset
                drop = reference - score(served, x, y)
                rows.append({"family": family, "repeat": first + offset, "importance": drop})
    return pd.DataFrame(rows, columns=["family", "repeat", "importance"])


def permutation_importances(
    pipeline: Any,
    x: pd.DataFrame,
    y: np.ndarray,
    repeats: int,
    seed: int,
    score: Any = rmse_score,
) -> pd.DataFrame:
    """Every repeat of permutation importance on raw feature columns (Breiman 2001, as
    scikit-learn's ``permutation_importance``): each column is a group of one.

    ``score(pipeline, x, y)`` is greater is better (default: minus the RMSE); an importance is
    how much it drops. Rows: feature, repeat, importance. See ``family_importances``.
    """
    groups = {column: [column] for column in x.columns}
    found = family_importances(pipeline, x, y, groups, repeats, seed, score)
    return found.rename(columns={"family": "feature"})


def summarize_importances(importances: pd.DataFrame, key: str) -> pd.DataFrame:
    """Mean, standard deviation and a 95 % confidence interval of the mean per ``key``.

    ``std`` has ddof=0, as scikit-learn's ``importances_std``. The interval is Student's t over
    the repeats: mean +- t(0.975, n - 1) * s / sqrt(n), with ``s`` the ddof=1 standard
    deviation of the ``n`` repeats; it spans the shuffles' noise on these rows, not the
    sampling of the rows. NaN with a single repeat. Best first.
    """
    from scipy.stats import t

    grouped = importances.groupby(key, sort=False)["importance"]
    summary = grouped.agg(
        mean="mean", std=lambda v: float(np.std(v)), sem="sem", n="count"
    ).reset_index()
    half = t.ppf(0.975, summary["n"] - 1) * summary["sem"]
    summary["ci95_low"] = summary["mean"] - half
    summary["ci95_high"] = summary["mean"] + half
    summary = summary.drop(columns=["sem", "n"])
    return summary.sort_values(["mean", key], ascending=[False, True], ignore_index=True)


def run_importance(
    model_path: str | Path,
    test_path: str | Path,
    cfg: ImportanceSlice,
    model_name: str,
    outputs: dict[str, str | Path],
    threads: int = 1,
    decision_path: str | Path | None = None,
) -> pd.DataFrame:
    """Permutation importance per column and per family on a sample of the test rows.

    ``cfg`` is the model's importance slice (snakeml.core.slices.ImportanceSlice): scored with
    ``evaluation.metric`` on a seeded sample of ``evaluation.importance_max_rows`` test rows,
    each column (and family) shuffled ``evaluation.importance_repeats`` times. A classifier's
    classes and threshold come from its decision file, ``decision_path``. Returns the
    per-column summary. Raises DataError for an empty test split.
    """
    columns, options = cfg.columns, cfg.evaluation
    families, units = cfg.families, cfg.task.units
    kind, metric = task_kind(cfg.task.kind), options.metric
    decision = None if decision_path is None else read_decision(decision_path)
    classes, threshold = kind.decision_classes(decision, "the importance of")
    score = kind.importance_scorer(metric, classes, threshold)  # checks the metric too
    if metric not in ("rmse", "mae"):
        units = ""  # the other metrics have no units
    direction = "decrease" if greater_is_better(metric) else "increase"
    measure = f"{direction} in test {metric_label(metric)}"
    rows = parquet_rows([test_path])
    if rows == 0:
        raise DataError(f"test split {test_path} is empty: check the split settings (split.*)")
    pipeline = load_model(model_path)
    # the sampled rows only, with the model's columns only (as sample_rows would take them)
    keep = kept_rows(rows, options.importance_max_rows, options.importance_random_state)
    sample = read_model_rows([test_path], columns, keep=keep).reset_index(drop=True)
    x, y = feature_frame(sample, columns), target_vector(sample, columns, kind)
    with limit_threads(threads):
        per_column = permutation_importances(
            pipeline,
            x,
            y,
            options.importance_repeats,
            options.importance_random_state,
            score,
        )
        per_family = family_importances(
            pipeline,
            x,
            y,
            feature_groups(list(x.columns), families),
            options.importance_repeats,
            options.importance_random_state,
            score,
        )
    family = family_of(families)
    per_column.insert(1, "family", per_column["feature"].map(family))
    column_summary = summarize_importances(per_column, "feature")
    column_summary.insert(1, "family", column_summary["feature"].map(family))
    family_summary = summarize_importances(per_family, "family")
    write_csv(per_column, outputs["importance"])
    write_csv(column_summary, outputs["summary"])
    write_csv(per_family, outputs["families"])
    write_csv(family_summary, outputs["families_summary"])
    plot_importances(
        per_column,
        f"Permutation importance: {model_name}",
        outputs["plot"],
        units=units,
        measure=measure,
    )
    plot_importances(
        per_family,
        f"Permutation importance per feature family: {model_name}",
        outputs["families_plot"],
        key="family",
        units=units,
        measure=measure,
    )
    log.info(
        "model %s, %d test rows, %d repeats: top features %s; families %s",
        model_name,
        len(sample),
        options.importance_repeats,
        column_summary["feature"].head(5).tolist(),
        family_summary["family"].tolist(),
    )
    return column_summary
