"""The look-ahead audit: the feature SQL rebuilt from tables cut in time, against the full build.

A feature of a row may use only what was known at the row's moment. Then removing every raw row
that became known at or after a moment C leaves unchanged the features of every row known
before C. The audit checks exactly that, at a few cuts spread over the table's time: each
time-stamped table is cut at the column ``audit.known_at`` in steps.yaml declares for it
(``where <column> < C``, a DuckDB view; a table that declares none holds no time and is kept
whole), the data set's steps run over the cut tables with the feature engine's own code, and
the rows known last before the cut (``audit.rows_per_cut``, where a look-ahead shows first) are
compared, feature by feature, with the full build. A forward or centred window, ``lead()``, an
aggregate over a whole table or group, or a join to a later row all change such a row.

A data set built in blocks (``blocks:`` in steps.yaml) is rebuilt as one block of moments
ending at the cut, holding about ``rows_per_cut`` rows, reading the history its declared reach
asks for; the carried state before that block is computed from the cut tables by the declared
carry step, cut after cut in time order. The audit then costs a fraction of the full build.

Any difference stops the run with one line naming the columns, the SQL step that makes them
(the earliest step whose output changes under the cut), one row's key, the cut, and the fix. A
feature known in advance although it reads later rows (a calendar of holidays, say) is declared
under ``audit.safe`` with the reason, and is listed in the record, not compared.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snakeml.core.errors import DataError
from snakeml.core.slices import AuditSlice
from snakeml.data.dataset import DECLARATION, Declaration, load_declaration, sql_variables
from snakeml.data.features import (
    WHOLE,
    Block,
    bind_variables,
    carry_forward,
    connect,
    create_carry,
    define_steps,
    expose_tables,
    narrow_to_span,
    raw_span,
    reach,
)

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

AUDIT_ROWS = "audit_rows"
FULL_BUILD = "full_build"
# Numbers are equal within this relative (and absolute) tolerance: a window's sum may add the
# same values in another order when fewer rows surround it.
TOLERANCE = 1e-9
FIX = (
    "end the window before the row's moment (a feature may read only rows known before it), "
    "or declare the column under audit.safe in {steps} with the reason it is known in advance"
)
OFF = "the look-ahead audit was turned off (audit.enabled=false): no feature was checked"


class LookAheadError(DataError):
    """A feature changes when rows known after a row's moment are removed: it looks ahead."""


def audit_features(
    paths: dict[str, str | Path],
    sql_dir: str | Path,
    features_path: str | Path,
    cfg: AuditSlice,
    threads: int = 1,
    memory_limit_mb: int | None = None,
) -> dict[str, Any]:
    """Audit a data set's features for look-ahead; return the audit's record.

    ``paths`` maps each declared table to its parquet file, ``features_path`` is the full
    build (results/features/features.parquet), ``cfg`` the audit rule's slice
    (snakeml.core.slices.AuditSlice: ``data``, ``features``, ``audit``: enabled, rows_per_cut,
    cut_fractions). The record says whether the audit ran, which tables were cut at which
    column and which hold no time, each cut's moment and rows compared, and the columns
    declared safe with their reasons. Raises
    LookAheadError, one line, naming the columns that change, their SQL step, a row's key, the
    cut and the fix; DataError for a missing table.
    """
    declaration = load_declaration(sql_dir)
    audit = cfg.audit
    tables = list(cfg.data.tables)
    if not audit.enabled:
        log.warning("%s", OFF)
        return {"enabled": False, "audited": False, "note": OFF}
    spec = declaration.audit
    if spec is None:
        note = (
            f"no table declares when its rows become known (audit.known_at in "
            f"{declaration.sql_dir / DECLARATION}): the data set has no time to cut"
        )
        log.info("%s", note)
        return {"enabled": True, "audited": False, "note": note, "tables_without_time": tables}
    variables = sql_variables(cfg.features, declaration)
    compared = [f.name for f in declaration.features if f.name not in spec.safe]
    con = connect(threads, memory_limit_mb)
    try:
        expose_tables(con, paths, cfg.data.tables)
        con.register(FULL_BUILD, con.read_parquet(str(features_path)))
        moments = cut_moments(con, spec.time, audit.cut_fractions)
        carried: list[Block | None] = [None]  # the block the carry table was brought up to
        counts = []
        for index, moment in enumerate(moments):
            _build_cut(con, declaration, variables, moment, audit.rows_per_cut, carried)
            counts.append(_keep_last_rows(con, declaration, audit.rows_per_cut, index))
        # One pass over the full build compares the rows of every cut.
        found = _compare(con, declaration, compared)
        for index, moment in enumerate(moments):
            if index in found:
                differing, example = found[index]
                # Rebuilt to tell which step makes the difference: only when there is one.
                carried[0] = None
                block = _build_cut(con, declaration, variables, moment, audit.rows_per_cut, carried)
                steps = _steps_of(con, declaration, variables, differing, block, index)
                raise LookAheadError(
                    _message(declaration, moment, differing, steps, example, counts[index])
                )
            log.info(
                "cut at %s: %d rows known before it, every feature unchanged", moment, counts[index]
            )
        cuts = [
            {"moment": str(moment), "rows_compared": rows}
            for moment, rows in zip(moments, counts, strict=True)
        ]
    finally:
        con.close()
    return {
        "enabled": True,
        "audited": True,
        "tables_cut": dict(spec.known_at),
        "tables_without_time": [t for t in tables if t not in spec.known_at],
        "rows_per_cut": audit.rows_per_cut,
        "cuts": cuts,
        "features_compared": len(compared),
        "safe": dict(spec.safe),
    }


