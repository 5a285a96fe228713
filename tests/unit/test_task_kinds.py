"""snakeml.models.task_kinds: metrics, thresholds, baselines, target checks and predictions per
kind.

Every expected number is worked out by hand in the comment beside it.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from snakeml.core.errors import ConfigError, DataError
from snakeml.core.schema import TASK_KINDS
from snakeml.models.task_kinds import (
    BASELINE_MEAN,
    BASELINE_PRIOR,
    FREQUENCY_PSEUDO_ROWS,
    GREATER_IS_BETTER,
    KINDS,
    METRICS,
    BinaryClassification,
    MulticlassClassification,
    ProbabilityScorer,
    Regression,
    TaskKind,
    ValueScorer,
    align_proba,
    check_fold_classes,
    check_training_classes,
    check_unseen_classes,
    checked_proba,
    frequency_baseline,
    frequency_baseline_name,
    is_better,
    loss,
    mean_baseline,
    median_baseline,
    metric_label,
    prior_baseline,
    proba_column,
    proba_columns,
    regression_metrics,
    scorer_name,
    task_kind,
)


def test_known_values():
    # errors 0, 0, 0, 2; mean of y_true 2.5, total sum of squares 2.25+0.25+0.25+2.25 = 5
    scores = regression_metrics(np.array([1, 2, 3, 4]), np.array([1, 2, 3, 6]))
    assert scores == {"rmse": 1.0, "mae": 0.5, "r2": pytest.approx(1 - 4 / 5)}


def test_symmetric_errors():
    scores = regression_metrics([0.0, 0.0, 10.0, 10.0], [3.0, -3.0, 13.0, 7.0])
    assert scores["rmse"] == 3.0
    assert scores["mae"] == 3.0
    assert scores["r2"] == pytest.approx(1 - 36 / 100)


def test_perfect_predictions():
    assert regression_metrics([1.5, -2.0, 7.0], [1.5, -2.0, 7.0]) == {
        "rmse": 0.0,
        "mae": 0.0,
        "r2": 1.0,
    }


def test_mean_prediction_has_zero_r2_and_worse_is_negative():
    assert regression_metrics([1.0, 3.0], [2.0, 2.0])["r2"] == 0.0
    assert regression_metrics([1.0, 3.0], [3.0, 1.0])["r2"] == -3.0


def test_constant_truth_gives_zero_r2_not_nan():
    scores = regression_metrics([5.0, 5.0, 5.0], [4.0, 5.0, 6.0])
    assert scores["r2"] == 0.0
    assert math.isclose(scores["rmse"], math.sqrt(2 / 3))


def test_returns_plain_floats():
    scores = regression_metrics(np.array([1, 2], dtype="int32"), np.array([2, 2], dtype="int64"))
    assert all(type(v) is float for v in scores.values())


@pytest.mark.parametrize(
    ("y_true", "y_pred"),
    [([1.0, 2.0], [1.0]), ([], []), ([[1.0, 2.0]], [1.0, 2.0])],
)
def test_bad_shapes_are_refused(y_true, y_pred):
    with pytest.raises(ValueError, match="need equal, non-empty shapes"):
        regression_metrics(y_true, y_pred)


def test_loss_minimises_every_metric():
    scores = {"rmse": 2.0, "mae": 1.5, "r2": 0.25}
    assert loss(scores, "rmse") == 2.0
    assert loss(scores, "mae") == 1.5
    assert loss(scores, "r2") == -0.25
    assert {k: GREATER_IS_BETTER[k] for k in ("rmse", "mae", "r2")} == {
        "rmse": False,
        "mae": False,
        "r2": True,
    }


def test_loss_unknown_metric():
    with pytest.raises(KeyError, match="auc"):
        loss({"rmse": 1.0}, "auc")


def two_columns(positive: list[float]) -> np.ndarray:
    """A binary probability matrix from the positive class's probabilities."""
    score = np.asarray(positive, dtype="float64")
    return np.column_stack([1 - score, score])


REGRESSION_TASK = task_kind("regression")
BINARY_TASK = task_kind("binary")
MULTICLASS_TASK = task_kind("multiclass")


# --- kinds and metrics -----------------------------------------------------------------------


def test_importing_the_module_does_not_import_scikit_learn():
    code = "import sys, snakeml.models.task_kinds; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_kinds_are_the_schemas_and_every_kind_has_its_metrics():
    assert KINDS == TASK_KINDS
    kinds = [task_kind(name) for name in KINDS]
    assert [kind.name for kind in kinds] == list(KINDS)
    assert [type(kind) for kind in kinds] == [
        Regression,
        BinaryClassification,
        MulticlassClassification,
    ]
    assert all(isinstance(kind, TaskKind) for kind in kinds)
    assert all(name in METRICS for kind in kinds for name in kind.metrics)
    assert [kind.default_metric for kind in kinds] == ["rmse", "log_loss", "log_loss"]
    assert [kind.is_classifier for kind in kinds] == [False, True, True]
    assert [kind.leakage_metric for kind in kinds] == ["r2", "roc_auc", "roc_auc_ovr"]


