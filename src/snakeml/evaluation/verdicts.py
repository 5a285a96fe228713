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

Rows that share their errors (the flights of one stormy day, the rows of one customer) are
not independent, and resampling them one by one makes the intervals too narrow. Such rows are
resampled as blocks (``evaluation.bootstrap_blocks``): a resample draws the test period's
blocks with replacement and takes every row of each drawn block, the block (cluster)
bootstrap (Davison & Hinkley, "Bootstrap Methods and their Application", 1997, sec. 3.8;
Cameron, Gelbach & Miller, "Bootstrap-based improvements for inference with clustered
errors", 2008). ``auto`` takes the split's groups under the group strategy; for a task with a
time column, the finest of day, week and month that holds more than one test row a block on
average and gives at least MIN_BLOCKS blocks; otherwise rows.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from snakeml.core.errors import DataError
from snakeml.models.task_kinds import TaskKind, from_row_mean, greater_is_better

log = logging.getLogger(__name__)

# The interval's coverage, and the resamples drawn at once (bounds the memory of the index
# matrix: rows x this many int64).
LEVEL = 0.95
CHUNK = 50

BEATS, TIED, WORSE = "beats", "cannot be told apart from", "is worse than"

# evaluation.bootstrap_blocks: what a resample draws. "auto" chooses (bootstrap_blocks).
BLOCK_UNITS: tuple[str, ...] = ("day", "week", "month")
BLOCK_SETTINGS: tuple[str, ...] = ("auto", "rows", *BLOCK_UNITS, "group")
# Fewer blocks than this make a poor bootstrap: "auto" does not choose such a unit, and a test
# part of fewer rows (or blocks) gives no verdict but "cannot be told apart".
MIN_BLOCKS = 20


@dataclass(frozen=True)
class Blocks:
    """How the intervals resample the test rows.

    ``labels`` (rows,) names each test row's block, None to resample rows one by one; ``unit``
    is "rows", "day", "week", "month" or the group column's name; ``count`` the blocks (the
    rows when ``labels`` is None).
    """

    labels: np.ndarray | None
    unit: str
    count: int

    @property
    def enough(self) -> bool:
        """Whether there are enough blocks (MIN_BLOCKS) for an interval to tell rows apart."""
        return self.count >= MIN_BLOCKS

    def too_few(self) -> str:
        """The sentence that says why no verdict is claimed (when not ``enough``)."""
        what = "rows" if self.labels is None else "blocks"
        return (
            f"With {self.count} {what} to resample, fewer than {MIN_BLOCKS}, the intervals cannot "
            "say how sure a gain is: no model is said to beat another or a baseline; give the "
            "test part more rows (more data, or a larger test share of it)."
        )

    def describe(self) -> str:
        """One sentence for the champion's statement: what the intervals resampled."""
        if self.labels is None:
            return (
                f"The intervals resample the {self.count} test rows one by one, taken as "
                "independent."
            )
        what = f"{self.unit}s" if self.unit in BLOCK_UNITS else f"values of {self.unit}"
        return (
            f"The intervals resample the {self.count} {what} of the test rows as blocks (rows "
            "of one block share their errors)."
        )


def bootstrap_blocks(
    setting: str,
    test: pd.DataFrame,
    time: str | None,
    time_zone: str,
    group: str | None,
) -> Blocks:
    """The blocks ``setting`` (evaluation.bootstrap_blocks) makes of the ``test`` rows.

    ``time`` is the task's time column (None without one), read as wall-clock time in
    ``time_zone``; ``group`` the split's group column (split.group under the group strategy,
    else None). Raises ConfigError, naming the setting, for a unit the task cannot have.
    """
    from snakeml.core.errors import ConfigError
    from snakeml.validation.split import periods

    rows = Blocks(None, "rows", len(test))
    if setting == "rows":
        return rows
    if setting == "group" or (setting == "auto" and group is not None):
        if group is None:
            raise ConfigError(
                "evaluation.bootstrap_blocks: group needs split.strategy group and its "
                "split.group column; choose auto, rows or a time unit"
            )
        labels = test[group].astype(str).to_numpy()
        return Blocks(labels, group, len(np.unique(labels)))
    if time is None:
        if setting == "auto":
            return rows
        raise ConfigError(
            f"evaluation.bootstrap_blocks: {setting} needs the task's time column (task.time): "
            "choose auto, rows or group"
        )
    units = BLOCK_UNITS if setting == "auto" else (setting,)
    for unit in units:
        labels = periods(test[time], unit, time_zone).to_numpy()
        count = len(np.unique(labels))
        if setting != "auto" or (count < len(test) and count >= MIN_BLOCKS):
            return Blocks(labels, unit, count)
    return rows


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
    blocks: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Each row's ``metric`` on the same ``resamples`` resamples of the test rows.

    ``y_true`` (rows,) are the test labels; each ``scored`` entry holds predictions for those
    rows in the same order. A resample draws len(y_true) row indices uniformly with
    replacement (``numpy.random.default_rng(random_state)``, CHUNK resamples at a time, so the
    draws do not depend on the rows scored). With ``blocks`` (rows,), each row's block label
    (Blocks.labels), a resample draws as many blocks as there are, uniformly with replacement,
    and takes every row of each (its size varies); a mean over rows is then the drawn blocks'
    summed losses over their summed rows. Metrics that are means over rows
    (``snakeml.models.task_kinds.ROW_MEAN_METRICS``) average precomputed per-row losses; the others
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
    if blocks is not None:
        _block_bootstrap(kind, metric, labels, scored, classes, losses, blocks, rng, out)
        return out
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


def _block_bootstrap(
    kind: TaskKind,
    metric: str,
    labels: np.ndarray,
    scored: dict[str, Scored],
    classes: Sequence[Any] | None,
    losses: dict[str, np.ndarray | None],
    blocks: np.ndarray,
    rng: np.random.Generator,
    out: dict[str, np.ndarray],
) -> None:
    """bootstrap_metric over blocks: fills ``out`` (resamples,) per row name in place."""
    if len(blocks) != len(labels):
        raise ValueError(f"{len(blocks)} block labels for {len(labels)} test rows")
    codes = np.unique(blocks, return_inverse=True)[1].ravel()
    n_blocks = int(codes.max()) + 1
    sizes = np.bincount(codes, minlength=n_blocks)
    members = np.split(np.argsort(codes, kind="stable"), np.cumsum(sizes)[:-1])
    sums = {
        name: np.bincount(codes, weights=row, minlength=n_blocks)
        for name, row in losses.items()
        if row is not None
    }
    resamples = len(next(iter(out.values())))
    for start in range(0, resamples, CHUNK):
        stop = min(start + CHUNK, resamples)
        drawn = rng.integers(0, n_blocks, size=(stop - start, n_blocks))
        counts = sizes[drawn].sum(axis=1)
        for name, s in scored.items():
            if name in sums:
                mean = sums[name][drawn].sum(axis=1) / counts
                out[name][start:stop] = from_row_mean(metric, mean)
                continue
            for offset, chosen in enumerate(drawn):
                rows = np.concatenate([members[block] for block in chosen])
                with contextlib.suppress(DataError):
                    out[name][start + offset] = kind.metric_value(
                        metric, labels[rows], s.predicted[rows], classes, s.threshold
                    )


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
    one half and scored on the other (``snakeml.models.task_kinds.TaskKind.single_feature_score``):
    R² for regression, ROC AUC for binary, macro one-vs-rest ROC AUC for multiclass (the binary rule
    applied to each class against the rest). Returns {feature: score} for the scores above
    ``threshold`` (0.99 by default: a feature that good is the answer, not a clue), each logged as a
    warning.
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
