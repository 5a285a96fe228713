"""snakeml.experiments.sweep: a sweep in Hydra's grammar -> named points, each composed and
checked."""

from __future__ import annotations

import pytest

from snakeml.core.errors import ConfigError
from snakeml.experiments.sweep import compose_points, read_sweep_file, sweep_points


def test_a_sweep_is_the_product_of_its_swept_keys_in_order():
    points = sweep_points("features.horizon_minutes=30,60,120 model=[hgb],[rf,ridge]", 24)
    assert [p.name for p in points] == [
        "horizon_minutes-30_model-hgb",
        "horizon_minutes-30_model-rf+ridge",
        "horizon_minutes-60_model-hgb",
        "horizon_minutes-60_model-rf+ridge",
        "horizon_minutes-120_model-hgb",
        "horizon_minutes-120_model-rf+ridge",
    ]
    assert points[1].overrides == ("features.horizon_minutes=30", "model=[rf,ridge]")
    assert points[1].choices == (("features.horizon_minutes", "30"), ("model", "[rf,ridge]"))


def test_fixed_items_apply_to_every_point_and_hydra_functions_sweep():
    points = sweep_points(
        ["+experiment=smoke", "seed=range(1,3)", "tuning.pruner=choice(median,none)"], 8
    )
    assert [p.name for p in points] == [
        "seed-1_pruner-median",
        "seed-1_pruner-none",
        "seed-2_pruner-median",
        "seed-2_pruner-none",
    ]
    assert all(p.overrides[0] == "+experiment=smoke" for p in points)


def test_keys_sharing_a_last_part_are_named_in_full():
    alone = sweep_points("model.ridge.params.alpha=1,2 model.ridge.search_space.alpha.high=10", 8)
    assert [p.name for p in alone] == ["alpha-1", "alpha-2"]
    both = sweep_points("model.ridge.params.alpha=1,2 +model.hgb.params.alpha=3,4", 8)
    assert both[0].name == "model.ridge.params.alpha-1_model.hgb.params.alpha-3"


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        ("", "sweep: empty: give keys with several values"),
        ("tuning.n_trials=5", "sweep: tuning.n_trials=5 gives each key one value"),
        ("seed=1,2 tuning.n_trials=1,2,3", "sweep: 6 points, more than the maximum of 4 (2 x 3)"),
        ("seed=range(1,", "sweep: "),
        ("task.label='a b','a_b'", "sweep: two points would share the name label-a_b"),
    ],
)
def test_bad_sweeps_are_one_line(sweep, message):
    with pytest.raises(ConfigError) as caught:
        sweep_points(sweep, 4)
    assert str(caught.value).startswith(message), str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_sweep_file_holds_hydra_sweeper_params(tmp_path):
    path = tmp_path / "horizons.yaml"
    path.write_text("params:\n  features.horizon_minutes: 30,60\n  model: '[hgb],[ridge]'\n")
    items = read_sweep_file(path)
    assert items == ["features.horizon_minutes=30,60", "model=[hgb],[ridge]"]
    assert len(sweep_points(items, 8)) == 4
    (tmp_path / "empty.yaml").write_text("params: {}\n")
    with pytest.raises(ConfigError, match="a sweep file holds params"):
        read_sweep_file(tmp_path / "empty.yaml")


def test_every_point_is_composed_and_a_bad_value_names_its_point(conf_dir):
    good = compose_points(sweep_points("tuning.n_trials=3,4", 8), conf_dir)
    assert [cfg["tuning"]["n_trials"] for cfg in good.values()] == [3, 4]
    with pytest.raises(ConfigError) as caught:
        compose_points(sweep_points("tuning.n_trials=3,-1", 8), conf_dir)
    assert str(caught.value).startswith("sweep point n_trials--1: tuning.n_trials = -1: must be")


def test_a_key_that_does_not_exist_names_the_point(conf_dir):
    with pytest.raises(ConfigError, match=r"sweep point n_trails-3: .*n_trails"):
        compose_points(sweep_points("tuning.n_trails=3,4", 8), conf_dir)


def test_two_points_with_the_same_configuration_are_refused(conf_dir):
    with pytest.raises(ConfigError) as caught:
        compose_points(sweep_points("tuning.timeout_seconds=100,100.0", 8), conf_dir)
    assert str(caught.value) == (
        "sweep points timeout_seconds-100 and timeout_seconds-100.0 resolve to the same "
        "configuration: drop one of the values"
    )
