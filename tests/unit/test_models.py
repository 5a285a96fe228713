"""snakeml.models.estimators: input frames, Pipelines from config, search spaces and skops
persistence."""

from __future__ import annotations

import dataclasses
import json
import time
import zipfile

import numpy as np
import optuna
import pandas as pd
import pytest
import skops.io as sio
from threadpoolctl import threadpool_info, threadpool_limits

from snakeml.core.errors import ConfigError, DataError, ModelLoadError
from snakeml.core.schema import SearchParam
from snakeml.models.estimators import (
    MISSING_CATEGORY,
    build_pipeline,
    estimator_class,
    feature_frame,
    limit_threads,
    load_model,
    save_model,
    suggest_params,
    target_vector,
)
from snakeml.models.task_kinds import task_kind

REGRESSION = task_kind("regression")

pytestmark = pytest.mark.usefixtures("single_thread")


class NotSklearn:
    """A type outside scikit-learn and NumPy: a model file holding it must be refused."""

    def __init__(self) -> None:
        self.payload = 42


# --- feature_frame, target_vector ---------------------------------------------------------


def test_feature_frame_types_order_and_missing_category(tiny_frame, columns):
    x = feature_frame(tiny_frame[["carrier", "origin", "temp", "distance"]], columns)
    assert list(x.columns) == ["distance", "temp", "carrier", "origin"]
    assert x["distance"].dtype == np.float32
    assert x["temp"].dtype == np.float32
    assert isinstance(x["carrier"].dtype, pd.CategoricalDtype)
    assert np.isnan(x["temp"].iloc[1])
    assert x["carrier"].tolist() == ["UA", "DL", MISSING_CATEGORY, "UA", "DL", "UA"]
    assert all(isinstance(v, str) for v in x["carrier"])
    assert x.index.equals(tiny_frame.index)


def test_feature_frame_converts_integers_and_nullable_values(columns):
    frame = pd.DataFrame(
        {
            "distance": pd.array([100, None], dtype="Int32"),
            "temp": [1, 2],
            "carrier": pd.array(["UA", None], dtype="string"),
            "origin": ["EWR", "JFK"],
        }
    )
    x = feature_frame(frame, columns)
    assert x["distance"].dtype == np.float32
    assert x["distance"].iloc[0] == 100.0
    assert np.isnan(x["distance"].iloc[1])
    assert x["carrier"].tolist() == ["UA", MISSING_CATEGORY]


def test_feature_frame_turns_non_string_categories_into_strings(columns):
    frame = pd.DataFrame(
        {"distance": [1.0, 2.0], "temp": [3.0, 4.0], "carrier": [9, 10], "origin": [1.5, None]}
    )
    x = feature_frame(frame, columns)
    assert x["carrier"].tolist() == ["9", "10"]
    assert x["origin"].tolist() == ["1.5", MISSING_CATEGORY]


def test_feature_frame_missing_columns_are_named(tiny_frame, columns):
    with pytest.raises(DataError, match=r"lacks feature columns \['temp', 'origin'\]"):
        feature_frame(tiny_frame.drop(columns=["temp", "origin"]), columns)


def test_feature_frame_non_numeric_column_is_named(tiny_frame, columns):
    frame = tiny_frame.assign(distance=["far"] * len(tiny_frame))
    with pytest.raises(DataError, match="feature column 'distance' is not numeric"):
        feature_frame(frame, columns)


def test_target_vector(tiny_frame, columns):
    y = target_vector(tiny_frame, columns, REGRESSION)
    assert y.dtype == np.float64
    assert y.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]


def test_target_vector_from_nullable_integers(columns):
    y = target_vector(
        pd.DataFrame({"arr_delay": pd.array([3, -2], dtype="Int32")}), columns, REGRESSION
    )
    assert y.tolist() == [3.0, -2.0]


def test_target_vector_missing_column(tiny_frame, columns):
    with pytest.raises(DataError, match="lacks the target column 'arr_delay'"):
        target_vector(tiny_frame.drop(columns=["arr_delay"]), columns, REGRESSION)


