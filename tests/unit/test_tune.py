"""snakeml.tune: an Optuna study per model on a 200-row synthetic frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from snakeml.errors import ConfigError, DataError
from snakeml.io import read_yaml
from snakeml.tune import run_tuning, tune_model

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture
def tune_settings(settings):
    def make(model: str, n_trials: int = 2, **tuning) -> dict:
        data = settings("tune", model)
        data["tuning"].update(n_trials=n_trials, **tuning)
        return data

    return make


@pytest.fixture
def train_valid(synthetic_frame):
    return synthetic_frame.iloc[:150], synthetic_frame.iloc[150:]


def test_ridge_two_trials_inside_the_search_space(tune_settings, train_valid):
    best, trials = tune_model(*train_valid, tune_settings("ridge"))
    assert list(best) == ["alpha"]
    assert 1e-3 <= best["alpha"] <= 1e3
    assert len(trials) == 2
    assert trials["state"].tolist() == ["COMPLETE", "COMPLETE"]
    assert trials["trial"].tolist() == [0, 1]
    assert (trials["model"] == "ridge").all()
    assert trials["param_alpha"].between(1e-3, 1e3).all()
    # The study minimises the validation RMSE, and the best trial has the smallest one.
    np.testing.assert_allclose(trials["value"], trials["valid_rmse"])
    assert best["alpha"] == trials.loc[trials["value"].idxmin(), "param_alpha"]
    assert (trials["valid_rmse"] > 0).all()
    assert (trials["duration_seconds"] >= 0).all()
    assert {"valid_mae", "valid_r2"} <= set(trials.columns)


def test_hgb_two_trials_inside_the_search_space(tune_settings, train_valid):
    best, trials = tune_model(*train_valid, tune_settings("hgb"))
    assert sorted(best) == [
        "l2_regularization",
        "learning_rate",
        "max_leaf_nodes",
        "min_samples_leaf",
    ]
    assert 0.02 <= best["learning_rate"] <= 0.3
    assert 1e-4 <= best["l2_regularization"] <= 10.0
    assert isinstance(best["max_leaf_nodes"], int)
    assert 15 <= best["max_leaf_nodes"] <= 127
    assert isinstance(best["min_samples_leaf"], int)
    assert 20 <= best["min_samples_leaf"] <= 200
    assert trials["state"].tolist() == ["COMPLETE", "COMPLETE"]


def test_same_seed_gives_identical_results(tune_settings, train_valid):
    best, trials = tune_model(*train_valid, tune_settings("hgb"))
    again, trials_again = tune_model(*train_valid, tune_settings("hgb"))
    assert again == best
    params = [c for c in trials.columns if c.startswith("param_")]
    pd.testing.assert_frame_equal(trials[params], trials_again[params])
    np.testing.assert_array_equal(trials["value"], trials_again["value"])


def test_other_seed_draws_other_params(tune_settings, train_valid):
    settings = tune_settings("ridge")
    _, trials = tune_model(*train_valid, settings)
    _, other = tune_model(*train_valid, {**settings, "seed": settings["seed"] + 1})
    assert trials["param_alpha"].tolist() != other["param_alpha"].tolist()


def test_r2_metric_is_maximised(tune_settings, train_valid):
    _, trials = tune_model(*train_valid, tune_settings("ridge", metric="r2"))
    np.testing.assert_allclose(trials["value"], -trials["valid_r2"])


def test_empty_search_space_runs_one_trial(tune_settings, train_valid):
    settings = tune_settings("ridge", n_trials=5)
    settings["model"]["search_space"] = {}
    best, trials = tune_model(*train_valid, settings)
    assert best == {}
    assert len(trials) == 1
    assert trials["state"].tolist() == ["COMPLETE"]


def test_missing_feature_in_valid_is_named(tune_settings, train_valid):
    train, valid = train_valid
    with pytest.raises(DataError, match=r"lacks feature columns \['temp'\]"):
        tune_model(train, valid.drop(columns=["temp"]), tune_settings("ridge"))


def test_missing_target_in_train_is_counted(tune_settings, train_valid):
    train, valid = train_valid
    train = train.assign(arr_delay=train["arr_delay"].where(train.index != 3))
    with pytest.raises(DataError, match="target 'arr_delay' has 1 missing values"):
        tune_model(train, valid, tune_settings("ridge"))


def test_unknown_fixed_param_fails_the_trial_with_config_error(tune_settings, train_valid):
    settings = tune_settings("ridge")
    settings["model"]["params"] = {"alpah": 1.0}
    with pytest.raises(ConfigError, match=r"\['alpah'\]"):
        tune_model(*train_valid, settings)


def test_run_tuning_writes_best_params_and_trials(tune_settings, train_valid, tmp_path):
    train, valid = train_valid
    train.to_parquet(tmp_path / "train.parquet")
    valid.to_parquet(tmp_path / "valid.parquet")
    best_path = tmp_path / "tuning" / "ridge" / "best_params.yaml"
    trials_path = tmp_path / "tuning" / "ridge" / "trials.parquet"
    best = run_tuning(
        tmp_path / "train.parquet",
        tmp_path / "valid.parquet",
        tune_settings("ridge"),
        best_params_path=best_path,
        trials_path=trials_path,
    )
    assert read_yaml(best_path) == {"model": "ridge", "params": best}
    trials = pd.read_parquet(trials_path)
    assert len(trials) == 2
    assert trials["state"].tolist() == ["COMPLETE", "COMPLETE"]
    assert trials["param_alpha"].min() <= best["alpha"] <= trials["param_alpha"].max()
