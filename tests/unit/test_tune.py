"""snakeml.training.tune: shards of Optuna trials on a 200-row synthetic frame, and their
gathering."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import optuna
import pandas as pd
import pytest

from snakeml.core.errors import ConfigError, DataError
from snakeml.core.io import read_yaml
from snakeml.core.slices import TuneShardSlice
from snakeml.training.storage import journal_path, open_storage
from snakeml.training.tune import (
    best_params,
    gather_trials,
    importances_withheld,
    param_importances,
    run_shard,
    run_tune_best,
    run_tune_shard,
    shard_budget,
    study_fingerprint,
    study_name,
    tuning_frame,
)
from snakeml.validation.split import strategy_of

pytestmark = pytest.mark.usefixtures("single_thread")

# The synthetic frame's time order: its time column, then its key.
ORDER = ["time_hour", "flight_id"]


@pytest.fixture
def tune_settings(settings):
    def make(model: str, n_trials: int = 2, n_shards: int = 1, **tuning) -> TuneShardSlice:
        data = settings("tune_shard", model)
        # the time strategy of the default task, without its gap: plain expanding folds
        data.task.horizon = None
        data.tuning = replace(data.tuning, n_trials=n_trials, n_shards=n_shards, **tuning)
        return data

    return make


@pytest.fixture
def frame(synthetic_frame):
    return tuning_frame([synthetic_frame], ORDER)


def journal(tmp_path, name="journal.log"):
    return open_storage(None, tmp_path / name)


def shard(frame, settings, index=0, storage=None, tmp_path=None, fingerprint="f" * 12):
    storage = storage if storage is not None else journal(tmp_path)
    return run_shard(frame, settings, index, storage, fingerprint)


def params_of(trials: pd.DataFrame) -> pd.DataFrame:
    return trials[[c for c in trials.columns if c.startswith("param_")]]


@pytest.mark.parametrize(
    ("n_trials", "n_shards", "expected"),
    [(8, 2, [4, 4]), (7, 3, [3, 2, 2]), (3, 3, [1, 1, 1]), (1, 2, [1, 0]), (5, 1, [5])],
)
def test_shard_budgets_split_the_trials_exactly(n_trials, n_shards, expected):
    assert [shard_budget(n_trials, n_shards, s) for s in range(n_shards)] == expected


def test_a_shard_outside_the_range_is_refused():
    with pytest.raises(ConfigError, match=r"shard 2 is outside 0\.\.1"):
        shard_budget(4, 2, 2)


def test_time_folds_fit_on_the_past_and_score_the_next_block(frame, tune_settings):
    settings = tune_settings("ridge")
    folds = strategy_of(settings).folds(frame, frame["arr_delay"].to_numpy(), 3)
    assert len(folds) == 3
    for fit, score in folds:
        assert fit.max() < score.min()
        assert fit.min() == 0
        assert np.array_equal(fit, np.arange(score.min()))
    assert folds[-1][1].max() == 199
    assert [len(score) for _, score in folds] == [50, 50, 50]
    # with the task's horizon, the rows whose target reaches a fold's scored block leave it
    settings.task.horizon = "36 hours"
    gapped = strategy_of(settings).folds(frame, frame["arr_delay"].to_numpy(), 3)
    assert [len(fit) for fit, _ in gapped] == [len(fit) - 36 for fit, _ in folds]


def test_too_few_rows_for_the_folds_is_one_line(frame, tune_settings):
    strategy = strategy_of(tune_settings("ridge"))
    with pytest.raises(DataError, match="5 rows are too few for 3 time-ordered folds"):
        strategy.folds(frame.head(5), frame["arr_delay"].to_numpy()[:5], 3)


def test_rows_are_put_in_time_order_before_folding(synthetic_frame):
    shuffled = synthetic_frame.sample(frac=1.0, random_state=1)
    ordered = tuning_frame([shuffled.iloc[:50], shuffled.iloc[50:]], ["month", "flight_id"])
    assert ordered["flight_id"].tolist() == list(range(200))
    with pytest.raises(DataError, match=r"lacks the columns \['flight_id'\]"):
        tuning_frame([synthetic_frame.drop(columns=["flight_id"])], ["month", "flight_id"])


def test_the_time_column_orders_before_the_key(synthetic_frame):
    # Months run backwards against the key: the time column decides, the key breaks ties.
    frame = synthetic_frame.assign(month=5 - synthetic_frame["month"])
    ordered = tuning_frame([frame.sample(frac=1.0, random_state=2)], ["month", "flight_id"])
    assert ordered["month"].tolist() == sorted(frame["month"].tolist())
    assert ordered["flight_id"].tolist()[:50] == list(range(150, 200))
    assert ordered["flight_id"].tolist()[-50:] == list(range(50))


def test_fingerprint_ignores_the_budget_but_not_what_a_trial_computes(tune_settings):
    base = tune_settings("ridge")
    fp = study_fingerprint(base, ["a"])
    budget = tune_settings("ridge", n_trials=50, n_shards=2, timeout_seconds=5.0)
    budget.tuning.storage = "sqlite:///x.db"
    budget.tuning.lock_grace_seconds = 300
    assert study_fingerprint(budget, ["a"]) == fp
    assert study_fingerprint(base, ["b"]) != fp
    assert study_fingerprint(tune_settings("ridge", n_folds=4), ["a"]) != fp
    assert study_fingerprint(replace(base, seed=1), ["a"]) != fp
    assert study_fingerprint(tune_settings("hgb"), ["a"]) != fp
    assert study_name("ridge", fp, 1, pooled=False) == f"snakeml-ridge-{fp}-shard1"
    assert study_name("ridge", fp, 1, pooled=True) == f"snakeml-ridge-{fp}"


def test_a_shard_runs_its_budget_with_every_fold_reported(tune_settings, frame, tmp_path):
    trials = shard(frame, tune_settings("ridge", n_trials=3, pruner="none"), tmp_path=tmp_path)
    assert trials["state"].tolist() == ["COMPLETE"] * 3
    assert trials["shard"].tolist() == [0, 0, 0]
    assert trials["shard_trial"].tolist() == [0, 1, 2]
    assert (trials["steps_reported"] == 3).all()
    assert trials["param_alpha"].between(1e-3, 1e3).all()
    # The value is the mean RMSE over the three folds, kept as cv_rmse too.
    np.testing.assert_allclose(trials["value"], trials["cv_rmse"])
    assert (trials["cv_rmse"] > 0).all()
    assert (trials["duration_seconds"] >= 0).all()


def test_max_rows_folds_a_seeded_sample_of_the_rows(tune_settings, frame, tmp_path, caplog):
    settings = tune_settings("ridge", n_trials=2, pruner="none", max_rows=60)
    with caplog.at_level("INFO", logger="snakeml.training.tune"):
        sampled = shard(frame, settings, tmp_path=tmp_path / "a")
    assert f"tuning folds a sample of 60 of {len(frame)} rows" in caplog.text
    again = shard(frame, settings, tmp_path=tmp_path / "b")
    whole = shard(frame, tune_settings("ridge", n_trials=2, pruner="none"), tmp_path=tmp_path)
    # Same sampled rows every time; other rows than the whole frame's, so other scores.
    np.testing.assert_array_equal(sampled["value"], again["value"])
    np.testing.assert_array_equal(params_of(sampled), params_of(whole))
    assert not np.allclose(sampled["value"], whole["value"])


def test_r2_is_maximised(tune_settings, frame, tmp_path):
    trials = shard(frame, tune_settings("ridge", metric="r2"), tmp_path=tmp_path)
    np.testing.assert_allclose(trials["value"], -trials["cv_r2"])


def test_a_shard_is_identical_in_another_storage_and_other_shards_differ(
    tune_settings, frame, tmp_path
):
    settings = tune_settings("hgb", n_trials=4, n_shards=2)
    first = shard(frame, settings, 0, journal(tmp_path, "a.log"))
    again = shard(frame, settings, 0, journal(tmp_path, "b.log"))
    other = shard(frame, settings, 1, journal(tmp_path, "a.log"))
    pd.testing.assert_frame_equal(params_of(first), params_of(again))
    np.testing.assert_array_equal(first["value"], again["value"])
    assert not params_of(first).equals(params_of(other))


def test_a_stopped_shard_resumes_with_the_same_trials(tune_settings, frame, tmp_path):
    """A run killed mid-trial leaves it RUNNING: the rerun fails it and runs only the rest."""
    settings = tune_settings("ridge", n_trials=4)
    uninterrupted = shard(frame, settings, 0, journal(tmp_path, "whole.log"))

    storage = journal(tmp_path, "crashed.log")
    shard(frame, tune_settings("ridge", n_trials=2), 0, storage)
    name = study_name("ridge", "f" * 12, 0, pooled=False)
    optuna.load_study(study_name=name, storage=storage).ask()  # the killed trial
    resumed = shard(frame, settings, 0, storage)

    assert resumed["state"].tolist()[:3] == ["COMPLETE", "COMPLETE", "FAIL"]
    finished = resumed[resumed["state"] != "FAIL"].reset_index(drop=True)
    assert finished["state"].tolist() == uninterrupted["state"].tolist()
    pd.testing.assert_frame_equal(params_of(finished), params_of(uninterrupted))
    np.testing.assert_array_equal(finished["value"], uninterrupted["value"])
    # Asking again with everything done runs nothing.
    assert len(shard(frame, settings, 0, storage)) == 5


def test_a_smaller_budget_after_a_larger_one_keeps_a_fresh_runs_trials(
    tune_settings, frame, tmp_path, caplog
):
    """A study tuned on 4 trials, asked for 2, gives the 2 a fresh 2-trial run gives."""
    fresh = shard(frame, tune_settings("ridge", n_trials=2), 0, journal(tmp_path, "fresh.log"))
    storage = journal(tmp_path, "larger.log")
    assert len(shard(frame, tune_settings("ridge", n_trials=4), 0, storage)) == 4
    with caplog.at_level("INFO", logger="snakeml"):
        smaller = shard(frame, tune_settings("ridge", n_trials=2), 0, storage)
    pd.testing.assert_frame_equal(params_of(smaller), params_of(fresh))
    np.testing.assert_array_equal(smaller["value"], fresh["value"])
    assert "2 of 2 trials finished before (4 in the study" in caplog.text


def test_a_search_space_changed_and_changed_back_finds_its_first_studys_trials(
    tune_settings, frame, tmp_path, caplog
):
    """Each search space has its own study in the journal: back to the first, its shard runs
    no trial and gives the first run's trials."""
    first = tune_settings("ridge", n_trials=3)
    narrowed = tune_settings("ridge", n_trials=3)
    narrowed.model.search_space["alpha"] = replace(first.model.search_space["alpha"], high=10.0)
    names = [study_fingerprint(settings, ["data"]) for settings in (first, narrowed)]
    assert names[0] != names[1]
    storage = journal(tmp_path)
    before = run_shard(frame, first, 0, storage, names[0])
    other = run_shard(frame, narrowed, 0, storage, names[1])
    assert (other["param_alpha"] <= 10.0).all() and not params_of(other).equals(params_of(before))
    with caplog.at_level("INFO", logger="snakeml"):
        back = run_shard(frame, first, 0, storage, names[0])
    assert "3 of 3 trials finished before" in caplog.text
    pd.testing.assert_frame_equal(back, before)


