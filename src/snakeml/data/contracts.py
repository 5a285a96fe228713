"""Data contracts: declared columns, types, nulls, keys and ranges, checked with DuckDB.

A violation raises ContractError with one line naming the rule, table, column and how many rows
offend. Checks run before anything is written (raw tables on entry) or on the temporary file
before it is renamed (tables on exit), so a violation leaves no output behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from snakeml.core.errors import DataError
from snakeml.core.schema import TableConfig
from snakeml.data.dataset import COLUMN_TYPES

if TYPE_CHECKING:
    import duckdb

    from snakeml.data.dataset import Declaration


# DuckDB's floating-point types, whose values may be NaN or infinite.
FLOATING_TYPES = frozenset({"DOUBLE", "FLOAT"})


class ContractError(DataError):
    """A table breaks its data contract."""


@dataclass(frozen=True)
class Contract:
    """What a table promises. A type is a DuckDB type name, or a set of accepted ones."""

    table: str
    types: dict[str, str | frozenset[str]]
    not_null: tuple[str, ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    accepted_values: dict[str, tuple[object, ...]] = field(default_factory=dict)
    # named DuckDB boolean expressions every row must satisfy (null counts as satisfied)
    expressions: dict[str, str] = field(default_factory=dict)
    source: str | None = None  # the file the table was read from, named in errors
    # What to do about a NaN or an infinity in a floating-point column: no model takes one, and a
    # NaN is not a missing value (null) to any check or count.
    not_finite_fix: str = "give NULL for a value that is missing"


def table_contract(name: str, spec: TableConfig, source: str | None = None) -> Contract:
    """The contract a data set (conf/data/<data set>.yaml) declares for its table ``name``,
    declared as ``spec``: its columns' types (the row_id first, a BIGINT) and its checks;
    ``source`` is the file named in a violation. Raises KeyError for a column type the data
    set may not declare (snakeml.data.dataset.check_data refuses it first)."""
    types: dict[str, str | frozenset[str]] = {
        column: COLUMN_TYPES[str(kind).upper()] for column, kind in spec.columns.items()
    }
    if spec.row_id:
        types = {spec.row_id: "BIGINT", **types}
    return Contract(
        table=name,
        types=types,
        not_null=tuple(spec.not_null),
        unique=tuple(tuple(key) for key in spec.unique),
        ranges={c: (b[0], b[1]) for c, b in spec.ranges.items()},
        accepted_values={c: tuple(v) for c, v in spec.accepted_values.items()},
        expressions=dict(spec.expressions),
        source=source,
        not_finite_fix=(
            "leave the cell empty for a missing value, or list its text under "
            f"data.tables.{name}.null_values in conf/data/"
        ),
    )


def feature_contract(declaration: Declaration) -> Contract:
    """What the feature table promises whatever the task: its key, its declared checks.

    The task's own columns (target, time) are checked where the task is known: the split.
    """
    return Contract(
        table="features",
        types={},
        not_null=tuple(dict.fromkeys([*declaration.key, *declaration.not_null])),
        unique=(declaration.key,),
        ranges=dict(declaration.ranges),
        not_finite_fix="make the step's SQL give NULL where the value is missing",
    )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: object) -> str:
    """A SQL literal for an accepted value (declared in YAML: a string, number or boolean)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _one_of(types: frozenset[str]) -> str:
    return "one of " + ", ".join(sorted(types))


def check_contract(
    con: duckdb.DuckDBPyConnection, relation: str, contract: Contract, rule: str
) -> int:
    """Check ``relation`` (a view or table name) against ``contract``; return its row count."""
    import duckdb

    source = f" ({contract.source})" if contract.source else ""

    def fail(column: str, rows: int | None, problem: str) -> ContractError:
        offending = f"{rows} rows {problem}" if rows is not None else problem
        return ContractError(
            f"contract violated in rule {rule}: table {contract.table}{source}, column {column}: "
            f"{offending}"
        )

    described = con.execute(f"describe {_quote(relation)}").fetchall()
    types = {row[0]: row[1] for row in described}
    for column, expected in contract.types.items():
        if column not in types:
            raise fail(column, None, "is missing")
        if isinstance(expected, frozenset):
            if types[column].split("(")[0] not in expected:
                raise fail(column, None, f"is typed {types[column]}, expected {_one_of(expected)}")
        elif types[column] != expected:
            raise fail(column, None, f"is typed {types[column]}, expected {expected}")
    named = [
        *contract.not_null,
        *contract.ranges,
        *contract.accepted_values,
        *(column for key in contract.unique for column in key),
    ]
    for column in named:
        if column not in types:
            raise fail(column, None, "is missing")
    checks: list[tuple[str, str, str]] = []
    for column, kind in types.items():
        if kind in FLOATING_TYPES:
            checks.append(
                (
                    column,
                    f"hold NaN or an infinity, which no model takes ({contract.not_finite_fix})",
                    f"count(*) filter (where not isfinite({_quote(column)}))",
                )
            )
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
    for column, values in contract.accepted_values.items():
        listed = ", ".join(_literal(v) for v in values)
        where = f"{_quote(column)} is not null and {_quote(column)} not in ({listed})"
        checks.append(
            (column, f"hold values not in {list(values)}", f"count(*) filter (where {where})")
        )
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
    # Rules across columns last: they may rely on values the checks above keep in range.
    for name, expression in contract.expressions.items():
        try:
            ((count,),) = con.execute(
                f"select count(*) filter (where not ({expression})) from {_quote(relation)}"
            ).fetchall()
        except duckdb.Error as exc:
            message = " ".join(str(exc).split())
            raise ContractError(
                f"contract of table {contract.table}: the declared expression {name} cannot be "
                f"evaluated: {message}; fix it under expressions: in conf/data/"
            ) from exc
        if count:
            raise fail(name, int(count), f"break the rule {' '.join(expression.split())}")
    return int(total)
