"""snakeml.config: Hydra composition, validation, per-rule slices and their export."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
import yaml

from snakeml.columns import NUMERIC_FEATURES
from snakeml.config import (
    SLICE_HEADER,
    compose_config,
    export_rule_configs,
    model_names,
    parse_overrides,
    rule_slices,
    validate_config,
)
from snakeml.errors import ConfigError

OLD_NS = 1_000_000_000_000_000_000  # 2001-09-09: an mtime no write in this test can produce


def age_files(paths: dict[str, Path]) -> None:
    """Set every file's mtime far in the past, so a rewrite cannot keep it by chance."""
    for path in paths.values():
        os.utime(path, ns=(OLD_NS, OLD_NS))


def rewritten(paths: dict[str, Path]) -> set[str]:
    return {key for key, path in paths.items() if path.stat().st_mtime_ns != OLD_NS}


# --- compose_config ------------------------------------------------------------------------


def test_compose_default_config(cfg):
    assert cfg["seed"] == 13
    assert model_names(cfg) == ["hgb", "rf", "ridge"]
    assert cfg["split"]["train_months"] == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert cfg["split"]["valid_months"] == [10, 11]
    assert cfg["split"]["test_months"] == [12]
    assert cfg["split"]["max_train_rows"] is None
    assert cfg["tuning"] == {
        "n_trials": 8,
        "n_shards": 2,
        "timeout_seconds": None,
        "metric": "rmse",
        "n_folds": 3,
        "startup_trials": 2,
        "pruner": "median",
        "pooled": False,
        "storage": None,
    }
    assert cfg["features"]["horizon_minutes"] == 60
    assert cfg["features"]["target"] == "arr_delay"
    assert cfg["features"]["windows"] == {"short": 60, "day": 1440, "week": 10080}
    assert cfg["features"]["weather_change_minutes"] == 180
    assert cfg["features"]["delay_quantile"] == 0.9
    assert set(cfg["features"]["numeric"]) <= set(NUMERIC_FEATURES)
    assert {"month", "legs_today", "carrier_delay_high_day", "plane_age"} <= set(
        cfg["features"]["numeric"]
    )
    assert cfg["features"]["categorical"] == ["carrier", "origin", "dest", "plane_engine"]
    ridge = cfg["model"]["ridge"]
    assert ridge["_target_"] == "sklearn.linear_model.Ridge"
    assert ridge["preprocessing"] == "onehot"
    # The schema fills in the search parameter's defaults.
    assert ridge["search_space"]["alpha"] == {
        "type": "float",
        "low": 0.001,
        "high": 1000.0,
        "log": True,
        "choices": None,
    }
    assert cfg["model"]["hgb"]["params"]["max_iter"] == 200
    assert cfg["model"]["rf"]["params"] == {
        "n_estimators": 30,
        "max_samples": 0.2,
        "min_samples_leaf": 20,
    }
    assert cfg["resources"]["tune_shard"] == {"threads": 1, "mem_mb": 4096, "runtime": 60}
    assert cfg["resources"]["leaderboard"] == {"threads": 1, "mem_mb": 1024, "runtime": 10}


def test_compose_applies_overrides_from_a_string(conf_dir):
    cfg = compose_config("tuning.n_trials=5 split.test_months=[12] model=[ridge]", conf_dir)
    assert cfg["tuning"]["n_trials"] == 5
    assert cfg["split"]["test_months"] == [12]
    assert model_names(cfg) == ["ridge"]


def test_compose_applies_overrides_from_a_list(conf_dir):
    cfg = compose_config(["seed=7", "features.horizon_minutes=0"], conf_dir)
    assert cfg["seed"] == 7
    assert cfg["features"]["horizon_minutes"] == 0


