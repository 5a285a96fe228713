"""Models: scikit-learn Pipelines built from config, their search spaces, skops persistence."""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from snakeml.core.errors import ConfigError, DataError, ModelLoadError
from snakeml.core.io import atomic_path, read_parquet_rows

if TYPE_CHECKING:
    import optuna
    from sklearn.pipeline import Pipeline

    from snakeml.core.schema import SearchParam
    from snakeml.core.slices import SearchedModel
    from snakeml.models.task_kinds import TaskKind

log = logging.getLogger(__name__)

MISSING_CATEGORY = "__missing__"
# The numeric model inputs' type: float32, half of float64's memory (see feature_frame).
NUMERIC_DTYPE = np.float32
# The exact types and functions beyond skops' own safe defaults that the configured models
# hold. Anything else in a file is refused on load: a new model family adds its names here.
TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        "functools.partial",
        "numpy.dtype",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.tree._tree.Tree",
        "sklearn.utils.validation.check_array",
    }
)


def model_columns(columns: dict[str, Any], extra: Sequence[str] = ()) -> list[str]:
    """The columns a model rule reads: numerics, categoricals, the target, then ``extra``."""
    wanted = [*columns["numeric"], *columns["categorical"], columns["target"], *extra]
    return list(dict.fromkeys(wanted))


def parquet_rows(paths: Sequence[str | Path]) -> int:
    """The rows of the parquet files at ``paths``, from their footers (nothing else is read)."""
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(path).metadata.num_rows for path in paths)


