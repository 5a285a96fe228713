"""snakeml.evaluate: test metrics, permutation importance, leaderboard and champion."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from snakeml.errors import DataError, ModelLoadError
from snakeml.evaluate import (
    BASELINE_MEAN,
    baseline_metrics,
    build_leaderboard,
    evaluate_model,
    permutation_importances,
    pick_champion,
    plot_importances,
    run_leaderboard,
    sample_rows,
)
from snakeml.io import read_json, write_json
from snakeml.metrics import regression_metrics
from snakeml.models import build_pipeline, feature_frame, save_model, target_vector

pytestmark = pytest.mark.usefixtures("single_thread")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


MODELS = {
    "ridge": {"rmse": 10.0, "mae": 8.0, "r2": 0.30},
    "hgb": {"rmse": 9.0, "mae": 7.0, "r2": 0.40},
}
BASELINE = {"rmse": 12.0, "mae": 9.0, "r2": 0.0}


# --- leaderboard and champion ---------------------------------------------------------------


def test_leaderboard_is_best_first_by_rmse():
    board = build_leaderboard(MODELS, BASELINE, "rmse")
    assert list(board.columns) == ["model", "kind", "rmse", "mae", "r2"]
    assert board["model"].tolist() == ["hgb", "ridge", BASELINE_MEAN]
    assert board["kind"].tolist() == ["model", "model", "baseline"]
    assert board["rmse"].tolist() == [9.0, 10.0, 12.0]


def test_leaderboard_by_r2_puts_the_largest_first():
    models = {"a": {"rmse": 1.0, "mae": 1.0, "r2": 0.1}, "b": {"rmse": 2.0, "mae": 2.0, "r2": 0.5}}
    board = build_leaderboard(models, BASELINE, "r2")
    assert board["model"].tolist() == ["b", "a", BASELINE_MEAN]


def test_leaderboard_breaks_ties_by_name():
    models = {"zeta": dict(MODELS["hgb"]), "alpha": dict(MODELS["hgb"])}
    board = build_leaderboard(models, BASELINE, "mae")
    assert board["model"].tolist() == ["alpha", "zeta", BASELINE_MEAN]


def test_leaderboard_unknown_metric():
    with pytest.raises(KeyError, match="auc"):
        build_leaderboard(MODELS, BASELINE, "auc")


def test_champion_beats_baselines():
    champion = pick_champion(build_leaderboard(MODELS, BASELINE, "rmse"), "rmse")
    assert champion == {
        "model": "hgb",
        "metric": "rmse",
        "rmse": 9.0,
        "mae": 7.0,
        "r2": 0.4,
        "beats_baselines": True,
    }
    assert all(type(champion[k]) is float for k in ("rmse", "mae", "r2"))


def test_champion_that_does_not_beat_the_baseline_is_still_a_model():
    baseline = {"rmse": 5.0, "mae": 4.0, "r2": 0.9}
    board = build_leaderboard(MODELS, baseline, "rmse")
    assert board["model"].iloc[0] == BASELINE_MEAN
    champion = pick_champion(board, "rmse")
    assert champion["model"] == "hgb"
    assert champion["beats_baselines"] is False


@pytest.mark.parametrize("metric", ["rmse", "mae", "r2"])
def test_champion_tied_with_the_baseline_does_not_beat_it(metric):
    board = build_leaderboard(MODELS, dict(MODELS["hgb"]), metric)
    champion = pick_champion(board, metric)
    assert champion["model"] == "hgb"
    assert champion["beats_baselines"] is False


def test_champion_by_r2_beats_baselines():
    champion = pick_champion(build_leaderboard(MODELS, BASELINE, "r2"), "r2")
    assert champion["model"] == "hgb"
    assert champion["beats_baselines"] is True


def test_baseline_predicts_the_training_mean():
    train = pd.DataFrame({"arr_delay": [0.0, 10.0, 20.0]})
    test = pd.DataFrame({"arr_delay": [8, 12]})
    assert baseline_metrics(train, test, "arr_delay") == {"rmse": 2.0, "mae": 2.0, "r2": 0.0}


def test_baseline_missing_target_column():
    with pytest.raises(KeyError, match="arr_delay"):
        baseline_metrics(pd.DataFrame({"x": [1]}), pd.DataFrame({"x": [1]}), "arr_delay")


# --- sampling and importances ---------------------------------------------------------------


def test_sample_rows_keeps_small_frames_and_order():
    frame = pd.DataFrame({"v": range(10)})
    assert sample_rows(frame, 10, seed=0) is frame
    sample = sample_rows(frame, 4, seed=1)
    assert len(sample) == 4
    assert sample["v"].is_monotonic_increasing
    assert sample.equals(sample_rows(frame, 4, seed=1))


@pytest.fixture
def fitted(model_spec, synthetic_frame, columns):
    """A ridge Pipeline fitted on months 1-3 of the synthetic frame; month 4 is the test."""
    train = synthetic_frame[synthetic_frame["month"] < 4]
    test = synthetic_frame[synthetic_frame["month"] == 4].reset_index(drop=True)
    pipeline = build_pipeline(model_spec("ridge"), columns, {"alpha": 1.0})
    pipeline.fit(feature_frame(train, columns), target_vector(train, columns))
    return pipeline, train, test


def test_permutation_importances_one_row_per_feature_and_repeat(fitted, columns):
    pipeline, _, test = fitted
    x, y = feature_frame(test, columns), target_vector(test, columns)
    importances = permutation_importances(pipeline, x, y, repeats=3, seed=0)
    assert list(importances.columns) == ["feature", "repeat", "importance"]
    assert len(importances) == 4 * 3
    assert importances["repeat"].tolist() == [0, 1, 2] * 4
    means = importances.groupby("feature")["importance"].mean()
    assert means.idxmax() == "distance"  # the delay is mostly distance / 100
    assert means["distance"] > 1.0
    assert importances.equals(permutation_importances(pipeline, x, y, repeats=3, seed=0))


def test_permutation_importances_needs_a_repeat(fitted, columns):
    pipeline, _, test = fitted
    x, y = feature_frame(test, columns), target_vector(test, columns)
    with pytest.raises(ValueError, match="n_repeats"):
        permutation_importances(pipeline, x, y, repeats=0, seed=0)


IMPORTANCES = pd.DataFrame(
    {"feature": ["a", "a", "b", "b"], "repeat": [0, 1, 0, 1], "importance": [1.0, 2.0, 0.1, 0.2]}
)


def test_plot_importances_writes_a_png(tmp_path):
    target = tmp_path / "plots" / "importance.png"
    plot_importances(IMPORTANCES, "title", target)
    assert target.read_bytes().startswith(PNG_MAGIC)
    assert [p.name for p in target.parent.iterdir()] == ["importance.png"]


def test_plot_importances_uses_no_deprecated_matplotlib_api(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        plot_importances(IMPORTANCES, "title", tmp_path / "importance.png")


# --- evaluate_model -------------------------------------------------------------------------


@pytest.fixture
def evaluate_inputs(fitted, settings, tmp_path):
    pipeline, _, test = fitted
    save_model(pipeline, tmp_path / "ridge.skops")
    test.to_parquet(tmp_path / "test.parquet")
    evaluation = settings("evaluate", "ridge")
    evaluation["evaluation"].update(importance_repeats=2, importance_max_rows=30)
    outputs = {
        "metrics": tmp_path / "out" / "metrics.json",
        "predictions": tmp_path / "out" / "predictions.parquet",
        "importance": tmp_path / "out" / "importance.csv",
        "plot": tmp_path / "out" / "importance.png",
    }
    return tmp_path / "ridge.skops", tmp_path / "test.parquet", evaluation, outputs


def test_evaluate_model_writes_every_output(evaluate_inputs, fitted, columns):
    model_path, test_path, evaluation, outputs = evaluate_inputs
    pipeline, _, test = fitted
    scores = evaluate_model(model_path, test_path, evaluation, "ridge", outputs)

    expected = regression_metrics(
        target_vector(test, columns), pipeline.predict(feature_frame(test, columns))
    )
    assert scores == pytest.approx(expected)
    assert read_json(outputs["metrics"]) == pytest.approx(
        {"model": "ridge", "rows": 50, **expected}
    )

    predictions = pd.read_parquet(outputs["predictions"])
    assert list(predictions.columns) == ["flight_id", "actual", "predicted"]
    assert predictions["flight_id"].tolist() == test["flight_id"].tolist()
    np.testing.assert_array_equal(predictions["actual"], test["arr_delay"])
    assert regression_metrics(predictions["actual"], predictions["predicted"]) == pytest.approx(
        expected
    )

    importance = pd.read_csv(outputs["importance"])
    assert list(importance.columns) == ["feature", "repeat", "importance"]
    assert len(importance) == 4 * 2  # four features, two repeats each
    assert sorted(importance["feature"].unique()) == ["carrier", "distance", "origin", "temp"]
    assert importance["repeat"].tolist() == [0, 1] * 4

    assert outputs["plot"].read_bytes()[:8] == PNG_MAGIC
    assert sorted(p.name for p in outputs["plot"].parent.iterdir()) == sorted(
        p.name for p in outputs.values()
    )


def test_evaluate_model_empty_test_split_names_it(evaluate_inputs, fitted):
    model_path, test_path, evaluation, outputs = evaluate_inputs
    fitted[2].head(0).to_parquet(test_path)
    with pytest.raises(DataError, match=r"test split .*test\.parquet is empty"):
        evaluate_model(model_path, test_path, evaluation, "ridge", outputs)
    assert not outputs["metrics"].parent.exists()


def test_evaluate_model_missing_model_names_it(evaluate_inputs, tmp_path):
    _, test_path, evaluation, outputs = evaluate_inputs
    with pytest.raises(ModelLoadError, match=r"no model at .*hgb\.skops"):
        evaluate_model(tmp_path / "hgb.skops", test_path, evaluation, "hgb", outputs)


def test_evaluate_model_missing_feature_names_it(evaluate_inputs, fitted):
    model_path, test_path, evaluation, outputs = evaluate_inputs
    fitted[2].drop(columns=["origin"]).to_parquet(test_path)
    with pytest.raises(DataError, match=r"lacks feature columns \['origin'\]"):
        evaluate_model(model_path, test_path, evaluation, "ridge", outputs)


# --- run_leaderboard ------------------------------------------------------------------------


def test_run_leaderboard_writes_board_and_champion(tmp_path):
    paths = {}
    for name, scores in MODELS.items():
        paths[name] = tmp_path / name / "metrics.json"
        write_json(paths[name], {"model": name, "rows": 2, **scores})
    # Train mean 10 against test [0, 20]: the baseline RMSE is 10, between the two models.
    pd.DataFrame({"arr_delay": [5.0, 15.0]}).to_parquet(tmp_path / "train.parquet")
    pd.DataFrame({"arr_delay": [0.0, 20.0], "x": [1, 2]}).to_parquet(tmp_path / "test.parquet")
    outputs = {"leaderboard": tmp_path / "leaderboard.csv", "champion": tmp_path / "champ.json"}
    champion = run_leaderboard(
        paths, [tmp_path / "train.parquet"], tmp_path / "test.parquet", "arr_delay", "rmse", outputs
    )
    board = pd.read_csv(outputs["leaderboard"])
    assert board["model"].tolist() == ["hgb", BASELINE_MEAN, "ridge"]
    assert board["rmse"].tolist() == [9.0, 10.0, 10.0]
    assert champion["model"] == "hgb"
    assert champion["beats_baselines"] is True
    assert read_json(outputs["champion"]) == champion


def test_baseline_learns_from_every_split_the_models_were_fitted_on(tmp_path):
    paths = {"ridge": tmp_path / "ridge.json"}
    write_json(paths["ridge"], {"model": "ridge", "rows": 2, "rmse": 1.0, "mae": 1.0, "r2": 0.5})
    pd.DataFrame({"arr_delay": [5.0, 15.0]}).to_parquet(tmp_path / "train.parquet")
    pd.DataFrame({"arr_delay": [40.0]}).to_parquet(tmp_path / "valid.parquet")
    pd.DataFrame({"arr_delay": [0.0, 20.0]}).to_parquet(tmp_path / "test.parquet")
    outputs = {"leaderboard": tmp_path / "leaderboard.csv", "champion": tmp_path / "champ.json"}
    fit = [tmp_path / "train.parquet", tmp_path / "valid.parquet"]
    run_leaderboard(paths, fit, tmp_path / "test.parquet", "arr_delay", "rmse", outputs)
    board = pd.read_csv(outputs["leaderboard"]).set_index("model")
    # mean of 5, 15 and 40 is 20: errors 20 and 0 on the test rows
    assert board.loc[BASELINE_MEAN, "mae"] == pytest.approx(10.0)


def test_run_leaderboard_missing_metrics_file(tmp_path):
    outputs = {"leaderboard": tmp_path / "leaderboard.csv", "champion": tmp_path / "champ.json"}
    with pytest.raises(FileNotFoundError, match=r"ridge.json"):
        run_leaderboard(
            {"ridge": tmp_path / "ridge.json"},
            [tmp_path / "train.parquet"],
            tmp_path / "test.parquet",
            "arr_delay",
            "rmse",
            outputs,
        )
    assert not outputs["leaderboard"].exists()
