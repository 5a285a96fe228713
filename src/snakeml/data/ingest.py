"""Ingest: a data set's declared tables, read from their files, typed, checked, into parquet.

Each table of conf/data/<name>.yaml is read from its CSV or parquet file(s) (one file or a glob,
under the project or inside an installed package), keeps exactly its declared columns with their
declared types, gets its optional surrogate ``row_id``, and is checked against its declared
contract before it is written. A file that lacks a declared column, a value that does not parse
as its column's type, a table without rows or a broken check stops the rule with one line naming
the file, table and column, and nothing is written.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import zipfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import pyarrow as pa

from snakeml.core.errors import ConfigError, DataError
from snakeml.core.io import write_parquet
from snakeml.core.schema import TableConfig
from snakeml.data.contracts import Contract, check_contract, table_contract
from snakeml.data.dataset import table_files

log = logging.getLogger(__name__)

# The Arrow type each declared column type is read as.
ARROW_TYPES: dict[str, pa.DataType] = {
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "VARCHAR": pa.string(),
    "BOOLEAN": pa.bool_(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
}

# DuckDB reads a parquet file in parallel by row groups: with pyarrow's default of about a million
# rows, the 336,776 rows of a large table would be one row group, scanned by one thread in every
# rule.
RAW_ROW_GROUP_ROWS = 65_536


def arrow_schema(spec: TableConfig) -> pa.Schema:
    """The declared columns of table ``spec`` as an Arrow schema (without its row_id). Raises
    KeyError for a column type the data set may not declare."""
    return pa.schema([(name, ARROW_TYPES[kind.upper()]) for name, kind in spec.columns.items()])


def _open_text(path: Path) -> io.BufferedIOBase:
    """A CSV file, or the one CSV inside a .zip, opened for reading bytes."""
    if path.suffix == ".zip":
        archive = zipfile.ZipFile(path)
        members = [n for n in archive.namelist() if n.endswith(".csv")]
        if len(members) != 1:
            raise DataError(f"{path}: a zipped table must hold exactly one .csv file")
        return archive.open(members[0])  # type: ignore[return-value]
    return path.open("rb")


def _csv_header(path: Path) -> list[str]:
    with _open_text(path) as handle:
        first = io.TextIOWrapper(handle, encoding="utf-8", newline="").readline()
    header = next(csv.reader([first]), [])
    if not header:
        raise DataError(
            f"{path}: the file is empty (not even a header); put the table's rows there, or "
            "fix the table's path in conf/data/"
        )
    return header


def _named_column(message: str, header: list[str]) -> str:
    """Arrow numbers CSV columns ("column #3"); name them as the file's header does."""

    def name(match: re.Match[str]) -> str:
        index = int(match.group(1))
        return f"column {header[index]!r}" if 0 <= index < len(header) else match.group(0)

    return re.sub(r"column #(\d+)", name, message)


CONVERSION_ERROR = re.compile(
    r"CSV column #(\d+): CSV conversion error to [^:]+: invalid value '(.*)'"
)


# What to change when a CSV value does not convert: in a table to ingest, the value or the type
# the data set declares; in new rows to score, the value (the model takes the declared types).
TABLE_FIX = "fix the value or the column's type in conf/data/"
NEW_ROWS_FIX = "fix the value: new rows take the column types the data set declares in conf/data/"


def _where_invalid(
    path: Path, message: str, header: list[str], schema: pa.Schema, fix: str | None
) -> str:
    """Where Arrow's unconvertible CSV value is (its line) and what to change, for the message:
    ``fix``, or (None) the value or the declared type, for a table to ingest.

    Arrow names the column and the value only: the column is read again as text to find the
    value's first line (the header is line 1; a quoted value holding line breaks shifts it).
    """
    import pyarrow.csv as pacsv

    match = CONVERSION_ERROR.search(message)
    if match is None or not 0 <= int(match.group(1)) < len(header):
        return f" ({fix or TABLE_FIX})"
    name, value = header[int(match.group(1))], match.group(2)
    line = ""
    try:
        with _open_text(path) as handle:
            text = pacsv.read_csv(
                handle,
                convert_options=pacsv.ConvertOptions(
                    column_types={name: pa.string()}, include_columns=[name]
                ),
            )[name].to_pylist()
        line = f" on line {text.index(value) + 2}"
    except (pa.ArrowInvalid, ValueError):
        pass
    dtype = schema.field(name).type if name in schema.names else None
    timely = dtype is not None and (pa.types.is_date(dtype) or pa.types.is_timestamp(dtype))
    if fix is None:
        fix = (
            "fix the value, or give the column's format under formats: in conf/data/ "
            "(e.g. '%m/%d/%Y')"
            if timely
            else TABLE_FIX
        )
    return f"{line} ({fix})"