def test_pooled_shards_share_one_study_and_split_the_budget(tune_settings, frame, tmp_path):
    settings = tune_settings("ridge", n_trials=3, n_shards=2, pooled=True)
    storage = journal(tmp_path)
    first = shard(frame, settings, 0, storage)
    second = shard(frame, settings, 1, storage)
    assert len(first) == 2
    assert len(second) == 1
    study = optuna.load_study(study_name=study_name("ridge", "f" * 12, 0, True), storage=storage)
    assert len(study.trials) == 3
    assert second["study_trial"].tolist() == [2]


def test_the_median_pruner_stops_a_bad_trial(tune_settings, frame, tmp_path):
    settings = tune_settings("ridge", n_trials=6, startup_trials=1)
    settings.model.search_space["alpha"] = replace(
        settings.model.search_space["alpha"], low=1e-3, high=1e6
    )
    trials = shard(frame, settings, tmp_path=tmp_path)
    pruned = trials[trials["state"] == "PRUNED"]
    assert len(pruned) >= 1
    assert (pruned["steps_reported"] < 3).all()
    assert (trials.loc[trials["state"] == "COMPLETE", "steps_reported"] == 3).all()


def test_a_model_without_search_space_runs_one_trial_in_shard_zero(tune_settings, frame, tmp_path):
    settings = tune_settings("ridge", n_trials=5, n_shards=2)
    settings.model.search_space = {}
    storage = journal(tmp_path)
    assert shard(frame, settings, 0, storage)["state"].tolist() == ["COMPLETE"]
    assert shard(frame, settings, 1, storage).empty