def test_unknown_kind_is_one_line_naming_task_kind():
    with pytest.raises(ConfigError, match=r"^task.kind: 'ordinal' is not a task kind; choose"):
        task_kind("ordinal")


def test_directions_labels_and_scorer_names():
    assert [GREATER_IS_BETTER[m] for m in BINARY_TASK.metrics] == [
        False,  # log loss
        True,  # ROC AUC
        True,  # average precision
        False,  # Brier score
        True,  # accuracy
        True,  # F1
    ]
    assert [GREATER_IS_BETTER[m] for m in MULTICLASS_TASK.metrics] == [False, True, True, True]
    assert metric_label("roc_auc_ovr") == "macro ROC AUC (one-vs-rest)"
    assert metric_label("brier_score") == "Brier score"
    assert scorer_name("rmse") == "neg_root_mean_squared_error"
    assert scorer_name("log_loss") == "neg_log_loss"
    assert scorer_name("f1_macro") == "f1_macro"


def test_champion_direction_bigger_roc_auc_wins_smaller_log_loss_wins():
    scores = {"a": {"roc_auc": 0.71, "log_loss": 0.40}, "b": {"roc_auc": 0.83, "log_loss": 0.55}}
    assert min(scores, key=lambda m: loss(scores[m], "roc_auc")) == "b"
    assert min(scores, key=lambda m: loss(scores[m], "log_loss")) == "a"
    assert loss(scores["b"], "roc_auc") == -0.83
    assert is_better("roc_auc", 0.83, 0.71) and not is_better("roc_auc", 0.71, 0.83)
    assert is_better("log_loss", 0.40, 0.55) and not is_better("log_loss", 0.55, 0.40)
    assert not is_better("roc_auc", 0.8, 0.8)


def test_a_regression_metric_asked_of_a_classifier_is_one_line():
    with pytest.raises(ConfigError) as caught:
        BINARY_TASK.check_metric("rmse", "tuning.metric")
    assert str(caught.value) == (
        "tuning.metric: 'rmse' is a regression metric, not one of a binary task; choose from "
        "['log_loss', 'roc_auc', 'average_precision', 'brier_score', 'accuracy', 'f1']"
    )


def test_a_classifier_metric_asked_of_regression_is_one_line():
    with pytest.raises(ConfigError) as caught:
        REGRESSION_TASK.check_metric("log_loss")
    assert str(caught.value) == (
        "evaluation.metric: 'log_loss' is a binary and multiclass metric, not one of a "
        "regression task; choose from ['rmse', 'mae', 'r2']"
    )
    with pytest.raises(ConfigError, match=r"'f1' is a binary metric, not one of a multiclass"):
        MULTICLASS_TASK.check_metric("f1")
    with pytest.raises(ConfigError, match=r"'auc' is not a metric, not one of a binary task"):
        BINARY_TASK.check_metric("auc")
    assert MULTICLASS_TASK.check_metric("f1_macro").greater_is_better is True


def test_binary_threshold_metrics_cannot_be_tuned():
    assert BINARY_TASK.tuning_metrics == (
        "log_loss",
        "roc_auc",
        "average_precision",
        "brier_score",
    )
    assert MULTICLASS_TASK.tuning_metrics == MULTICLASS_TASK.metrics
    with pytest.raises(ConfigError, match=r"^tuning.metric: 'f1' needs a decision threshold"):
        BINARY_TASK.check_tuning_metric("f1")
    assert MULTICLASS_TASK.check_tuning_metric("accuracy").name == "accuracy"
    with pytest.raises(ConfigError, match="'r2' is a regression metric"):
        MULTICLASS_TASK.check_tuning_metric("r2")


# --- binary metrics --------------------------------------------------------------------------

BINARY = np.array(["no", "yes"])


def test_binary_metrics_by_hand_with_string_labels():
    y = ["no", "yes", "no", "yes"]
    proba = two_columns([0.2, 0.7, 0.4, 0.9])
    scores = BINARY_TASK.score_predictions(y, proba, BINARY, threshold=0.4)
    assert list(scores) == list(BINARY_TASK.metrics)
    # probability of the true class: 0.8, 0.7, 0.6, 0.9
    assert scores["log_loss"] == pytest.approx(-np.mean(np.log([0.8, 0.7, 0.6, 0.9])))
    # every positive above every negative
    assert scores["roc_auc"] == 1.0
    assert scores["average_precision"] == 1.0
    # squared gaps to the outcome: 0.04, 0.09, 0.16, 0.01
    assert scores["brier_score"] == pytest.approx(0.3 / 4)
    # >= 0.4 is "yes": no, yes, yes, yes; one false positive
    assert scores["accuracy"] == 0.75
    # TP 2, FP 1, FN 0: 2 * 2 / (2 * 2 + 1 + 0)
    assert scores["f1"] == pytest.approx(0.8)