def csv_value_error(
    path: Path, error: pa.ArrowInvalid, schema: pa.Schema, fix: str | None = None
) -> str:
    """Arrow's refusal of a CSV value, its column named and its line found, and the fix:
    ``fix``, or for a table to ingest the value or its declared type (or format).

    E.g. ``In CSV column 'temp': CSV conversion error to double: invalid value 'warm' on line 3
    (fix the value or the column's type in conf/data/)``.
    """
    header = _csv_header(path)
    where = _where_invalid(path, str(error), header, schema, fix)
    return f"{_named_column(str(error), header)}{where}"


def read_csv_file(path: Path, table: str, spec: TableConfig) -> pa.Table:
    """One CSV file (plain or zipped) of table ``table``, with the declared columns and types
    of ``spec``, its null values read as nulls and its formatted dates and times parsed.

    Raises DataError naming the file, table and column (a missing column, a value that does not
    parse, a format on a column that is not a date or time).
    """
    import pyarrow.csv as pacsv

    schema = arrow_schema(spec)
    header = _csv_header(path)
    missing = [name for name in schema.names if name not in header]
    if missing:
        raise DataError(
            f"{path}: table {table} lacks declared columns {missing}; the file has {header}"
        )
    formats = dict(spec.formats)
    read_types = {f.name: (pa.string() if f.name in formats else f.type) for f in schema}
    convert = pacsv.ConvertOptions(
        column_types=read_types,
        include_columns=schema.names,
        null_values=list(spec.null_values),
        strings_can_be_null=True,
    )
    try:
        with _open_text(path) as handle:
            data = pacsv.read_csv(handle, convert_options=convert)
    except pa.ArrowInvalid as exc:
        raise DataError(f"{path}: table {table}: {csv_value_error(path, exc, schema)}") from exc
    for name, fmt in formats.items():
        data = data.set_column(
            data.schema.get_field_index(name),
            name,
            _parse_times(data[name], fmt, schema.field(name).type, f"{path}: table {table}", name),
        )
    return data


def _parse_times(
    values: pa.ChunkedArray, fmt: str, dtype: pa.DataType, where: str, name: str
) -> pa.ChunkedArray:
    """Strings in strptime format ``fmt`` as the column's DATE or TIMESTAMP type."""
    import pyarrow.compute as pc

    if not (pa.types.is_date(dtype) or pa.types.is_timestamp(dtype)):
        raise DataError(f"{where}: formats.{name} applies only to DATE or TIMESTAMP columns")
    try:
        parsed = pc.strptime(values, format=fmt, unit="us")
    except pa.ArrowInvalid as exc:
        raise DataError(
            f"{where}, column {name!r}: a value does not match the format {fmt!r}: {exc}"
        ) from exc
    return parsed.cast(dtype)


def read_parquet_file(path: Path, table: str, spec: TableConfig) -> pa.Table:
    """One parquet file of table ``table``, the declared columns of ``spec`` cast to their
    declared types. Raises DataError naming the file (and the column that does not fit)."""
    import pyarrow.parquet as pq

    try:
        data = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: cannot be read as parquet: {exc}") from exc
    return _declared_columns(data, path, table, spec)


def read_json_file(path: Path, table: str, spec: TableConfig) -> pa.Table:
    """One JSON file of records of table ``table`` (an array of objects, or one object a line,
    as JSON Lines), the declared columns of ``spec`` cast to their declared types. Raises
    DataError naming the file."""
    import json

    text = path.read_text(encoding="utf-8")
    try:
        if text.lstrip().startswith("["):
            records = json.loads(text)
        else:
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path}: table {table}: not JSON records ({exc.msg} at line {exc.lineno}); write "
            "an array of objects or one object a line"
        ) from exc
    if not all(isinstance(record, dict) for record in records):
        raise DataError(f"{path}: table {table}: every JSON record must be an object")
    schema = arrow_schema(spec)
    names = list(dict.fromkeys(key for record in records for key in record))
    present = [name for name in schema.names if name in names]
    data = pa.Table.from_pylist([{name: r.get(name) for name in present} for r in records])
    return _declared_columns(data, path, table, spec, found=names)


