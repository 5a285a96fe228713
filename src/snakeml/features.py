"""Features: DuckDB runs the SQL steps in sql/ over the raw tables, checked on entry and exit.

Each step file defines one view named after it; later steps read earlier ones. Runtime values
reach DuckDB as bound parameters (``set variable name = ?``, read with ``getvariable``); table,
view and variable names come from the fixed lists below, never from configuration.
"""

from __future__ import annotations

import logging
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
    if values["horizon_minutes"] < 0:
        raise DataError(f"horizon_minutes must be >= 0, got {values['horizon_minutes']}")
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
    con: duckdb.DuckDBPyConnection, sql_dir: str | Path, variables: dict[str, int | float]
) -> None:
    """Bind the variables, then create one view per step file, in order."""
    for name in VARIABLES:
        con.execute(f"set variable {name} = ?", [variables[name]])
    for step in FEATURE_STEPS:
        sql = (Path(sql_dir) / f"{step}.sql").read_text(encoding="utf-8")
        con.execute(f"create or replace temp view {step} as {sql}")


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
    con = connect(threads, memory_limit_mb)
    try:
        rows = register_inputs(con, raw, reference, rule)
        define_steps(con, sql_dir, feature_variables(settings))
        target = settings["target"]
        if target not in TARGETS:
            raise DataError(f"unknown target {target!r}; known: {list(TARGETS)}")
        with atomic_path(output) as tmp:
            # Only flights with a target can be learnt from: cancelled or diverted ones are not.
            con.table("features").filter(f'"{target}" is not null').write_parquet(
                str(tmp), compression="zstd"
            )
            con.register("written", con.read_parquet(str(tmp)))
            kept = check_contract(con, "written", feature_contract(settings["target"]), rule)
    finally:
        con.close()
    counts = {"flights": rows["flights"], "rows": kept, "no_arrival_delay": rows["flights"] - kept}
    log.info(
        "features: %d of %d flights kept; %d cancelled or diverted (no arrival delay) left out",
        counts["rows"],
        counts["flights"],
        counts["no_arrival_delay"],
    )
    return counts
