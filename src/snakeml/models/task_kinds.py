"""What depends on the task's kind: metrics, objective, baselines, target checks, predictions.

A task is ``regression``, ``binary`` or ``multiclass`` (``task.kind``; scikit-learn's names of
target types, ``sklearn.utils.multiclass.type_of_target``), an object here: :class:`Regression`,
:class:`BinaryClassification` or :class:`MulticlassClassification`, one :class:`TaskKind`
interface, made once from the configuration by :func:`task_kind`. Everything else in the library
asks that object instead of branching on the kind itself.

Conventions every classifier function follows:

- **Classes** are the sorted distinct labels (``np.unique``), the order of scikit-learn's
  ``classes_``. A probability matrix has shape (rows, classes), one column per class in that
  order, each row summing to one.
- **Binary**: the positive class is ``classes[1]``, the greater label (``True`` over ``False``,
  ``1`` over ``0``, ``"yes"`` over ``"no"``), as in scikit-learn's binary estimators.
- **Decision threshold** (binary accuracy and F1): a row is predicted positive when its
  positive-class probability is ``>= threshold``, the rule of
  ``sklearn.metrics.precision_recall_curve``; the threshold is chosen on the validation period,
  midway between two validation probabilities (:meth:`BinaryClassification.choose_threshold`).
- **Classes absent from the scored rows**: log loss is computed against every class
  (``labels=``), so probability given to an absent class still costs; macro averages (F1,
  one-vs-rest ROC AUC) run over the classes present among the scored rows' true labels, since a
  class with no row has no recall and no ROC curve. Predicting an absent class still counts as
  an error against the true class's recall.

scikit-learn is imported inside the functions that use it: importing this module stays cheap.
Regression metrics keep their NumPy formulas so existing leaderboards stay byte-identical.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from snakeml.core.errors import ConfigError, DataError
from snakeml.core.outputs import (
    BINARY_EVALUATION,
    CLASSIFIER_EVALUATION,
    REGRESSION_EVALUATION,
    Evaluation,
)

# Probability rows may drift this far from summing to one (float rounding in a softmax) and are
# renormalised; further is a broken model and an error.
PROBABILITY_TOLERANCE = 1e-6
# F1 values this close count as a tie when choosing the threshold (F1 from precision and recall
# rounds differently at different thresholds).
F1_TIE = 1e-12
# Metrics undefined when the scored rows' true labels hold a single class (no ROC curve, no
# recall of the positive class).
NEEDS_TWO_CLASSES: frozenset[str] = frozenset({"roc_auc", "average_precision", "f1", "roc_auc_ovr"})
# Values shown in a message before "...".
SHOWN_VALUES = 10


@dataclass(frozen=True)
class Metric:
    """A test-period metric: its key, display name, direction and scikit-learn scorer name.

    ``scorer`` is the name ``sklearn.metrics.get_scorer`` knows for the same quantity (signed so
    greater is better).
    """

    name: str
    label: str
    greater_is_better: bool
    scorer: str


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("rmse", "RMSE", False, "neg_root_mean_squared_error"),
        Metric("mae", "MAE", False, "neg_mean_absolute_error"),
        Metric("r2", "R²", True, "r2"),
        Metric("log_loss", "log loss", False, "neg_log_loss"),
        Metric("roc_auc", "ROC AUC", True, "roc_auc"),
        Metric("average_precision", "average precision", True, "average_precision"),
        Metric("brier_score", "Brier score", False, "neg_brier_score"),
        Metric("accuracy", "accuracy", True, "accuracy"),
        Metric("f1", "F1", True, "f1"),
        Metric("f1_macro", "macro F1", True, "f1_macro"),
        Metric("roc_auc_ovr", "macro ROC AUC (one-vs-rest)", True, "roc_auc_ovr"),
    )
}
# For each metric, whether a larger value is better.
GREATER_IS_BETTER: dict[str, bool] = {name: m.greater_is_better for name, m in METRICS.items()}

BASELINE_MEAN = "baseline_mean"
BASELINE_PRIOR = "baseline_prior"


# --- metrics ---------------------------------------------------------------------------------


def _metric(metric: str) -> Metric:
    try:
        return METRICS[metric]
    except KeyError:
        raise ConfigError(f"unknown metric {metric!r}; choose from {list(METRICS)}") from None


def metric_label(metric: str) -> str:
    """The metric's display name (``"ROC AUC"``). Raises ConfigError for an unknown metric."""
    return _metric(metric).label


