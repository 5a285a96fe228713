"""Features: run the SQL in sql/ with DuckDB over the raw parquet tables."""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb

from snakeml.columns import FEATURE_COLUMNS, ID_COLUMNS, TARGETS
from snakeml.errors import DataError
from snakeml.io import atomic_path

log = logging.getLogger(__name__)

FEATURE_INPUTS: tuple[str, ...] = ("flights", "weather", "planes")


def connect(threads: int, memory_limit_mb: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection honouring the rule's threads and memory."""
    con = duckdb.connect(config={"threads": max(1, int(threads))})
    con.execute("set timezone = 'UTC'")
    if memory_limit_mb is not None:
        con.execute(f"set memory_limit = '{int(memory_limit_mb)}MB'")
    return con


def register_raw_tables(con: duckdb.DuckDBPyConnection, raw: dict[str, str | Path]) -> None:
    """Expose each raw parquet file as view ``raw_<table>``; names come from a fixed list."""
    missing = sorted(set(FEATURE_INPUTS) - set(raw))
    if missing:
        raise DataError(f"feature build needs raw tables {missing}: add them to the rule's input")
    for table in FEATURE_INPUTS:
        path = Path(raw[table])
        if not path.is_file():
            raise DataError(f"raw table {table!r} missing at {path}: run the ingest rule first")
        con.register(f"raw_{table}", con.read_parquet(str(path)))


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list[str] | None = None) -> int:
    ((value,),) = con.execute(sql, params or []).fetchall()
    return int(value)


def build_features(
    con: duckdb.DuckDBPyConnection, sql_file: str | Path, horizon_minutes: int
) -> duckdb.DuckDBPyRelation:
    """Run the feature SQL with its runtime values bound as parameters."""
    if horizon_minutes < 0:
        raise DataError(f"horizon_minutes must be >= 0, got {horizon_minutes}")
    sql = Path(sql_file).read_text(encoding="utf-8")
    return con.sql(sql, params={"horizon_minutes": int(horizon_minutes)})


def write_features(
    raw: dict[str, str | Path],
    sql_file: str | Path,
    output: str | Path,
    horizon_minutes: int,
    threads: int = 1,
    memory_limit_mb: int | None = None,
) -> dict[str, int]:
    """Build the feature table and write it to ``output`` as parquet; return row counts."""
    con = connect(threads, memory_limit_mb)
    try:
        register_raw_tables(con, raw)
        flights = _count(con, "select count(*) from raw_flights")
        relation = build_features(con, sql_file, horizon_minutes)
        expected = set(ID_COLUMNS) | set(FEATURE_COLUMNS) | set(TARGETS)
        missing = sorted(expected - set(relation.columns))
        if missing:
            raise DataError(f"{Path(sql_file).name} does not produce columns {missing}")
        with atomic_path(output) as tmp:
            relation.write_parquet(str(tmp), compression="zstd")
        rows = _count(con, "select count(*) from read_parquet(?)", [str(output)])
    finally:
        con.close()
    counts = {"flights": flights, "rows": rows, "dropped": flights - rows}
    log.info(
        "features: %d of %d flights kept; %d cancelled or diverted (no arrival delay) left out",
        counts["rows"],
        counts["flights"],
        counts["dropped"],
    )
    return counts