def test_binary_ranking_metrics_by_hand():
    proba = two_columns([0.1, 0.4, 0.35, 0.8])
    y = [0, 0, 1, 1]
    # positive-negative pairs ordered right: 0.35 > 0.1, 0.8 > 0.1, 0.8 > 0.4; not 0.35 > 0.4
    assert BINARY_TASK.metric_value("roc_auc", y, proba, [0, 1]) == pytest.approx(3 / 4)
    # ranked: 0.8 (pos: P 1, R 1/2), 0.4 (neg), 0.35 (pos: P 2/3, R 1): 1/2 * 1 + 1/2 * 2/3
    ap = BINARY_TASK.metric_value("average_precision", y, proba, [0, 1])
    assert ap == pytest.approx(5 / 6)


def test_binary_positive_class_is_the_greater_label():
    # True is positive: a high probability in the True column where the label is True
    y = [True, False]
    assert BINARY_TASK.metric_value("roc_auc", y, two_columns([0.9, 0.2]), [False, True]) == 1
    assert BINARY_TASK.metric_value("roc_auc", y, two_columns([0.2, 0.9]), [False, True]) == 0


def test_binary_metrics_without_a_threshold_leave_out_accuracy_and_f1():
    scores = BINARY_TASK.score_predictions([0, 1], two_columns([0.3, 0.6]), [0, 1])
    assert list(scores) == ["log_loss", "roc_auc", "average_precision", "brier_score"]
    with pytest.raises(ValueError, match="binary f1 needs the decision threshold"):
        BINARY_TASK.metric_value("f1", [0, 1], two_columns([0.3, 0.6]), [0, 1])


def test_ranking_metrics_of_rows_of_one_class_are_refused():
    with pytest.raises(DataError, match=r"^the scored rows hold one class only \('yes'\): ROC AUC"):
        BINARY_TASK.metric_value("roc_auc", ["yes", "yes"], two_columns([0.3, 0.6]), BINARY)
    with pytest.raises(DataError, match=r"one class only \('fog'\): macro ROC AUC"):
        MULTICLASS_TASK.metric_value("roc_auc_ovr", ["fog"], WEATHER_PROBA[:1], WEATHER)
    # log loss and accuracy are defined on rows of one class
    y, proba = ["yes", "yes"], two_columns([0.3, 0.6])
    log_loss = BINARY_TASK.metric_value("log_loss", y, proba, BINARY)
    assert log_loss == pytest.approx(-(np.log(0.3) + np.log(0.6)) / 2)
    assert BINARY_TASK.metric_value("accuracy", y, proba, BINARY, 0.5) == 0.5


def test_scored_rows_of_an_unknown_class_are_refused():
    with pytest.raises(DataError, match=r"hold classes \['maybe'\] outside the task's classes"):
        BINARY_TASK.score_predictions(["no", "maybe"], two_columns([0.3, 0.6]), BINARY, 0.5)


def test_scoring_a_classifier_needs_its_classes():
    with pytest.raises(ValueError, match="needs its classes"):
        MULTICLASS_TASK.score_predictions([0, 1], two_columns([0.3, 0.6]))
    assert REGRESSION_TASK.score_predictions([1.0, 3.0], [2.0, 2.0])["r2"] == 0.0


# --- multiclass metrics ----------------------------------------------------------------------

WEATHER = np.array(["fog", "rain", "snow", "sun"])
# snow never occurs among the true labels.
WEATHER_Y = ["rain", "sun", "rain", "fog", "sun"]
WEATHER_PROBA = np.array(
    [
        [0.1, 0.5, 0.1, 0.3],  # rain: predicted rain
        [0.1, 0.4, 0.1, 0.4],  # sun: rain and sun tie, the first in class order wins: rain
        [0.2, 0.3, 0.1, 0.4],  # rain: predicted sun
        [0.6, 0.2, 0.1, 0.1],  # fog: predicted fog
        [0.1, 0.1, 0.2, 0.6],  # sun: predicted sun
    ]
)


def test_multiclass_metrics_by_hand_with_a_class_absent_from_the_test_rows():
    scores = MULTICLASS_TASK.score_predictions(WEATHER_Y, WEATHER_PROBA, WEATHER)
    assert list(scores) == ["log_loss", "accuracy", "f1_macro", "roc_auc_ovr"]
    # probability of the true class: 0.5, 0.4, 0.3, 0.6, 0.6
    assert scores["log_loss"] == pytest.approx(-np.mean(np.log([0.5, 0.4, 0.3, 0.6, 0.6])))
    # rows 0, 3 and 4 right
    assert scores["accuracy"] == pytest.approx(3 / 5)
    # over fog, rain, sun (snow absent): fog 1; rain TP 1, FP 1, FN 1: 1/2; sun likewise: 1/2
    assert scores["f1_macro"] == pytest.approx(2 / 3)
    # one-vs-rest over fog, rain, sun: fog 1; rain 5 of 6 pairs; sun 5.5 of 6 (a tie counts half)
    assert scores["roc_auc_ovr"] == pytest.approx((1 + 5 / 6 + 5.5 / 6) / 3)


