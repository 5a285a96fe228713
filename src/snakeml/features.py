"""Features: DuckDB runs the SQL steps in sql/ over the raw tables, checked on entry and exit.

Each step file defines one view named after it (flights_timed a table); later steps read earlier
ones. Runtime values reach DuckDB as bound parameters (``set variable name = ?``, read with
``getvariable``); table, view and variable names come from the fixed lists below, never from
configuration.

Large inputs are built in blocks of prediction moments, in time order, so DuckDB's memory stays
bounded and its work grows linearly with the rows. A block reads the raw flights of its own span
plus the history its windows reach back to; each aircraft's last landing before the block is
carried from block to block (sql/carry_landings.sql), so the result does not depend on the
blocks (a test checks it).
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snakeml.columns import TARGETS
from snakeml.contracts import RAW_CONTRACTS, check_contract, feature_contract
from snakeml.errors import DataError
from snakeml.io import atomic_path

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

RAW_INPUTS: tuple[str, ...] = ("flights", "weather", "planes", "airports")
# Reference tables kept in git, by name: path from the project's root, then column types.
REFERENCE_FILES: dict[str, str] = {
    "holidays": "data/reference/us_federal_holidays.csv",
    "airport_timezones": "data/reference/airport_timezones.csv",
}
REFERENCE_INPUTS: dict[str, dict[str, str]] = {
    "holidays": {"date": "DATE", "name": "VARCHAR"},
    "airport_timezones": {"faa": "VARCHAR", "tzone": "VARCHAR"},
}
FEATURE_STEPS: tuple[str, ...] = (
    "flights_timed",
    "calendar",
    "landings",
    "aircraft_history",
    "congestion",
    "weather_at_departure",
    "features",
)
VARIABLES: tuple[str, ...] = (
    "horizon_minutes",
    "window_short_minutes",
    "window_day_minutes",
    "window_week_minutes",
    "weather_change_minutes",
    "delay_quantile",
)
# A block's prediction moments are [block_from, block_to); None is unbounded.
Block = tuple[datetime | None, datetime | None]
WHOLE: Block = (None, None)
# How far before a block's first moment its raw flights must start: legs_today looks
# LEGS_LOOKBACK back (bound to the SQL as legs_lookback), and delays are within two days either
# way (the raw contract) while a scheduled flight lasts under two days (zones included), so a
# departure or landing in reach was scheduled at most three days before it.
LEGS_LOOKBACK = timedelta(days=3)
SCHEDULE_MARGIN = timedelta(days=3)


def feature_variables(settings: dict[str, Any]) -> dict[str, int | float]:
    """The SQL variables from the features config slice."""
    windows = settings["windows"]
    values: dict[str, int | float] = {
        "horizon_minutes": int(settings["horizon_minutes"]),
        "window_short_minutes": int(windows["short"]),
        "window_day_minutes": int(windows["day"]),
        "window_week_minutes": int(windows["week"]),
        "weather_change_minutes": int(settings["weather_change_minutes"]),
        "delay_quantile": float(settings["delay_quantile"]),
    }
    for name in ("horizon_minutes", "weather_change_minutes"):
        if values[name] < 0:
            raise DataError(f"features.{name}: must be >= 0, got {values[name]}")
    return values


def connect(threads: int, memory_limit_mb: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection honouring the rule's threads and memory."""
    import duckdb

    config: dict[str, str | int] = {"threads": max(1, int(threads))}
    if memory_limit_mb is not None:
        config["memory_limit"] = f"{int(memory_limit_mb)}MB"
    con = duckdb.connect(config=config)
    con.execute("set timezone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    # The steps' ASOF joins run over whole tables: never as nested loops, which the optimizer
    # would pick for them when a filter makes it expect a few rows.
    con.execute("set asof_loop_join_threshold = 0")
    return con


def register_inputs(
    con: duckdb.DuckDBPyConnection,
    raw: dict[str, str | Path],
    reference: dict[str, str | Path],
    rule: str = "features",
) -> dict[str, int]:
    """Expose raw tables as ``raw_<table>``, reference CSVs as ``ref_<name>``; check contracts."""
    rows: dict[str, int] = {}
    for table in RAW_INPUTS:
        if table not in raw or not Path(raw[table]).is_file():
            raise DataError(f"raw table {table!r} missing: run the ingest rule first")
        con.register(f"raw_{table}", con.read_parquet(str(raw[table])))
        rows[table] = check_contract(con, f"raw_{table}", RAW_CONTRACTS[table], rule)
    for name, columns in REFERENCE_INPUTS.items():
        if name not in reference or not Path(reference[name]).is_file():
            raise DataError(f"reference table {name!r} missing under data/reference/")
        con.register(f"ref_{name}", con.read_csv(str(reference[name]), dtype=columns))
    return rows


def define_steps(
    con: duckdb.DuckDBPyConnection,
    sql_dir: str | Path,
    variables: dict[str, int | float],
    block: Block = WHOLE,
) -> None:
    """Bind the variables, then create one view per step file, in order, for one block.

    flights_timed is made a table: every later step reads it, and a view would recompute its
    time zones for each. ``landed_before`` starts empty (nothing carried).
    """
    for name in VARIABLES:
        con.execute(f"set variable {name} = ?", [variables[name]])
    con.execute("set variable block_from = ?::timestamptz", [block[0] or "-infinity"])
    con.execute("set variable block_to = ?::timestamptz", [block[1] or "infinity"])
    con.execute("set variable legs_lookback = ?::interval", [LEGS_LOOKBACK])
    for step in FEATURE_STEPS:
        sql = (Path(sql_dir) / f"{step}.sql").read_text(encoding="utf-8")
        kind = "table" if step == "flights_timed" else "view"
        con.execute(f"create or replace temp {kind} {step} as {sql}")
        if step == "flights_timed":
            con.execute(
                "create temp table if not exists landed_before as "
                "select tailnum, actual_arr_utc, arr_delay from flights_timed where false"
            )


def plan_blocks(
    con: duckdb.DuckDBPyConnection, variables: dict[str, int | float], block_flights: int
) -> list[Block]:
    """Equal spans of prediction moments holding about ``block_flights`` flights each."""
    count, first, last = con.execute(
        "select count(*), min(time_hour + to_minutes(minute)), max(time_hour + to_minutes(minute))"
        " from raw_flights"
    ).fetchall()[0]
    blocks = math.ceil(count / block_flights) if count else 1
    if blocks <= 1:
        return [WHOLE]
    horizon = timedelta(minutes=variables["horizon_minutes"])
    step = (last - first) / blocks
    cuts = [first - horizon + step * i for i in range(1, blocks)]
    return list(zip([None, *cuts], [*cuts, None], strict=True))


def raw_span(block: Block, variables: dict[str, int | float]) -> Block:
    """The scheduled departure hours (time_hour) a block must read: its rows and history."""
    longest = max(variables[f"window_{name}_minutes"] for name in ("short", "day", "week"))
    back = max(timedelta(minutes=longest), LEGS_LOOKBACK) + SCHEDULE_MARGIN
    ahead = timedelta(minutes=variables["horizon_minutes"]) + timedelta(days=1, hours=1)
    return (
        None if block[0] is None else block[0] - back,
        None if block[1] is None else block[1] + ahead,
    )


def write_features(
    raw: dict[str, str | Path],
    reference: dict[str, str | Path],
    sql_dir: str | Path,
    output: str | Path,
    settings: dict[str, Any],
    threads: int = 1,
    memory_limit_mb: int | None = None,
    rule: str = "features",
) -> dict[str, int]:
    """Build the feature table, check its contract, and write it to ``output`` as parquet."""
    target = settings["target"]
    if target not in TARGETS:
        raise DataError(f"unknown target {target!r}; known: {list(TARGETS)}")
    block_flights = int(settings["block_flights"])
    if block_flights < 1:
        raise DataError(f"features.block_flights: must be >= 1, got {block_flights}")
    variables = feature_variables(settings)
    con = connect(threads, memory_limit_mb)
    try:
        rows = register_inputs(con, raw, reference, rule)
        blocks = plan_blocks(con, variables, block_flights)
        with atomic_path(output) as tmp:
            if len(blocks) == 1:
                define_steps(con, sql_dir, variables)
                _kept(con, target).write_parquet(str(tmp), compression="zstd")
            else:
                _write_blocks(con, Path(raw["flights"]), sql_dir, variables, blocks, target, tmp)
            con.register("written", con.read_parquet(str(tmp)))
            kept = check_contract(con, "written", feature_contract(target), rule)
    finally:
        con.close()
    counts = {"flights": rows["flights"], "rows": kept, "no_arrival_delay": rows["flights"] - kept}
    log.info(
        "features: %d of %d flights kept; %d cancelled or diverted (no arrival delay) left out;"
        " built in %d block(s)",
        counts["rows"],
        counts["flights"],
        counts["no_arrival_delay"],
        len(blocks),
    )
    return counts


def _kept(con: duckdb.DuckDBPyConnection, target: str) -> duckdb.DuckDBPyRelation:
    """Only flights with a target can be learnt from: cancelled or diverted ones are not."""
    import duckdb

    return con.table("features").filter(duckdb.ColumnExpression(target).isnotnull())


def _write_blocks(
    con: duckdb.DuckDBPyConnection,
    flights: Path,
    sql_dir: str | Path,
    variables: dict[str, int | float],
    blocks: list[Block],
    target: str,
    output: Path,
) -> None:
    """Build block after block, appending each to one parquet file; carry the last landings.

    A block's rows are written by a second thread while DuckDB builds the next block: the
    writer encodes on one core, and DuckDB leaves part of the other idle. At most one built
    block waits for the writer, which bounds the memory this takes.
    """
    from concurrent.futures import Future, ThreadPoolExecutor, wait

    import duckdb
    import pyarrow.parquet as pq

    carry = (Path(sql_dir) / "carry_landings.sql").read_text(encoding="utf-8")
    all_flights = con.read_parquet(str(flights))
    time_hour = duckdb.ColumnExpression("time_hour")
    writer = None
    written: Future[None] | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="features-writer") as pool:
        try:
            for block in blocks:
                first, last = raw_span(block, variables)
                span = all_flights
                if first is not None:
                    span = span.filter(time_hour >= duckdb.ConstantExpression(first))
                if last is not None:
                    span = span.filter(time_hour < duckdb.ConstantExpression(last))
                con.register("raw_flights", span)
                define_steps(con, sql_dir, variables, block)
                rows = _kept(con, target).to_arrow_table()
                if writer is None:
                    writer = pq.ParquetWriter(output, rows.schema, compression="zstd")
                if written is not None:
                    written.result()
                written = pool.submit(writer.write_table, rows)
                if block[1] is not None:
                    con.execute(f"create or replace temp table landed_next as {carry}")
                    con.execute("drop table landed_before")
                    con.execute("alter table landed_next rename to landed_before")
            if written is not None:
                written.result()
        finally:
            if written is not None:
                wait([written])  # never close the file under a running write
            if writer is not None:
                writer.close()