def _declared_columns(
    data: pa.Table, path: Path, table: str, spec: TableConfig, found: list[str] | None = None
) -> pa.Table:
    """``data``'s declared columns cast to their declared types; DataError names the column."""
    schema = arrow_schema(spec)
    missing = [name for name in schema.names if name not in data.column_names]
    if missing:
        raise DataError(
            f"{path}: table {table} lacks declared columns {missing}; "
            f"the file has {found if found is not None else data.column_names}"
        )
    columns = []
    for field in schema:
        try:
            columns.append(data[field.name].cast(field.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise DataError(
                f"{path}: table {table}, column {field.name!r} is "
                f"{data.schema.field(field.name).type} and does not fit {field.type}: {exc}"
            ) from exc
    return pa.table(columns, schema=schema)


def read_table_files(
    table: str, spec: TableConfig, root: str | Path = "."
) -> list[tuple[Path, pa.Table]]:
    """Each file of table ``table`` (declared as ``spec``, its path under ``root`` or its
    package), in sorted order, with its declared columns (no row_id yet). Raises DataError
    naming the file, table and column."""
    try:
        files = table_files(table, spec, root)
    except ConfigError as exc:
        raise DataError(str(exc)) from exc
    readers = {".parquet": read_parquet_file, ".json": read_json_file, ".jsonl": read_json_file}
    return [(f, readers.get(f.suffix, read_csv_file)(f, table, spec)) for f in files]


def join_files(parts: list[pa.Table], spec: TableConfig) -> pa.Table:
    """The files of table ``spec`` (``parts``, at least one) as one Arrow table, with its
    row_id first when it declares one."""
    data = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
    if spec.row_id:
        ids = pa.array(range(data.num_rows), pa.int64())
        data = data.add_column(0, spec.row_id, ids)
    return data


def read_table(table: str, spec: TableConfig, root: str | Path = ".") -> pa.Table:
    """Every file of table ``table`` (declared as ``spec``), in sorted order, as one Arrow
    table with its row_id first. Raises DataError naming the file, table and column."""
    return join_files([data for _, data in read_table_files(table, spec, root)], spec)


def file_contract(table: str, spec: TableConfig, path: Path) -> Contract:
    """The checks one file (``path``) of table ``table`` must pass alone: all those ``spec``
    declares but the row_id's."""
    row_id = spec.row_id
    return table_contract(
        table,
        replace(
            spec,
            row_id=None,
            not_null=[c for c in spec.not_null if c != row_id],
            unique=[key for key in spec.unique if row_id not in key],
        ),
        str(path),
    )


def empty_table(table: str, files: list[Path]) -> str:
    """What to say about a declared table whose file(s) hold no rows."""
    held = (
        f"{files[0]} holds"
        if len(files) == 1
        else f"its {len(files)} files ({', '.join(map(str, files))}) hold"
    )
    return (
        f"table {table} is empty: {held} no rows; put the table's rows there, or point "
        f"data.tables.{table}.path in conf/data/ at the file(s) that hold them"
    )


def ingest_tables(
    tables: Mapping[str, TableConfig],
    outputs: dict[str, str | Path],
    root: str | Path = ".",
    rule: str = "ingest",
) -> dict[str, int]:
    """Read, check and write each declared table (``tables``, files under ``root`` or their
    package) to its file in ``outputs``; return the row counts by table.

    Every table is read and checked before any is written, so a bad one leaves no output.
    Raises DataError (or its ContractError) naming the file, table and column; a table whose
    files hold no rows is refused here, where it enters.
    """
    import duckdb

    read: dict[str, pa.Table] = {}
    con = duckdb.connect()
    try:
        for table, spec in tables.items():
            files = read_table_files(table, spec, root)
            if len(files) > 1:
                # File by file first, so an error names the file that holds the bad row.
                for path, part in files:
                    con.register("entering", part)
                    check_contract(con, "entering", file_contract(table, spec, path), rule)
                    con.unregister("entering")
            data = join_files([part for _, part in files], spec)
            source = ", ".join(str(path) for path, _ in files)
            # A target that is null on every row is named by the features rule instead: the
            # target is a column of the feature table (the SQL may compute it), and ingest's
            # slice holds no task, so that choosing another task does not ingest again.
            if data.num_rows == 0:
                raise DataError(empty_table(table, [path for path, _ in files]))
            con.register("entering", data)
            check_contract(con, "entering", table_contract(table, spec, source), rule)
            con.unregister("entering")
            read[table] = data
    finally:
        con.close()
    counts: dict[str, int] = {}
    for table, data in read.items():
        write_parquet(data, outputs[table], row_group_size=RAW_ROW_GROUP_ROWS)
        counts[table] = data.num_rows
        log.info("ingested %s: %d rows, %d columns", table, data.num_rows, data.num_columns)
    return counts