def test_missing_feature_is_named_before_any_trial(tune_settings, frame, tmp_path):
    with pytest.raises(DataError, match=r"lacks feature columns \['temp'\]"):
        shard(frame.drop(columns=["temp"]), tune_settings("ridge"), tmp_path=tmp_path)


def test_unknown_fixed_param_fails_with_config_error(tune_settings, frame, tmp_path):
    settings = tune_settings("ridge")
    settings.model.params = {"alpah": 1.0}
    with pytest.raises(ConfigError, match=r"\['alpah'\]"):
        shard(frame, settings, tmp_path=tmp_path)


def trial_rows(*rows):
    return pd.DataFrame(
        [
            {"model": "hgb", "shard": s, "shard_trial": t, "state": st, "value": v,
             "param_max_leaf_nodes": float(leaves), "param_learning_rate": 0.1}
            for s, t, st, v, leaves in rows
        ]
    )  # fmt: skip


def test_the_best_trial_is_the_lowest_complete_one_ties_to_the_first_shard(model_spec):
    space = model_spec("hgb").search_space
    trials = trial_rows(
        (1, 0, "COMPLETE", 2.0, 20),
        (0, 1, "COMPLETE", 2.0, 30),
        (0, 0, "PRUNED", 1.0, 40),
        (1, 1, "FAIL", None, 50),
    )
    best = best_params(trials, {k: space[k] for k in ("max_leaf_nodes", "learning_rate")})
    assert best == {"max_leaf_nodes": 30, "learning_rate": 0.1}
    assert isinstance(best["max_leaf_nodes"], int)
    with pytest.raises(DataError, match=r"no trial of model 'hgb' completed .*'PRUNED': 1"):
        best_params(trials[trials["state"] == "PRUNED"], space)