def read_model_rows(
    paths: Sequence[str | Path],
    columns: dict[str, Any],
    extra: Sequence[str] = (),
    keep: np.ndarray | None = None,
) -> pd.DataFrame:
    """The rows of the parquet files at ``paths``, one after the other, in compact types.

    ``keep`` (positions in that order, as snakeml.validation.split.kept_rows gives them) takes those
    rows only, before any is converted; None keeps every row. Only the model's columns and ``extra``
    are read (parquet column projection). Numerics become float32, categoricals pandas categoricals
    (missing values as MISSING_CATEGORY, each value as text), as feature_frame makes them; the
    target and ``extra`` keep their types. Shape: (rows of all files, len(model_columns(columns,
    extra))). Raises DataError naming the columns a file lacks.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    wanted = model_columns(columns, extra)
    for path in paths:
        missing = [name for name in wanted if name not in pq.read_schema(path).names]
        if missing:
            raise DataError(f"{path} lacks the columns {missing}: rebuild the features")
    if keep is None:
        table = pa.concat_tables([pq.read_table(path, columns=wanted) for path in paths])
    else:
        table = read_parquet_rows(paths, wanted, keep)
    numeric, categorical = set(columns["numeric"]), set(columns["categorical"])
    out = {}
    for name in wanted:
        if name in numeric:
            out[name] = _numeric(table[name], name)
        elif name in categorical:
            out[name] = _categorical(table[name])
        else:
            out[name] = table[name].to_pandas()
        table = table.drop_columns([name])  # each column's memory goes once it is converted
    return pd.DataFrame(out)


def _numeric(column: Any, name: str) -> np.ndarray:
    import pyarrow as pa

    if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
        raise DataError(f"feature column {name!r} is not numeric: it holds {column.type}")
    return column.to_numpy().astype(NUMERIC_DTYPE)


def _categorical(column: Any) -> pd.Categorical:
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        values = pd.Series(column.to_pandas(), dtype="object")
        return pd.Categorical(values.where(values.notna(), MISSING_CATEGORY).astype(str))
    encoded = pc.fill_null(column, MISSING_CATEGORY).combine_chunks().dictionary_encode()
    categories = pd.Index(encoded.dictionary.to_pylist(), dtype="object")
    return pd.Categorical.from_codes(encoded.indices.to_numpy(), categories=categories)


def feature_frame(frame: pd.DataFrame, columns: dict[str, Any]) -> pd.DataFrame:
    """The model's input (rows, numerics + categoricals) in config order: numerics as float32,
    categoricals as pandas categoricals of text, MISSING_CATEGORY for a missing value.

    float32 holds every value of the features exactly enough (7 significant digits) at half the
    memory; the categorical codes take 1 or 2 bytes a row instead of a Python string each.
    Columns already in these types (read_model_rows) are not copied. Raises DataError for a
    missing or non-numeric column.
    """
    wanted = [*columns["numeric"], *columns["categorical"]]
    missing = [name for name in wanted if name not in frame.columns]
    if missing:
        raise DataError(f"input data lacks feature columns {missing}: rebuild the features")
    out = {}
    for name in columns["numeric"]:
        try:
            out[name] = pd.to_numeric(frame[name], errors="raise").astype(NUMERIC_DTYPE)
        except (TypeError, ValueError) as exc:
            raise DataError(f"feature column {name!r} is not numeric: {exc}") from exc
    for name in columns["categorical"]:
        values = frame[name]
        if isinstance(values.dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(
            values.cat.categories
        ):
            if values.isna().any():
                if MISSING_CATEGORY not in values.cat.categories:
                    values = values.cat.add_categories([MISSING_CATEGORY])
                values = values.fillna(MISSING_CATEGORY)
            out[name] = values
            continue
        values = values.astype("object").where(values.notna(), MISSING_CATEGORY)
        out[name] = values.astype(str).astype("category")
    return pd.DataFrame(out, index=frame.index)


def target_vector(frame: pd.DataFrame, columns: dict[str, Any], kind: TaskKind) -> np.ndarray:
    """The target (rows,): float64 for regression, the labels as they are for classifiers.

    Rows without a target are a data error.
    """
    target = columns["target"]
    if target not in frame.columns:
        raise DataError(f"input data lacks the target column {target!r}")
    return kind.target_values(frame[target], target)


def estimator_class(target: str, kind: TaskKind | None) -> type:
    """Import the estimator class named by ``_target_`` and check it can do a ``kind`` task.

    ``kind`` None imports it without that check. Raises ConfigError.
    """
    module_name, _, class_name = target.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"model _target_ {target!r} cannot be imported: {exc}") from exc
    if not isinstance(cls, type):
        raise ConfigError(f"model _target_ {target!r} is not a class")
    if kind is not None:
        kind.check_estimator(cls(), target)
    return cls


# Estimators that still accept n_jobs but ignore it; setting it only warns. scikit-learn 1.8
# deprecated LogisticRegression's n_jobs ("has no effect since 1.8", removed in 1.10).
N_JOBS_WITHOUT_EFFECT = frozenset({"sklearn.linear_model.LogisticRegression"})


def build_pipeline(
    model: SearchedModel,
    columns: dict[str, Any],
    params: dict[str, Any],
    kind: TaskKind,
    threads: int = 1,
    seed: int = 0,
) -> Pipeline:
    """A Pipeline of the model's preprocessing and its estimator with ``params`` applied.

    ``model`` is a slice's model (its estimator ``_target_``, ``preprocessing`` and fixed
    ``params``), ``columns`` the model inputs ({"target", "numeric", "categorical"}), ``params``
    the tuned parameters, over the fixed ones.

    ``onehot``: numerics imputed (median, plus missing indicators) and standardised beside
    sparse one-hot categoricals, a scipy CSR matrix of float32. ``ordinal``: categorical codes
    (float32, NaN for unknown or missing) then the numerics as they are, dense; an estimator
    with ``categorical_features`` (HistGradientBoosting) is told which columns are codes.
    Raises ConfigError for a parameter the estimator does not have.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    numeric, categorical = list(columns["numeric"]), list(columns["categorical"])
    cls = estimator_class(model._target_, kind)
    arguments = {**model.params, **params}
    accepted = cls().get_params()
    unknown = sorted(set(arguments) - set(accepted))
    if unknown:
        raise ConfigError(f"model.{model.name}: {cls.__name__} has no parameters {unknown}")
    if "n_jobs" in accepted and model._target_ not in N_JOBS_WITHOUT_EFFECT:
        arguments["n_jobs"] = threads
    if "random_state" in accepted and "random_state" not in arguments:
        arguments["random_state"] = seed
    if model.preprocessing == "onehot":
        # Sparse one-hot columns (a row holds one 1 per categorical): a linear model accepts
        # scipy sparse input, and a dense one-hot table costs rows x categories x 8 bytes.
        # sparse_threshold=1 keeps the output sparse whenever a value is zero.
        preprocess = ColumnTransformer(
            [
                (
                    "num",
                    make_pipeline(
                        SimpleImputer(strategy="median", add_indicator=True), StandardScaler()
                    ),
                    numeric,
                ),
                (
                    "cat",
                    OneHotEncoder(
                        handle_unknown="infrequent_if_exist",
                        min_frequency=20,
                        sparse_output=True,
                        dtype=NUMERIC_DTYPE,
                    ),
                    categorical,
                ),
            ],
            sparse_threshold=1.0,
        )
    else:
        preprocess = ColumnTransformer(
            [
                (
                    "cat",
                    OrdinalEncoder(
                        handle_unknown="use_encoded_value",
                        unknown_value=np.nan,
                        encoded_missing_value=np.nan,
                        dtype=NUMERIC_DTYPE,
                    ),
                    categorical,
                ),
                ("num", "passthrough", numeric),
            ]
        )
        if "categorical_features" in accepted and categorical:
            arguments.setdefault("categorical_features", list(range(len(categorical))))
    return Pipeline([("preprocess", preprocess), ("model", cls(**arguments))])


