"""Classification through the stages: compose, tune, train, evaluate, leaderboard, predictions."""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from snakeml.configuration.compose import compose_config
from snakeml.configuration.slices import rule_slices
from snakeml.core.errors import ConfigError, DataError
from snakeml.core.io import read_json, write_json, write_yaml
from snakeml.core.outputs import breakdown_files, evaluate_files
from snakeml.core.slices import LeaderboardGroup
from snakeml.evaluation.evaluate import class_curves, evaluate_model
from snakeml.evaluation.leaderboard import run_leaderboard
from snakeml.models.task_kinds import task_kind
from snakeml.training.train import run_training
from snakeml.training.tune import make_objective

pytestmark = pytest.mark.usefixtures("single_thread")

COLUMNS = {"target": "delayed", "numeric": ["distance", "temp"], "categorical": ["carrier"]}


@pytest.fixture(scope="module")
def delayed_cfg(conf_dir):
    return compose_config("task=delayed", conf_dir)


@pytest.fixture
def slices(delayed_cfg):
    def make(rule: str, model: str = "logreg") -> Any:
        key = rule if rule == "leaderboard" else f"{rule}/{model}"
        data = copy.deepcopy(rule_slices(delayed_cfg)[key])
        if hasattr(data, "columns"):
            data.columns = copy.deepcopy(COLUMNS)
        return data

    return make


@pytest.fixture
def frame(synthetic_frame):
    out = synthetic_frame.copy()
    out["delayed"] = out["arr_delay"] >= 12.0
    out["time_hour"] = pd.to_datetime(
        [f"2013-{m:02d}-02" for m in out["month"]], utc=True
    ) + pd.to_timedelta(out.index % 50, unit="h")
    return out


# --- compose ---------------------------------------------------------------------------------


def test_a_binary_task_composes_with_classifiers_and_log_loss(delayed_cfg):
    assert delayed_cfg["task"]["kind"] == "binary"
    assert sorted(delayed_cfg["model"]) == ["hgbc", "logreg", "rfc"]
    assert delayed_cfg["tuning"]["metric"] == delayed_cfg["evaluation"]["metric"] == "log_loss"
    slices = rule_slices(delayed_cfg).values()
    assert {s.task.kind for s in slices if hasattr(s, "task")} == {"binary"}


def test_the_default_task_keeps_rmse(cfg):
    assert cfg["tuning"]["metric"] == cfg["evaluation"]["metric"] == "rmse"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ("task=delayed model=[ridge]", r"model\.ridge: .*'sklearn.linear_model.Ridge' is not a"),
        ("model=[logreg]", r"model\.logreg: .*LogisticRegression' is not a scikit-learn regressor"),
        ("task=delayed evaluation.metric=rmse", r"'rmse' is a regression metric, not one of a"),
        ("tuning.metric=roc_auc", r"tuning.metric: 'roc_auc' is a binary metric"),
        ("tuning.metric=log_loss", r"tuning.metric: 'log_loss' .*not one of a regression task"),
        ("task=delayed tuning.metric=f1", r"'f1' needs a decision threshold"),
    ],
)
def test_a_task_refuses_a_model_or_metric_of_another_kind(conf_dir, overrides, message):
    with pytest.raises(ConfigError, match=message) as info:
        compose_config(overrides, conf_dir)
    assert "\n" not in str(info.value)


def test_the_multiclass_task_composes(conf_dir):
    cfg = compose_config("data=seattle_weather task=seattle_weather_next_day", conf_dir)
    assert cfg["task"]["kind"] == "multiclass"
    assert cfg["evaluation"]["metric"] == "log_loss"


# --- tune and train --------------------------------------------------------------------------


def test_a_tuning_fold_with_one_class_is_named(frame, slices):
    frame["delayed"] = np.arange(len(frame)) >= 190  # the first folds hold False only
    with pytest.raises(DataError, match=r"tuning fold 0 holds one class only .*n_folds"):
        make_objective(frame, slices("tune_shard"), 0, 1)


def test_a_binary_target_with_three_values_is_refused_before_tuning(frame, slices):
    frame["delayed"] = np.arange(len(frame)) % 3
    with pytest.raises(DataError, match=r"exactly two values; found 3: \[0, 1, 2\]"):
        make_objective(frame, slices("tune_shard"), 0, 1)


@pytest.fixture
def split_files(frame, tmp_path):
    paths = [tmp_path / "train.parquet", tmp_path / "valid.parquet", tmp_path / "test.parquet"]
    frame[frame["month"] <= 2].to_parquet(paths[0])
    frame[frame["month"] == 3].to_parquet(paths[1])
    frame[frame["month"] == 4].reset_index(drop=True).to_parquet(paths[2])
    best = tmp_path / "best_params.yaml"
    write_yaml(best, {"model": "logreg", "params": {"C": 1.0}})
    return paths, best


