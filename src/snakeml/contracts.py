"""Data contracts: declared columns, types, nulls, keys and ranges, checked with DuckDB.

A violation raises ContractError with one line naming the rule, table, column and how many rows
offend. Checks run before anything is written (raw tables on entry) or on the temporary file
before it is renamed (tables on exit), so a violation leaves no output behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from snakeml.errors import DataError

if TYPE_CHECKING:
    import duckdb


class ContractError(DataError):
    """A table breaks its data contract."""


@dataclass(frozen=True)
class Contract:
    table: str
    types: dict[str, str]
    not_null: tuple[str, ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)


INT, BIGINT, TEXT, FLOAT, UTC = "INTEGER", "BIGINT", "VARCHAR", "DOUBLE", "TIMESTAMP WITH TIME ZONE"

RAW_CONTRACTS: dict[str, Contract] = {
    "flights": Contract(
        table="flights",
        types={
            "flight_id": BIGINT,
            "year": INT,
            "month": INT,
            "day": INT,
            "sched_dep_time": INT,
            "sched_arr_time": INT,
            "dep_delay": INT,
            "arr_delay": INT,
            "carrier": TEXT,
            "flight": INT,
            "tailnum": TEXT,
            "origin": TEXT,
            "dest": TEXT,
            "distance": INT,
            "minute": INT,
            "time_hour": UTC,
        },
        not_null=(
            "flight_id",
            "year",
            "month",
            "day",
            "sched_dep_time",
            "sched_arr_time",
            "carrier",
            "flight",
            "origin",
            "dest",
            "distance",
            "minute",
            "time_hour",
        ),
        unique=(("flight_id",),),
        ranges={
            "month": (1, 12),
            "day": (1, 31),
            "sched_dep_time": (0, 2359),
            "sched_arr_time": (0, 2400),
            "minute": (0, 59),
            "distance": (1, 10000),
            "dep_delay": (-1440, 2880),
            "arr_delay": (-1440, 2880),
        },
    ),
    "weather": Contract(
        table="weather",
        types={
            "origin": TEXT,
            "time_hour": UTC,
            "temp": FLOAT,
            "dewp": FLOAT,
            "humid": FLOAT,
            "wind_dir": INT,
            "wind_speed": FLOAT,
            "wind_gust": FLOAT,
            "precip": FLOAT,
            "pressure": FLOAT,
            "visib": FLOAT,
        },
        not_null=("origin", "time_hour"),
        unique=(("origin", "time_hour"),),
        ranges={"humid": (0, 100), "wind_dir": (0, 360), "visib": (0, 100), "precip": (0, 50)},
    ),
    "planes": Contract(
        table="planes",
        types={"tailnum": TEXT, "year": INT, "seats": INT, "engines": INT, "engine": TEXT},
        not_null=("tailnum",),
        unique=(("tailnum",),),
        ranges={"year": (1900, 2100), "seats": (1, 1000), "engines": (0, 10)},
    ),
    "airports": Contract(
        table="airports",
        types={"faa": TEXT, "tzone": TEXT},
        not_null=("faa",),
        unique=(("faa",),),
    ),
    "airlines": Contract(
        table="airlines",
        types={"carrier": TEXT, "name": TEXT},
        not_null=("carrier",),
        unique=(("carrier",),),
    ),
}


def feature_contract(target: str) -> Contract:
    """What the feature table promises: one row per flight, a target, no look-ahead."""
    return Contract(
        table="features",
        types={"flight_id": BIGINT, "time_hour": UTC, target: INT},
        not_null=(
            "flight_id",
            target,
            "carrier",
            "origin",
            "dest",
            "time_hour",
            "day_of_week",
            "sched_dep_minute_of_day",
            "days_to_holiday",
            "tz_diff_hours",
        ),
        unique=(("flight_id",),),
        ranges={
            # Point-in-time guards: anything observed after the prediction moment would show
            # up as a negative age or a turnaround shorter than the horizon.
            "weather_age_minutes": (0, None),
            "turnaround_slack_minutes": (0, None),
            "legs_today": (0, None),
            "days_to_holiday": (0, 366),
        },
    )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def check_contract(
    con: duckdb.DuckDBPyConnection, relation: str, contract: Contract, rule: str
) -> int:
    """Check ``relation`` (a view or table name) against ``contract``; return its row count."""

    def fail(column: str, rows: int | None, problem: str) -> ContractError:
        offending = f"{rows} rows {problem}" if rows is not None else problem
        return ContractError(
            f"contract violated in rule {rule}: table {contract.table}, column {column}: "
            f"{offending}"
        )

    described = con.execute(f"describe {_quote(relation)}").fetchall()
    types = {row[0]: row[1] for row in described}
    for column, expected in contract.types.items():
        if column not in types:
            raise fail(column, None, "is missing")
        if types[column] != expected:
            raise fail(column, None, f"is typed {types[column]}, expected {expected}")
    checks: list[tuple[str, str, str]] = []
    for column in contract.not_null:
        checks.append((column, "are null", f"count(*) filter (where {_quote(column)} is null)"))
    for column, (low, high) in contract.ranges.items():
        conditions = []
        if low is not None:
            conditions.append(f"{_quote(column)} < {float(low)!r}")
        if high is not None:
            conditions.append(f"{_quote(column)} > {float(high)!r}")
        where = " or ".join(conditions)
        checks.append((column, f"lie outside [{low}, {high}]", f"count(*) filter (where {where})"))
    for key in contract.unique:
        columns = ", ".join(_quote(c) for c in key)
        checks.append(
            (
                "(" + ", ".join(key) + ")",
                "repeat a key that must be unique",
                f"count(*) - count(distinct ({columns}))",
            )
        )
    select = ", ".join(["count(*)", *(sql for _, _, sql in checks)])
    ((total, *counts),) = con.execute(f"select {select} from {_quote(relation)}").fetchall()
    for (column, problem, _), count in zip(checks, counts, strict=True):
        if count:
            raise fail(column, int(count), problem)
    return int(total)
