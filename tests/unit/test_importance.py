"""snakeml.evaluation.importance: permutation importance per column and per feature family."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import SQL_DIR

from snakeml.core.errors import DataError
from snakeml.core.plots import plot_importances
from snakeml.data.dataset import load_declaration
from snakeml.evaluation.importance import (
    family_importances,
    family_of,
    feature_groups,
    permutation_importances,
    run_importance,
    summarize_importances,
)
from snakeml.models.estimators import build_pipeline, feature_frame, save_model, target_vector
from snakeml.models.task_kinds import task_kind
from snakeml.validation.split import sample_rows

REGRESSION = task_kind("regression")

pytestmark = pytest.mark.usefixtures("single_thread")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# nycflights13's feature families, as sql/nycflights13/steps.yaml declares them.
FAMILIES = load_declaration(SQL_DIR).families()


def test_every_feature_column_is_in_exactly_one_family():
    declaration = load_declaration(SQL_DIR)
    members = [column for family in FAMILIES.values() for column in family]
    assert sorted(members) == sorted(f.name for f in declaration.features)
    assert len(members) == len(set(members))
    assert list(FAMILIES)[:3] == ["schedule", "route", "carrier"]  # order of first appearance
    family = family_of(FAMILIES)
    assert family["visib_change"] == "weather"
    assert family["carrier_delay_mean_day"] == "congestion"
    assert family["origin"] == "route"
    with pytest.raises(KeyError, match="no_such_column"):
        family["no_such_column"]


def test_feature_groups_keep_only_present_columns_in_family_order():
    groups = feature_groups(["temp", "carrier", "distance", "visib", "origin"], FAMILIES)
    assert groups == {
        "route": ["distance", "origin"],
        "carrier": ["carrier"],
        "weather": ["temp", "visib"],
    }
    # Any data set's families: the order and the members are the declaration's.
    other = {"b": ["x"], "a": ["z", "y"], "empty": ["w"]}
    assert feature_groups(["y", "x", "z"], other) == {"b": ["x"], "a": ["y", "z"]}


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
    pipeline = build_pipeline(model_spec("ridge"), columns, {"alpha": 1.0}, REGRESSION)
    pipeline.fit(feature_frame(train, columns), target_vector(train, columns, REGRESSION))
    return pipeline, train, test


def test_permutation_importances_one_row_per_feature_and_repeat(fitted, columns):
    pipeline, _, test = fitted
    x, y = feature_frame(test, columns), target_vector(test, columns, REGRESSION)
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
    x, y = feature_frame(test, columns), target_vector(test, columns, REGRESSION)
    with pytest.raises(ValueError, match="n_repeats"):
        permutation_importances(pipeline, x, y, repeats=0, seed=0)


def test_family_importances_permute_a_family_together(fitted, columns):
    pipeline, _, test = fitted
    x, y = feature_frame(test, columns), target_vector(test, columns, REGRESSION)
    groups = feature_groups(list(x.columns), FAMILIES)
    families = family_importances(pipeline, x, y, groups, repeats=3, seed=0)
    assert list(families.columns) == ["family", "repeat", "importance"]
    assert families["family"].tolist() == ["route"] * 3 + ["carrier"] * 3 + ["weather"] * 3
    means = families.groupby("family")["importance"].mean()
    # route holds distance, which drives the delay; weather (temp) is noise
    assert means["route"] > means["carrier"] > means["weather"]
    assert abs(means["weather"]) < 0.5
    # a family of one column is that column's own permutation importance in distribution
    single = family_importances(pipeline, x, y, {"route": ["distance"]}, repeats=3, seed=0)
    assert single["importance"].mean() > 1.0
    assert families.equals(family_importances(pipeline, x, y, groups, repeats=3, seed=0))


def test_repeats_are_predicted_stacked_with_the_values_of_one_call_each(
    fitted, columns, monkeypatch
):
    pipeline, _, test = fitted
    x, y = feature_frame(test, columns), target_vector(test, columns, REGRESSION)
    calls = []
    predict = pipeline.predict
    monkeypatch.setattr(
        pipeline, "predict", lambda frame: calls.append(len(frame)) or predict(frame)
    )
    stacked = permutation_importances(pipeline, x, y, repeats=3, seed=0)
    # the reference, then one call per column over its three repeats
    assert calls == [len(x)] + [3 * len(x)] * 4
    calls.clear()
    monkeypatch.setattr("snakeml.evaluation.importance.STACKED_ROWS", len(x))
    one_by_one = permutation_importances(pipeline, x, y, repeats=3, seed=0)
    assert calls == [len(x)] * (1 + 4 * 3)
    pd.testing.assert_frame_equal(stacked, one_by_one, check_exact=False, rtol=1e-9)


def test_family_importances_needs_a_repeat(fitted, columns):
    pipeline, _, test = fitted
    x, y = feature_frame(test, columns), target_vector(test, columns, REGRESSION)
    with pytest.raises(ValueError, match="n_repeats"):
        family_importances(pipeline, x, y, {"route": ["distance"]}, repeats=0, seed=0)


IMPORTANCES = pd.DataFrame(
    {"feature": ["a", "a", "b", "b"], "repeat": [0, 1, 0, 1], "importance": [1.0, 2.0, 0.1, 0.3]}
)


def test_summarize_importances_mean_and_std_best_first():
    summary = summarize_importances(IMPORTANCES, "feature")
    assert summary["feature"].tolist() == ["a", "b"]
    assert summary["mean"].tolist() == pytest.approx([1.5, 0.2])
    assert summary["std"].tolist() == pytest.approx([0.5, 0.1])  # ddof=0 like scikit-learn
    # Student's t over two repeats: mean +- t(0.975, 1) * s / sqrt(2), t(0.975, 1) = 12.7062
    mean, half = np.array([1.5, 0.2]), 12.706205 * np.array([0.5, 0.1])
    assert summary["ci95_low"].tolist() == pytest.approx(mean - half)
    assert summary["ci95_high"].tolist() == pytest.approx(mean + half)


def test_summarize_importances_single_repeat_has_no_interval():
    summary = summarize_importances(IMPORTANCES[IMPORTANCES["repeat"] == 0], "feature")
    assert summary["ci95_low"].isna().all() and summary["ci95_high"].isna().all()


def test_plot_importances_writes_a_png(tmp_path):
    target = tmp_path / "plots" / "importance.png"
    plot_importances(IMPORTANCES, "title", target)
    assert target.read_bytes().startswith(PNG_MAGIC)
    assert [p.name for p in target.parent.iterdir()] == ["importance.png"]


def test_plot_importances_uses_no_deprecated_matplotlib_api(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        plot_importances(IMPORTANCES, "title", tmp_path / "importance.png")


@pytest.fixture
def importance_inputs(fitted, settings, tmp_path):
    pipeline, _, test = fitted
    save_model(pipeline, tmp_path / "ridge.skops")
    test.to_parquet(tmp_path / "test.parquet")
    options = settings("importance", "ridge")
    options.evaluation = replace(
        options.evaluation,
        importance_repeats=2,
        importance_max_rows=30,
        importance_random_state=5,
    )
    names = ("importance", "summary", "families", "families_summary")
    outputs = {name: tmp_path / "out" / f"{name}.csv" for name in names}
    outputs["plot"] = tmp_path / "out" / "importance.png"
    outputs["families_plot"] = tmp_path / "out" / "family_importance.png"
    return tmp_path / "ridge.skops", tmp_path / "test.parquet", options, outputs


def test_run_importance_writes_long_tables_summaries_and_plots(importance_inputs):
    model_path, test_path, options, outputs = importance_inputs
    run_importance(model_path, test_path, options, "ridge", outputs)

    long = pd.read_csv(outputs["importance"])
    assert list(long.columns) == ["feature", "family", "repeat", "importance"]
    assert len(long) == 4 * 2
    assert dict(zip(long["feature"], long["family"], strict=True)) == {
        "distance": "route",
        "temp": "weather",
        "carrier": "carrier",
        "origin": "route",
    }
    summary = pd.read_csv(outputs["summary"])
    assert list(summary.columns) == ["feature", "family", "mean", "std", "ci95_low", "ci95_high"]
    assert summary["feature"].iloc[0] == "distance"
    np.testing.assert_allclose(
        summary.set_index("feature")["mean"].sort_index(),
        long.groupby("feature")["importance"].mean().sort_index(),
        atol=1e-6,
    )
    families = pd.read_csv(outputs["families"])
    assert sorted(families["family"].unique()) == ["carrier", "route", "weather"]
    assert families.groupby("family").size().tolist() == [2, 2, 2]
    family_summary = pd.read_csv(outputs["families_summary"])
    assert family_summary["family"].iloc[0] == "route"
    for name in ("plot", "families_plot"):
        assert outputs[name].read_bytes()[:8] == PNG_MAGIC


def test_run_importance_takes_the_families_from_its_settings(importance_inputs):
    model_path, test_path, options, outputs = importance_inputs
    options.families = {"place": ["origin", "carrier"], "rest": ["distance", "temp"]}
    run_importance(model_path, test_path, options, "ridge", outputs)
    long = pd.read_csv(outputs["importance"])
    assert dict(zip(long["feature"], long["family"], strict=True)) == {
        "distance": "rest",
        "temp": "rest",
        "carrier": "place",
        "origin": "place",
    }
    families = pd.read_csv(outputs["families"])
    assert families["family"].tolist() == ["place", "place", "rest", "rest"]


def test_run_importance_follows_the_random_state(importance_inputs):
    model_path, test_path, options, outputs = importance_inputs
    run_importance(model_path, test_path, options, "ridge", outputs)
    first = outputs["importance"].read_bytes()
    run_importance(model_path, test_path, options, "ridge", outputs)
    assert outputs["importance"].read_bytes() == first
    options.evaluation.importance_random_state = 6
    run_importance(model_path, test_path, options, "ridge", outputs)
    assert outputs["importance"].read_bytes() != first


def test_run_importance_empty_test_split_writes_nothing(importance_inputs, fitted):
    model_path, test_path, options, outputs = importance_inputs
    fitted[2].head(0).to_parquet(test_path)
    with pytest.raises(DataError, match=r"test split .*test\.parquet is empty"):
        run_importance(model_path, test_path, options, "ridge", outputs)
    assert not outputs["importance"].parent.exists()
