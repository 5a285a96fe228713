"""Batch prediction: score new flights with the champion through the same feature SQL.

New flights come in the shape of data/raw/flights.parquet (parquet or CSV), without outcomes.
Their features are built by the feature SQL over the raw history plus the new flights, where a
new flight has not departed yet: the history supplies what was known at each prediction moment
(earlier departures, the aircraft's last landing, the weather), exactly as for training. The
output keeps the input's identifying columns, in input order, beside the prediction.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from snakeml.columns import ID_COLUMNS
from snakeml.contracts import RAW_CONTRACTS, Contract, check_contract
from snakeml.errors import DataError
from snakeml.features import connect, define_steps, feature_variables, register_inputs
from snakeml.ingest import RAW_SCHEMAS
from snakeml.io import atomic_path

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

# What a new flight must say about itself: its schedule, carrier, aircraft and route.
NEW_FLIGHT_COLUMNS: tuple[str, ...] = (
    "year",
    "month",
    "day",
    "sched_dep_time",
    "sched_arr_time",
    "carrier",
    "flight",
    "tailnum",
    "origin",
    "dest",
    "distance",
    "minute",
    "time_hour",
)
# Outcomes are not known before departure: new flights enter the feature SQL without them.
OUTCOME_COLUMNS: tuple[str, ...] = ("dep_delay", "arr_delay")
SQL_FLIGHT_COLUMNS: tuple[str, ...] = ("flight_id", *NEW_FLIGHT_COLUMNS, *OUTCOME_COLUMNS)
FLIGHT_TYPES: dict[str, pa.DataType] = {
    name: RAW_SCHEMAS["flights"].field(name).type for name in NEW_FLIGHT_COLUMNS
}
NEW_FLIGHTS_CONTRACT = Contract(
    table="new flights",
    types={},
    not_null=tuple(c for c in NEW_FLIGHT_COLUMNS if c != "tailnum"),
    ranges={
        name: bounds
        for name, bounds in RAW_CONTRACTS["flights"].ranges.items()
        if name in NEW_FLIGHT_COLUMNS
    },
)


def _kind(dtype: pa.DataType) -> str:
    if pa.types.is_integer(dtype):
        return "an integer"
    if pa.types.is_timestamp(dtype):
        return "a timestamp with a time zone (UTC)"
    return "a string"


def _matches(dtype: pa.DataType, expected: pa.DataType) -> bool:
    if pa.types.is_integer(expected):
        return pa.types.is_integer(dtype)
    if pa.types.is_timestamp(expected):
        return pa.types.is_timestamp(dtype) and dtype.tz is not None
    return pa.types.is_string(dtype) or pa.types.is_large_string(dtype)


def read_new_flights(path: str | Path) -> pa.Table:
    """Read new flights from parquet or CSV and check that they have the needed columns and types.

    Raises DataError naming the file, the column and what it should be.
    """
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        if path.suffix == ".csv":
            convert = pacsv.ConvertOptions(
                column_types=FLIGHT_TYPES, null_values=["NA", ""], strings_can_be_null=True
            )
            table = pacsv.read_csv(path, convert_options=convert)
        elif path.suffix == ".parquet":
            table = pq.read_table(path)
        else:
            raise DataError(f"{path}: new flights must be a .parquet or .csv file")
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: cannot read the new flights: {exc}") from exc
    missing = [name for name in NEW_FLIGHT_COLUMNS if name not in table.column_names]
    if missing:
        raise DataError(
            f"{path}: new flights lack columns {missing}; they need the columns of "
            f"data/raw/flights.parquet: {', '.join(NEW_FLIGHT_COLUMNS)}"
        )
    for name, dtype in FLIGHT_TYPES.items():
        actual = table.schema.field(name).type
        if not _matches(actual, dtype):
            raise DataError(
                f"{path}: column {name!r} is {actual}, expected {_kind(dtype)} as in "
                "data/raw/flights.parquet"
            )
    if table.num_rows == 0:
        raise DataError(f"{path}: holds no flights to score")
    return table


def typed_flights(table: pa.Table, path: str | Path) -> pa.Table:
    """The columns the feature SQL reads, cast to the raw types, with a row index."""
    try:
        columns = [table[name].cast(dtype) for name, dtype in FLIGHT_TYPES.items()]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise DataError(f"{path}: a column does not fit its raw type: {exc}") from exc
    typed = pa.table(dict(zip(FLIGHT_TYPES, columns, strict=True)))
    return typed.append_column("row_index", pa.array(range(table.num_rows), pa.int64()))


def flight_keys(table: pa.Table) -> list[str]:
    """The input's identifying columns the output keeps."""
    return [name for name in ID_COLUMNS if name in table.column_names]