def test_compose_smoke_experiment(conf_dir):
    cfg = compose_config("+experiment=smoke", conf_dir)
    assert cfg["split"]["max_train_rows"] == 20000
    assert cfg["split"]["max_eval_rows"] == 5000
    assert cfg["tuning"]["n_trials"] == 3
    assert cfg["evaluation"]["importance_repeats"] == 2
    assert cfg["evaluation"]["importance_max_rows"] == 2000


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ("tuning.n_trails=3", ["n_trails"]),
        ("tuning.n_trials=abc", ["tuning.n_trials", "abc"]),
        ("model=[ridge,foo]", ["model/foo"]),
        (
            "model.ridge.search_space.alpha.low=10 model.ridge.search_space.alpha.high=1",
            ["model.ridge.search_space.alpha", "inverted"],
        ),
        ("model.hgb.search_space.max_leaf_nodes.low=0", ["max_leaf_nodes.low", "low > 0"]),
        ("model.hgb.search_space.max_leaf_nodes.low=15.5", ["max_leaf_nodes", "int bounds"]),
        ("model.ridge.search_space.alpha.type=normal", ["alpha.type", "normal"]),
        ("model.ridge.preprocessing=sparse", ["model.ridge.preprocessing", "sparse"]),
        ("model.ridge._target_=nosuchpackage.Model", ["model.ridge._target_", "nosuchpackage"]),
        ("model=[]", ["model", "at least one model"]),
        ("split.valid_months=[9,10]", ["split.valid_months", "split.train_months"]),
        ("split.test_months=[1]", ["split.test_months", "split.valid_months"]),
        ("split.test_months=[13]", ["split.test_months", "1-12"]),
        ("split.test_months=[]", ["split.test_months", "at least one month"]),
        ("split.train_months=[1,1,2]", ["split.train_months", "twice"]),
        ("split.max_train_rows=0", ["split.max_train_rows"]),
        ("features.numeric=[month,foo]", ["features.numeric", "foo"]),
        ("features.categorical=[carrier,bar]", ["features.categorical", "bar"]),
        ("features.numeric=[] features.categorical=[]", ["features", "at least one"]),
        ("features.horizon_minutes=-5", ["features.horizon_minutes"]),
        ("features.windows.day=0", ["features.windows.day", "got 0"]),
        ("features.windows.hour=30", ["hour"]),
        ("features.weather_change_minutes=0", ["features.weather_change_minutes"]),
        ("features.delay_quantile=1.0", ["features.delay_quantile", "got 1.0"]),
        ("features.delay_quantile=0", ["features.delay_quantile"]),
        ("features.block_flights=0", ["features.block_flights", "must be >= 1"]),
        ("resources.train.runtime=ten", ["resources.train.runtime", "ten"]),
        ("features.target=dep_delay", ["features.target"]),
        ("tuning.n_trials=0", ["tuning.n_trials", "got 0"]),
        ("tuning.timeout_seconds=0", ["tuning.timeout_seconds"]),
        ("tuning.metric=auc", ["tuning.metric"]),
        ("evaluation.importance_repeats=0", ["evaluation.importance_repeats"]),
        ("resources.tune_shard.threads=0", ["resources.tune_shard.threads"]),
        ("tuning.n_shards=0", ["tuning.n_shards", "got 0"]),
        (
            "tuning.n_shards=9",
            ["tuning.n_shards", "9 shards for 8 trials", "raise tuning.n_trials"],
        ),
        ("tuning.n_folds=1", ["tuning.n_folds", "got 1"]),
        ("tuning.pruner=hyperband", ["tuning.pruner", "'hyperband'"]),
        ("tuning.startup_trials=-1", ["tuning.startup_trials"]),
        (
            "tuning.storage=postgresql+psycopg://me:secret@localhost/optuna",
            ["tuning.storage", "holds a password", "PGPASSWORD"],
        ),
        ("tuning.storage=mongodb://localhost/x", ["tuning.storage", "unsupported database"]),
        ("tuning.storage=not-a-url", ["tuning.storage", "is not a database URL"]),
        ("data.source=csv", ["data.source"]),
        ("data.tables=[flights,weather]", ["data.tables"]),
        ("'unbalanced=[", ["cannot parse overrides"]),
    ],
)
def test_compose_rejects_bad_configuration(conf_dir, overrides, named):
    with pytest.raises(ConfigError) as info:
        compose_config(overrides, conf_dir)
    message = str(info.value)
    for fragment in named:
        assert fragment in message
    assert "\n" not in message


