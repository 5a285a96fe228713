"""Verdicts: bootstrap intervals of the leaderboard's metric, paired margins, the leakage screen.

Every row of the leaderboard (a model or a baseline) is scored on the same resamples of the
test rows: a resample draws the test rows' count of rows with replacement (seeded). A row's
95 % interval is the 2.5th and 97.5th percentiles of its metric over the resamples, the
percentile bootstrap (Efron & Tibshirani, "An Introduction to the Bootstrap", 1993, ch. 13).
The champion's margin over another row is computed on each resample from the same rows for
both, so what the two share (hard days, easy days) cancels: the paired bootstrap of a
difference (Efron & Tibshirani 1993, ch. 13; Koehn, "Statistical significance tests for
machine translation evaluation", EMNLP 2004, for its use to compare two systems). The
champion *beats* another row when the margin's interval lies above 0 in its favour, *is worse
than* it when the interval lies below 0, and *cannot be told apart from* it otherwise.

Resampling rows treats them as independent: rows close in time that share their errors make
the intervals narrower than they should be.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from snakeml.errors import DataError
from snakeml.task_kinds import TaskKind, from_row_mean, greater_is_better

log = logging.getLogger(__name__)

# The interval's coverage, and the resamples drawn at once (bounds the memory of the index
# matrix: rows x this many int64).
LEVEL = 0.95
CHUNK = 50

BEATS, TIED, WORSE = "beats", "cannot be told apart from", "is worse than"


@dataclass(frozen=True)
class Scored:
    """One leaderboard row's test predictions: values (rows,) or probabilities (rows, classes),
    and its decision threshold (binary accuracy and F1; None otherwise)."""

    predicted: np.ndarray
    threshold: float | None = None


def bootstrap_metric(
    kind: TaskKind,
    metric: str,
    y_true: Any,
    scored: dict[str, Scored],
    classes: Sequence[Any] | None,
    resamples: int,
    random_state: int,
) -> dict[str, np.ndarray]:
    """Each row's ``metric`` on the same ``resamples`` resamples of the test rows.

    ``y_true`` (rows,) are the test labels; each ``scored`` entry holds predictions for those
    rows in the same order. A resample draws len(y_true) row indices uniformly with
    replacement (``numpy.random.default_rng(random_state)``, CHUNK resamples at a time, so the
    draws do not depend on the rows scored). Metrics that are means over rows
    (``snakeml.task_kinds.ROW_MEAN_METRICS``) average precomputed per-row losses; the others
    call the metric (scikit-learn's) on each resample. A resample on which the metric is
    undefined (one class for ROC AUC) is NaN. Returns shape (resamples,) per row name.
    """
    y = pd.Series(y_true).reset_index(drop=True)
    n = len(y)
    if n == 0:
        raise DataError("the test split is empty: no interval can be computed")
    losses = {
        name: kind.row_losses(metric, y, s.predicted, classes, s.threshold)
        for name, s in scored.items()
    }
    out = {name: np.full(resamples, np.nan) for name in scored}
    rng = np.random.default_rng(random_state)
    labels = y.to_numpy()
    for start in range(0, resamples, CHUNK):
        stop = min(start + CHUNK, resamples)
        index = rng.integers(0, n, size=(stop - start, n))
        for name, s in scored.items():
            row = losses[name]
            if row is not None:
                out[name][start:stop] = from_row_mean(metric, row[index].mean(axis=1))
                continue
            for offset, rows in enumerate(index):
                # undefined on this resample (one class for ROC AUC): left NaN
                with contextlib.suppress(DataError):
                    out[name][start + offset] = kind.metric_value(
                        metric, labels[rows], s.predicted[rows], classes, s.threshold
                    )
    return out


def percentile_interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The percentile bootstrap interval of ``values`` (resamples,), NaNs left out.

    Returns (low, high): the (1 - level) / 2 and (1 + level) / 2 quantiles (Efron & Tibshirani
    1993, ch. 13). Raises DataError when every value is NaN.
    """
    finite = np.asarray(values, dtype="float64")
    finite = finite[~np.isnan(finite)]
    if finite.size == 0:
        raise DataError("the metric is undefined on every resample of the test rows")
    low, high = np.quantile(finite, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def verdict(low: float, high: float) -> str:
    """``beats`` when a margin's interval (in the champion's favour) lies above 0, ``is worse
    than`` when below, else ``cannot be told apart from``."""
    if low > 0:
        return BEATS
    if high < 0:
        return WORSE
    return TIED


def compare(
    metric: str,
    champion: tuple[float, np.ndarray],
    other: tuple[float, np.ndarray],
    name: str,
    role: str,
) -> dict[str, Any]:
    """The champion's margin over ``other``, with its paired interval and the verdict.

    Each argument is (test value, values on the resamples); both resample arrays come from
    :func:`bootstrap_metric` on the same draws. The margin is signed so positive favours the
    champion: other - champion for a loss, champion - other for a score. Returns ``other``
    (the row's name), ``role`` (baseline or runner-up), ``value`` (the other row's test
    value), ``margin``, ``margin_low``, ``margin_high`` and ``verdict``.
    """
    sign = 1.0 if greater_is_better(metric) else -1.0
    # + 0.0 turns a negated zero into a plain one (no "-0.000" in the statement)
    margin = sign * (champion[0] - other[0]) + 0.0
    low, high = percentile_interval(sign * (champion[1] - other[1]) + 0.0)
    return {
        "other": name,
        "role": role,
        "value": float(other[0]),
        "margin": float(margin),
        "margin_low": low,
        "margin_high": high,
        "verdict": verdict(low, high),
    }


def leakage_rows(n_rows: int, max_rows: int, random_state: int) -> np.ndarray:
    """The positions (max_rows,) of the leakage screen's sample of ``n_rows`` training rows,
    in sample order: those ``DataFrame.sample(n=max_rows, random_state=random_state)`` takes,
    so a caller can read only these rows of a file."""
    return np.random.RandomState(random_state).choice(n_rows, size=max_rows, replace=False)


def screen_leakage(
    kind: TaskKind,
    train: pd.DataFrame,
    features: Sequence[str],
    target: str,
    classes: Sequence[Any] | None,
    max_rows: int,
    threshold: float,
    random_state: int,
) -> dict[str, float]:
    """The features that alone predict the target almost perfectly on the training rows.

    On a seeded sample of at most ``max_rows`` training rows, each feature alone is fitted on
    one half and scored on the other (``snakeml.task_kinds.TaskKind.single_feature_score``): R² for
    regression, ROC AUC for binary, macro one-vs-rest ROC AUC for multiclass (the binary rule
    applied to each class against the rest). Returns {feature: score} for the scores above
    ``threshold`` (0.99 by default: a feature that good is the answer, not a clue), each
    logged as a warning.
    """
    sample = train
    if len(train) > max_rows:
        sample = train.iloc[leakage_rows(len(train), max_rows, random_state)]
    flagged = {}
    for feature in features:
        score = kind.single_feature_score(sample[feature], sample[target], classes, random_state)
        if np.isfinite(score) and score > threshold:
            flagged[feature] = float(score)
            log.warning(
                "feature %s alone predicts %s almost perfectly on the training rows (%s %.4f): "
                "check it is known when the prediction is made",
                feature,
                target,
                kind.leakage_metric,
                score,
            )
    return flagged
