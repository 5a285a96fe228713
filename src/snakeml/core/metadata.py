"""Sidecar metadata for every table the pipeline writes: ``<file>.meta.json``."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from snakeml.core.io import write_json


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def table_metadata(
    path: str | Path, rule: str, config_path: str | Path, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Rows, columns (dtype, null count), sha256, the rule and the hash of its config slice."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    schema = parquet.schema_arrow
    nulls = dict.fromkeys(schema.names, 0)
    known = dict.fromkeys(schema.names, True)
    for group in range(parquet.metadata.num_row_groups):
        row_group = parquet.metadata.row_group(group)
        for index in range(row_group.num_columns):
            column = row_group.column(index)
            name = column.path_in_schema
            stats = column.statistics
            if name in nulls and stats is not None and stats.has_null_count:
                nulls[name] += stats.null_count
            elif name in known:
                known[name] = False
    for name in [n for n, ok in known.items() if not ok]:
        nulls[name] = parquet.read(columns=[name]).column(0).null_count
    return {
        "file": Path(path).name,
        "rows": parquet.metadata.num_rows,
        "columns": [
            {"name": f.name, "dtype": str(f.type), "nulls": int(nulls[f.name])} for f in schema
        ],
        "sha256": file_sha256(path),
        "rule": rule,
        "config_sha256": file_sha256(config_path),
        **(extra or {}),
    }


def metadata_path(path: str | Path) -> Path:
    return Path(f"{path}.meta.json")


def write_table_metadata(
    path: str | Path, rule: str, config_path: str | Path, extra: dict[str, Any] | None = None
) -> Path:
    """Write ``<path>.meta.json`` beside the table; return its path."""
    target = metadata_path(path)
    write_json(target, table_metadata(path, rule, config_path, extra))
    return target
