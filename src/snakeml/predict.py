"""Batch prediction: score new rows with the champion through the same feature build.

New rows are rows of the table the data set's declaration names under ``predict.table`` (parquet
or CSV), without their outcomes (``predict.omit``). They are checked against that table's
declared columns, types and checks, added to the history with ids after its own, and the
feature build runs over history plus new rows exactly as for training (blocks included): the
history supplies what was known at each new row's moment. The output keeps the input's id
columns (the task's ``id_columns``), in input order, beside the prediction.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from snakeml.contracts import Contract, check_contract, table_contract
from snakeml.dataset import Declaration, load_declaration, sql_variables
from snakeml.errors import DataError
from snakeml.features import build_rows, connect, register_tables
from snakeml.ingest import ARROW_TYPES
from snakeml.io import atomic_path

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)


def _kind(dtype: pa.DataType) -> str:
    if pa.types.is_integer(dtype):
        return "an integer"
    if pa.types.is_floating(dtype):
        return "a number"
    if pa.types.is_timestamp(dtype):
        return "a timestamp" + (" with a time zone (UTC)" if dtype.tz else "")
    if pa.types.is_date(dtype):
        return "a date"
    if pa.types.is_boolean(dtype):
        return "a boolean"
    return "a string"


def _matches(dtype: pa.DataType, expected: pa.DataType) -> bool:
    if pa.types.is_integer(expected):
        return pa.types.is_integer(dtype)
    if pa.types.is_floating(expected):
        return pa.types.is_integer(dtype) or pa.types.is_floating(dtype)
    if pa.types.is_timestamp(expected):
        return pa.types.is_timestamp(dtype) and (dtype.tz is None) == (expected.tz is None)
    if pa.types.is_date(expected):
        return pa.types.is_date(dtype)
    if pa.types.is_boolean(expected):
        return pa.types.is_boolean(dtype)
    return pa.types.is_string(dtype) or pa.types.is_large_string(dtype)


def new_row_types(spec: dict[str, Any], omit: tuple[str, ...]) -> dict[str, pa.DataType]:
    """The columns a new row must bring, with their declared types."""
    return {
        name: ARROW_TYPES[kind.upper()]
        for name, kind in spec["columns"].items()
        if name not in omit
    }


def read_new_rows(path: str | Path, table: str, types: dict[str, pa.DataType]) -> pa.Table:
    """Read new rows from parquet or CSV; check they have the needed columns and types.

    Raises DataError naming the file, the column and what it should be.
    """
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        if path.suffix == ".csv":
            convert = pacsv.ConvertOptions(
                column_types=types, null_values=["NA", ""], strings_can_be_null=True
            )
            data = pacsv.read_csv(path, convert_options=convert)
        elif path.suffix == ".parquet":
            data = pq.read_table(path)
        else:
            raise DataError(f"{path}: new rows must be a .parquet or .csv file")
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: cannot read the new rows: {exc}") from exc
    missing = [name for name in types if name not in data.column_names]
    if missing:
        raise DataError(
            f"{path}: new rows lack columns {missing}; they need the declared columns of "
            f"table {table}: {', '.join(types)}"
        )
    for name, dtype in types.items():
        actual = data.schema.field(name).type
        if not _matches(actual, dtype):
            raise DataError(
                f"{path}: column {name!r} is {actual}, expected {_kind(dtype)} as declared for "
                f"table {table}"
            )
    if data.num_rows == 0:
        raise DataError(f"{path}: holds no rows to score")
    return data


def typed_rows(data: pa.Table, types: dict[str, pa.DataType], path: str | Path) -> pa.Table:
    """The declared columns a new row brings, cast to their declared types."""
    columns = []
    for name, dtype in types.items():
        try:
            columns.append(data[name].cast(dtype))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise DataError(f"{path}: column {name!r} does not fit {dtype}: {exc}") from exc
    return pa.table(dict(zip(types, columns, strict=True)))


def new_row_features(
    new: pa.Table,
    paths: dict[str, str | Path],
    declaration: Declaration,
    settings: dict[str, Any],
    threads: int = 1,
    memory_limit_mb: int | None = None,
    rule: str = "predict",
) -> pd.DataFrame:
    """The feature rows of ``new``, in input order, built over the history.

    ``new`` holds the declared columns of the prediction table, typed. New rows get ids after
    the history's; the result has a ``row_index`` (0-based input position) instead of the id.
    Raises DataError when a new row breaks its table's checks or makes no feature row.
    """
    import tempfile

    import duckdb
    import pandas as pd

    assert declaration.predict is not None
    table = declaration.predict.table
    spec = settings["data"]["tables"][table]
    row_id = spec["row_id"]
    con = connect(threads, memory_limit_mb)
    try:
        register_tables(con, paths, settings["data"]["tables"], rule)
        contract = table_contract(table, spec, str(paths[table]))
        present = set(new.column_names)
        entering = Contract(
            table=f"new {table}",
            types={},
            not_null=tuple(c for c in contract.not_null if c in present),
            ranges={c: r for c, r in contract.ranges.items() if c in present},
            accepted_values={c: v for c, v in contract.accepted_values.items() if c in present},
            expressions=contract.expressions,
        )
        con.register("new_rows", new)
        check_contract(con, "new_rows", entering, rule)
        history = con.read_parquet(str(paths[table]))
        con.register("history_rows", history)
        ((first_id,),) = con.execute(
            f'select coalesce(max("{row_id}"), -1) + 1 from history_rows'
        ).fetchall()
        ids = pa.array(range(first_id, first_id + new.num_rows), pa.int64())
        con.register("new_rows_keyed", new.append_column(row_id, ids))
        arriving = ", ".join(
            f'new_rows_keyed."{name}"'
            if name in present or name == row_id
            # Outcomes are not known yet: they enter the SQL as nulls of their type.
            else f'null::{kind} as "{name}"'
            for name, kind in zip(history.columns, history.types, strict=True)
        )
        listed = ", ".join(f'"{name}"' for name in history.columns)
        combined = con.sql(
            f"select {listed} from history_rows union all select {arriving} from new_rows_keyed"
        )
        con.register(f"whole_{table}", combined)
        con.register(f"raw_{table}", combined)
        keep = duckdb.ColumnExpression(row_id) >= duckdb.ConstantExpression(first_id)
        variables = sql_variables(settings["features"], declaration)
        with tempfile.TemporaryDirectory(prefix="snakeml-predict-") as folder:
            built = Path(folder) / "rows.parquet"
            build_rows(
                con, declaration, variables, settings["features"].get("block_rows"), keep, built
            )
            frame = pd.read_parquet(built)
    finally:
        con.close()
    if len(frame) != new.num_rows:
        raise DataError(
            f"the feature build made {len(frame)} rows for {new.num_rows} new rows of {table}: "
            "each new row must make one row of the feature table"
        )
    frame = frame.sort_values(row_id, kind="stable").reset_index(drop=True)
    frame["row_index"] = frame.pop(row_id) - first_id
    return frame


def champion_predictions(
    pipeline: Any,
    features: pd.DataFrame,
    settings: dict[str, Any],
    decision_path: str | Path | None = None,
) -> pd.DataFrame:
    """``predicted_<target>``; for a classifier also one probability column per class."""
    from snakeml.models import feature_frame
    from snakeml.task_kinds import REGRESSION, model_predictions
    from snakeml.train import read_decision

    kind = settings.get("kind", REGRESSION)
    decision = read_decision(decision_path) if decision_path else {}
    return model_predictions(
        pipeline,
        feature_frame(features, settings["columns"]),
        kind,
        decision.get("classes"),
        decision.get("threshold"),
        f"predicted_{settings['columns']['target']}",
    )


def score_new_rows(
    new_path: str | Path,
    paths: dict[str, str | Path],
    sql_dir: str | Path,
    model_path: str | Path,
    settings: dict[str, Any],
    output: str | Path,
    threads: int = 1,
    memory_limit_mb: int | None = None,
    rule: str = "predict",
    decision_path: str | Path | None = None,
) -> int:
    """Score the rows in ``new_path`` with the champion; write their ids and predictions.

    ``settings`` is the predict rule's slice (data, features, task, kind, columns, id_columns);
    ``decision_path`` the champion's decision file (a classifier's classes and threshold).
    Returns the number of rows scored. Raises DataError naming the file and column.
    """
    from snakeml.models import limit_threads, load_model

    declaration = load_declaration(sql_dir)
    if declaration.predict is None:
        raise DataError(
            f"data set {declaration.sql_dir.name} declares no predict table in "
            f"{declaration.sql_dir / 'steps.yaml'}: batch prediction is not set up for it"
        )
    table = declaration.predict.table
    spec = settings["data"]["tables"][table]
    types = new_row_types(spec, (*declaration.predict.omit, spec["row_id"]))
    data = read_new_rows(new_path, table, types)
    pipeline = load_model(model_path)
    features = new_row_features(
        typed_rows(data, types, new_path),
        paths,
        declaration,
        settings,
        threads,
        memory_limit_mb,
        rule,
    )
    with limit_threads(threads):
        predicted = champion_predictions(pipeline, features, settings, decision_path)
    keys = [name for name in settings["id_columns"] if name in data.column_names]
    out = data.select(keys).to_pandas()
    for column in predicted.columns:
        out[column] = predicted[column].to_numpy()
    with atomic_path(output) as tmp:
        out.to_parquet(tmp, index=False)
    log.info("scored %d new rows of %s from %s with %s", len(out), table, new_path, model_path)
    return len(out)