def test_no_shard_with_a_trial_is_one_line():
    with pytest.raises(DataError, match="no shard ran a trial"):
        gather_trials([pd.DataFrame(), pd.DataFrame()])


def test_param_importances_sum_to_one_and_are_seeded(tune_settings, frame, tmp_path):
    trials = shard(frame, tune_settings("hgb", n_trials=5, pruner="none"), tmp_path=tmp_path)
    space = tune_settings("hgb").model.search_space
    importances = param_importances(trials, space, seed=13)
    assert sorted(importances) == sorted(space)
    assert sum(importances.values()) == pytest.approx(1.0)
    assert param_importances(trials, space, seed=13) == importances
    assert importances_withheld(trials, space) is None


def test_param_importances_are_withheld_from_no_more_trials_than_parameters(
    tune_settings, frame, tmp_path
):
    trials = shard(frame, tune_settings("hgb", n_trials=5, pruner="none"), tmp_path=tmp_path)
    space = tune_settings("hgb").model.search_space
    few = trials.head(len(space))
    reason = importances_withheld(few, space)
    assert reason == (
        f"{len(space)} complete trials for {len(space)} searched parameters: "
        "fANOVA needs more trials than parameters"
    )
    assert param_importances(few, space, seed=13) == {}
    # one searched parameter holds all of the variance, from two trials on
    alpha = tune_settings("ridge").model.search_space
    assert importances_withheld(trials.drop_duplicates("value").head(2), alpha) is None
    assert importances_withheld(few, {}) == "nothing searched"


