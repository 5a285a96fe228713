"""Sidecar metadata: rows, dtypes, null counts, sha256, rule and config hash."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from snakeml.core.metadata import write_table_metadata


def test_sidecar_describes_the_table_and_who_made_it(tmp_path: Path) -> None:
    table = pa.table({"a": pa.array([1, None, 3], pa.int32()), "b": ["x", "y", None]})
    path = tmp_path / "t.parquet"
    pq.write_table(table, path)
    config = tmp_path / "rule.yaml"
    config.write_text("seed: 1\n")

    sidecar = write_table_metadata(path, "demo", config, {"counts": {"dropped": 2}})

    assert sidecar == tmp_path / "t.parquet.meta.json"
    meta = json.loads(sidecar.read_text())
    assert meta["rows"] == 3
    assert meta["columns"] == [
        {"name": "a", "dtype": "int32", "nulls": 1},
        {"name": "b", "dtype": "string", "nulls": 1},
    ]
    assert meta["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert meta["config_sha256"] == hashlib.sha256(b"seed: 1\n").hexdigest()
    assert meta["rule"] == "demo" and meta["counts"] == {"dropped": 2}


def test_null_counts_without_statistics_are_computed(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": [1.0, None, None]}), path, write_statistics=False)
    config = tmp_path / "c.yaml"
    config.write_text("x: 1\n")
    meta = json.loads(write_table_metadata(path, "demo", config).read_text())
    assert meta["columns"] == [{"name": "a", "dtype": "double", "nulls": 2}]
