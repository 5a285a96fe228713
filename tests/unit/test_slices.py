"""snakeml.core.slices: each rule's typed slice, written with Hydra's key names and loaded back."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from snakeml.configuration.compose import compose_config
from snakeml.configuration.slices import SLICE_HEADER, rule_slice_texts, rule_slices
from snakeml.core.errors import ConfigError
from snakeml.core.slices import ImportanceSlice, LeaderboardSlice, TrainSlice, load_slice

TASKS = [
    None,
    "task=delayed",
    "data=cars task=cars_origin",
    "data=seattle_weather task=seattle_temp_max",
]


@pytest.mark.parametrize("overrides", TASKS)
def test_every_slice_round_trips_through_its_file(overrides, tmp_path):
    cfg = compose_config(overrides)
    slices, texts = rule_slices(cfg), rule_slice_texts(cfg)
    assert set(slices) == set(texts)
    for key, built in slices.items():
        path = tmp_path / f"{key}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(texts[key], encoding="utf-8")
        assert load_slice(path, type(built)) == built, key


def slice_file(tmp_path: Path, key: str, edit) -> Path:
    """The default configuration's slice ``key`` as a file, its YAML changed by ``edit``."""
    data = yaml.safe_load(rule_slice_texts(compose_config(None))[key])
    edit(data)
    path = tmp_path / "slice.yaml"
    path.write_text(SLICE_HEADER + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("key", "cls", "edit", "named"),
    [
        (
            "importance/ridge",
            ImportanceSlice,
            lambda d: d["evaluation"].pop("importance_repeats"),
            "evaluation.importance_repeats",
        ),
        (
            "importance/ridge",
            ImportanceSlice,
            lambda d: d["evaluation"].update(importance_repeats="many"),
            "evaluation.importance_repeats",
        ),
        ("leaderboard", LeaderboardSlice, lambda d: d.pop("models"), "models"),
        (
            "leaderboard",
            LeaderboardSlice,
            lambda d: d["evaluation"].update(bootstrap_resamples=[1, 2]),
            "evaluation.bootstrap_resamples",
        ),
        (
            "train/ridge",
            TrainSlice,
            lambda d: d["model"].pop("max_train_rows"),
            "model.max_train_rows",
        ),
        # a key of the old layout, renamed since: refused, not ignored
        (
            "importance/ridge",
            ImportanceSlice,
            lambda d: d.update(importance={"repeats": 5}),
            "importance",
        ),
    ],
)
def test_a_bad_slice_file_is_one_line_naming_the_file_and_the_key(tmp_path, key, cls, edit, named):
    path = slice_file(tmp_path, key, edit)
    with pytest.raises(ConfigError) as caught:
        load_slice(path, cls)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {named}: "), message
    assert message.endswith("rerun the workflow so the slice is rewritten from conf/")


def test_slices_hold_hydras_key_names_under_their_sections():
    texts = rule_slice_texts(compose_config(None))
    importance = yaml.safe_load(texts["importance/ridge"])
    assert importance["evaluation"] == {
        "metric": "rmse",
        "importance_repeats": 5,
        "importance_max_rows": 3000,
        "importance_random_state": 13,
    }
    assert "\nevaluation:\n  metric: rmse\n  importance_repeats: 5\n" in texts["importance/ridge"]
    board = yaml.safe_load(texts["leaderboard"])
    assert set(board["evaluation"]) == {
        "metric",
        "bootstrap_resamples",
        "bootstrap_random_state",
        "bootstrap_blocks",
        "leakage_max_rows",
        "leakage_threshold",
    }
    assert board["split"] == {"time_zone": "America/New_York", "group": None}
    assert yaml.safe_load(texts["split"])["tuning"] == {"n_folds": 3}
    assert yaml.safe_load(texts["predict"])["audit"] == {"serving_rows": 200}
    assert yaml.safe_load(texts["evaluate/ridge"])["split"] == {
        "period": "month",
        "time_zone": "America/New_York",
    }
    # no key of the former layout is left
    for text in texts.values():
        data = yaml.safe_load(text)
        assert not {"importance", "bootstrap", "leakage", "period", "kind", "n_folds"} & set(data)


def test_a_data_set_without_block_rows_gets_the_schemas_null():
    cfg = compose_config("data=cars task=cars_origin")
    assert rule_slices(cfg)["features"].features["block_rows"] is None


def test_without_a_time_column_the_calendar_settings_reach_no_slice():
    """A task without time has no calendar: its period and time zone rerun nothing."""
    plain = rule_slice_texts(compose_config("data=cars task=cars_mpg"))
    changed = rule_slice_texts(
        compose_config("data=cars task=cars_mpg split.period=week split.time_zone=Europe/Paris")
    )
    assert changed == plain
    assert "time_zone: null" in plain["split"] and "period: null" in plain["evaluate/ridge"]
    timed = "data=seattle_weather task=seattle_temp_max"
    with_time = rule_slice_texts(compose_config(timed))
    moved = rule_slice_texts(compose_config(f"{timed} split.period=week"))
    # the period is the evaluation's breakdown alone: the split's parts do not move
    assert {key for key in with_time if with_time[key] != moved[key]} == {
        f"evaluate/{model}" for model in ("hgb", "rf", "ridge")
    }