def test_compose_without_config_yaml(tmp_path):
    with pytest.raises(ConfigError, match=r"no config\.yaml in .*"):
        compose_config(None, tmp_path)


def test_validate_config_accepts_the_default(cfg):
    assert validate_config(cfg) is None


def test_validate_config_rejects_categorical_search_without_choices(cfg):
    cfg["model"]["ridge"]["search_space"]["solver"] = {
        "type": "categorical",
        "low": None,
        "high": None,
        "log": False,
        "choices": [],
    }
    with pytest.raises(ConfigError, match=r"model\.ridge\.search_space\.solver\.choices"):
        validate_config(cfg)


def test_validate_config_rejects_uppercase_model_name(cfg):
    cfg["model"]["Ridge"] = cfg["model"].pop("ridge")
    with pytest.raises(ConfigError, match=r"model\.Ridge: lowercase name"):
        validate_config(cfg)


# --- parse_overrides, model_names ----------------------------------------------------------


def test_parse_overrides():
    assert parse_overrides(None) == []
    assert parse_overrides("") == []
    assert parse_overrides("a=1  'b=[1, 2]'") == ["a=1", "b=[1, 2]"]
    assert parse_overrides(("a=1", "b=2")) == ["a=1", "b=2"]


def test_parse_overrides_unbalanced_quote():
    with pytest.raises(ConfigError, match='cannot parse overrides "\'a=1"'):
        parse_overrides("'a=1")


def test_model_names_are_sorted():
    assert model_names({"model": {"ridge": {}, "hgb": {}, "a_model": {}}}) == [
        "a_model",
        "hgb",
        "ridge",
    ]


# --- rule_slices ----------------------------------------------------------------------------


def test_rule_slices_keys(cfg):
    assert sorted(rule_slices(cfg)) == [
        "evaluate/hgb",
        "evaluate/rf",
        "evaluate/ridge",
        "features",
        "importance/hgb",
        "importance/rf",
        "importance/ridge",
        "ingest",
        "leaderboard",
        "predict",
        "split",
        "train/hgb",
        "train/rf",
        "train/ridge",
        "tune_best/hgb",
        "tune_best/rf",
        "tune_best/ridge",
        "tune_shard/hgb",
        "tune_shard/rf",
        "tune_shard/ridge",
    ]


def test_rule_slices_hold_only_what_each_rule_uses(cfg):
    slices = rule_slices(cfg)
    assert slices["ingest"] == {"data": cfg["data"]}
    assert slices["features"] == {
        "horizon_minutes": 60,
        "windows": {"short": 60, "day": 1440, "week": 10080},
        "weather_change_minutes": 180,
        "delay_quantile": 0.9,
        "block_flights": 400_000,
        "target": "arr_delay",
    }
    assert slices["split"] == {"seed": 13, "split": cfg["split"]}
    assert slices["leaderboard"] == {
        "metric": "rmse",
        "target": "arr_delay",
        "models": ["hgb", "rf", "ridge"],
    }
    columns = {
        "target": "arr_delay",
        "numeric": cfg["features"]["numeric"],
        "categorical": cfg["features"]["categorical"],
    }
    tune = slices["tune_shard/ridge"]
    assert sorted(tune) == ["columns", "model", "seed", "tuning"]
    assert tune["columns"] == columns
    assert tune["model"] == {"name": "ridge", **cfg["model"]["ridge"]}
    assert tune["tuning"] == cfg["tuning"]
    assert slices["tune_best/ridge"] == {
        "seed": 13,
        "model": tune["model"],
        "tuning": {"metric": "rmse", "n_shards": 2},
    }
    assert sorted(slices["train/hgb"]) == ["columns", "model", "seed"]
    assert slices["train/hgb"]["model"]["name"] == "hgb"
    assert slices["evaluate/hgb"] == {"seed": 13, "columns": columns}
    assert slices["importance/hgb"] == {
        "columns": columns,
        "importance": {"repeats": 5, "max_rows": 10000, "random_state": 13},
    }
    assert slices["predict"] == {"features": slices["features"], "columns": columns}


