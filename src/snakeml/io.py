"""Atomic file output and the small readers and writers every rule shares."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


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
    """Read a YAML file into plain Python data."""
    with Path(path).open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


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