def cut_moments(
    con: duckdb.DuckDBPyConnection, time: str, fractions: list[float]
) -> list[date | datetime]:
    """The moments at ``fractions`` of the full build's rows in order of column ``time``.

    Distinct, in time order. Raises DataError when the column holds no time at all.
    """
    ((moments,),) = con.execute(
        f'select quantile_disc("{time}", ?::double[]) from {FULL_BUILD}', [sorted(fractions)]
    ).fetchall()
    if moments is None or any(moment is None for moment in moments):
        raise DataError(f"audit.time {time!r}: the feature table holds no time to cut at")
    return sorted(set(moments))


def _cut_tables(
    con: duckdb.DuckDBPyConnection, declaration: Declaration, moment: date | datetime | None
) -> None:
    """Register ``cut_<table>`` and ``raw_<table>``: each time-stamped table's rows known
    before ``moment`` (every row when None); the other tables stay whole."""
    import duckdb

    assert declaration.audit is not None
    for table, column in declaration.audit.known_at.items():
        rows = con.table(f"whole_{table}")
        if moment is not None:
            known = duckdb.ColumnExpression(column) < duckdb.ConstantExpression(moment)
            rows = rows.filter(known)
        con.register(f"cut_{table}", rows)
        con.register(f"raw_{table}", rows)


def _build_cut(
    con: duckdb.DuckDBPyConnection,
    declaration: Declaration,
    variables: dict[str, Any],
    moment: date | datetime,
    rows_per_cut: int,
    carried: list[Block | None],
) -> Block:
    """Define the steps over the tables cut at ``moment``; return the block built.

    Whole for a data set without blocks; else one block of moments ending at the cut, holding
    about ``rows_per_cut`` rows, after bringing the carried state up to its start (``carried``
    holds the block the carry table was last brought up to, updated here).
    """
    _cut_tables(con, declaration, moment)
    blocks = declaration.blocks
    if blocks is None:
        define_steps(con, declaration, variables)
        return WHOLE
    bind_variables(con, variables)  # the declared moment and reach read them
    count, first, last = con.execute(
        f"select count(*), min({blocks.moment}), max({blocks.moment}) from raw_{blocks.table}"
    ).fetchall()[0]
    end = _as_instant(moment)
    width = (last - first) * min(1.0, rows_per_cut / max(count, 1)) if count else timedelta(0)
    start = end - max(width, timedelta(seconds=1))
    back, ahead = reach(con, declaration)
    if blocks.carry is not None:
        before = carried[0]
        if before is None or before[1] is None or before[1] > start:
            create_carry(con, declaration)  # nothing carried yet, or past this block: restart
            before = None
        step: Block = (None if before is None else before[1], start)
        narrow_to_span(con, declaration, raw_span(step, back, ahead), f"cut_{blocks.table}")
        define_steps(con, declaration, variables, step, materialize=False)
        carry_forward(con, declaration)
        carried[0] = step
    block: Block = (start, end)
    narrow_to_span(con, declaration, raw_span(block, back, ahead), f"cut_{blocks.table}")
    define_steps(con, declaration, variables, block)
    return block