def test_target_vector_missing_values_are_counted(tiny_frame, columns):
    frame = tiny_frame.assign(arr_delay=[1.0, np.nan, 3.0, np.nan, 5.0, 6.0])
    with pytest.raises(DataError, match="target 'arr_delay' has 2 missing values"):
        target_vector(frame, columns, REGRESSION)


# --- estimator_class, build_pipeline -------------------------------------------------------


def test_estimator_class_imports_a_regressor():
    from sklearn.linear_model import Ridge

    assert estimator_class("sklearn.linear_model.Ridge", REGRESSION) is Ridge


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("sklearn.linear_model.NoSuchModel", "'sklearn.linear_model.NoSuchModel' cannot be"),
        ("nosuchpackage.models.Model", "'nosuchpackage.models.Model' cannot be imported"),
        ("sklearn.preprocessing.StandardScaler", "is not a scikit-learn regressor"),
        ("sklearn.linear_model.LogisticRegression", "is not a scikit-learn regressor"),
    ],
)
def test_estimator_class_rejects(target, message):
    with pytest.raises(ConfigError, match=message):
        estimator_class(target, REGRESSION)


def test_ridge_pipeline_onehot_fits_and_predicts(model_spec, tiny_frame, columns):
    pipeline = build_pipeline(model_spec("ridge"), columns, {"alpha": 2.5}, REGRESSION)
    preprocess = pipeline.named_steps["preprocess"]
    assert [name for name, _, _ in preprocess.transformers] == ["num", "cat"]
    assert type(preprocess.transformers[1][1]).__name__ == "OneHotEncoder"
    model = pipeline.named_steps["model"]
    assert type(model).__name__ == "Ridge"
    assert model.alpha == 2.5
    assert model.random_state == 0
    x, y = feature_frame(tiny_frame, columns), target_vector(tiny_frame, columns, REGRESSION)
    pipeline.fit(x, y)
    predicted = pipeline.predict(x)
    assert predicted.shape == (6,)
    assert np.all(np.isfinite(predicted))
    # Delay grows with distance in the tiny frame: so must the fitted predictions.
    assert predicted[-1] > predicted[0]


def test_ridge_pipeline_fits_a_linear_target_closely(model_spec, columns):
    frame = pd.DataFrame(
        {
            "distance": np.arange(40, dtype=float),
            "temp": np.tile([0.0, 1.0], 20),
            "carrier": ["UA"] * 40,
            "origin": ["EWR"] * 40,
        }
    )
    y = 3.0 * frame["distance"].to_numpy() + 1.0
    # Small enough to fit within 1e-3; at 1e-6 the constant one-hot columns (one carrier, one
    # origin) leave the normal equations ill-conditioned (scipy's LinAlgWarning).
    pipeline = build_pipeline(model_spec("ridge"), columns, {"alpha": 1e-4}, REGRESSION)
    pipeline.fit(feature_frame(frame, columns), y)
    np.testing.assert_allclose(pipeline.predict(feature_frame(frame, columns)), y, atol=1e-3)


def test_hgb_pipeline_ordinal_fits_and_predicts(model_spec, synthetic_frame, columns):
    pipeline = build_pipeline(
        model_spec("hgb"), columns, {"learning_rate": 0.2, "max_leaf_nodes": 15}, REGRESSION
    )
    preprocess = pipeline.named_steps["preprocess"]
    assert [name for name, _, _ in preprocess.transformers] == ["cat", "num"]
    assert type(preprocess.transformers[0][1]).__name__ == "OrdinalEncoder"
    model = pipeline.named_steps["model"]
    assert type(model).__name__ == "HistGradientBoostingRegressor"
    assert model.categorical_features == [0, 1]  # the categoricals come first
    assert model.max_iter == 200  # from params in conf/model/hgb.yaml
    assert model.learning_rate == 0.2  # tuned values win over params
    assert model.max_leaf_nodes == 15
    assert model.random_state == 0
    x, y = (
        feature_frame(synthetic_frame, columns),
        target_vector(synthetic_frame, columns, REGRESSION),
    )
    pipeline.fit(x, y)
    predicted = pipeline.predict(x)
    assert predicted.shape == (len(synthetic_frame),)
    assert np.sqrt(np.mean((predicted - y) ** 2)) < np.std(y)