def test_training_writes_the_classes_and_a_validation_threshold(split_files, slices, tmp_path):
    (train, valid, _), best = split_files
    model, decision = tmp_path / "logreg.skops", tmp_path / "logreg.decision.json"
    run_training([train, valid], best, slices("train"), model, 1, decision)
    written = read_json(decision)
    assert written["kind"] == "binary" and written["classes"] == [False, True]
    assert 0.0 <= written["threshold"] <= 1.0


@pytest.mark.parametrize(
    ("split", "values", "message"),
    [
        (0, False, r"one class only in the training period \(False\)"),
        (1, "late", r"exactly two values; found 3"),
    ],
)
def test_bad_training_targets_write_nothing(split_files, slices, tmp_path, split, values, message):
    (train, valid, _), best = split_files
    path = [train, valid][split]
    data = pd.read_parquet(path)
    data["delayed"] = values if split == 0 else np.where(data.index % 2 == 0, "late", "no")
    if split == 1:
        for other in (train,):
            rest = pd.read_parquet(other)
            rest["delayed"] = np.where(rest["delayed"], "yes", "no")
            rest.to_parquet(other)
    data.to_parquet(path)
    model, decision = tmp_path / "m" / "logreg.skops", tmp_path / "m" / "logreg.decision.json"
    with pytest.raises(DataError, match=message):
        run_training([train, valid], best, slices("train"), model, 1, decision)
    assert not (tmp_path / "m").exists()


# --- evaluate and leaderboard ----------------------------------------------------------------


@pytest.fixture
def trained(split_files, slices, tmp_path):
    (train, valid, test), best = split_files
    model, decision = tmp_path / "logreg.skops", tmp_path / "logreg.decision.json"
    run_training([train, valid], best, slices("train"), model, 1, decision)
    settings = slices("evaluate")
    binary = task_kind("binary")
    files = {**evaluate_files(binary), **breakdown_files(["carrier", "hour"], "month", binary)}
    outputs = {name: tmp_path / "out" / file for name, file in files.items()}
    outputs["predictions"] = tmp_path / "out" / "predictions.parquet"
    return model, decision, test, settings, outputs


def test_evaluate_writes_binary_metrics_predictions_and_figures(trained):
    model, decision, test, settings, outputs = trained
    scores = evaluate_model(model, test, settings, "logreg", outputs, 1, decision)
    assert list(scores) == [
        "log_loss", "roc_auc", "average_precision", "brier_score", "accuracy", "f1"
    ]  # fmt: skip
    assert all(path.is_file() for path in outputs.values())
    predictions = pd.read_parquet(outputs["predictions"])
    assert list(predictions.columns) == [
        "flight_id", "actual", "predicted", "proba_false", "proba_true"
    ]  # fmt: skip
    np.testing.assert_allclose(predictions[["proba_false", "proba_true"]].sum(axis=1), 1.0)
    threshold = read_json(decision)["threshold"]
    np.testing.assert_array_equal(predictions["predicted"], predictions["proba_true"] >= threshold)
    confusion = pd.read_csv(outputs["confusion_csv"])
    assert confusion["rows"].sum() == len(predictions)


def test_binary_curves_are_the_positive_class_by_hand():
    actual = np.array(["no", "no", "yes", "yes"])
    proba_yes = np.array([0.1, 0.6, 0.4, 0.8])
    curves = class_curves(actual, np.column_stack([1 - proba_yes, proba_yes]), ["no", "yes"])
    roc = curves["roc"]
    assert set(roc["class"]) == {"yes"}
    # thresholds 0.8, 0.6, 0.4 flag 1, 2, 3 rows: (FPR, TPR) = (0, .5), (.5, .5), (.5, 1)
    points = list(zip(roc["false_positive_rate"], roc["true_positive_rate"], strict=True))
    assert points[0] == (0.0, 0.0) and points[-1] == (1.0, 1.0)
    assert {(0.0, 0.5), (0.5, 1.0)} <= set(points)
    pr = curves["pr"].set_index("threshold")
    assert pr.loc[0.6, "precision"] == pytest.approx(0.5) and pr.loc[0.6, "recall"] == 0.5
    assert pr.loc[0.4, "precision"] == pytest.approx(2 / 3) and pr.loc[0.4, "recall"] == 1.0
    calibration = curves["calibration"].set_index("bin_low")
    # tenths: 0.1 -> bin .1 (no), 0.4 -> .4 (yes), 0.6 -> .6 (no), 0.8 -> .8 (yes)
    assert list(calibration["rows"]) == [1, 1, 1, 1]
    assert list(calibration["observed_rate"]) == [0.0, 1.0, 0.0, 1.0]
    assert calibration.loc[0.4, "mean_predicted"] == pytest.approx(0.4)