def test_tune_shard_and_best_write_their_files(tune_settings, synthetic_frame, tmp_path):
    train, valid = synthetic_frame.iloc[:150], synthetic_frame.iloc[150:]
    train.to_parquet(tmp_path / "train.parquet")
    valid.to_parquet(tmp_path / "valid.parquet")
    settings = tune_settings("ridge", n_trials=3, n_shards=2)
    tuning_dir = tmp_path / "tuning" / "ridge"
    shards = []
    for index in range(2):
        shards.append(tuning_dir / "shards" / f"{index}.parquet")
        run_tune_shard(
            [tmp_path / "train.parquet", tmp_path / "valid.parquet"],
            settings,
            index,
            tuning_dir,
            shards[-1],
        )
    assert journal_path(tuning_dir).is_file()
    out = {name: tuning_dir / name for name in ("best.yaml", "trials.parquet", "h.png", "i.png")}
    best = run_tune_best(shards, settings, *out.values())
    written = read_yaml(out["best.yaml"])
    assert written["params"] == best
    assert written["trials"] == {"COMPLETE": 3}
    trials = pd.read_parquet(out["trials.parquet"])
    assert trials["shard"].tolist() == [0, 0, 1]
    assert best["alpha"] == trials.loc[trials["value"].idxmin(), "param_alpha"]
    for png in ("h.png", "i.png"):
        assert out[png].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_timeout_stops_starting_trials_and_a_rerun_continues(tune_settings, frame, tmp_path):
    storage = journal(tmp_path)
    stopped = shard(frame, tune_settings("ridge", n_trials=4, timeout_seconds=1e-9), 0, storage)
    assert stopped.empty  # preparing the folds alone takes longer than the timeout
    resumed = shard(frame, tune_settings("ridge", n_trials=4), 0, storage)
    assert resumed["shard_trial"].tolist() == [0, 1, 2, 3]


def test_read_tuning_rows_are_the_sorted_rows_sample_in_compact_types(
    tune_settings, synthetic_frame, tmp_path
):
    from snakeml.models.estimators import feature_frame
    from snakeml.training.tune import read_tuning_rows
    from snakeml.validation.split import sample_rows

    settings = tune_settings("ridge", max_rows=50)
    shuffled = synthetic_frame.sample(frac=1.0, random_state=3)  # file order must not count
    paths = [tmp_path / "train.parquet", tmp_path / "valid.parquet"]
    shuffled.iloc[:120].to_parquet(paths[0])
    shuffled.iloc[120:].to_parquet(paths[1])
    read = read_tuning_rows(paths, settings)
    expected = sample_rows(tuning_frame([shuffled], ORDER), 50, settings.seed)
    assert read["flight_id"].tolist() == expected["flight_id"].tolist()
    assert read["distance"].dtype == np.float32
    pd.testing.assert_frame_equal(
        feature_frame(read, settings.columns),
        feature_frame(expected.reset_index(drop=True), settings.columns),
        check_categorical=False,
    )