def _as_instant(moment: date | datetime) -> datetime:
    """A cut as an instant (a date is its midnight, UTC), to bound a block of moments."""
    if isinstance(moment, datetime):
        return moment
    from datetime import UTC

    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def _keep_last_rows(
    con: duckdb.DuckDBPyConnection, declaration: Declaration, limit: int, cut: int
) -> int:
    """Add to the audit's rows the ``limit`` rows of the cut build placed last in time, marked
    with the cut's index; return how many."""
    assert declaration.audit is not None
    time = declaration.audit.time
    order = ", ".join(f'"{k}" desc' for k in declaration.key)
    last = (
        f"select ?::integer as audit_cut, * from {declaration.steps[-1]} "
        f'where "{time}" is not null order by "{time}" desc, {order} limit ?'
    )
    if cut == 0:
        con.execute(f"create or replace temp table {AUDIT_ROWS} as {last}", [cut, limit])
    else:
        con.execute(f"insert into {AUDIT_ROWS} {last}", [cut, limit])
    ((rows,),) = con.execute(
        f"select count(*) from {AUDIT_ROWS} where audit_cut = ?", [cut]
    ).fetchall()
    return int(rows)


def _same(column: str, numeric: bool, left: str, right: str) -> str:
    """SQL: the column holds the same value in ``left`` and ``right`` (nulls equal)."""
    a, b = f'{left}."{column}"', f'{right}."{column}"'
    if numeric:
        return (
            f"({a} is not distinct from {b} or "
            f"coalesce(abs({a} - {b}) <= {TOLERANCE} + {TOLERANCE} * abs({b}), false))"
        )
    return f"({a} is not distinct from {b})"


NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL")


def differing_columns(
    con: duckdb.DuckDBPyConnection,
    rows: str,
    reference: str,
    key: list[str] | tuple[str, ...],
    columns: list[str],
) -> tuple[dict[str, int], dict[str, Any] | None]:
    """How many rows of relation ``rows`` differ from the row of ``reference`` with the same
    ``key`` in each of ``columns`` (numbers within a relative 1e-9; nulls equal; a key
    ``reference`` lacks differs everywhere), and the key of one differing row, or None.

    Returns only the columns that differ. Relation and column names must be checked names.
    """
    numeric = _numeric_columns(con, rows)
    using = ", ".join(f'"{k}"' for k in key)
    joined = f"{rows} left join {reference} using ({using})"
    sames = [_same(c, c in numeric, rows, reference) for c in columns]
    counts = ", ".join(f"count(*) filter (where not {same})" for same in sames)
    (found,) = con.execute(f"select {counts} from {joined}").fetchall()
    differing = {c: int(n) for c, n in zip(columns, found, strict=True) if n}
    if not differing:
        return {}, None
    keys = ", ".join(f'{rows}."{k}"' for k in key)
    any_differs = " or ".join(
        f"not {same}" for c, same in zip(columns, sames, strict=True) if c in differing
    )
    row = con.execute(f"select {keys} from {joined} where {any_differs} limit 1").fetchall()[0]
    return differing, dict(zip(key, row, strict=True))


def _numeric_columns(con: duckdb.DuckDBPyConnection, relation: str) -> set[str]:
    return {
        name
        for name, kind, *_ in con.execute(f"describe {relation}").fetchall()
        if str(kind).upper().startswith(NUMERIC)
    }