def test_multiclass_log_loss_charges_probability_given_to_the_absent_class():
    shifted = WEATHER_PROBA.copy()
    # move 0.1 of row 0 from rain (its true class) to snow, which never occurs
    shifted[0, 1], shifted[0, 2] = 0.4, 0.2
    base = MULTICLASS_TASK.metric_value("log_loss", WEATHER_Y, WEATHER_PROBA, WEATHER)
    worse = MULTICLASS_TASK.metric_value("log_loss", WEATHER_Y, shifted, WEATHER)
    assert worse - base == pytest.approx((np.log(0.5) - np.log(0.4)) / 5)


def test_multiclass_roc_auc_equals_scikit_learns_when_every_class_is_present():
    from sklearn.metrics import roc_auc_score

    classes = np.array(["fog", "rain", "sun"])
    proba = WEATHER_PROBA[:, [0, 1, 3]] / WEATHER_PROBA[:, [0, 1, 3]].sum(axis=1, keepdims=True)
    ours = MULTICLASS_TASK.metric_value("roc_auc_ovr", WEATHER_Y, proba, classes)
    assert ours == pytest.approx(roc_auc_score(WEATHER_Y, proba, multi_class="ovr"))


# --- threshold -------------------------------------------------------------------------------


def test_threshold_maximises_f1_on_validation_rows():
    y = [0, 0, 1, 0, 1, 1]
    score = [0.1, 0.3, 0.35, 0.4, 0.6, 0.8]
    # F1 at >= t: 0.1: 2/3; 0.3: 3/4; 0.35: 6/7 (TP 3, FP 1); 0.4: 2/3; 0.6: 4/5; 0.8: 1/2
    threshold = BINARY_TASK.choose_threshold(y, two_columns(score), [0, 1])
    # midway between the best candidate and the next lower validation probability
    assert threshold == pytest.approx((0.35 + 0.3) / 2)
    scores = BINARY_TASK.score_predictions(y, two_columns(score), [0, 1], threshold)
    assert scores["f1"] == pytest.approx(6 / 7)


def test_threshold_ties_go_to_the_smallest():
    # F1 at >= 0.1: 2/3 (TP 2, FP 2); 0.2: 2/5; 0.3: 1/2; 0.4: 2/3 (TP 1, FN 1): a tie.
    # 0.1 is the lowest probability: the threshold lies midway to 0.
    assert BINARY_TASK.choose_threshold(
        [1, 0, 0, 1], two_columns([0.1, 0.2, 0.3, 0.4]), [0, 1]
    ) == pytest.approx(0.05)


def test_threshold_below_the_candidate_keeps_the_lower_rows_negative():
    # full recall at 0.3: precision_recall_curve lists no lower candidate, but 0.1 and 0.2 are
    # validation rows, so the threshold stops midway to 0.2, not to 0
    threshold = BINARY_TASK.choose_threshold(
        [0, 0, 1, 1], two_columns([0.1, 0.2, 0.3, 0.4]), [0, 1]
    )
    assert threshold == pytest.approx(0.25)


def test_a_constant_baseline_keeps_its_decision_after_the_refit():
    # train 3 of 4 positive, valid 1 of 2: the prior is 3/4 on valid, where calling every row
    # positive wins (F1 2/3 against 0), and 2/3 after the refit on train + valid, below 3/4
    train = pd.DataFrame({"y": [1, 1, 1, 0]})
    valid = pd.DataFrame({"y": [1, 0]})
    test = pd.DataFrame({"y": [1, 1, 0]})
    prior = BINARY_TASK.baseline_scores(train, valid, test, "y", [], [], [0, 1])[BASELINE_PRIOR]
    assert prior["accuracy"] == pytest.approx(2 / 3)  # every row positive, as chosen on valid
    assert prior["f1"] == pytest.approx(0.8)


def test_threshold_needs_both_classes_in_the_validation_period():
    with pytest.raises(DataError, match=r"^the validation period holds one class only \('no'\)"):
        BINARY_TASK.choose_threshold(["no", "no"], two_columns([0.2, 0.7]), BINARY)


# --- baselines -------------------------------------------------------------------------------

FIT = pd.DataFrame(
    {
        "month": [1, 1, 1, 2, 2],
        "weather": ["wet", "wet", "dry", "wet", "dry"],
        "next": ["rain", "sun", "rain", "fog", "fog"],
    }
)


def test_prior_baseline_is_the_training_class_frequencies():
    proba = prior_baseline(FIT["next"], 2, WEATHER)
    # fog 2, rain 2, snow 0, sun 1 of 5
    np.testing.assert_allclose(proba, [[0.4, 0.4, 0.0, 0.2]] * 2)


