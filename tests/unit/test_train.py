"""snakeml.training.train: refit with the best parameters on train + valid and save with skops."""

from __future__ import annotations

import numpy as np
import pytest

from snakeml.core.errors import ConfigError, DataError
from snakeml.core.io import read_json, write_yaml
from snakeml.models.estimators import feature_frame, load_model
from snakeml.training.train import run_training, train_model

pytestmark = pytest.mark.usefixtures("single_thread")


def test_train_model_applies_params_and_fits(settings, synthetic_frame):
    pipeline = train_model(synthetic_frame, settings("train", "ridge"), {"alpha": 0.5}, threads=1)
    assert pipeline.named_steps["model"].alpha == 0.5
    predicted = pipeline.predict(feature_frame(synthetic_frame, settings("train").columns))
    y = synthetic_frame["arr_delay"].to_numpy()
    # distance/100 + carrier effect + N(0, 1): a linear model gets close to the noise level.
    assert np.sqrt(np.mean((predicted - y) ** 2)) < 1.5


def test_train_model_unknown_param_is_named(settings, synthetic_frame):
    with pytest.raises(ConfigError, match=r"no parameters \['depth'\]"):
        train_model(synthetic_frame, settings("train", "ridge"), {"depth": 3}, threads=1)


def test_train_model_missing_feature_is_named(settings, synthetic_frame):
    with pytest.raises(DataError, match=r"lacks feature columns \['carrier'\]"):
        train_model(synthetic_frame.drop(columns="carrier"), settings("train"), {}, threads=1)


@pytest.fixture
def split_files(synthetic_frame, tmp_path):
    train, valid = synthetic_frame.iloc[:150], synthetic_frame.iloc[150:]
    paths = [tmp_path / "train.parquet", tmp_path / "valid.parquet"]
    train.to_parquet(paths[0])
    valid.to_parquet(paths[1])
    return paths


def test_run_training_fits_on_train_and_valid_and_saves(settings, split_files, tmp_path):
    best = tmp_path / "best_params.yaml"
    write_yaml(best, {"model": "hgb", "params": {"learning_rate": 0.1, "max_leaf_nodes": 15}})
    model_path = tmp_path / "models" / "hgb.skops"
    run_training(split_files, best, settings("train", "hgb"), model_path, threads=1)
    pipeline = load_model(model_path)
    model = pipeline.named_steps["model"]
    assert model.learning_rate == 0.1
    assert model.max_leaf_nodes == 15
    assert model.max_iter == 200
    assert model.n_features_in_ == 4
    assert pipeline.named_steps["preprocess"].n_features_in_ == 4
    assert sorted(p.name for p in model_path.parent.iterdir()) == ["hgb.skops"]


def test_run_training_uses_every_row_of_both_splits(settings, split_files, tmp_path):
    best = tmp_path / "best_params.yaml"
    write_yaml(best, {"model": "ridge", "params": {"alpha": 1.0}})
    model_path = tmp_path / "ridge.skops"
    run_training(split_files, best, settings("train", "ridge"), model_path, threads=1)
    pipeline = load_model(model_path)
    scaler = pipeline.named_steps["preprocess"].named_transformers_["num"][-1]
    assert scaler.n_samples_seen_ == 200


def test_run_training_with_bad_best_params_writes_no_model(settings, split_files, tmp_path):
    best = tmp_path / "best_params.yaml"
    write_yaml(best, {"model": "ridge", "params": {"learning_rate": 0.1}})
    model_path = tmp_path / "ridge.skops"
    with pytest.raises(ConfigError, match=r"model\.ridge: Ridge has no parameters"):
        run_training(split_files, best, settings("train", "ridge"), model_path, threads=1)
    assert not model_path.exists()


def test_max_train_rows_fits_a_seeded_sample_and_the_decision_says_so(
    settings, split_files, tmp_path
):
    best = tmp_path / "best_params.yaml"
    write_yaml(best, {"model": "ridge", "params": {"alpha": 1.0}})
    ridge = settings("train", "ridge")
    ridge.model.max_train_rows = 120
    model_path, decision_path = tmp_path / "ridge.skops", tmp_path / "ridge.decision.json"
    run_training(split_files, best, ridge, model_path, 1, decision_path)
    scaler = load_model(model_path).named_steps["preprocess"].named_transformers_["num"][-1]
    assert scaler.n_samples_seen_ == 120
    record = read_json(decision_path)["training_rows"]
    assert record == {
        "available": 200,
        "fitted": 120,
        "sampled": True,
        "max_train_rows": 120,
        "seed": ridge.seed,
    }
    again = tmp_path / "again.skops"
    run_training(split_files, best, ridge, again, 1)
    assert again.read_bytes() == model_path.read_bytes()  # the same seeded sample


def test_a_fit_above_its_memory_request_stops_before_writing(settings, split_files, tmp_path):
    best = tmp_path / "best_params.yaml"
    write_yaml(best, {"model": "ridge", "params": {"alpha": 1.0}})
    model_path = tmp_path / "ridge.skops"
    with pytest.raises(ConfigError, match=r"^rule train ridge: 200 rows x 4 model inputs need"):
        run_training(split_files, best, settings("train", "ridge"), model_path, 1, memory_mb=1)
    assert not model_path.exists()
