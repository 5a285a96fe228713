"""Features: DuckDB runs a data set's SQL steps over its tables, checked on entry and exit.

The steps, their order and the table they make are declared in sql/<data set>/steps.yaml
(snakeml.data.dataset). Each step file defines one view named after it (a table when declared under
``materialize``); later steps read earlier ones; the last is the feature table. The data set's
tables are visible as ``raw_<table>``. Runtime values reach DuckDB as bound parameters (``set
variable name = ?``, read with ``getvariable``); view, table and variable names come from the
checked declaration, never from free text.

A data set that declares ``blocks`` is built in blocks of moments, in time order, so DuckDB's
memory stays bounded and its work grows linearly with the rows. A block reads the rows of its
blocks table within its own span widened by the declared reach back and ahead; state the steps
need from earlier blocks is carried from block to block by the declared carry step, so the
result does not depend on the blocks (a test checks it on real data).

Training and batch prediction run this same engine (snakeml.prediction.predict adds the new rows to
the history and keeps their rows of the table).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snakeml.core.errors import DataError
from snakeml.core.io import atomic_path
from snakeml.core.schema import TableConfig
from snakeml.core.slices import FeaturesSlice
from snakeml.data.contracts import check_contract, feature_contract, table_contract
from snakeml.data.dataset import Declaration, load_declaration, sql_variables

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

# A block's moments are [block_from, block_to); None is unbounded.
Block = tuple[datetime | None, datetime | None]
WHOLE: Block = (None, None)
BUILT = "built_rows"


def connect(threads: int, memory_limit_mb: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection honouring the rule's threads and memory."""
    import duckdb

    config: dict[str, str | int] = {"threads": max(1, int(threads))}
    if memory_limit_mb is not None:
        config["memory_limit"] = f"{int(memory_limit_mb)}MB"
    con = duckdb.connect(config=config)
    con.execute("set timezone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    # ASOF joins over whole tables: never as nested loops, which the optimizer would pick for
    # them when a filter makes it expect a few rows.
    con.execute("set asof_loop_join_threshold = 0")
    return con


def register_tables(
    con: duckdb.DuckDBPyConnection,
    paths: dict[str, str | Path],
    tables: Mapping[str, TableConfig],
    rule: str = "features",
) -> dict[str, int]:
    """Expose each declared table's parquet file (``paths``) as ``raw_<table>``; check it
    against the contract ``tables`` declares for it.

    Returns the row count of each table. Raises DataError naming a missing file, ContractError
    (named for ``rule``) a broken check.
    """
    expose_tables(con, paths, tables)
    rows: dict[str, int] = {}
    for table, spec in tables.items():
        contract = table_contract(table, spec, str(paths[table]))
        rows[table] = check_contract(con, f"raw_{table}", contract, rule)
    return rows


def expose_tables(
    con: duckdb.DuckDBPyConnection,
    paths: dict[str, str | Path],
    tables: Mapping[str, TableConfig],
) -> None:
    """Expose each declared table's parquet file as ``raw_<table>`` and ``whole_<table>``,
    without checking it. Raises DataError naming a missing file."""
    for table in tables:
        path = paths.get(table)
        if path is None or not Path(path).is_file():
            raise DataError(f"table {table!r} missing at {path}: run the ingest rule first")
        relation = con.read_parquet(str(path))
        # whole_<table> stays the whole table while blocks narrow raw_<table> to their span.
        con.register(f"whole_{table}", relation)
        con.register(f"raw_{table}", relation)


def bind_variables(
    con: duckdb.DuckDBPyConnection, variables: dict[str, Any], block: Block = WHOLE
) -> None:
    """Set each SQL variable, and the block's bounds, as bound parameters."""
    for name, value in variables.items():
        con.execute(f"set variable {name} = ?", [value])
    con.execute("set variable block_from = ?::timestamptz", [block[0] or "-infinity"])
    con.execute("set variable block_to = ?::timestamptz", [block[1] or "infinity"])


def create_carry(con: duckdb.DuckDBPyConnection, declaration: Declaration) -> None:
    """The carried state before the first block: an empty table of the declared columns."""
    from snakeml.data.dataset import COLUMN_TYPES

    if declaration.blocks is None or declaration.blocks.carry is None:
        return
    carry = declaration.blocks.carry
    columns = ", ".join(f'"{name}" {COLUMN_TYPES[kind]}' for name, kind in carry.columns.items())
    con.execute(f"create or replace temp table {carry.table} ({columns})")


def define_steps(
    con: duckdb.DuckDBPyConnection,
    declaration: Declaration,
    variables: dict[str, Any],
    block: Block = WHOLE,
    materialize: bool = True,
) -> None:
    """Bind the variables, then create one view (or table) per step, in order, for one block.

    Raises DataError naming the SQL file and DuckDB's message when a step fails.
    """
    import duckdb

    bind_variables(con, variables, block)
    for step in declaration.steps:
        path = declaration.sql_dir / f"{step}.sql"
        sql = path.read_text(encoding="utf-8")
        kind = "table" if materialize and step in declaration.materialize else "view"
        _drop(con, step)
        try:
            con.execute(f"create temp {kind} {step} as {sql}")
        except duckdb.Error as exc:
            message = " ".join(str(exc).split())
            raise DataError(f"{path}: the SQL step {step} fails: {message}") from exc


def _drop(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop the view or table ``name`` if it exists (a step may change from one to the other)."""
    import duckdb

    for kind in ("view", "table"):
        try:
            con.execute(f"drop {kind} if exists {name}")
        except duckdb.CatalogException:
            continue


def check_final_columns(con: duckdb.DuckDBPyConnection, declaration: Declaration) -> None:
    """The last step makes exactly the declared columns: key, other columns and features."""
    last = declaration.steps[-1]
    made = [row[0] for row in con.execute(f"describe {last}").fetchall()]
    declared = declaration.final_columns
    where = declaration.sql_dir / f"{last}.sql"
    missing = [c for c in declared if c not in made]
    if missing:
        raise DataError(
            f"{where}: the table lacks declared columns {missing}: produce them in the SQL "
            f"or remove them from {declaration.sql_dir / 'steps.yaml'}"
        )
    extra = [c for c in made if c not in declared]
    if extra:
        raise DataError(
            f"{where}: the table has undeclared columns {extra}: declare each under features "
            f"(kind, family) or columns in {declaration.sql_dir / 'steps.yaml'}, or drop it"
        )


def carry_forward(con: duckdb.DuckDBPyConnection, declaration: Declaration) -> None:
    """Remake the carried state from the block just defined: the declared carry step's rows
    replace the carry table (nothing to do when the data set declares no carry)."""
    if declaration.blocks is None or declaration.blocks.carry is None:
        return
    carry = declaration.blocks.carry
    sql = (declaration.sql_dir / carry.sql).read_text(encoding="utf-8")
    next_table = f"{carry.table}_next"
    con.execute(f"create or replace temp table {next_table} as {sql}")
    con.execute(f"drop table {carry.table}")
    con.execute(f"alter table {next_table} rename to {carry.table}")


def narrow_to_span(
    con: duckdb.DuckDBPyConnection, declaration: Declaration, span: Block, source: str
) -> None:
    """Register ``raw_<blocks table>`` as the rows of relation ``source`` whose declared time
    column lies in ``span`` (a block's rows and the history it reads, see raw_span)."""
    import duckdb

    assert declaration.blocks is not None
    spec = declaration.blocks
    rows = con.table(source)
    time = duckdb.ColumnExpression(spec.time)
    if span[0] is not None:
        rows = rows.filter(time >= duckdb.ConstantExpression(span[0]))
    if span[1] is not None:
        rows = rows.filter(time < duckdb.ConstantExpression(span[1]))
    con.register(f"raw_{spec.table}", rows)


def plan_blocks(
    con: duckdb.DuckDBPyConnection, declaration: Declaration, block_rows: int | None
) -> list[Block]:
    """Equal spans of moments holding about ``block_rows`` rows of the blocks table each."""
    blocks = declaration.blocks
    if blocks is None or block_rows is None:
        return [WHOLE]
    count, first, last = con.execute(
        f"select count(*), min({blocks.moment}), max({blocks.moment}) from raw_{blocks.table}"
    ).fetchall()[0]
    n_blocks = math.ceil(count / block_rows) if count else 1
    if n_blocks <= 1:
        return [WHOLE]
    step = (last - first) / n_blocks
    cuts = [first + step * i for i in range(1, n_blocks)]
    return list(zip([None, *cuts], [*cuts, None], strict=True))


def reach(con: duckdb.DuckDBPyConnection, declaration: Declaration) -> tuple[timedelta, timedelta]:
    """How far before and after its moments a block must read (the declared SQL intervals)."""
    assert declaration.blocks is not None
    back, ahead = con.execute(
        f"select ({declaration.blocks.reach_back})::interval, "
        f"({declaration.blocks.reach_ahead})::interval"
    ).fetchall()[0]
    return back, ahead


def raw_span(block: Block, reach_back: timedelta, reach_ahead: timedelta) -> Block:
    """The span of the blocks table's time column a block must read: its rows and history."""
    return (
        None if block[0] is None else block[0] - reach_back,
        None if block[1] is None else block[1] + reach_ahead,
    )


def prepare(
    con: duckdb.DuckDBPyConnection, declaration: Declaration, variables: dict[str, Any]
) -> None:
    """Check the steps before any costly work: each one compiles, the table has its columns."""
    create_carry(con, declaration)
    define_steps(con, declaration, variables, materialize=False)
    check_final_columns(con, declaration)


def build_rows(
    con: duckdb.DuckDBPyConnection,
    declaration: Declaration,
    variables: dict[str, Any],
    block_rows: int | None,
    keep: duckdb.Expression,
    output: Path,
) -> tuple[int, int, int]:
    """Build the table (in blocks when declared) and write the rows ``keep`` selects to parquet.

    ``raw_<table>`` must be registered. Returns (rows built, rows written, blocks).
    """
    prepare(con, declaration, variables)
    blocks = plan_blocks(con, declaration, block_rows)
    if len(blocks) == 1:
        define_steps(con, declaration, variables)
        built, kept = _materialize(con, declaration, keep)
        con.table(BUILT).filter(keep).write_parquet(str(output), compression="zstd")
        return built, kept, 1
    built, kept = _write_blocks(con, declaration, variables, blocks, keep, output)
    return built, kept, len(blocks)


def _materialize(
    con: duckdb.DuckDBPyConnection, declaration: Declaration, keep: duckdb.Expression
) -> tuple[int, int]:
    """Store the last step's rows once; count them and those ``keep`` selects."""
    con.execute(f"create or replace temp table {BUILT} as select * from {declaration.steps[-1]}")
    ((built, kept),) = (
        con.table(BUILT).aggregate(f"count(*), count(*) filter (where {keep})").fetchall()
    )
    return int(built), int(kept)


def write_features(
    paths: dict[str, str | Path],
    sql_dir: str | Path,
    output: str | Path,
    cfg: FeaturesSlice,
    threads: int = 1,
    memory_limit_mb: int | None = None,
    rule: str = "features",
) -> dict[str, int]:
    """Build the feature table of a data set, check its contract, write it as parquet.

    ``paths`` maps each declared table to its parquet file; ``cfg`` is the features rule's
    slice (snakeml.core.slices.FeaturesSlice: ``data``, ``features``): no task, so every task
    of the data set reads the same table (the split leaves out the rows without the task's
    target). Returns {"rows": rows written}. Raises DataError (one line naming the file, table
    or column) on bad data or a failing step.
    """
    import duckdb

    declaration = load_declaration(sql_dir)
    variables = sql_variables(cfg.features, declaration)
    con = connect(threads, memory_limit_mb)
    try:
        rows = register_tables(con, paths, cfg.data.tables, rule)
        every_row = duckdb.ConstantExpression(True)
        with atomic_path(output) as tmp:
            built, _, blocks = build_rows(
                con, declaration, variables, cfg.features["block_rows"], every_row, tmp
            )
            if built == 0:
                raise DataError(
                    f"the SQL of {declaration.sql_dir} made no rows from tables with "
                    f"{rows} rows: check the raw data and the steps' filters"
                )
            con.register("written", con.read_parquet(str(tmp)))
            check_contract(con, "written", feature_contract(declaration), rule)
    finally:
        con.close()
    log.info("features: %d rows built in %d block(s)", built, blocks)
    return {"rows": built}


def _write_blocks(
    con: duckdb.DuckDBPyConnection,
    declaration: Declaration,
    variables: dict[str, Any],
    blocks: list[Block],
    keep: duckdb.Expression,
    output: Path,
) -> tuple[int, int]:
    """Build block after block, appending each to one parquet file; carry the declared state.

    A block's rows are written by a second thread while DuckDB builds the next block: the
    writer encodes on one core, and DuckDB leaves part of the other idle. At most one built
    block waits for the writer, which bounds the memory this takes.
    """
    from concurrent.futures import Future, ThreadPoolExecutor, wait

    import pyarrow.parquet as pq

    spec = declaration.blocks
    assert spec is not None
    reach_back, reach_ahead = reach(con, declaration)
    writer = None
    written: Future[None] | None = None
    built = kept = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="features-writer") as pool:
        try:
            for block in blocks:
                span = raw_span(block, reach_back, reach_ahead)
                narrow_to_span(con, declaration, span, f"whole_{spec.table}")
                define_steps(con, declaration, variables, block)
                block_built, block_kept = _materialize(con, declaration, keep)
                built, kept = built + block_built, kept + block_kept
                rows = con.table(BUILT).filter(keep).to_arrow_table()
                if writer is None:
                    writer = pq.ParquetWriter(output, rows.schema, compression="zstd")
                if written is not None:
                    written.result()
                written = pool.submit(writer.write_table, rows)
                if block[1] is not None:
                    carry_forward(con, declaration)
            if written is not None:
                written.result()
        finally:
            if written is not None:
                wait([written])  # never close the file under a running write
            if writer is not None:
                writer.close()
            con.register(f"raw_{spec.table}", con.table(f"whole_{spec.table}"))
    return built, kept