def test_hgb_pipeline_predicts_unseen_categories(model_spec, synthetic_frame, columns):
    pipeline = build_pipeline(model_spec("hgb"), columns, {}, REGRESSION)
    pipeline.fit(
        feature_frame(synthetic_frame, columns), target_vector(synthetic_frame, columns, REGRESSION)
    )
    unseen = synthetic_frame.head(2).assign(carrier=["ZZ", None], origin=["XXX", "EWR"])
    assert np.all(np.isfinite(pipeline.predict(feature_frame(unseen, columns))))


def test_build_pipeline_unknown_param_is_named(model_spec, columns):
    with pytest.raises(ConfigError, match=r"model\.ridge: Ridge has no parameters \['alpah'\]"):
        build_pipeline(model_spec("ridge"), columns, {"alpah": 1.0}, REGRESSION)


def test_build_pipeline_unknown_configured_param_is_named(model_spec, columns):
    spec = model_spec("hgb")
    spec.params["n_estimators"] = 10
    with pytest.raises(ConfigError, match=r"model\.hgb: .* \['n_estimators'\]"):
        build_pipeline(spec, columns, {}, REGRESSION)


def test_build_pipeline_bad_target_is_named(model_spec, columns):
    spec = dataclasses.replace(model_spec("ridge"), _target_="sklearn.linear_model.Rigde")
    with pytest.raises(ConfigError, match=r"'sklearn\.linear_model\.Rigde' cannot be imported"):
        build_pipeline(spec, columns, {}, REGRESSION)


def test_build_pipeline_gives_threads_to_n_jobs_where_it_has_an_effect(model_spec, columns):
    forest = build_pipeline(model_spec("rf"), columns, {}, REGRESSION, threads=2)
    logreg = build_pipeline(model_spec("logreg"), columns, {}, task_kind("binary"), threads=2)
    assert forest[-1].get_params()["n_jobs"] == 2
    # scikit-learn 1.8 made LogisticRegression's n_jobs a no-op that warns when set.
    assert logreg[-1].get_params()["n_jobs"] is None


# --- suggest_params -------------------------------------------------------------------------

SEARCH = {
    "alpha": SearchParam(type="float", low=0.1, high=10.0, log=True),
    "depth": SearchParam(type="int", low=2.0, high=5.0, log=False),
    "kind": SearchParam(type="categorical", choices=["a", "b"]),
}


def test_suggest_params_draws_inside_the_space():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(5):
        trial = study.ask()
        params = suggest_params(trial, SEARCH)
        assert sorted(params) == ["alpha", "depth", "kind"]
        assert 0.1 <= params["alpha"] <= 10.0
        assert isinstance(params["depth"], int)
        assert 2 <= params["depth"] <= 5
        assert params["kind"] in ("a", "b")
        study.tell(trial, 0.0)
    distribution = study.trials[0].distributions["alpha"]
    assert distribution.log is True


def test_suggest_params_fixed_trial_values_pass_through():
    trial = optuna.trial.FixedTrial({"alpha": 0.5, "depth": 3, "kind": "b"})
    assert suggest_params(trial, SEARCH) == {"alpha": 0.5, "depth": 3, "kind": "b"}


def test_suggest_params_fixed_trial_without_a_value_names_the_param():
    trial = optuna.trial.FixedTrial({"alpha": 0.5})
    with pytest.raises(ValueError, match="depth"):
        suggest_params(trial, SEARCH)


# --- limit_threads --------------------------------------------------------------------------


def _threads(api: str) -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == api}


def test_limit_threads_caps_every_pool_and_restores_it():
    assert _threads("blas") and _threads("openmp")  # the checks below are not vacuous
    with threadpool_limits(limits=2):
        with limit_threads(1):
            assert {pool["num_threads"] for pool in threadpool_info()} == {1}
        assert {pool["num_threads"] for pool in threadpool_info()} == {2}
        with limit_threads(0):  # clamped to one thread, never "no limit"
            assert {pool["num_threads"] for pool in threadpool_info()} == {1}