def new_flight_features(
    new: pa.Table,
    raw: dict[str, str | Path],
    reference: dict[str, str | Path],
    sql_dir: str | Path,
    settings: dict[str, Any],
    threads: int = 1,
    memory_limit_mb: int | None = None,
    rule: str = "predict",
) -> pd.DataFrame:
    """The feature rows of the new flights, in input order, built over the raw history.

    ``new`` holds the raw types and a ``row_index``; new flights get ids after the history's.
    """
    con = connect(threads, memory_limit_mb)
    try:
        register_inputs(con, raw, reference, rule)
        con.register("new_flights", new)
        check_contract(con, "new_flights", NEW_FLIGHTS_CONTRACT, rule)
        con.unregister("raw_flights")
        con.register("history_flights", con.read_parquet(str(raw["flights"])))
        ((first_id,),) = con.execute(
            "select coalesce(max(flight_id), -1) + 1 from history_flights"
        ).fetchall()
        ids = pa.array(range(first_id, first_id + new.num_rows), pa.int64())
        con.register("new_flights_keyed", new.append_column("flight_id", ids))
        history = ", ".join(f"history_flights.{c}" for c in SQL_FLIGHT_COLUMNS)
        arriving = ", ".join(
            [
                *(f"new_flights_keyed.{c}" for c in ("flight_id", *NEW_FLIGHT_COLUMNS)),
                *(f"null::integer as {c}" for c in OUTCOME_COLUMNS),
            ]
        )
        con.execute(
            "create temp view raw_flights as "
            f"select {history} from history_flights "
            f"union all select {arriving} from new_flights_keyed"
        )
        define_steps(con, sql_dir, feature_variables(settings))
        frame = con.execute(
            "select * exclude (flight_id), flight_id - ? as row_index from features "
            "where flight_id >= ? order by flight_id",
            [first_id, first_id],
        ).df()
    finally:
        con.close()
    if len(frame) != len(new):
        raise DataError(f"feature SQL returned {len(frame)} rows for {len(new)} new flights")
    return frame


def score_new_flights(
    new_path: str | Path,
    raw: dict[str, str | Path],
    reference: dict[str, str | Path],
    sql_dir: str | Path,
    model_path: str | Path,
    settings: dict[str, Any],
    output: str | Path,
    threads: int = 1,
    memory_limit_mb: int | None = None,
    rule: str = "predict",
) -> int:
    """Score the flights in ``new_path`` with the champion; write keys and predictions."""
    from snakeml.models import feature_frame, limit_threads, load_model

    flights = read_new_flights(new_path)
    pipeline = load_model(model_path)
    features = new_flight_features(
        typed_flights(flights, new_path),
        raw,
        reference,
        sql_dir,
        settings["features"],
        threads,
        memory_limit_mb,
        rule,
    )
    with limit_threads(threads):
        predicted = pipeline.predict(feature_frame(features, settings["columns"]))
    out = flights.select(flight_keys(flights)).to_pandas()
    out[f"predicted_{settings['columns']['target']}"] = predicted
    with atomic_path(output) as tmp:
        out.to_parquet(tmp, index=False)
    log.info("scored %d new flights from %s with %s", len(out), new_path, model_path)
    return len(out)
