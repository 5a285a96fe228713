"""The seattle_weather feature SQL on the real file, built as its declaration says.

Only duckdb, pyarrow, pandas and PyYAML: the declaration files (conf/data/seattle_weather.yaml,
sql/seattle_weather/) are read as they are, the CSV found inside the installed vega_datasets
package, each step created as a temp view in order. Checked: the table's columns against
steps.yaml, its key, the next-day targets, and the point-in-time rule: a row's features do not
change when the days after it are removed or altered.
"""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DATA = yaml.safe_load((REPO / "conf/data/seattle_weather.yaml").read_text(encoding="utf-8"))
SQL_DIR = REPO / "sql/seattle_weather"
STEPS = yaml.safe_load((SQL_DIR / "steps.yaml").read_text(encoding="utf-8"))
TABLE = DATA["data"]["tables"]["days"]
FEATURES = list(STEPS["features"])


def flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """features.* as the SQL sees them: nested mappings joined with "_"."""
    flat: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{name}_"))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


@pytest.fixture(scope="module")
def raw_days() -> pa.Table:
    """The days table as declared: the declared columns and types, plus the row id."""
    spec = importlib.util.find_spec(TABLE["package"])
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"package {TABLE['package']} is not installed")
    source = Path(next(iter(spec.submodule_search_locations))) / TABLE["path"]
    columns = ", ".join(f"'{name}': '{kind}'" for name, kind in TABLE["columns"].items())
    with duckdb.connect() as con:
        table = con.sql(
            f"select * from read_csv(?, header = true, columns = {{{columns}}}, "
            "nullstr = ['', 'NA'])",
            params=[str(source)],
        ).to_arrow_table()
    return table.add_column(0, TABLE["row_id"], pa.array(range(table.num_rows), pa.int64()))


def build(raw: pa.Table, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """The feature table: the steps of steps.yaml as temp views, in order; the last one read."""
    with duckdb.connect() as con:
        con.register("raw_days", raw)
        for name, value in flatten(params or DATA["features"]).items():
            con.execute(f"set variable {name} = ?", [value])
        for step in STEPS["steps"]:
            sql = (SQL_DIR / f"{step}.sql").read_text(encoding="utf-8")
            con.execute(f"create temp view {step} as {sql}")
        return con.sql(f"select * from {STEPS['steps'][-1]}").df()


def up_to(raw: pa.Table, last: date) -> pa.Table:
    return raw.filter(pc.less_equal(raw["date"], pa.scalar(last, pa.date32())))


@pytest.fixture(scope="module")
def table(raw_days: pa.Table) -> pd.DataFrame:
    return build(raw_days)


def test_raw_file_meets_its_declaration(raw_days: pa.Table) -> None:
    raw = raw_days.to_pandas()
    assert len(raw) == 1461
    for column in TABLE["not_null"]:
        assert raw[column].notna().all(), column
    for key in TABLE["unique"]:
        assert not raw.duplicated(key).any(), key
    for column, (low, high) in TABLE["ranges"].items():
        assert low is None or (raw[column] >= low).all(), column
        assert high is None or (raw[column] <= high).all(), column
    for column, values in TABLE["accepted_values"].items():
        assert set(raw[column]) == set(values), column


def test_columns_are_exactly_key_columns_and_features(table: pd.DataFrame) -> None:
    declared = STEPS["key"] + STEPS["columns"] + FEATURES
    assert not set(FEATURES) & set(STEPS["key"] + STEPS["columns"])
    assert set(table.columns) == set(declared)
    assert not table.duplicated(STEPS["key"]).any()
    assert table["day_id"].is_monotonic_increasing


def test_exit_checks_hold(table: pd.DataFrame) -> None:
    for column in STEPS["checks"]["not_null"]:
        assert table[column].notna().all(), column
    for column, (low, high) in STEPS["checks"]["ranges"].items():
        assert low is None or (table[column] >= low).all(), column
        assert high is None or (table[column] <= high).all(), column


def test_targets_are_the_next_day(table: pd.DataFrame) -> None:
    # Only the last day has no next day: its targets are null, and the engine drops it.
    assert table.index[table["temp_max_next_day"].isna()].tolist() == [len(table) - 1]
    assert table.index[table["weather_next_day"].isna()].tolist() == [len(table) - 1]
    assert (table["temp_max_next_day"].to_numpy()[:-1] == table["temp_max"].to_numpy()[1:]).all()
    assert (table["weather_next_day"].to_numpy()[:-1] == table["weather"].to_numpy()[1:]).all()


@pytest.mark.parametrize("last", [date(2012, 1, 20), date(2014, 6, 30), date(2015, 12, 30)])
def test_features_ignore_the_days_after(
    raw_days: pa.Table, table: pd.DataFrame, last: date
) -> None:
    cut = build(up_to(raw_days, last))
    kept = table[table["date"] <= pd.Timestamp(last)]
    columns = [*STEPS["key"], "date", *FEATURES]
    pd.testing.assert_frame_equal(
        cut[columns].reset_index(drop=True), kept[columns].reset_index(drop=True)
    )
    # The target of the cut's last day was in the removed future.
    assert pd.isna(cut["temp_max_next_day"].iloc[-1])


def test_features_ignore_an_altered_future(raw_days: pa.Table, table: pd.DataFrame) -> None:
    last = date(2013, 3, 1)
    raw = raw_days.to_pandas()
    after = raw["date"] > last
    raw.loc[after, ["precipitation", "temp_max", "temp_min", "wind"]] += 7.0
    raw.loc[after, "weather"] = "snow"
    altered = build(pa.Table.from_pandas(raw, schema=raw_days.schema, preserve_index=False))
    kept = table["date"] <= pd.Timestamp(last)
    pd.testing.assert_frame_equal(altered.loc[kept, FEATURES], table.loc[kept, FEATURES])
    # ... while the target of the last kept day does see it.
    day = table.index[table["date"] == pd.Timestamp(last)][0]
    assert altered.loc[day, "temp_max_next_day"] == table.loc[day, "temp_max_next_day"] + 7.0


def test_a_missing_day_is_not_replaced_by_an_older_one(raw_days: pa.Table) -> None:
    gone = date(2013, 5, 10)
    raw = raw_days.filter(pc.not_equal(raw_days["date"], pa.scalar(gone, pa.date32())))
    full = raw_days.to_pandas().set_index("date")
    built = build(raw).set_index("date")
    before, after = pd.Timestamp(2013, 5, 9), pd.Timestamp(2013, 5, 11)
    assert pd.isna(built.loc[before, "temp_max_next_day"])
    assert pd.isna(built.loc[after, "temp_max_lag1"])
    assert built.loc[after, "temp_max_lag2"] == full.loc[before.date(), "temp_max"]
    # The short window (3 days) ending on the 11th holds the 9th and the 11th only.
    expected = (full.loc[before.date(), "temp_max"] + full.loc[after.date(), "temp_max"]) / 2
    assert built.loc[after, "temp_max_mean_short"] == pytest.approx(expected)


def test_windows_are_the_bound_parameters(raw_days: pa.Table) -> None:
    built = build(raw_days, {"windows": {"short": 1, "medium": 2, "long": 365}})
    assert (built["temp_max_mean_short"] == built["temp_max"]).all()
    pairs = (built["temp_max"] + built["temp_max_lag1"]) / 2
    assert built["temp_max_mean_medium"].iloc[1:].to_numpy() == pytest.approx(
        pairs.iloc[1:].to_numpy()
    )