def suggest_params(trial: optuna.Trial, search_space: dict[str, SearchParam]) -> dict[str, Any]:
    """Draw one value per searched parameter from the trial (the schema's SearchParam each)."""
    params: dict[str, Any] = {}
    for name, spec in search_space.items():
        if spec.type == "float":
            params[name] = trial.suggest_float(name, spec.low, spec.high, log=spec.log)
        elif spec.type == "int":
            params[name] = trial.suggest_int(name, int(spec.low), int(spec.high), log=spec.log)
        else:
            params[name] = trial.suggest_categorical(name, list(spec.choices or ()))
    return params


@contextlib.contextmanager
def limit_threads(threads: int) -> Iterator[None]:
    """Give OpenMP pools the rule's threads and BLAS one, so --cores is honoured.

    BLAS runs on one thread whatever the rule's threads: a multi-threaded BLAS splits its sums
    by thread count, so a linear model fitted with 2 threads differs in the last bits from one
    fitted with 1 (ridge's test metrics at 1e-12), and results would depend on --cores.
    OpenMP (the histogram gradient boosting) and joblib (n_jobs) give the same numbers at any
    thread count.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits={"openmp": max(1, int(threads)), "blas": 1}):
        yield


# skops names a file's members and shared objects after object ids (``__id__``) and stamps
# members with the time. Numbering them in order and a fixed time make equal models equal
# files, so a retrained but unchanged model does not show up as changed data (DVC, manifest).
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
SKOPS_SCHEMA = "schema.json"


def _renumbered(node: Any, ids: dict[int, int], files: dict[str, str]) -> Any:
    """The schema with object ids numbered in order of appearance and members renamed."""
    if isinstance(node, list):
        return [_renumbered(item, ids, files) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "__id__" and isinstance(value, int):
            out[key] = ids.setdefault(value, len(ids))
        elif key == "file" and isinstance(value, str) and value in files:
            out[key] = files[value]
        else:
            out[key] = _renumbered(value, ids, files)
    return out


def save_model(pipeline: Pipeline, target: str | Path) -> None:
    """Save with skops (no pickle), atomically, with the same bytes for the same model."""
    import json
    import zipfile

    import skops.io as sio

    with zipfile.ZipFile(io.BytesIO(sio.dumps(pipeline))) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    arrays = [name for name in members if name != SKOPS_SCHEMA]
    files = {name: f"array{index:04d}{Path(name).suffix}" for index, name in enumerate(arrays)}
    schema = _renumbered(json.loads(members[SKOPS_SCHEMA]), {}, files)
    with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for name in arrays:
            out.writestr(zipfile.ZipInfo(files[name], date_time=ZIP_EPOCH), members[name])
        text = json.dumps(schema, indent=2)
        out.writestr(zipfile.ZipInfo(SKOPS_SCHEMA, date_time=ZIP_EPOCH), text.encode())


def load_model(path: str | Path) -> Pipeline:
    """Load a skops file that holds a Pipeline, trusting only the types listed above."""
    import skops.io as sio
    from sklearn.pipeline import Pipeline

    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"no model at {path}: run the train rule first")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # skops raises what zipfile, json or its loaders raise
        raise ModelLoadError(_unreadable(path, exc)) from exc
    refused = sorted(set(untrusted) - TRUSTED_TYPES)
    if refused:
        raise ModelLoadError(
            f"{path} holds types snakeml does not trust: {refused}; if the model is yours and "
            "expected, add them to snakeml.models.estimators.TRUSTED_TYPES"
        )
    try:
        model = sio.load(path, trusted=untrusted)
    except Exception as exc:
        raise ModelLoadError(_unreadable(path, exc)) from exc
    if not isinstance(model, Pipeline):
        raise ModelLoadError(f"{path} holds a {type(model).__name__}, not a scikit-learn Pipeline")
    return model


def _unreadable(path: Path, exc: BaseException) -> str:
    reason = " ".join(str(exc).split())[:200] or type(exc).__name__
    return (
        f"{path} cannot be loaded ({type(exc).__name__}: {reason}): it is damaged, truncated or "
        f"saved by other library versions; retrain: rerun snakemake with --forcerun {path}"
    )