def test_importance_random_state_follows_the_seed_unless_set(conf_dir):
    assert (
        rule_slices(compose_config("seed=7", conf_dir))["importance/ridge"]["importance"][
            "random_state"
        ]
        == 7
    )
    cfg = compose_config("seed=7 evaluation.importance_random_state=3", conf_dir)
    assert rule_slices(cfg)["importance/ridge"]["importance"]["random_state"] == 3


def test_rule_slices_follow_the_model_selection(conf_dir):
    cfg = compose_config("model=[ridge]", conf_dir)
    slices = rule_slices(cfg)
    assert not any(key.endswith(("/hgb", "/rf")) for key in slices)
    assert slices["leaderboard"]["models"] == ["ridge"]


# --- export_rule_configs --------------------------------------------------------------------


def test_export_writes_every_slice_with_the_header(cfg, tmp_path):
    paths = export_rule_configs(cfg, tmp_path / "configs")
    slices = rule_slices(cfg)
    assert set(paths) == set(slices)
    for key, path in paths.items():
        assert path == tmp_path / "configs" / f"{key}.yaml"
        text = path.read_text(encoding="utf-8")
        assert text.startswith(SLICE_HEADER)
        assert yaml.safe_load(text) == slices[key]
    assert sorted(p.name for p in (tmp_path / "configs" / "tune_shard").iterdir()) == [
        "hgb.yaml",
        "rf.yaml",
        "ridge.yaml",
    ]


def test_export_twice_leaves_every_file_untouched(cfg, tmp_path):
    paths = export_rule_configs(cfg, tmp_path)
    age_files(paths)
    assert export_rule_configs(copy.deepcopy(cfg), tmp_path) == paths
    assert rewritten(paths) == set()


def test_export_after_ridge_search_change_rewrites_only_ridge_tune_and_train(conf_dir, tmp_path):
    paths = export_rule_configs(compose_config(None, conf_dir), tmp_path)
    age_files(paths)
    changed = compose_config("model.ridge.search_space.alpha.high=100", conf_dir)
    export_rule_configs(changed, tmp_path)
    assert rewritten(paths) == {"tune_shard/ridge", "tune_best/ridge", "train/ridge"}
    alpha = yaml.safe_load(paths["tune_shard/ridge"].read_text())["model"]["search_space"]["alpha"]
    assert alpha["high"] == 100.0


def test_export_after_tuning_change_rewrites_only_tune_slices(conf_dir, tmp_path):
    paths = export_rule_configs(compose_config(None, conf_dir), tmp_path)
    age_files(paths)
    export_rule_configs(compose_config("tuning.n_trials=3", conf_dir), tmp_path)
    assert rewritten(paths) == {"tune_shard/ridge", "tune_shard/hgb", "tune_shard/rf"}


def test_export_after_evaluation_change_leaves_upstream_rules_alone(conf_dir, tmp_path):
    paths = export_rule_configs(compose_config(None, conf_dir), tmp_path)
    age_files(paths)
    export_rule_configs(compose_config("evaluation.importance_repeats=2", conf_dir), tmp_path)
    assert rewritten(paths) == {"importance/ridge", "importance/hgb", "importance/rf"}


def test_export_after_feature_window_change_rewrites_only_the_features_slice(conf_dir, tmp_path):
    paths = export_rule_configs(compose_config(None, conf_dir), tmp_path)
    age_files(paths)
    export_rule_configs(compose_config("features.windows.week=2880", conf_dir), tmp_path)
    # batch prediction runs the same feature SQL, so it follows the features settings
    assert rewritten(paths) == {"features", "predict"}


def test_export_rewrites_a_hand_edited_slice(cfg, tmp_path):
    paths = export_rule_configs(cfg, tmp_path)
    paths["features"].write_text("horizon_minutes: 0\n", encoding="utf-8")
    age_files(paths)
    export_rule_configs(cfg, tmp_path)
    assert rewritten(paths) == {"features"}
    assert yaml.safe_load(paths["features"].read_text())["horizon_minutes"] == 60