def test_blas_keeps_one_thread_so_linear_models_do_not_depend_on_cores():
    with limit_threads(2):
        assert _threads("openmp") == {2}
        assert _threads("blas") == {1}


# --- save_model, load_model ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ridge", "hgb", "rf"])
def test_save_load_round_trip_gives_identical_predictions(
    name, model_spec, synthetic_frame, columns, tmp_path
):
    pipeline = build_pipeline(model_spec(name), columns, {}, REGRESSION)
    x, y = (
        feature_frame(synthetic_frame, columns),
        target_vector(synthetic_frame, columns, REGRESSION),
    )
    pipeline.fit(x, y)
    target = tmp_path / "models" / f"{name}.skops"
    save_model(pipeline, target)
    assert sorted(p.name for p in target.parent.iterdir()) == [f"{name}.skops"]
    loaded = load_model(target)
    assert type(loaded).__name__ == "Pipeline"
    np.testing.assert_array_equal(loaded.predict(x), pipeline.predict(x))


def test_the_same_model_saved_twice_is_the_same_file(
    model_spec, synthetic_frame, columns, tmp_path
):
    x, y = (
        feature_frame(synthetic_frame, columns),
        target_vector(synthetic_frame, columns, REGRESSION),
    )
    first, second = tmp_path / "a.skops", tmp_path / "b.skops"
    save_model(build_pipeline(model_spec("hgb"), columns, {}, REGRESSION, seed=1).fit(x, y), first)
    time.sleep(2.1)  # zip times have a two-second resolution
    save_model(build_pipeline(model_spec("hgb"), columns, {}, REGRESSION, seed=1).fit(x, y), second)
    assert first.read_bytes() == second.read_bytes()


def test_load_model_refuses_foreign_types(tmp_path):
    path = tmp_path / "evil.skops"
    sio.dump({"model": NotSklearn()}, path)
    with pytest.raises(ModelLoadError, match=r"evil\.skops holds types snakeml does not trust"):
        load_model(path)


def code_running_skops_file(path, marker):
    """A hand-written skops file whose loading calls builtins.exec on a string.

    skops' ConstructorFromReduceNode calls ``module.name(*content)``; get_untrusted_types
    reports the callee as "builtins.exec". The payload only writes ``marker``.
    """
    payload = f"open({str(marker)!r}, 'w').write('ran')"
    schema = {
        "__class__": "dict",
        "__module__": "builtins",
        "__loader__": "DictNode",
        "content": {
            "model": {
                "__class__": "exec",
                "__module__": "builtins",
                "__loader__": "ConstructorFromReduceNode",
                "content": {
                    "__class__": "tuple",
                    "__module__": "builtins",
                    "__loader__": "TupleNode",
                    "content": [
                        {
                            "__class__": "str",
                            "__module__": "builtins",
                            "__loader__": "JsonNode",
                            "content": json.dumps(payload),
                            "is_json": True,
                            "__id__": 3,
                        }
                    ],
                    "__id__": 2,
                },
                "__id__": 1,
            }
        },
        "key_types": {
            "__class__": "list",
            "__module__": "builtins",
            "__loader__": "ListNode",
            "content": [
                {
                    "__class__": "str",
                    "__module__": "builtins",
                    "__loader__": "TypeNode",
                    "__id__": 5,
                }
            ],
            "__id__": 4,
        },
        "__id__": 0,
        "protocol": 2,
        "_skops_version": "0.16.0",
    }
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("schema.json", json.dumps(schema))
    return path


def test_code_running_skops_file_is_reported_as_builtins_exec(tmp_path):
    path = code_running_skops_file(tmp_path / "exec.skops", tmp_path / "ran.txt")
    assert sio.get_untrusted_types(file=path) == ["builtins.exec"]


def test_load_model_refuses_a_file_that_runs_code(tmp_path):
    marker = tmp_path / "ran.txt"
    path = code_running_skops_file(tmp_path / "exec.skops", marker)
    try:
        with pytest.raises(ModelLoadError, match=r"builtins\.exec"):
            load_model(path)
    finally:
        assert not marker.exists(), "load_model executed code from the model file"


