"""Atomic file output and the small readers and writers every rule shares."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from snakeml.core.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    import pandas as pd
    import pyarrow as pa

log = logging.getLogger(__name__)

# atomic_path's temporaries: ".<target name>.<8 characters of mkstemp>.tmp".
TEMPORARY_NAME = re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}\.tmp$")
# Where Snakemake keeps a lock file per running (or killed) run of the directory.
SNAKEMAKE_LOCKS = Path(".snakemake") / "locks"
# Folders whose files the pipeline makes: a damaged one is rebuilt by deleting it.
PIPELINE_FOLDERS: tuple[str, ...] = ("results", "data/raw")


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only on success.

    A failed or killed writer leaves no half-written ``target`` behind.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)  # mkstemp makes 0600; outputs follow the umask like open()
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(target: str | Path, text: str) -> None:
    """Write ``text`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_text_if_changed(target: str | Path, text: str) -> bool:
    """Write ``text`` atomically unless ``target`` already holds it; return whether it wrote.

    Leaving an unchanged file alone keeps its modification time, so Snakemake reruns nothing.
    """
    target = Path(target)
    if target.is_file() and target.read_text(encoding="utf-8") == text:
        return False
    write_text_atomic(target, text)
    return True


def dump_yaml(data: Any) -> str:
    """Serialise plain data to YAML deterministically (keys in insertion order)."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)


def read_yaml(path: str | Path) -> Any:
    """Read a YAML file into plain Python data. Raises ConfigError, one line naming the file,
    line and column, for text that is not YAML (yaml_syntax_error)."""
    try:
        with Path(path).open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except yaml.MarkedYAMLError as exc:
        raise yaml_syntax_error(exc) from exc


def yaml_syntax_error(exc: yaml.MarkedYAMLError, root: str | Path | None = None) -> ConfigError:
    """One line for PyYAML's error (several lines, with marks): the file (relative to
    ``root``, by default the working folder, when below it), the line and column (counted from
    1) and the problem, e.g. ``conf/task/x.yaml is not valid YAML: line 2, column 1: found
    character '\\t' that cannot start any token; fix the file (a tab cannot indent YAML: use
    spaces)``."""
    mark = exc.problem_mark or exc.context_mark
    name = mark.name if mark is not None else "a file"
    base = Path(root) if root is not None else Path.cwd()
    with contextlib.suppress(ValueError, OSError):
        name = str(Path(name).resolve().relative_to(base.resolve()))
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    problem = " ".join(str(exc.problem or exc.context or "cannot be parsed").split())
    context, start = exc.context, exc.context_mark
    if exc.problem and context and start is not None and start is not mark:
        problem += f" ({context} from line {start.line + 1}, column {start.column + 1})"
    tab = " (a tab cannot indent YAML: use spaces)" if "'\\t'" in problem else ""
    return ConfigError(f"{name} is not valid YAML: {where}{problem}; fix the file{tab}")


def write_yaml(target: str | Path, data: Any) -> None:
    """Write plain data as YAML, atomically."""
    write_text_atomic(target, dump_yaml(data))


def write_json(target: str | Path, data: Any) -> None:
    """Write plain data as indented JSON with sorted keys, atomically."""
    write_text_atomic(target, json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path: str | Path) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_csv(frame: pd.DataFrame, target: str | Path) -> None:
    """Write a data frame as CSV (no index, six decimals), atomically: plot data for DVC."""
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6f")


def write_parquet(table: pa.Table, target: str | Path, row_group_size: int | None = None) -> None:
    """Write an Arrow table as zstd parquet, atomically; the same data gives the same bytes.

    ``row_group_size`` caps the rows per row group (pyarrow's default otherwise).
    """
    import pyarrow.parquet as pq

    with atomic_path(target) as tmp:
        pq.write_table(table, tmp, compression="zstd", row_group_size=row_group_size)


# pyarrow's default rows per parquet row group (pyarrow.parquet.write_table's row_group_size).
PARQUET_ROW_GROUP = 1024 * 1024


def write_parquet_batches(
    batches: Iterable[pa.RecordBatch],
    schema: pa.Schema,
    target: str | Path,
    row_group_size: int = PARQUET_ROW_GROUP,
) -> int:
    """Write record batches as one zstd parquet file, atomically; return the rows written.

    The batches (any sizes, each castable to ``schema``) are regrouped into row groups of
    ``row_group_size`` rows, as ``write_parquet`` of the same rows would write them, while at
    most about one row group is held at once. No batch at all writes an empty file.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    written = 0
    with atomic_path(target) as tmp, pq.ParquetWriter(tmp, schema, compression="zstd") as out:
        pending: list[pa.RecordBatch] = []
        held = 0
        for batch in batches:
            pending.append(batch)
            held += batch.num_rows
            while held >= row_group_size:
                rows = pa.Table.from_batches(pending).cast(schema)
                out.write_table(rows.slice(0, row_group_size), row_group_size=row_group_size)
                rest = rows.slice(row_group_size)
                pending, held = rest.to_batches(), rest.num_rows
                written += row_group_size
        if held:
            out.write_table(pa.Table.from_batches(pending).cast(schema), row_group_size=held)
            written += held
    return written


def read_parquet_rows(
    paths: Sequence[str | Path], columns: Sequence[str], keep: np.ndarray
) -> pa.Table:
    """The rows at positions ``keep`` (rows,), in any order, of the parquet files at ``paths``
    read one after the other: a pyarrow Table of ``columns``, its rows in ``keep``'s order.

    Reads one row group at a time and keeps only its wanted rows, so memory holds the kept
    rows and one row group, never every row. Raises IndexError for a position past the end.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    wanted = list(columns)
    order = np.argsort(keep, kind="stable")
    ascending = np.asarray(keep)[order]
    pieces, start = [], 0
    for path in paths:
        file = pq.ParquetFile(path)
        for group in range(file.num_row_groups):
            stop = start + file.metadata.row_group(group).num_rows
            low, high = np.searchsorted(ascending, [start, stop])
            if high > low:
                rows = file.read_row_group(group, columns=wanted)
                pieces.append(rows.take(pa.array(ascending[low:high] - start)))
            start = stop
    if len(ascending) and ascending[-1] >= start:
        raise IndexError(f"row {ascending[-1]} asked of {start} rows")
    table = pa.concat_tables(pieces) if pieces else pq.read_schema(paths[0]).empty_table()
    table = table.select(wanted)
    if np.any(order != np.arange(len(order))):
        table = table.take(pa.array(np.argsort(order, kind="stable")))
    return table


def remove_stale_temporaries(
    folders: list[str | Path],
    own_locks: list[str | Path] | None = None,
    lock_dir: str | Path = SNAKEMAKE_LOCKS,
) -> list[Path]:
    """Delete the temporaries of atomic_path left under ``folders`` by killed writers.

    Only files named as atomic_path names them are touched, and only when no other Snakemake
    run holds a lock in ``lock_dir``: ``own_locks`` are the calling run's own lock files. While
    another run may be writing, nothing is deleted. Returns the deleted paths.
    """
    own = {Path(p).resolve() for p in own_locks or []}
    lock_dir = Path(lock_dir)
    others = sorted(p for p in lock_dir.glob("*.lock") if p.resolve() not in own)
    if others:
        log.info("another Snakemake run holds %s: stale temporaries are left alone", others[0])
        return []
    removed: list[Path] = []
    for folder in folders:
        for path in sorted(Path(folder).rglob(".*.tmp")):
            if TEMPORARY_NAME.match(path.name) and path.is_file() and not path.is_symlink():
                path.unlink(missing_ok=True)
                removed.append(path)
    if removed:
        log.info("removed %d temporary files left by a stopped run: %s", len(removed), removed)
    return removed


def _parquet_damage(path: Path) -> str | None:
    import pyarrow.parquet as pq

    with path.open("rb") as handle:
        head = handle.read(4)
        handle.seek(max(path.stat().st_size - 4, 0))
        tail = handle.read(4)
    if head != b"PAR1" or tail != b"PAR1":
        return "no parquet magic bytes at its start or end: truncated or not parquet"
    try:
        pq.read_metadata(path)
    except Exception as exc:  # pyarrow raises several types for a bad footer
        return f"unreadable parquet footer: {_first_line(exc)}"
    return None


def _zip_damage(path: Path) -> str | None:
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        return f"not a whole zip archive: {_first_line(exc)}"
    except Exception as exc:  # zlib errors and others from a corrupt member
        return f"a corrupt member: {_first_line(exc)}"
    return None if bad is None else f"member {bad!r} fails its checksum"


def _json_damage(path: Path) -> str | None:
    try:
        json.loads(path.read_bytes())
    except ValueError as exc:
        return f"not whole JSON: {_first_line(exc)}"
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


DAMAGE_CHECKS = {
    ".parquet": _parquet_damage,
    ".skops": _zip_damage,
    ".json": _json_damage,
}


def file_damage(path: str | Path) -> str | None:
    """Why the file at ``path`` cannot be read as its suffix says, or None when it looks whole.

    Cheap checks only (magic bytes, the parquet footer, zip checksums, JSON syntax): they
    find truncated and overwritten files, not every wrong value inside a whole one. A missing
    file or a suffix without a check is None.
    """
    path = Path(path)
    check = DAMAGE_CHECKS.get(path.suffix)
    if check is None or not path.is_file():
        return None
    try:
        return check(path)
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"


def rebuild_advice(path: str | Path) -> str:
    """What to do about a damaged file: rebuild a pipeline output, replace a file of the user's."""
    path = Path(path)
    with contextlib.suppress(ValueError, OSError):
        path = path.resolve().relative_to(Path.cwd().resolve())
    parts = path.parts
    made_here = any(parts[: len(Path(f).parts)] == Path(f).parts for f in PIPELINE_FOLDERS)
    if not made_here:
        return "it is an input you provide: replace it with a whole, readable copy"
    # A deleted intermediate file is not rebuilt while the final targets are up to date
    # (Snakemake's rule): --forcerun names the file, and its job and what follows run again.
    again = f"rerun snakemake with --forcerun {path.as_posix()}"
    if path.suffix == ".skops":
        what = f"retrain: {again}"
    elif parts[:2] == ("data", "raw"):
        what = f"re-run ingest: {again}"
    else:
        what = f"rebuild it: {again}"
    return f"{what} (or `make pull` to fetch the published copy)"