def test_frequency_baseline_falls_back_to_coarser_groups_then_the_prior():
    test = pd.DataFrame({"month": [1, 1, 3, 2], "weather": ["wet", "hail", "wet", "dry"]})
    proba = frequency_baseline(FIT, test, "next", ["month", "weather"], WEATHER, pseudo_rows=0)
    expected = [
        [0.0, 0.5, 0.0, 0.5],  # month 1, wet: rain, sun
        [0.0, 2 / 3, 0.0, 1 / 3],  # hail unseen: month 1's rain, sun, rain
        [0.4, 0.4, 0.0, 0.2],  # month 3 unseen: the prior
        [1.0, 0.0, 0.0, 0.0],  # month 2, dry: fog
    ]
    np.testing.assert_allclose(proba, expected)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_frequency_baseline_shrinks_each_group_toward_its_parent():
    """The m-estimate with m = 2, level by level, by hand."""
    test = pd.DataFrame({"month": [1, 1, 3, 2], "weather": ["wet", "hail", "wet", "dry"]})
    proba = frequency_baseline(FIT, test, "next", ["month", "weather"], WEATHER, pseudo_rows=2)
    # prior: fog .4, rain .4, snow 0, sun .2
    # month 1 (rain 2, sun 1): ([0, 2, 0, 1] + 2 prior) / 5 = [.16, .56, 0, .28]
    # month 2 (fog 2): ([2, 0, 0, 0] + 2 prior) / 4 = [.7, .2, 0, .1]
    expected = [
        [0.08, 0.53, 0.0, 0.39],  # month 1, wet (rain, sun): ([0, 1, 0, 1] + 2 month 1) / 4
        [0.16, 0.56, 0.0, 0.28],  # hail unseen: month 1
        [0.4, 0.4, 0.0, 0.2],  # month 3 unseen: the prior
        [0.8, 0.4 / 3, 0.0, 0.2 / 3],  # month 2, dry (fog): ([1, 0, 0, 0] + 2 month 2) / 3
    ]
    np.testing.assert_allclose(proba, expected)
    default = frequency_baseline(FIT, test, "next", ["month", "weather"], WEATHER)
    assert FREQUENCY_PSEUDO_ROWS == 10
    # month 2, dry with m = 10: month 2 is ([2, 0, 0, 0] + 10 prior) / 12 = [.5, 1/3, 0, 1/6]
    np.testing.assert_allclose(
        default[3], (np.array([1, 0, 0, 0]) + 10 * np.array([0.5, 1 / 3, 0, 1 / 6])) / 11
    )


def test_frequency_baseline_names_missing_columns():
    with pytest.raises(DataError, match=r"lack columns \['weather'\] the class frequency baseline"):
        frequency_baseline(FIT, pd.DataFrame({"month": [1]}), "next", ["month", "weather"], WEATHER)


def test_baseline_names_follow_the_kind_and_the_groups():
    test = FIT.head(1)
    names = MULTICLASS_TASK.baseline_predictions(FIT, test, "next", ["month"], ["month"], WEATHER)
    assert list(names) == [BASELINE_PRIOR, "baseline_frequency_month"]
    assert frequency_baseline_name([]) == "baseline_frequency"
    numeric = pd.DataFrame({"month": [1, 2], "y": [1.0, 3.0]})
    assert list(REGRESSION_TASK.baseline_predictions(numeric, numeric, "y", ["month"], ["m"])) == [
        BASELINE_MEAN,
        "baseline_median_m",
    ]


def test_regression_baseline_scores_are_todays():
    train = pd.DataFrame({"carrier": ["UA", "UA", "DL"], "y": [0.0, 10.0, 5.0]})
    valid = pd.DataFrame({"carrier": ["DL", "AA"], "y": [7.0, 100.0]})
    test = pd.DataFrame({"carrier": ["UA", "DL", "B6"], "y": [3.0, 6.0, 20.0]})
    ours = REGRESSION_TASK.baseline_scores(train, valid, test, "y", ["carrier"], ["carrier"])
    fit = pd.concat([train, valid], ignore_index=True)
    actual = test["y"].to_numpy(dtype="float64")
    assert ours == {
        BASELINE_MEAN: regression_metrics(actual, mean_baseline(fit, test, "y")),
        "baseline_median_carrier": regression_metrics(
            actual, median_baseline(fit, test, "y", ["carrier"])
        ),
    }