def test_multiclass_curves_are_one_per_class_against_the_rest():
    actual = np.array(["rain", "sun", "fog", "sun", "rain", "sun"])
    classes = ["fog", "rain", "snow", "sun"]
    proba = np.array(
        [
            [0.1, 0.7, 0.0, 0.2],
            [0.1, 0.1, 0.0, 0.8],
            [0.5, 0.3, 0.0, 0.2],
            [0.2, 0.2, 0.1, 0.5],
            [0.2, 0.4, 0.1, 0.3],
            [0.3, 0.3, 0.1, 0.3],
        ]
    )
    curves = class_curves(actual, proba, classes)
    # snow never occurs in the test rows: it has no positives, so no curve.
    assert list(curves["roc"]["class"].unique()) == ["fog", "rain", "sun"]
    fog = curves["roc"][curves["roc"]["class"] == "fog"]
    # fog's one row has the highest fog probability: found before any false positive
    points = zip(fog["false_positive_rate"], fog["true_positive_rate"], strict=True)
    assert (0.0, 1.0) in set(points)
    sun = curves["calibration"][curves["calibration"]["class"] == "sun"]
    assert sun["rows"].sum() == len(actual)
    assert sun.set_index("bin_low").loc[0.8, "observed_rate"] == 1.0
    assert list(curves["pr"].columns) == ["class", "recall", "precision", "threshold"]


def test_curves_of_a_test_period_without_positives_are_empty_tables():
    actual = np.array(["no", "no"])
    curves = class_curves(actual, np.array([[0.9, 0.1], [0.4, 0.6]]), ["no", "yes"])
    assert all(table.empty and table.columns[0] == "class" for table in curves.values())


def test_evaluate_refuses_a_class_never_seen_in_training(trained, tmp_path):
    model, decision, test, settings, outputs = trained
    data = read_json(decision)
    data["classes"] = [False]  # as if training had held one class only
    write_json(decision, data)
    with pytest.raises(DataError, match=r"classes \[True\] occur in the test period but never"):
        evaluate_model(model, test, settings, "logreg", outputs, 1, decision)
    assert not (tmp_path / "out").exists()


def test_the_binary_leaderboard_has_the_kinds_columns_and_baselines(trained, slices, tmp_path):
    model, decision, test, settings, outputs = trained
    evaluate_model(model, test, settings, "logreg", outputs, 1, decision)
    board_settings = slices("leaderboard")
    board_settings.models, board_settings.feature_columns = ["logreg"], []
    board_settings.task.groups = [LeaderboardGroup(column="carrier", name="carrier")]
    board_settings.task.baselines = []
    board_outputs = {
        "leaderboard": tmp_path / "board" / "leaderboard.csv",
        "champion": tmp_path / "board" / "champion.json",
        "statement": tmp_path / "board" / "statement.txt",
        "model": tmp_path / "board" / "model.skops",
        "decision": tmp_path / "board" / "decision.json",
    }
    champion = run_leaderboard(
        {"logreg": outputs["metrics"]},
        {"logreg": model},
        [tmp_path / "train.parquet", tmp_path / "valid.parquet"],
        test,
        board_settings,
        board_outputs,
        {"logreg": decision},
        {"logreg": outputs["predictions"]},
    )
    board = pd.read_csv(board_outputs["leaderboard"])
    assert list(board.columns) == [
        "model", "kind", "log_loss", "roc_auc", "average_precision", "brier_score", "accuracy",
        "f1", "log_loss_low", "log_loss_high",
    ]  # fmt: skip
    assert sorted(board["model"]) == ["baseline_frequency_carrier", "baseline_prior", "logreg"]
    assert champion["metric"] == "log_loss" and "log loss" in champion["statement"]
    assert json.loads(board_outputs["decision"].read_text()) == read_json(decision)


def test_batch_predictions_hold_the_class_and_probabilities(trained, slices, delayed_cfg):
    from snakeml.models.estimators import load_model
    from snakeml.prediction.predict import champion_predictions

    model, decision, test, _, _ = trained
    settings = copy.deepcopy(rule_slices(delayed_cfg)["predict"])
    settings.columns = copy.deepcopy(COLUMNS)
    rows = pd.read_parquet(test)
    out = champion_predictions(load_model(model), rows, settings, decision)
    assert list(out.columns) == ["predicted_delayed", "proba_false", "proba_true"]
    assert len(out) == len(rows)
    np.testing.assert_allclose(out[["proba_false", "proba_true"]].sum(axis=1), 1.0)
    threshold = read_json(decision)["threshold"]
    np.testing.assert_array_equal(out["predicted_delayed"], out["proba_true"] >= threshold)