def _compare(
    con: duckdb.DuckDBPyConnection, declaration: Declaration, columns: list[str]
) -> dict[int, tuple[list[str], dict[str, Any]]]:
    """Per cut whose kept rows differ from the full build: the differing columns and one
    differing row (its key and time; the latest). Cuts without a difference are left out."""
    assert declaration.audit is not None
    numeric = _numeric_columns(con, AUDIT_ROWS)
    key = ", ".join(f'"{k}"' for k in declaration.key)
    sames = {c: _same(c, c in numeric, AUDIT_ROWS, FULL_BUILD) for c in columns}
    time = declaration.audit.time
    # A row the full build lacks differs in every column.
    con.execute(
        f"create or replace temp table audit_differs as select {AUDIT_ROWS}.audit_cut, "
        + ", ".join(f'{AUDIT_ROWS}."{k}"' for k in declaration.key)
        + f', {AUDIT_ROWS}."{time}" as audit_time, '
        + ", ".join(f"not {same} as differs_{i}" for i, same in enumerate(sames.values()))
        + f" from {AUDIT_ROWS} left join {FULL_BUILD} using ({key})"
    )
    counts = ", ".join(f"count(*) filter (where differs_{i})" for i in range(len(columns)))
    found: dict[int, tuple[list[str], dict[str, Any]]] = {}
    for cut, *per_column in con.execute(
        f"select audit_cut, {counts} from audit_differs group by audit_cut order by audit_cut"
    ).fetchall():
        differing = [c for c, n in zip(columns, per_column, strict=True) if n]
        if not differing:
            continue
        any_differs = " or ".join(f"differs_{columns.index(c)}" for c in differing)
        row = con.execute(
            f"select {key}, audit_time from audit_differs where audit_cut = ? "
            f"and ({any_differs}) order by audit_time desc limit 1",
            [cut],
        ).fetchall()[0]
        key_values = dict(zip(declaration.key, row[:-1], strict=True))
        found[cut] = (differing, {"key": key_values, "time": row[-1]})
    return found


def _steps_of(
    con: duckdb.DuckDBPyConnection,
    declaration: Declaration,
    variables: dict[str, Any],
    columns: list[str],
    block: Block,
    cut: int,
) -> dict[str, list[str]]:
    """The SQL step that makes each differing column: the earliest step keyed like the table
    whose output of that column changes under the cut (the same block rebuilt uncut), else the
    earliest that outputs it. Returns {step: [columns]} in step order."""
    key = ", ".join(f'"{k}"' for k in declaration.key)
    outputs: dict[str, list[str]] = {}
    saved = []
    for step in declaration.steps:
        made = {row[0] for row in con.execute(f"describe {step}").fetchall()}
        outputs[step] = [c for c in columns if c in made]
        if set(declaration.key) <= made and outputs[step]:
            listed = ", ".join(f'"{c}"' for c in outputs[step])
            con.execute(
                f"create or replace temp table audit_step_{step} as select {key}, {listed} "
                f"from {step} semi join (select {key} from {AUDIT_ROWS} where audit_cut = ?) "
                f"using ({key})",
                [cut],
            )
            saved.append(step)
    _cut_tables(con, declaration, None)
    if declaration.blocks is not None:
        back, ahead = reach(con, declaration)
        source = f"cut_{declaration.blocks.table}"
        narrow_to_span(con, declaration, raw_span(block, back, ahead), source)
    define_steps(con, declaration, variables, block)
    found: dict[str, str] = {}
    for step in saved:
        numeric = _numeric_columns(con, f"audit_step_{step}")
        for column in outputs[step]:
            if column in found:
                continue
            same = _same(column, column in numeric, f"audit_step_{step}", "uncut")
            ((n,),) = con.execute(
                f"select count(*) filter (where not {same}) from audit_step_{step} "
                f'left join (select {key}, "{column}" from {step}) as uncut using ({key})'
            ).fetchall()
            if n:
                found[column] = step
    for column in columns:
        if column not in found:
            found[column] = next(
                (s for s in declaration.steps if column in outputs[s]), declaration.steps[-1]
            )
    by_step: dict[str, list[str]] = {}
    for step in declaration.steps:
        named = [c for c in columns if found[c] == step]
        if named:
            by_step[step] = named
    return by_step


def _message(
    declaration: Declaration,
    moment: date | datetime,
    columns: list[str],
    steps: dict[str, list[str]],
    example: dict[str, Any] | None,
    rows: int,
) -> str:
    """The one line a look-ahead stops the run with."""
    where = "; ".join(
        f"{', '.join(names)} ({declaration.sql_dir / f'{step}.sql'})"
        for step, names in steps.items()
    )
    row = ""
    if example is not None:
        key = ", ".join(f"{k}={v}" for k, v in example["key"].items())
        row = f", e.g. the row {key} at {example['time']}"
    return (
        f"look-ahead: {len(columns)} feature(s) change when the rows known from {moment} on "
        f"are removed, among the {rows} rows known last before it{row}: {where}; "
        + FIX.format(steps=declaration.sql_dir / DECLARATION)
    )