def test_binary_baseline_scores_by_hand():
    train = pd.DataFrame({"g": ["a", "a", "b", "b"], "y": [0, 0, 1, 1]})
    valid = pd.DataFrame({"g": ["a", "b"], "y": [0, 1]})
    test = pd.DataFrame({"g": ["a", "b", "c"], "y": [0, 1, 1]})
    scores = BINARY_TASK.baseline_scores(train, valid, test, "y", ["g"], ["g"], [0, 1])
    prior, groups = scores[BASELINE_PRIOR], scores["baseline_frequency_g"]
    # prior 1/2 everywhere; on valid its one threshold, 1/2, calls every row positive
    assert prior["log_loss"] == pytest.approx(np.log(2))
    assert prior["brier_score"] == pytest.approx(0.25)
    assert prior["roc_auc"] == 0.5
    assert prior["average_precision"] == pytest.approx(2 / 3)
    assert prior["accuracy"] == pytest.approx(2 / 3)
    assert prior["f1"] == pytest.approx(0.8)  # TP 2, FP 1
    # groups from train, shrunk toward the prior 1/2 by 10 rows: a 5/12, b 7/12; valid picks
    # 7/12 (F1 1 against 2/3 at 5/12), so the threshold is midway to 5/12: 1/2. train + valid:
    # a (0 of 3) 5/13, b (3 of 3) 8/13, c unseen: the prior 1/2, at the threshold, so positive
    assert groups["log_loss"] == pytest.approx(-(2 * np.log(8 / 13) + np.log(1 / 2)) / 3)
    assert groups["brier_score"] == pytest.approx((2 * (5 / 13) ** 2 + 0.25) / 3)
    assert groups["roc_auc"] == 1.0
    assert groups["accuracy"] == 1.0
    assert groups["f1"] == 1.0


def test_multiclass_baseline_scores_with_a_class_absent_from_the_test_rows():
    train, valid = FIT.head(3), FIT.tail(2)
    test = pd.DataFrame({"month": [1, 2], "weather": ["wet", "dry"], "next": ["sun", "fog"]})
    scores = MULTICLASS_TASK.baseline_scores(train, valid, test, "next", ["month"], ["m"], WEATHER)
    # the prior: fog 0.4, rain 0.4, snow 0, sun 0.2; predicts fog (first among equals)
    prior = scores[BASELINE_PRIOR]
    assert prior["log_loss"] == pytest.approx(-(np.log(0.2) + np.log(0.4)) / 2)
    assert prior["accuracy"] == 0.5
    # shrunk toward the prior by 10 rows: month 1 ([0, 2, 0, 1] + 10 prior) / 13
    # = [4, 6, 0, 3] / 13 -> rain; month 2 ([2, 0, 0, 0] + 10 prior) / 12 = [6, 4, 0, 2] / 12
    # -> fog
    by_month = scores["baseline_frequency_m"]
    assert by_month["log_loss"] == pytest.approx(-(np.log(3 / 13) + np.log(1 / 2)) / 2)
    assert by_month["accuracy"] == 0.5
    # fog: F1 1; sun: never predicted, F1 0; over the two present classes
    assert by_month["f1_macro"] == pytest.approx(0.5)
    assert by_month["roc_auc_ovr"] == 1.0


# --- target checks ---------------------------------------------------------------------------


def test_binary_target_needs_exactly_two_values():
    assert BINARY_TASK.check_target(pd.Series([1, 0, 1]), "delayed").tolist() == [0, 1]
    with pytest.raises(DataError) as caught:
        BINARY_TASK.check_target(["rain", "sun", "fog", "sun"], "weather_next_day")
    assert str(caught.value) == (
        "target 'weather_next_day' of a binary task must hold exactly two values; found 3: "
        "['fog', 'rain', 'sun']: choose a target of two values (task.target) or another "
        "task.kind (multiclass, regression)"
    )


def test_the_values_found_are_capped():
    with pytest.raises(DataError, match=r"found 12: \[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, \.\.\. \(12"):
        BINARY_TASK.check_target(list(range(12)), "hour")


def test_multiclass_target_needs_two_values():
    with pytest.raises(DataError, match=r"multiclass task must hold at least two values; found 1"):
        MULTICLASS_TASK.check_target(["sun", "sun"], "weather_next_day")
    assert MULTICLASS_TASK.check_target(["sun", "rain", "fog"], "w").tolist() == [
        "fog",
        "rain",
        "sun",
    ]


def test_target_with_missing_values_is_refused():
    with pytest.raises(DataError, match=r"^target 'delayed' has 1 missing values$"):
        BINARY_TASK.check_target([True, None, False], "delayed")


def test_a_quantity_is_not_a_class_target():
    with pytest.raises(DataError, match=r"holds non-integer numbers \(e.g. 12.5\)"):
        MULTICLASS_TASK.check_target([1.0, 12.5, 3.0], "temp_max")
    # whole numbers stored as floats are labels
    assert BINARY_TASK.check_target([0.0, 1.0], "delayed").tolist() == [0.0, 1.0]


def test_a_regression_target_must_be_numeric():
    with pytest.raises(DataError, match=r"is not numeric \(values like 'rain'\): set task.kind"):
        REGRESSION_TASK.check_target(["rain", "sun"], "weather_next_day")
    assert REGRESSION_TASK.check_target([1.5, 2.0], "arr_delay") is None


def test_one_class_in_the_training_period_is_refused():
    with pytest.raises(DataError) as caught:
        check_training_classes(pd.Series([False, False]), "delayed")
    assert str(caught.value) == (
        "target 'delayed' holds one class only in the training period (False): a classifier "
        "needs two or more; move split.train_until later"
    )
    assert check_training_classes(["b", "a", "b"], "y").tolist() == ["a", "b"]


