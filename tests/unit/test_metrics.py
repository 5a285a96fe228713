"""snakeml.metrics: regression metrics and the loss to minimise, checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from snakeml.metrics import GREATER_IS_BETTER, loss, regression_metrics


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
    assert GREATER_IS_BETTER == {"rmse": False, "mae": False, "r2": True}


def test_loss_unknown_metric():
    with pytest.raises(KeyError, match="auc"):
        loss({"rmse": 1.0}, "auc")