def test_load_model_missing_file_names_it(tmp_path):
    with pytest.raises(ModelLoadError, match=r"no model at .*absent\.skops"):
        load_model(tmp_path / "absent.skops")


# --- read_model_rows, sparse one-hot --------------------------------------------------------


def test_read_model_rows_reads_the_model_columns_in_compact_types(tiny_frame, columns, tmp_path):
    from snakeml.models.estimators import read_model_rows

    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    wide = tiny_frame.assign(unused=["x" * 100] * len(tiny_frame))
    wide.iloc[:4].to_parquet(first)
    wide.iloc[4:].to_parquet(second)
    frame = read_model_rows([first, second], columns, extra=["flight_id"])
    assert list(frame.columns) == [
        "distance",
        "temp",
        "carrier",
        "origin",
        "arr_delay",
        "flight_id",
    ]
    assert frame["distance"].dtype == np.float32
    assert isinstance(frame["carrier"].dtype, pd.CategoricalDtype)
    assert frame["carrier"].tolist() == ["UA", "DL", MISSING_CATEGORY, "UA", "DL", "UA"]
    assert frame["flight_id"].tolist() == [0, 1, 2, 3, 4, 5]
    pd.testing.assert_frame_equal(
        feature_frame(frame, columns), feature_frame(tiny_frame, columns), check_categorical=False
    )
    kept = read_model_rows([first, second], columns, keep=np.array([1, 4, 5]))
    assert kept["arr_delay"].tolist() == [2.0, 5.0, 6.0]


def test_read_model_rows_keeps_rows_in_any_order_across_files_and_row_groups(
    tiny_frame, columns, tmp_path
):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from snakeml.models.estimators import read_model_rows

    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    # Row groups of 2 rows: positions 0-1, 2-3 | 4-5 across the two files.
    pq.write_table(pa.Table.from_pandas(tiny_frame.iloc[:4]), first, row_group_size=2)
    pq.write_table(pa.Table.from_pandas(tiny_frame.iloc[4:]), second, row_group_size=2)
    keep = np.array([5, 0, 3, 2])
    kept = read_model_rows([first, second], columns, extra=["flight_id"], keep=keep)
    assert kept["flight_id"].tolist() == [5, 0, 3, 2]
    everything = read_model_rows([first, second], columns, extra=["flight_id"])
    pd.testing.assert_frame_equal(
        kept, everything.iloc[keep].reset_index(drop=True), check_categorical=False
    )
    assert read_model_rows([first, second], columns, keep=np.array([], dtype=int)).empty
    with pytest.raises(IndexError, match="row 6 asked of 6 rows"):
        read_model_rows([first, second], columns, keep=np.array([1, 6]))


def test_read_model_rows_names_the_missing_column(tiny_frame, columns, tmp_path):
    from snakeml.models.estimators import read_model_rows

    path = tmp_path / "a.parquet"
    tiny_frame.drop(columns="temp").to_parquet(path)
    with pytest.raises(DataError, match=r"lacks the columns \['temp'\]: rebuild the features"):
        read_model_rows([path], columns)


def test_onehot_preprocessing_is_sparse_float32(model_spec, synthetic_frame, columns):
    import scipy.sparse

    pipeline = build_pipeline(model_spec("ridge"), columns, {}, REGRESSION)
    x = feature_frame(synthetic_frame, columns)
    encoded = pipeline.named_steps["preprocess"].fit_transform(x)
    assert scipy.sparse.issparse(encoded)
    assert encoded.dtype == np.float32


def test_ordinal_preprocessing_is_dense_float32(model_spec, synthetic_frame, columns):
    pipeline = build_pipeline(model_spec("rf"), columns, {}, REGRESSION)
    x = feature_frame(synthetic_frame, columns)
    encoded = pipeline.named_steps["preprocess"].fit_transform(x)
    assert isinstance(encoded, np.ndarray) and encoded.dtype == np.float32