def test_a_time_fold_of_one_class_names_the_fold_and_suggests_fewer_folds():
    with pytest.raises(DataError) as caught:
        check_fold_classes(np.array(["sun", "sun", "sun"]), 2)
    assert str(caught.value) == (
        "tuning fold 2 holds one class only ('sun'): lower tuning.n_folds so each fold spans a "
        "longer period"
    )
    check_fold_classes(np.array(["sun", "rain"]), 0)


def test_a_class_never_in_training_is_named():
    with pytest.raises(DataError) as caught:
        check_unseen_classes(["rain", "sun"], ["sun", "snow", "fog", "snow"], "weather_next_day")
    assert str(caught.value) == (
        "target 'weather_next_day': classes ['fog', 'snow'] occur in the test period but never "
        "in the training period, so no model can predict them; move split.train_until later"
    )
    check_unseen_classes(["rain", "snow", "sun"], ["sun", "sun"], "weather_next_day")


# --- probabilities and prediction output -----------------------------------------------------


def test_probability_columns_render_classes_safely():
    assert proba_columns([False, True]) == ["proba_false", "proba_true"]
    assert proba_columns([-1, 1]) == ["proba_minus_1", "proba_1"]
    assert proba_columns(np.array([0.0, 1.0])) == ["proba_0", "proba_1"]
    assert proba_column("Heavy rain!") == "proba_heavy_rain"
    assert proba_column(np.str_("sun")) == "proba_sun"


def test_probability_columns_that_would_clash_are_refused():
    with pytest.raises(DataError, match=r"classes 'A b' and 'a_b' would both be written as column"):
        proba_columns(["A b", "a_b"])
    with pytest.raises(DataError, match=r"class '\?' has no letter or digit"):
        proba_column("?")


def test_classifier_prediction_frame_sums_to_one():
    frame = MULTICLASS_TASK.prediction_frame(WEATHER_PROBA, WEATHER)
    assert list(frame.columns) == MULTICLASS_TASK.prediction_columns(WEATHER)
    assert list(frame.columns) == [
        "predicted",
        "proba_fog",
        "proba_rain",
        "proba_snow",
        "proba_sun",
    ]
    assert frame["predicted"].tolist() == ["rain", "rain", "sun", "fog", "sun"]
    np.testing.assert_allclose(frame.iloc[:, 1:].sum(axis=1), 1.0, rtol=0, atol=1e-15)


def test_binary_prediction_frame_decides_at_the_threshold():
    frame = BINARY_TASK.prediction_frame(two_columns([0.2, 0.35, 0.9]), BINARY, 0.35, "class")
    assert frame["class"].tolist() == ["no", "yes", "yes"]
    assert list(frame.columns) == ["class", "proba_no", "proba_yes"]
    with pytest.raises(ValueError, match="needs the decision threshold"):
        BINARY_TASK.prediction_frame(two_columns([0.2]), BINARY)


def test_regression_prediction_frame_is_one_column():
    frame = REGRESSION_TASK.prediction_frame([1.5, -2.0], name="predicted_arr_delay")
    assert list(frame.columns) == ["predicted_arr_delay"]
    assert frame["predicted_arr_delay"].tolist() == [1.5, -2.0]


def test_float_drift_is_renormalised():
    drift = np.array([[0.3, 0.7 + 4e-7], [0.5, 0.5 - 3e-7]])
    proba = checked_proba(drift, [0, 1])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    assert proba[0, 1] == pytest.approx((0.7 + 4e-7) / (1 + 4e-7), abs=1e-15)


def test_probabilities_that_do_not_sum_to_one_are_refused():
    with pytest.raises(DataError, match=r"of 1 rows do not sum to one \(row 1: 0.9\)"):
        checked_proba([[0.5, 0.5], [0.4, 0.5]], [0, 1])
    with pytest.raises(DataError, match=r"run from -0.1 to 1.1, outside \[0, 1\]"):
        checked_proba([[-0.1, 1.1]], [0, 1])
    with pytest.raises(DataError, match=r"shape \(1, 2\); expected \(rows, 3\)"):
        checked_proba([[0.5, 0.5]], ["a", "b", "c"])
    with pytest.raises(DataError, match="1 predicted probabilities are not finite"):
        checked_proba([[np.nan, 1.0]], [0, 1])


def test_multiclass_ties_go_to_the_first_class():
    tied = [[0.4, 0.4, 0.2], [0.2, 0.4, 0.4]]
    assert MULTICLASS_TASK.predicted_classes(tied, ["a", "b", "c"]).tolist() == ["a", "b"]