def greater_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` is better. Raises ConfigError if unknown."""
    return _metric(metric).greater_is_better


def loss(metrics: dict[str, float], metric: str) -> float:
    """A value to minimise for ``metric``: the value itself, negated if greater is better.

    Raises KeyError when ``metrics`` lacks ``metric`` or ``metric`` is unknown.
    """
    return -metrics[metric] if GREATER_IS_BETTER[metric] else metrics[metric]


def is_better(metric: str, candidate: float, reference: float) -> bool:
    """Whether ``candidate`` is strictly better than ``reference`` by ``metric`` (a tie is not)."""
    if greater_is_better(metric):
        return candidate > reference
    return candidate < reference


def scorer_name(metric: str) -> str:
    """scikit-learn's scoring name for ``metric`` (``neg_log_loss`` for ``log_loss``)."""
    return _metric(metric).scorer


# --- regression ------------------------------------------------------------------------------


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """RMSE, MAE (target units) and R² of predictions, both of shape (rows,).

    R² is 0 when the true values are constant. Raises ValueError on unequal or empty shapes.
    """
    y_true = np.asarray(y_true, dtype="float64")
    y_pred = np.asarray(y_pred, dtype="float64")
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(f"need equal, non-empty shapes; got {y_true.shape} and {y_pred.shape}")
    error = y_pred - y_true
    total = float(np.sum((y_true - y_true.mean()) ** 2))
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "r2": 1.0 - float(np.sum(error**2)) / total if total > 0 else 0.0,
    }


def median_baseline_name(group_names: list[str]) -> str:
    """``baseline_median_<group>_<group>...``, or ``baseline_median`` without groups."""
    return "_".join(["baseline_median", *group_names])


def mean_baseline(fit: pd.DataFrame, test: pd.DataFrame, target: str) -> np.ndarray:
    """Predict the mean target of the fitting rows for every test row: shape (test rows,)."""
    return np.full(len(test), float(fit[target].mean()))


def median_baseline(
    fit: pd.DataFrame, test: pd.DataFrame, target: str, keys: list[str]
) -> np.ndarray:
    """Predict the median target of the row's group (``keys``) in the fitting rows.

    A group never seen in fitting falls back to the group of all keys but the last, and so on,
    then to the overall median. Returns one float64 per test row, in test order. Raises
    DataError when a split lacks a key or the target.
    """
    missing = [c for c in (*keys, target) if c not in fit.columns or c not in test]
    if missing:
        raise DataError(f"splits lack columns {missing} the median baseline needs: rebuild")
    predicted = np.full(len(test), np.nan)
    for depth in range(len(keys), 0, -1):
        level = list(keys[:depth])
        medians = fit.groupby(level, dropna=False)[target].median().rename("group_median")
        rows = test[level].merge(medians, how="left", left_on=level, right_index=True)
        found = rows["group_median"].to_numpy(dtype="float64")
        predicted = np.where(np.isnan(predicted), found, predicted)
    overall = float(fit[target].median())
    return np.where(np.isnan(predicted), overall, predicted)


# --- classes and probabilities ---------------------------------------------------------------


def _show(label: Any) -> str:
    """A label as Python writes it (``'rain'``, ``True``), not as NumPy does."""
    return repr(label.item() if isinstance(label, np.generic) else label)


def _show_all(labels: Sequence[Any]) -> str:
    shown = [_show(label) for label in list(labels)[:SHOWN_VALUES]]
    more = f", ... ({len(labels)} in all)" if len(labels) > SHOWN_VALUES else ""
    return f"[{', '.join(shown)}{more}]"


def class_order(values: Any) -> np.ndarray:
    """The distinct non-null labels of ``values`` (rows,), sorted: scikit-learn's ``classes_``."""
    return np.unique(pd.Series(values).dropna().to_numpy())


def _labels(values: Any) -> np.ndarray:
    return pd.Series(values).to_numpy()


def align_proba(
    proba: np.ndarray, model_classes: Sequence[Any], classes: Sequence[Any]
) -> np.ndarray:
    """Reorder a model's probability columns to ``classes``; zeros for classes it never saw.

    ``proba`` has shape (rows, len(model_classes)), the model's ``classes_`` order (a fold's
    fit rows may lack a class). Returns shape (rows, len(classes)). Raises DataError when the
    model knows a class that ``classes`` lacks.
    """
    proba = np.asarray(proba, dtype="float64")
    position = {label: index for index, label in enumerate(list(model_classes))}
    unknown = [label for label in position if label not in set(list(classes))]
    if unknown:
        raise DataError(f"the model predicts classes {_show_all(unknown)} the task does not have")
    out = np.zeros((proba.shape[0], len(classes)))
    for index, label in enumerate(list(classes)):
        if label in position:
            out[:, index] = proba[:, position[label]]
    return out


def checked_proba(proba: Any, classes: Sequence[Any]) -> np.ndarray:
    """A probability matrix (rows, classes) checked and renormalised so each row sums to one.

    Values within PROBABILITY_TOLERANCE of [0, 1] are clipped and rows within it of summing to
    one are divided by their sum (float drift). Raises DataError on a wrong shape, a non-finite
    value, a value outside [0, 1] or a row sum further from one.
    """
    p = np.asarray(proba, dtype="float64")
    if p.ndim != 2 or p.shape[1] != len(classes):
        raise DataError(
            f"probabilities have shape {p.shape}; expected (rows, {len(classes)}), one column "
            f"per class {_show_all(classes)}"
        )
    if not np.isfinite(p).all():
        raise DataError(f"{int((~np.isfinite(p)).sum())} predicted probabilities are not finite")
    if p.size and (p.min() < -PROBABILITY_TOLERANCE or p.max() > 1 + PROBABILITY_TOLERANCE):
        raise DataError(
            f"predicted probabilities run from {p.min():.6g} to {p.max():.6g}, outside [0, 1]"
        )
    p = np.clip(p, 0.0, 1.0)
    sums = p.sum(axis=1)
    off = np.abs(sums - 1.0)
    if off.size and off.max() > PROBABILITY_TOLERANCE:
        row = int(np.argmax(off))
        raise DataError(
            f"predicted probabilities of {int((off > PROBABILITY_TOLERANCE).sum())} rows do not "
            f"sum to one (row {row}: {sums[row]:.6g}): the model's predict_proba is broken"
        )
    return p / sums[:, None] if p.size else p


def _scored(y_true: Any, proba: Any, classes: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Labels and probabilities checked against each other and against ``classes``."""
    y = _labels(y_true)
    p = checked_proba(proba, classes)
    if y.ndim != 1 or len(y) != len(p) or len(y) == 0:
        raise ValueError(f"need equal, non-empty row counts; got {y.shape} and {p.shape}")
    unknown = class_order(y[~pd.isna(y)])
    unknown = unknown[~np.isin(unknown, np.asarray(classes))]
    if pd.isna(y).any() or len(unknown):
        found = "missing labels" if pd.isna(y).any() else f"classes {_show_all(unknown)}"
        raise DataError(f"scored rows hold {found} outside the task's classes {_show_all(classes)}")
    return y, p


# --- classifier baselines --------------------------------------------------------------------


def frequency_baseline_name(group_names: list[str]) -> str:
    """``baseline_frequency_<group>_<group>...``, or ``baseline_frequency`` without groups."""
    return "_".join(["baseline_frequency", *group_names])


def _frequencies(labels: Any, classes: Sequence[Any]) -> np.ndarray:
    counts = pd.Series(_labels(labels)).value_counts()
    counts = np.array([counts.get(label, 0) for label in list(classes)], dtype="float64")
    if counts.sum() == 0:
        raise DataError("no fitting rows hold a known class: the baseline has nothing to learn")
    return counts / counts.sum()


def prior_baseline(fit_labels: Any, n_rows: int, classes: Sequence[Any]) -> np.ndarray:
    """The fitting rows' class frequencies (the prior), repeated: shape (n_rows, classes).

    Columns follow ``classes``; a class without fitting rows gets 0. Raises DataError when no
    fitting row holds one of ``classes``.
    """
    return np.tile(_frequencies(fit_labels, classes), (n_rows, 1))


# How many fitting rows' worth of its parent group's frequencies a group's are shrunk toward.
FREQUENCY_PSEUDO_ROWS = 10.0


def frequency_baseline(
    fit: pd.DataFrame,
    test: pd.DataFrame,
    target: str,
    keys: list[str],
    classes: Sequence[Any],
    pseudo_rows: float = FREQUENCY_PSEUDO_ROWS,
) -> np.ndarray:
    """Each test row's class frequencies among the fitting rows of its group (``keys``), smoothed.

    A group's frequencies are shrunk toward its parent's (the group of all keys but the last;
    the prior, :func:`prior_baseline`, above the first key) by ``pseudo_rows`` rows' worth:
    p(c | g) = (n(g, c) + m p(c | parent)) / (n(g) + m), the m-estimate (Cestnik, "Estimating
    probabilities: a crucial task in machine learning", ECAI 1990), applied level by level. A
    small group stays near its parent, so a class it has not shown yet keeps a probability.
    A group never seen in fitting gets its parent's frequencies. ``pseudo_rows`` 0 gives the
    raw frequencies. Returns shape (test rows, classes), columns in ``classes`` order, rows
    summing to one. Raises DataError when a split lacks a column.
    """
    missing = [c for c in (*keys, target) if c not in fit.columns or c not in (*test, target)]
    if missing:
        raise DataError(f"splits lack columns {missing} the class frequency baseline needs")
    labels = list(classes)
    prior = _frequencies(fit[target], labels)
    # Positional names: a class may share its name with a key column.
    names = [f"__class_{index}" for index in range(len(labels))]
    levels: list[pd.DataFrame] = []
    for depth in range(1, len(keys) + 1):
        level = list(keys[:depth])
        counts = fit.groupby([*level, target], dropna=False).size().unstack(target, fill_value=0)
        counts = counts.reindex(columns=labels, fill_value=0)
        if depth == 1:
            parent = np.tile(prior, (len(counts), 1))
        else:
            parent = levels[-1].reindex(counts.index.droplevel(-1)).to_numpy(dtype="float64")
        n = counts.to_numpy(dtype="float64")
        shares = (n + pseudo_rows * parent) / (n.sum(axis=1, keepdims=True) + pseudo_rows)
        levels.append(pd.DataFrame(shares, index=counts.index, columns=names))
    proba = np.full((len(test), len(labels)), np.nan)
    for depth in range(len(keys), 0, -1):
        level = list(keys[:depth])
        rows = test[level].merge(levels[depth - 1], how="left", left_on=level, right_index=True)
        found = rows[names].to_numpy(dtype="float64")
        unset = np.isnan(proba[:, 0])
        proba[unset] = found[unset]
    unset = np.isnan(proba[:, 0])
    proba[unset] = prior
    return proba


# --- declared baselines ----------------------------------------------------------------------


def declared_baseline_name(name: str) -> str:
    """``baseline_<name>``: the leaderboard row of the task's declared baseline ``name``."""
    return f"baseline_{name}"


def declared_value_baseline(
    fit: pd.DataFrame, test: pd.DataFrame, target: str, column: str
) -> np.ndarray:
    """A regression baseline declared by the task: the test rows' ``column`` as the prediction.

    ``column`` is a numeric feature in the target's units (today's maximum for tomorrow's). A
    row where it is null gets the fitting rows' mean target (:func:`mean_baseline`). Returns
    float64 of shape (test rows,). Raises DataError when a split lacks the column.
    """
    if column not in test or target not in fit:
        raise DataError(f"splits lack column {column!r} the declared baseline needs: rebuild")
    values = pd.to_numeric(test[column], errors="coerce").to_numpy(dtype="float64")
    return np.where(np.isnan(values), float(fit[target].mean()), values)


def declared_class_baseline(
    fit: pd.DataFrame, test: pd.DataFrame, target: str, column: str, classes: Sequence[Any]
) -> np.ndarray:
    """A classification baseline declared by the task: the class in ``column`` as the forecast.

    The declared class does not get probability 1: one miss would cost an unbounded log loss,
    and the baseline would lose on every probability metric for a reason that says nothing of
    its forecasts. It gets its hit rate among the fitting rows, smoothed by Laplace's rule of
    succession, h = (hits + 1) / (rows + 2), so 0 < h < 1; the other classes share 1 - h in
    proportion to the fitting rows' class frequencies (:func:`prior_baseline`). Its ranking
    of the classes, and so its accuracy, is the declared class's. A row whose column is null
    gets the prior. Returns shape (test rows, classes), columns in ``classes`` order, rows
    summing to one. Raises DataError when the column holds a value that is not a class.
    """
    if column not in test or column not in fit or target not in fit:
        raise DataError(f"splits lack column {column!r} the declared baseline needs: rebuild")
    labels = np.asarray(list(classes))
    prior = _frequencies(fit[target], labels)
    values = pd.concat([fit[column], test[column]], ignore_index=True)
    known = values.dropna()
    unknown = class_order(known[~known.isin(labels)])
    if len(unknown):
        raise DataError(
            f"declared baseline column {column!r} holds values {_show_all(unknown)} that are "
            f"not classes of {target!r} {_show_all(labels)}: choose a column of its classes "
            "(task.baselines)"
        )
    declared = fit[column].notna()
    hits = int((fit.loc[declared, column].to_numpy() == fit.loc[declared, target].to_numpy()).sum())
    rate = (hits + 1.0) / (int(declared.sum()) + 2.0)
    proba = np.tile(prior, (len(test), 1))
    position = pd.Series(np.arange(len(labels)), index=labels)
    present = test[column].notna().to_numpy()
    index = position.reindex(test[column].to_numpy()[present]).to_numpy(dtype="int64")
    rest = np.tile(prior, (len(index), 1))
    rest[np.arange(len(index)), index] = 0.0
    total = rest.sum(axis=1, keepdims=True)
    # A class holding every fitting row leaves nothing to share: spread 1 - h evenly.
    even = np.where(np.arange(len(labels))[None, :] == index[:, None], 0.0, 1.0)
    rest = np.where(
        total > 0, rest / np.where(total > 0, total, 1.0), even / max(len(labels) - 1, 1)
    )
    rest *= 1.0 - rate
    rest[np.arange(len(index)), index] = rate
    proba[present] = rest
    return proba


# --- one metric, per row and on resamples ------------------------------------------------------

# Metrics that are the mean of a per-row loss (RMSE the square root of one): a resample's value
# is the mean of its rows' losses, without calling the metric again.
ROW_MEAN_METRICS: frozenset[str] = frozenset({"rmse", "mae", "log_loss", "brier_score", "accuracy"})


def from_row_mean(metric: str, mean: Any) -> Any:
    """The metric from the mean of its per-row losses (:meth:`TaskKind.row_losses`): the root
    for RMSE, else the mean."""
    return np.sqrt(mean) if metric == "rmse" else mean


# --- leakage screen --------------------------------------------------------------------------

# The single-feature fit of a numeric feature: a shallow tree (any monotone or step-shaped
# relation, not only a line).
LEAKAGE_LEAVES = 32
LEAKAGE_MIN_LEAF = 5


# --- target checks ---------------------------------------------------------------------------


def check_training_classes(labels: Any, column: str) -> np.ndarray:
    """The classes of the training period's labels (rows,); refuse fewer than two.

    Raises DataError naming ``column`` and the one class found.
    """
    classes = class_order(labels)
    if len(classes) < 2:
        found = _show(classes[0]) if len(classes) else "no rows"
        raise DataError(
            f"target {column!r} holds one class only in the training period ({found}): a "
            "classifier needs two or more; move split.train_until later"
        )
    return classes


def check_fold_classes(labels: Any, fold: int) -> None:
    """Refuse a tuning fold whose rows (rows,) hold a single class.

    ``fold`` is the fold's 0-based index. Raises DataError naming the fold, the class and the fix.
    """
    classes = class_order(labels)
    if len(classes) < 2:
        found = _show(classes[0]) if len(classes) else "no rows"
        raise DataError(
            f"tuning fold {fold} holds one class only ({found}): lower tuning.n_folds so each "
            "fold spans a longer period"
        )


def check_unseen_classes(
    training_classes: Sequence[Any], labels: Any, column: str, period: str = "test period"
) -> None:
    """Refuse labels (rows,) of classes the training period never held.

    Raises DataError naming ``column``, ``period`` and the unseen classes.
    """
    seen = class_order(labels)
    unseen = seen[~np.isin(seen, np.asarray(list(training_classes)))]
    if len(unseen):
        raise DataError(
            f"target {column!r}: classes {_show_all(unseen)} occur in the {period} but never in "
            "the training period, so no model can predict them; move split.train_until later"
        )


# --- prediction output -----------------------------------------------------------------------


def _class_text(label: Any) -> str:
    value = label.item() if isinstance(label, np.generic) else label
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"minus_{-value}" if value < 0 else str(value)
    return str(value)


def proba_column(label: Any) -> str:
    """``proba_<class>``: the class lowercased, runs of other than letters and digits as ``_``.

    ``True`` is ``proba_true``, ``-1`` is ``proba_minus_1``, ``"Heavy rain"`` is
    ``proba_heavy_rain``. Raises DataError for a class with no letter or digit.
    """
    text = re.sub(r"[^0-9a-z]+", "_", _class_text(label).lower()).strip("_")
    if not text:
        raise DataError(f"class {_show(label)} has no letter or digit to name its column")
    return f"proba_{text}"


def proba_columns(classes: Sequence[Any]) -> list[str]:
    """One ``proba_<class>`` column name per class, in class order.

    Raises DataError when two classes would share a name (``"A b"`` and ``"a_b"``).
    """
    names: dict[str, Any] = {}
    for label in list(classes):
        name = proba_column(label)
        if name in names:
            raise DataError(
                f"classes {_show(names[name])} and {_show(label)} would both be written as "
                f"column {name}: rename one in the data"
            )
        names[name] = label
    return list(names)


# --- the task kinds ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskKind(ABC):
    """What differs by the task's kind: one object per kind, made once from ``task.kind``.

    Every stage gets its task's kind from :func:`task_kind` and asks it for its metrics,
    checks, baselines, predictions and scores instead of branching on the kind's name. Its
    attributes:

    - ``name``: the kind as configured and written in a model's decision file.
    - ``is_classifier``: whether it predicts classes (a split may stratify by them).
    - ``metrics``: its test-period metrics, in the order of the leaderboard's columns.
    - ``default_metric``: the tuning objective unless the configuration names another.
    - ``threshold_metrics``: the metrics that need the decision threshold chosen on the
      validation period (binary accuracy and F1; multiclass accuracy takes the likeliest class).
    - ``leakage_metric``: what the leakage screen scores a lone feature by.
    - ``evaluation``: what the evaluate rule writes for it (snakeml.core.outputs).
    - ``baseline_feature``: the kind of feature (``numeric``, ``categorical``) a baseline the
      task declares takes as its prediction, and ``baseline_prediction`` what that is.

    ``predicted`` below is values (rows,) for regression and probabilities (rows, classes) for
    classifiers; ``classes`` the task's classes (None for regression) and ``threshold`` the
    binary decision threshold (None otherwise).
    """

    name: ClassVar[str]
    is_classifier: ClassVar[bool]
    metrics: ClassVar[tuple[str, ...]]
    default_metric: ClassVar[str]
    threshold_metrics: ClassVar[tuple[str, ...]] = ()
    leakage_metric: ClassVar[str]
    evaluation: ClassVar[Evaluation]
    baseline_feature: ClassVar[str]
    baseline_prediction: ClassVar[str]

    # --- metrics

    def check_metric(self, metric: str, key: str = "evaluation.metric") -> Metric:
        """The metric ``metric`` if a task of this kind accepts it.

        Raises ConfigError in one line naming ``key``, the metric, the kind and the allowed
        metrics.
        """
        if metric not in self.metrics:
            owners = [k.name for k in _KINDS.values() if metric in k.metrics]
            what = f"a {' and '.join(owners)} metric" if owners else "not a metric"
            raise ConfigError(
                f"{key}: {metric!r} is {what}, not one of a {self.name} task; choose from "
                f"{list(self.metrics)}"
            )
        return METRICS[metric]

    @property
    def tuning_metrics(self) -> tuple[str, ...]:
        """The metrics it can tune on: all but those needing a validation-chosen threshold."""
        return tuple(m for m in self.metrics if m not in self.threshold_metrics)

    def check_tuning_metric(self, metric: str, key: str = "tuning.metric") -> Metric:
        """Like :meth:`check_metric`, and refuse binary accuracy and F1 as a tuning objective.

        Their threshold is chosen on the validation period, which the tuning folds do not have.
        Raises ConfigError in one line.
        """
        spec = self.check_metric(metric, key)
        allowed = self.tuning_metrics
        if metric not in allowed:
            raise ConfigError(
                f"{key}: {metric!r} needs a decision threshold chosen on the validation period, "
                f"which the tuning folds lack; choose from {list(allowed)}"
            )
        return spec

    def worse_metric_reason(self, metric: str, other: str) -> str:
        """Why a champion chosen by ``metric`` may lose to a baseline on ``other``."""
        return f"the champion is chosen by {metric_label(metric)}, not {metric_label(other)}"

    @abstractmethod
    def score_predictions(
        self,
        y_true: Any,
        predicted: Any,
        classes: Sequence[Any] | None = None,
        threshold: float | None = None,
    ) -> dict[str, float]:
        """The kind's metrics of ``predicted`` against ``y_true`` (rows,), in leaderboard order."""

    @abstractmethod
    def metric_value(
        self,
        metric: str,
        y_true: Any,
        predicted: Any,
        classes: Sequence[Any] | None = None,
        threshold: float | None = None,
    ) -> float:
        """One metric of predictions (rows,) or probabilities (rows, classes) against labels
        (rows,), with scikit-learn's functions. Raises as those do (DataError for a metric
        undefined on one class), ConfigError for a metric the kind lacks."""

    def row_losses(
        self,
        metric: str,
        y_true: Any,
        predicted: Any,
        classes: Sequence[Any] | None = None,
        threshold: float | None = None,
    ) -> np.ndarray | None:
        """Each row's share of ``metric`` (rows,), or None when it is not a mean over rows.

        RMSE: squared errors (the metric is the root of their mean); MAE: absolute errors; log
        loss: -ln of the true class's probability, clipped to [eps, 1 - eps] with eps float64's
        machine epsilon as scikit-learn's ``log_loss``; Brier score: the squared difference of
        the positive-class probability and the outcome; accuracy: 1 for a right class (binary
        at ``threshold``). The mean over all rows is checked against :meth:`metric_value` (a
        ValueError if they differ), so the decomposition is scikit-learn's metric.
        """
        if metric not in ROW_MEAN_METRICS:
            return None
        losses = self._row_losses(metric, y_true, predicted, classes, threshold)
        value = from_row_mean(metric, float(np.mean(losses)))
        reference = self.metric_value(metric, y_true, predicted, classes, threshold)
        if not np.isclose(value, reference, rtol=1e-9, atol=1e-12):
            raise ValueError(
                f"per-row {metric} averages to {value!r}, not scikit-learn's {reference!r}"
            )
        return losses

    @abstractmethod
    def _row_losses(
        self,
        metric: str,
        y_true: Any,
        predicted: Any,
        classes: Sequence[Any] | None,
        threshold: float | None,
    ) -> np.ndarray:
        """The per-row losses of a metric of ROW_MEAN_METRICS (:meth:`row_losses`)."""

    # --- targets, estimators and decisions

    @abstractmethod
    def check_target(self, values: Any, column: str) -> np.ndarray | None:
        """Check a task's target over all its rows (rows,); return its classes (None:
        regression).

        Raises DataError in one line, naming ``column``: missing values; a regression target
        that is not numeric; a class target of non-integer numbers; a binary target without
        exactly two distinct values or a multiclass one with fewer than two (the values found,
        capped).
        """

    @abstractmethod
    def target_values(self, values: pd.Series, column: str) -> np.ndarray:
        """The target ``column`` (rows,) as fitted and scored: float64 for regression, the
        labels as they are for classifiers. Raises DataError for missing values."""

    @abstractmethod
    def check_folds(self, y: np.ndarray, folds: Sequence[tuple[Any, Any]]) -> None:
        """Refuse tuning folds the kind cannot score: a classifier's fit and scored rows must
        each hold two classes or more (:func:`check_fold_classes`). ``folds`` are (fit rows,
        scored rows) index arrays into ``y`` (rows,)."""

    @abstractmethod
    def check_unseen_classes(
        self, classes: Sequence[Any] | None, labels: Any, column: str, period: str = "test period"
    ) -> None:
        """Refuse labels (rows,) of a classifier's target ``column`` of classes the training
        period never held (:func:`check_unseen_classes`; ``classes`` are the model's)."""

    @abstractmethod
    def check_estimator(self, estimator: Any, target: str) -> None:
        """Refuse an estimator that does not fit the kind (``target``: its ``_target_``).

        Regression needs a scikit-learn regressor; binary and multiclass a classifier with
        ``predict_proba``. Raises ConfigError in one line.
        """

    @abstractmethod
    def decision(
        self,
        train_labels: Any,
        valid_labels: Any,
        column: str,
        valid_proba: Callable[[np.ndarray], np.ndarray],
    ) -> dict[str, Any]:
        """A model's decision: ``kind``, ``classes`` (from the training period; None for
        regression) and the binary ``threshold`` (None otherwise).

        ``train_labels`` and ``valid_labels`` (rows,) are the target ``column`` of the train and
        validation periods; ``valid_proba(classes)`` the validation rows' probabilities (rows,
        classes) of a model fitted on train, called only when a threshold is chosen. Raises
        DataError in one line for a target of the wrong shape for the kind, one class in the
        training period, or a validation class the training period never held.
        """

    @abstractmethod
    def decision_classes(
        self, decision: dict[str, Any] | None, what: str
    ) -> tuple[list[Any] | None, float | None]:
        """The classes and threshold of a model's decision file (read: ``decision``; None when
        there is none). ``what`` names the stage in the error (``evaluating``). Raises
        ValueError when a classifier's decision is missing."""

    def decision_threshold(
        self, y_valid: Any, valid_proba: Callable[[], Any], classes: Sequence[Any] | None
    ) -> float | None:
        """The decision threshold of a model (binary; None otherwise): ``valid_proba()`` gives
        its probabilities (rows, classes) of the validation rows ``y_valid`` (rows,), called
        only when a threshold is chosen (:meth:`BinaryClassification.choose_threshold`)."""
        return None

    # --- baselines

    @abstractmethod
    def baseline_predictions(
        self,
        fit: pd.DataFrame,
        test: pd.DataFrame,
        target: str,
        keys: list[str],
        group_names: list[str],
        classes: Sequence[Any] | None = None,
        declared: Sequence[dict[str, str]] = (),
    ) -> dict[str, np.ndarray]:
        """Each baseline's predictions for the test rows, learnt from the fitting rows.

        Regression: ``baseline_mean`` and the group median (rows,). Classifiers:
        ``baseline_prior`` and the group class frequencies (rows, classes). Then each of the
        task's ``declared`` baselines (``{name, column}``), as ``baseline_<name>``
        (:func:`declared_value_baseline`, :func:`declared_class_baseline`).
        """

    def baseline_outputs(
        self,
        train: pd.DataFrame,
        valid: pd.DataFrame,
        test: pd.DataFrame,
        target: str,
        keys: list[str],
        group_names: list[str],
        classes: Sequence[Any] | None = None,
        declared: Sequence[dict[str, str]] = (),
    ) -> dict[str, tuple[np.ndarray, float | None]]:
        """Each baseline's test predictions and decision threshold (None but for binary).

        Baselines learn from train + valid, as the models are refitted on both. A binary
        baseline's threshold is chosen as a model's is: learnt from train alone, scored on
        valid (:meth:`decision_threshold`).
        """
        fit = pd.concat([train, valid], ignore_index=True)
        predictions = self.baseline_predictions(
            fit, test, target, keys, group_names, classes, declared
        )
        on_valid: dict[str, np.ndarray] = {}

        def valid_proba(name: str) -> Callable[[], np.ndarray]:
            def proba() -> np.ndarray:
                if not on_valid:
                    on_valid.update(
                        self.baseline_predictions(
                            train, valid, target, keys, group_names, classes, declared
                        )
                    )
                return on_valid[name]

            return proba

        thresholds = {
            name: self.decision_threshold(valid[target], valid_proba(name), classes)
            for name in predictions
        }
        return {name: (predicted, thresholds[name]) for name, predicted in predictions.items()}

    def baseline_scores(
        self,
        train: pd.DataFrame,
        valid: pd.DataFrame,
        test: pd.DataFrame,
        target: str,
        keys: list[str],
        group_names: list[str],
        classes: Sequence[Any] | None = None,
        declared: Sequence[dict[str, str]] = (),
    ) -> dict[str, dict[str, float]]:
        """The kind's metrics of each baseline on the test rows (:meth:`baseline_outputs`)."""
        outputs = self.baseline_outputs(
            train, valid, test, target, keys, group_names, classes, declared
        )
        return {
            name: self.score_predictions(test[target], predicted, classes, threshold)
            for name, (predicted, threshold) in outputs.items()
        }

    # --- leakage screen

    def single_feature_score(
        self,
        values: pd.Series,
        y: Any,
        classes: Sequence[Any] | None,
        random_state: int,
    ) -> float:
        """How well one feature (rows,) alone predicts the target (rows,), fitted out of sample.

        The rows are halved at random (seeded); a fit on each half predicts the other, so a
        feature that merely tells the rows apart (an identifier) scores nothing. The fit: for a
        numeric feature a decision tree on its value (``LEAKAGE_LEAVES`` leaves, nulls handled
        by scikit-learn's trees); for a categorical one the fitting half's median target of its
        value (:func:`median_baseline`) or its class frequencies (:func:`frequency_baseline`).
        Scored by ``leakage_metric`` with scikit-learn's functions. A numeric feature of a
        regression also gets a straight-line fit (nulls at the fitting half's mean), and the
        better of the two scores counts: a tree's steps blur a feature that is the target in
        other units. Returns NaN when the score is undefined (one class in a half).
        """
        from sklearn.linear_model import LinearRegression
        from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

        series = pd.Series(values).reset_index(drop=True)
        target = pd.Series(_labels(y)).reset_index(drop=True)
        rng = np.random.default_rng(random_state)
        half = rng.permutation(len(series)) < len(series) // 2
        classifier = self.is_classifier
        numeric = pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
        frame = pd.DataFrame({"x": series, "y": target})
        out = np.zeros((len(series), len(classes))) if classifier else np.zeros(len(series))
        line = np.zeros(len(series))
        assert not classifier or classes is not None
        for fold in (half, ~half):
            fit, scored = frame[~fold], frame[fold]
            if numeric:
                x_fit = fit[["x"]].astype("float64").to_numpy()
                x_scored = scored[["x"]].astype("float64").to_numpy()
                options = {"max_leaf_nodes": LEAKAGE_LEAVES, "min_samples_leaf": LEAKAGE_MIN_LEAF}
                if classifier:
                    tree = DecisionTreeClassifier(random_state=random_state, **options)
                    tree.fit(x_fit, fit["y"].to_numpy())
                    out[fold] = align_proba(tree.predict_proba(x_scored), tree.classes_, classes)
                else:
                    tree = DecisionTreeRegressor(random_state=random_state, **options)
                    out[fold] = tree.fit(x_fit, fit["y"].to_numpy()).predict(x_scored)
                    middle = np.nanmean(x_fit) if np.isfinite(x_fit).any() else 0.0
                    straight = LinearRegression().fit(np.nan_to_num(x_fit, nan=middle), fit["y"])
                    line[fold] = straight.predict(np.nan_to_num(x_scored, nan=middle))
            elif classifier:
                out[fold] = frequency_baseline(fit, scored, "y", ["x"], classes)
            else:
                out[fold] = median_baseline(fit, scored, "y", ["x"])
        try:
            score = self.metric_value(self.leakage_metric, target, out, classes)
            if numeric and not classifier:
                score = max(score, self.metric_value("r2", target, line))
            return score
        except DataError:
            return float("nan")

    # --- predictions

    @abstractmethod
    def importance_scorer(
        self,
        metric: str,
        classes: Sequence[Any] | None = None,
        threshold: float | None = None,
    ) -> ValueScorer | ProbabilityScorer:
        """The ``score(estimator, x, y)`` of permutation importance under the task's metric,
        signed so greater is better (as scikit-learn's ``neg_*`` scorers).

        Regression: a :class:`ValueScorer` of snakeml's own formulas (:func:`regression_metrics`).
        Classifiers: a :class:`ProbabilityScorer` of the same metric. scikit-learn's named
        scorers (:func:`scorer_name`) would infer the classes from the sampled rows
        (``neg_log_loss`` and ``roc_auc_ovr`` fail when one is absent), assume the positive
        label is 1 (``average_precision``, ``neg_brier_score``, ``f1`` fail on string labels)
        and decide at 0.5 instead of the chosen threshold. Raises ConfigError for a metric the
        kind lacks.
        """

    @abstractmethod
    def predict(self, estimator: Any, x: Any, classes: Sequence[Any] | None = None) -> np.ndarray:
        """A fitted model's ``predicted`` for rows ``x``: ``estimator.predict`` for regression,
        ``predict_proba`` aligned to ``classes`` (:func:`align_proba`) for classifiers."""

    @abstractmethod
    def prediction_columns(
        self, classes: Sequence[Any] | None = None, name: str = "predicted"
    ) -> list[str]:
        """The prediction output's columns: ``name``, then one probability per class if a
        classifier."""

    @abstractmethod
    def prediction_frame(
        self,
        predicted: Any,
        classes: Sequence[Any] | None = None,
        threshold: float | None = None,
        name: str = "predicted",
    ) -> pd.DataFrame:
        """The prediction output of ``len(predicted)`` rows.

        Regression: ``predicted`` (rows,) in one column ``name``. Classifiers: ``predicted``
        holds probabilities (rows, classes); the output has the predicted class in ``name``
        (:meth:`Classification.predicted_classes`, binary at ``threshold``) and the
        probabilities in ``proba_<class>`` columns (:func:`proba_columns`), each row summing to
        one (:func:`checked_proba`). Raises DataError on broken probabilities or clashing names.
        """

    def model_predictions(
        self,
        estimator: Any,
        x: Any,
        classes: Sequence[Any] | None = None,
        threshold: float | None = None,
        name: str = "predicted",
    ) -> pd.DataFrame:
        """A fitted model's prediction output for rows ``x`` (:meth:`prediction_frame` of
        :meth:`predict`)."""
        return self.prediction_frame(self.predict(estimator, x, classes), classes, threshold, name)

    @abstractmethod
    def prediction_values(
        self, frame: pd.DataFrame, classes: Sequence[Any] | None = None, name: str = "predicted"
    ) -> np.ndarray:
        """What :meth:`prediction_frame` wrote, back as ``predicted``: the ``name`` column
        (rows,) for regression, the ``proba_<class>`` columns (rows, classes) for classifiers."""

    def curve_subject(self, classes: Sequence[Any]) -> Any:
        """What a classifier's calibration curve is of: each class against the rest."""
        return "the class"


@dataclass(frozen=True)
class Regression(TaskKind):
    """A numeric target, predicted as a value: RMSE, MAE, R²; mean and median baselines."""

    name = "regression"
    is_classifier = False
    metrics = ("rmse", "mae", "r2")
    default_metric = "rmse"
    leakage_metric = "r2"
    evaluation = REGRESSION_EVALUATION
    baseline_feature = "numeric"
    baseline_prediction = "a number in the target's units"

    def score_predictions(
        self,
        y_true: Any,
        predicted: Any,
        classes: Sequence[Any] | None = None,
        threshold: float | None = None,
    ) -> dict[str, float]:
        """RMSE, MAE and R² of values ``predicted`` (rows,) (:func:`regression_metrics`)."""
        return regression_metrics(y_true, predicted)

    def metric_value(
        self,
        metric: str,
        y_true: Any,
        predicted: Any,
        classes: Sequence[Any] | None = None,
        threshold: float | None = None,
    ) -> float:
        """One metric of predictions (rows,) against the truth (rows,): scikit-learn's
        ``root_mean_squared_error``, ``mean_absolute_error``, ``r2_score``."""
        from sklearn import metrics as skm

        self.check_metric(metric, "metric")
        y = np.asarray(y_true, dtype="float64")
        p = np.asarray(predicted, dtype="float64")
        if metric == "rmse":
            return float(skm.root_mean_squared_error(y, p))
        if metric == "mae":
            return float(skm.mean_absolute_error(y, p))
        return float(skm.r2_score(y, p))

    def _row_losses(
        self,
        metric: str,
        y_true: Any,
        predicted: Any,
        classes: Sequence[Any] | None,
        threshold: float | None,
    ) -> np.ndarray:
        error = np.asarray(predicted, dtype="float64") - np.asarray(y_true, dtype="float64")
        return error**2 if metric == "rmse" else np.abs(error)

    def check_target(self, values: Any, column: str) -> np.ndarray | None:
        series = _checked_target(values, column)
        if not _is_number(series):
            raise DataError(
                f"target {column!r} of a regression task is not numeric (values like "
                f"{_show(series.iloc[0])}): set task.kind to binary or multiclass for classes"
            )
        return None

    def target_values(self, values: pd.Series, column: str) -> np.ndarray:
        numbers = values.to_numpy(dtype="float64", na_value=np.nan)
        if np.isnan(numbers).any():
            raise DataError(f"target {column!r} has {int(np.isnan(numbers).sum())} missing values")
        return numbers

    def check_folds(self, y: np.ndarray, folds: Sequence[tuple[Any, Any]]) -> None:
        return None  # no classes: any fold can be scored

    def check_unseen_classes(
        self, classes: Sequence[Any] | None, labels: Any, column: str, period: str = "test period"
    ) -> None:
        return None  # no classes

    def check_estimator(self, estimator: Any, target: str) -> None:
        from sklearn.base import is_regressor

        if not is_regressor(estimator):
            raise ConfigError(
                f"model _target_ {target!r} is not a scikit-learn regressor: give regressors, "
                "e.g. model=[ridge,hgb,rf]"
            )

    def decision(
        self,
        train_labels: Any,
        valid_labels: Any,
        column: str,
        valid_proba: Callable[[np.ndarray], np.ndarray],
    ) -> dict[str, Any]:
        return {"kind": self.name, "classes": None, "threshold": None}

    def decision_classes(
        self, decision: dict[str, Any] | None, what: str
    ) -> tuple[list[Any] | None, float | None]:
        return None, None

    def baseline_predictions(
        self,
        fit: pd.DataFrame,
        test: pd.DataFrame,
        target: str,
        keys: list[str],
        group_names: list[str],
        classes: Sequence[Any] | None = None,
        declared: Sequence[dict[str, str]] = (),
    ) -> dict[str, np.ndarray]:
        out = {
            BASELINE_MEAN: mean_baseline(fit, test, target),
            median_baseline_name(group_names): median_baseline(fit, test, target, keys),
        }
        for baseline in declared:
            out[declared_baseline_name(baseline["name"])] = declared_value_baseline(
                fit, test, target, baseline["column"]
            )
        return out

    def importance_scorer(
        self,
        metric: str,
        classes: Sequence[Any] | None = None,
        threshold: float | None = None,
    ) -> ValueScorer | ProbabilityScorer:
        self.check_metric(metric, "metric")
        return ValueScorer(metric)

    def predict(self, estimator: Any, x: Any, classes: Sequence[Any] | None = None) -> np.ndarray:
        return np.asarray(estimator.predict(x))

    def prediction_columns(
        self, classes: Sequence[Any] | None = None, name: str = "predicted"
    ) -> list[str]:
        return [name]

    def prediction_frame(
        self,
        predicted: Any,
        classes: Sequence[Any] | None = None,
        threshold: float | None = None,
        name: str = "predicted",
    ) -> pd.DataFrame:
        return pd.DataFrame({name: np.asarray(predicted, dtype="float64")})

    def prediction_values(
        self, frame: pd.DataFrame, classes: Sequence[Any] | None = None, name: str = "predicted"
    ) -> np.ndarray:
        return frame[name].to_numpy(dtype="float64")


@dataclass(frozen=True)
class Classification(TaskKind):
    """What binary and multiclass tasks share: labels as targets, probabilities as predictions,
    the prior and class frequency baselines. The module docstring states the conventions."""

    is_classifier = True
    default_metric = "log_loss"
    evaluation = CLASSIFIER_EVALUATION
    baseline_feature = "categorical"
    baseline_prediction = "a class"

    def _classes(self, classes: Sequence[Any] | None, what: str) -> Sequence[Any]:
        if classes is None:
            raise ValueError(f"{what} of a {self.name} task need its classes")
        return classes

    @abstractmethod
    def predicted_classes(
        self, proba: Any, classes: Sequence[Any], threshold: float | None = None
    ) -> np.ndarray:
        """The predicted class of each row (rows,) from probabilities (rows, classes).

        Binary: the positive class ``classes[1]`` where its probability is ``>= threshold``
        (required). Multiclass: the likeliest class, the first in class order among equals (as
        ``np.argmax`` and scikit-learn's ``predict``). Raises ValueError for a missing
        threshold.
        """

    def score_predictions(
        self,
        y_true: Any,
        predicted: Any,
        classes: Sequence[Any] | None = None,
        threshold: float | None = None,
    ) -> dict[str, float]:
        """Every metric of the kind (:meth:`metric_value`) of probabilities ``predicted``
        (rows, classes), in leaderboard order.

        Binary accuracy and F1 are left out when ``threshold`` is None (inside tuning folds).
        """
        if classes is None:
            raise ValueError(f"scoring a {self.name} task needs its classes")
        skipped = self.threshold_metrics if threshold is None else ()
        return {
            name: self.metric_value(name, y_true, predicted, classes, threshold)
            for name in self.metrics
            if name not in skipped
        }

    def metric_value(
        self,
        metric: str,
        y_true: Any,
        predicted: Any,
        classes: Sequence[Any] | None = None,
        threshold: float | None = None,
    ) -> float:
        """One classification metric of probabilities (rows, classes) against labels (rows,).

        Formulas are scikit-learn's (``sklearn.metrics``): ``log_loss`` (natural log, per row,
        with ``labels=classes``), ``roc_auc_score``, ``average_precision_score``,
        ``brier_score_loss`` (mean squared difference of the positive-class probability and the
        outcome), ``accuracy_score``, ``f1_score``. Binary accuracy and F1 use the decision
        threshold. Multiclass ``f1_macro`` and ``roc_auc_ovr`` average over the classes present
        among the true labels (module docstring); ``roc_auc_ovr`` is ``roc_auc_score`` of the
        one-vs-rest indicator columns of those classes, macro-averaged, as scikit-learn's
        ``multi_class="ovr"`` is when every class is present.

        Raises DataError when ROC AUC, average precision or binary F1 is asked of rows whose
        true labels hold one class (undefined there: NEEDS_TWO_CLASSES), ConfigError for a
        metric the kind lacks, ValueError on unequal or empty inputs, missing classes or a
        threshold metric without a threshold.
        """
        from sklearn import metrics as skm

        self.check_metric(metric, "metric")
        if classes is None:
            raise ValueError(f"scoring a {self.name} task needs its classes")
        y, p = _scored(y_true, predicted, classes)
        labels = np.asarray(classes)
        present = labels[np.isin(labels, y)]
        if len(present) < 2 and metric in NEEDS_TWO_CLASSES:
            raise DataError(
                f"the scored rows hold one class only ({_show(present[0])}): "
                f"{metric_label(metric)} needs two or more; score a longer period"
            )
        if metric == "log_loss":
            return float(skm.log_loss(y, p, labels=labels))
        return self._metric(metric, y, p, labels, present, threshold)

    @abstractmethod
    def _metric(
        self,
        metric: str,
        y: np.ndarray,
        p: np.ndarray,
        labels: np.ndarray,
        present: np.ndarray,
        threshold: float | None,
    ) -> float:
        """A metric but log loss of checked labels ``y`` and probabilities ``p``
        (:meth:`metric_value`); ``present`` are the classes among ``y``."""

    def _row_losses(
        self,
        metric: str,
        y_true: Any,
        predicted: Any,
        classes: Sequence[Any] | None,
        threshold: float | None,
    ) -> np.ndarray:
        assert classes is not None
        y, p = _scored(y_true, predicted, classes)
        labels = np.asarray(classes)
        truth = y[:, None] == labels[None, :]
        if metric == "log_loss":
            eps = np.finfo("float64").eps
            return -np.log(np.clip(p[truth], eps, 1 - eps))
        if metric == "brier_score":
            return (p[:, 1] - truth[:, 1]) ** 2
        return (self.predicted_classes(p, labels, threshold) == y).astype("float64")

    def check_target(self, values: Any, column: str) -> np.ndarray | None:
        series = _checked_target(values, column)
        if _is_number(series) and pd.api.types.is_float_dtype(series):
            fractional = series[series.to_numpy() != np.floor(series.to_numpy())]
            if len(fractional):
                raise DataError(
                    f"target {column!r} of a {self.name} task holds non-integer numbers (e.g. "
                    f"{_show(fractional.iloc[0])}): classes are labels; a quantity is task.kind "
                    "regression"
                )
        classes = class_order(series)
        self._check_class_count(classes, column)
        return classes

    @abstractmethod
    def _check_class_count(self, classes: np.ndarray, column: str) -> None:
        """Refuse a target of too few or too many classes (:meth:`check_target`)."""

    def target_values(self, values: pd.Series, column: str) -> np.ndarray:
        if values.isna().any():
            raise DataError(f"target {column!r} has {int(values.isna().sum())} missing values")
        return values.to_numpy()

    def check_folds(self, y: np.ndarray, folds: Sequence[tuple[Any, Any]]) -> None:
        for index, (fit_rows, score_rows) in enumerate(folds):
            check_fold_classes(y[fit_rows], index)
            check_fold_classes(y[score_rows], index)

    def check_unseen_classes(
        self, classes: Sequence[Any] | None, labels: Any, column: str, period: str = "test period"
    ) -> None:
        check_unseen_classes(self._classes(classes, "the checks"), labels, column, period)

    def check_estimator(self, estimator: Any, target: str) -> None:
        from sklearn.base import is_classifier

        if not is_classifier(estimator):
            raise ConfigError(
                f"model _target_ {target!r} is not a scikit-learn classifier, as a {self.name} "
                "task needs: give classifiers, e.g. model=[logreg,hgbc,rfc], or make them the "
                "task's own with `- override /model: [logreg, hgbc, rfc]` in the defaults list "
                "of its file in conf/task/"
            )
        if not hasattr(estimator, "predict_proba"):
            raise ConfigError(
                f"model _target_ {target!r} has no predict_proba: a {self.name} task scores "
                "probabilities"
            )

    def decision(
        self,
        train_labels: Any,
        valid_labels: Any,
        column: str,
        valid_proba: Callable[[np.ndarray], np.ndarray],
    ) -> dict[str, Any]:
        both = pd.concat([pd.Series(train_labels), pd.Series(valid_labels)], ignore_index=True)
        self.check_target(both, column)
        classes = check_training_classes(train_labels, column)
        check_unseen_classes(classes, valid_labels, column, "validation period")
        threshold = self.decision_threshold(valid_labels, lambda: valid_proba(classes), classes)
        return {"kind": self.name, "classes": classes.tolist(), "threshold": threshold}

    def decision_classes(
        self, decision: dict[str, Any] | None, what: str
    ) -> tuple[list[Any] | None, float | None]:
        if decision is None:
            raise ValueError(f"{what} a {self.name} task needs the model's decision file")
        return decision["classes"], decision["threshold"]

    def baseline_predictions(
        self,
        fit: pd.DataFrame,
        test: pd.DataFrame,
        target: str,
        keys: list[str],
        group_names: list[str],
        classes: Sequence[Any] | None = None,
        declared: Sequence[dict[str, str]] = (),
    ) -> dict[str, np.ndarray]:
        if classes is None:
            raise ValueError(f"baselines of a {self.name} task need its classes")
        out = {
            BASELINE_PRIOR: prior_baseline(fit[target], len(test), classes),
            frequency_baseline_name(group_names): frequency_baseline(
                fit, test, target, keys, classes
            ),
        }
        for baseline in declared:
            out[declared_baseline_name(baseline["name"])] = declared_class_baseline(
                fit, test, target, baseline["column"], classes
            )
        return out

    def importance_scorer(
        self,
        metric: str,
        classes: Sequence[Any] | None = None,
        threshold: float | None = None,
    ) -> ValueScorer | ProbabilityScorer:
        self.check_metric(metric, "metric")
        if classes is None:
            raise ValueError(f"the importance scorer of a {self.name} task needs its classes")
        if metric in self.threshold_metrics and threshold is None:
            raise ValueError(f"binary {metric} needs the decision threshold")
        return ProbabilityScorer(self, metric, tuple(np.asarray(classes).tolist()), threshold)

    def predict(self, estimator: Any, x: Any, classes: Sequence[Any] | None = None) -> np.ndarray:
        if classes is None:
            raise ValueError(f"the predictions of a {self.name} task need its classes")
        return align_proba(estimator.predict_proba(x), estimator.classes_, classes)

    def prediction_columns(
        self, classes: Sequence[Any] | None = None, name: str = "predicted"
    ) -> list[str]:
        if classes is None:
            raise ValueError(f"the prediction columns of a {self.name} task need its classes")
        return [name, *proba_columns(classes)]

    def prediction_frame(
        self,
        predicted: Any,
        classes: Sequence[Any] | None = None,
        threshold: float | None = None,
        name: str = "predicted",
    ) -> pd.DataFrame:
        if classes is None:
            raise ValueError(f"the predictions of a {self.name} task need its classes")
        proba = checked_proba(predicted, classes)
        columns = self.prediction_columns(classes, name)
        frame = pd.DataFrame(proba, columns=columns[1:])
        frame.insert(0, name, self.predicted_classes(proba, classes, threshold))
        return frame

    def prediction_values(
        self, frame: pd.DataFrame, classes: Sequence[Any] | None = None, name: str = "predicted"
    ) -> np.ndarray:
        return frame[proba_columns(self._classes(classes, "the predictions"))].to_numpy(
            dtype="float64"
        )


@dataclass(frozen=True)
class BinaryClassification(Classification):
    """Two classes, the positive one ``classes[1]``; a decision threshold chosen on the
    validation period for accuracy and F1."""

    name = "binary"
    metrics = ("log_loss", "roc_auc", "average_precision", "brier_score", "accuracy", "f1")
    # Binary accuracy depends on the threshold too.
    threshold_metrics = ("accuracy", "f1")
    leakage_metric = "roc_auc"
    evaluation = BINARY_EVALUATION

    def worse_metric_reason(self, metric: str, other: str) -> str:
        """Why a champion chosen by ``metric`` may lose to a baseline on ``other``; accuracy:
        the threshold maximises F1."""
        if other == "accuracy":
            return "the decision threshold maximises F1, not accuracy"
        return super().worse_metric_reason(metric, other)

    def predicted_classes(
        self, proba: Any, classes: Sequence[Any], threshold: float | None = None
    ) -> np.ndarray:
        labels = np.asarray(classes)
        p = checked_proba(proba, classes)
        if threshold is None:
            raise ValueError("a binary prediction needs the decision threshold")
        return np.where(p[:, 1] >= threshold, labels[1], labels[0])

    def _metric(
        self,
        metric: str,
        y: np.ndarray,
        p: np.ndarray,
        labels: np.ndarray,
        present: np.ndarray,
        threshold: float | None,
    ) -> float:
        """One binary metric from true positives (bool) and the positive-class probability."""
        from sklearn import metrics as skm

        truth, score = y == labels[1], p[:, 1]
        if metric == "roc_auc":
            return float(skm.roc_auc_score(truth, score))
        if metric == "average_precision":
            return float(skm.average_precision_score(truth, score, pos_label=True))
        if metric == "brier_score":
            return float(skm.brier_score_loss(truth, score, pos_label=True))
        if threshold is None:
            raise ValueError(f"binary {metric} needs the decision threshold")
        decided = score >= threshold
        if metric == "accuracy":
            return float(skm.accuracy_score(truth, decided))
        return float(skm.f1_score(truth, decided, pos_label=True, zero_division=0.0))

    def _check_class_count(self, classes: np.ndarray, column: str) -> None:
        if len(classes) != 2:
            raise DataError(
                f"target {column!r} of a binary task must hold exactly two values; found "
                f"{len(classes)}: {_show_all(classes)}: choose a target of two values "
                "(task.target) or another task.kind (multiclass, regression)"
            )

    def decision_threshold(
        self, y_valid: Any, valid_proba: Callable[[], Any], classes: Sequence[Any] | None
    ) -> float | None:
        assert classes is not None
        return self.choose_threshold(y_valid, valid_proba(), classes)

    def choose_threshold(self, y_valid: Any, proba: Any, classes: Sequence[Any]) -> float:
        """The decision threshold maximising F1 on the validation period's rows.

        ``proba`` (rows, 2) holds the validation rows' probabilities, ``y_valid`` (rows,) their
        labels. Candidates are the distinct positive-class probabilities, from
        ``sklearn.metrics.precision_recall_curve`` (a row is positive when its probability is
        ``>= threshold``); F1 = 2PR / (P + R) at each (``f1_score``'s definition; 0 when
        P + R = 0). Among ties (within F1_TIE) the smallest candidate wins: it keeps the most
        positives. The threshold returned lies midway between that candidate and the next
        lower validation probability (0 below the lowest): the same decisions on the validation
        rows, with a margin on both sides, so the refit on train + valid, which moves every
        probability a little, does not flip the rows at the candidate (a constant baseline's
        every row). Returns a probability in [0, 1]. Raises DataError when the rows hold one
        class only.
        """
        from sklearn.metrics import precision_recall_curve

        y, p = _scored(y_valid, proba, classes)
        if len(classes) != 2:
            raise ValueError(f"a decision threshold is for two classes, got {len(classes)}")
        truth = y == np.asarray(classes)[1]
        if truth.all() or not truth.any():
            raise DataError(
                f"the validation period holds one class only ({_show(y[0])}): the decision "
                "threshold is chosen there and needs both; widen it (split.train_until, "
                "split.valid_until)"
            )
        precision, recall, thresholds = precision_recall_curve(truth, p[:, 1], pos_label=True)
        # The last point (precision 1, recall 0) has no threshold.
        precision, recall = precision[:-1], recall[:-1]
        total = precision + recall
        f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)
        chosen = thresholds[int(np.flatnonzero(f1 >= f1.max() - F1_TIE)[0])]
        below = p[:, 1][p[:, 1] < chosen]
        return float((chosen + (below.max() if below.size else 0.0)) / 2)

    def curve_subject(self, classes: Sequence[Any]) -> Any:
        """What the calibration curve is of: the positive class ``classes[1]``."""
        return classes[1]


@dataclass(frozen=True)
class MulticlassClassification(Classification):
    """Two classes or more, each row predicted as its likeliest class."""

    name = "multiclass"
    metrics = ("log_loss", "accuracy", "f1_macro", "roc_auc_ovr")
    leakage_metric = "roc_auc_ovr"

    def predicted_classes(
        self, proba: Any, classes: Sequence[Any], threshold: float | None = None
    ) -> np.ndarray:
        labels = np.asarray(classes)
        return labels[np.argmax(checked_proba(proba, classes), axis=1)]

    def _metric(
        self,
        metric: str,
        y: np.ndarray,
        p: np.ndarray,
        labels: np.ndarray,
        present: np.ndarray,
        threshold: float | None,
    ) -> float:
        from sklearn import metrics as skm

        if metric == "accuracy":
            return float(skm.accuracy_score(y, self.predicted_classes(p, labels)))
        if metric == "f1_macro":
            predicted = self.predicted_classes(p, labels)
            return float(
                skm.f1_score(y, predicted, labels=present, average="macro", zero_division=0)
            )
        columns = np.isin(labels, present)
        indicator = y[:, None] == labels[None, columns]
        return float(skm.roc_auc_score(indicator, p[:, columns], average="macro"))

    def _check_class_count(self, classes: np.ndarray, column: str) -> None:
        if len(classes) < 2:
            raise DataError(
                f"target {column!r} of a multiclass task must hold at least two values; found "
                f"{len(classes)}: {_show_all(classes)}: choose another target (task.target)"
            )


_KINDS: dict[str, TaskKind] = {
    kind.name: kind for kind in (Regression(), BinaryClassification(), MulticlassClassification())
}
# The task kinds' names, in the order of their choices in messages.
KINDS: tuple[str, ...] = tuple(_KINDS)


def task_kind(name: str) -> TaskKind:
    """The task kind named ``name`` (``task.kind``). Raises ConfigError naming ``task.kind``
    for another name."""
    if name not in _KINDS:
        raise ConfigError(f"task.kind: {name!r} is not a task kind; choose from {list(KINDS)}")
    return _KINDS[name]


def _checked_target(values: Any, column: str) -> pd.Series:
    series = pd.Series(values)
    if series.isna().any():
        raise DataError(f"target {column!r} has {int(series.isna().sum())} missing values")
    return series


def _is_number(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


# --- importance scorers ------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueScorer:
    """A scorer ``(estimator, x, y) -> float`` for permutation importance of a regressor.

    It scores ``predict`` with :func:`regression_metrics`, signed so greater is better (as
    scikit-learn's ``neg_*`` scorers).
    """

    metric: str

    def __call__(self, estimator: Any, x: Any, y: Any) -> float:
        """The metric of ``estimator``'s predictions for rows ``x`` against the truth ``y``."""
        value = regression_metrics(y, estimator.predict(x))[self.metric]
        return value if greater_is_better(self.metric) else -value


@dataclass(frozen=True)
class ProbabilityScorer:
    """A scorer ``(estimator, x, y) -> float`` for permutation importance of a classifier.

    It scores ``predict_proba`` with the kind's metric, signed so greater is better (as
    scikit-learn's ``neg_*`` scorers): with the task's classes (a class absent from the sampled
    rows is fine) and, for binary accuracy and F1, the chosen threshold.
    """

    kind: Classification
    metric: str
    classes: tuple[Any, ...]
    threshold: float | None = None

    def __call__(self, estimator: Any, x: Any, y: Any) -> float:
        """The metric of ``estimator``'s probabilities for rows ``x`` against labels ``y``."""
        proba = align_proba(estimator.predict_proba(x), estimator.classes_, self.classes)
        value = self.kind.metric_value(self.metric, y, proba, self.classes, self.threshold)
        return value if greater_is_better(self.metric) else -value