def test_align_proba_adds_zero_columns_for_classes_the_model_never_saw():
    aligned = align_proba([[0.3, 0.7]], ["sun", "fog"], WEATHER)
    np.testing.assert_array_equal(aligned, [[0.7, 0.0, 0.0, 0.3]])
    with pytest.raises(DataError, match=r"predicts classes \['hail'\] the task does not have"):
        align_proba([[0.3, 0.7]], ["sun", "hail"], WEATHER)


# --- importance scorer and estimators --------------------------------------------------------


class FixedModel:
    """Returns fixed probabilities whatever the rows."""

    def __init__(self, proba: np.ndarray, classes: list[str]) -> None:
        self.proba, self.classes_ = proba, np.asarray(classes)

    def predict_proba(self, x: object) -> np.ndarray:
        return self.proba


class Constant:
    """A fitted regressor stand-in predicting fixed values."""

    def __init__(self, values: list[float]) -> None:
        self.values = np.asarray(values, dtype="float64")

    def predict(self, x: object) -> np.ndarray:
        return self.values


def test_regression_importance_scorer_is_signed_greater_is_better():
    model, y = Constant([1.0, 2.0, 6.0]), np.array([1.0, 4.0, 3.0])
    # errors 0, -2, 3: RMSE sqrt(13/3), MAE 5/3; R² = 1 - 13 / 4.6667 (mean 8/3)
    assert REGRESSION_TASK.importance_scorer("rmse") == ValueScorer("rmse")
    assert REGRESSION_TASK.importance_scorer("rmse")(model, None, y) == pytest.approx(
        -math.sqrt(13 / 3)
    )
    assert REGRESSION_TASK.importance_scorer("mae")(model, None, y) == pytest.approx(-5 / 3)
    assert REGRESSION_TASK.importance_scorer("r2")(model, None, y) == pytest.approx(
        1 - 13 / (14 / 3)
    )
    with pytest.raises(ConfigError, match="'log_loss' is a binary and multiclass metric"):
        REGRESSION_TASK.importance_scorer("log_loss")


def test_classifier_importance_scorer_is_signed_and_knows_absent_classes():
    scorer = MULTICLASS_TASK.importance_scorer("log_loss", WEATHER)
    assert isinstance(scorer, ProbabilityScorer)
    # the model was fitted without snow: its column is filled with zeros
    model = FixedModel(WEATHER_PROBA[:, [3, 1, 0]] / 0.9, ["sun", "rain", "fog"])
    model.proba = model.proba / model.proba.sum(axis=1, keepdims=True)
    value = scorer(model, None, np.array(WEATHER_Y))
    expected = MULTICLASS_TASK.metric_value(
        "log_loss",
        WEATHER_Y,
        align_proba(model.proba, model.classes_, WEATHER),
        WEATHER,
    )
    assert value == pytest.approx(-expected)
    auc = MULTICLASS_TASK.importance_scorer("roc_auc_ovr", WEATHER)
    assert auc(model, None, np.array(WEATHER_Y)) > 0


def test_binary_importance_scorer_uses_the_threshold():
    model = FixedModel(two_columns([0.2, 0.35, 0.9]), ["no", "yes"])
    y = np.array(["no", "yes", "no"])
    # >= 0.3: no, yes, yes: one wrong; >= 0.5: no, no, yes: two wrong
    assert BINARY_TASK.importance_scorer("accuracy", BINARY, 0.3)(model, None, y) == 2 / 3
    assert BINARY_TASK.importance_scorer("accuracy", BINARY, 0.5)(model, None, y) == 1 / 3
    with pytest.raises(ValueError, match="binary f1 needs the decision threshold"):
        BINARY_TASK.importance_scorer("f1", BINARY)


def test_classifier_scorer_runs_in_permutation_importance_on_string_labels():
    from sklearn.inspection import permutation_importance
    from sklearn.linear_model import LogisticRegression

    x = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
    y = np.array(["no", "no", "no", "yes", "yes", "yes"])
    model = LogisticRegression().fit(x, y)
    scorer = BINARY_TASK.importance_scorer("average_precision", BINARY)
    result = permutation_importance(model, x, y, scoring=scorer, n_repeats=3, random_state=0)
    assert result.importances.shape == (1, 3)
    assert result.importances_mean[0] > 0


def test_estimators_must_fit_the_kind():
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.svm import LinearSVC

    BINARY_TASK.check_estimator(LogisticRegression(), "sklearn.linear_model.LogisticRegression")
    REGRESSION_TASK.check_estimator(Ridge(), "sklearn.linear_model.Ridge")
    with pytest.raises(ConfigError, match=r"'sklearn.linear_model.Ridge' is not a scikit-learn "):
        MULTICLASS_TASK.check_estimator(Ridge(), "sklearn.linear_model.Ridge")
    with pytest.raises(ConfigError, match="has no predict_proba: a binary task scores"):
        BINARY_TASK.check_estimator(LinearSVC(), "sklearn.svm.LinearSVC")
    with pytest.raises(ConfigError, match="is not a scikit-learn regressor"):
        REGRESSION_TASK.check_estimator(LogisticRegression(), "LogisticRegression")
