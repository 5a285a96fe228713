"""The look-ahead audit (snakeml.data.audit) on copies of seattle_weather's and the sales example's
SQL: the honest SQL passes; each kind of look-ahead planted in it stops with one line naming
the columns and the step that makes them."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from snakeml.configuration.compose import compose_config
from snakeml.configuration.slices import rule_slices
from snakeml.core.errors import ConfigError
from snakeml.core.schema import TableConfig
from snakeml.core.slices import FeaturesSlice
from snakeml.data.audit import LookAheadError, audit_features
from snakeml.data.dataset import load_declaration
from snakeml.data.features import write_features
from snakeml.data.ingest import read_table

REPO = Path(__file__).resolve().parents[2]
SALES = REPO / "tests/workflow/sales_example"


class Project:
    """A data set's raw tables as parquet and the audit's slice, in a folder of its own."""

    def __init__(self, folder: Path, name: str, slices: dict[str, Any], root: Path) -> None:
        self.folder, self.name, self.settings = folder, name, slices["audit"]
        self.sql = root / "sql" / name
        self.paths: dict[str, Path] = {}
        for table, spec in self.settings.data.tables.items():
            self.paths[table] = folder / f"{table}.parquet"
            pq.write_table(read_table(table, spec, root), self.paths[table])

    def add_table(self, table: str, data: pa.Table, spec: TableConfig) -> None:
        """Another table of the data set (its parquet file and its declaration)."""
        self.paths[table] = self.folder / f"{table}.parquet"
        pq.write_table(data, self.paths[table])
        self.settings.data.tables[table] = spec

    def audit(
        self, tmp_path: Path, edits: dict[str, tuple[str, str]] | None = None, **audit: Any
    ) -> dict[str, Any]:
        """Copy the SQL, apply ``edits`` (file: (old, new)), build the features, audit them."""
        sql = tmp_path / "sql" / self.name
        shutil.copytree(self.sql, sql)
        for file, (old, new) in (edits or {}).items():
            text = (sql / file).read_text()
            assert old in text, f"{old!r} is not in {file}"
            (sql / file).write_text(text.replace(old, new))
        features = tmp_path / "features.parquet"
        build = FeaturesSlice(data=self.settings.data, features=self.settings.features)
        write_features(self.paths, sql, features, build)
        settings = replace(self.settings, audit=replace(self.settings.audit, **audit))
        return audit_features(self.paths, sql, features, settings, threads=1)


@pytest.fixture(scope="module")
def seattle(tmp_path_factory: pytest.TempPathFactory) -> Project:
    slices = rule_slices(compose_config("data=seattle_weather task=seattle_temp_max"))
    return Project(tmp_path_factory.mktemp("seattle"), "seattle_weather", slices, REPO)


@pytest.fixture(scope="module")
def sales(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The sales example copied into a copy of the project's conf/ (as its docs tell)."""
    root = tmp_path_factory.mktemp("sales_project")
    shutil.copytree(REPO / "conf", root / "conf")
    shutil.copytree(SALES, root, dirs_exist_ok=True)
    slices = rule_slices(
        compose_config("data=sales task=sales_units", root / "conf", estimators=False), root
    )
    return Project(tmp_path_factory.mktemp("sales"), "sales", slices, root)


def caught(project: Project, tmp_path: Path, edits: dict[str, tuple[str, str]]) -> str:
    with pytest.raises(LookAheadError) as error:
        project.audit(tmp_path, edits)
    line = str(error.value)
    assert "\n" not in line
    assert "end the window before the row's moment" in line
    return line


def named(line: str, columns: list[str], step: str) -> None:
    """The line names each column in the group of ``step``'s file."""
    groups = dict((m[1], m[0].strip()) for m in re.findall(r"([\w, ]+) \(([^)]+\.sql)\)", line))
    files = {Path(file).name: group for file, group in groups.items()}
    assert f"{step}.sql" in files, line
    for column in columns:
        assert column in files[f"{step}.sql"].split(", "), line


# --- seattle_weather --------------------------------------------------------------------------

SHORT_WINDOW = (
    "range between to_days(cast(getvariable('windows_short') as integer) - 1) preceding\n"
    "                and current row"
)


def test_seattle_weather_as_it_is_passes(seattle: Project, tmp_path: Path) -> None:
    record = seattle.audit(tmp_path)
    assert record["audited"] and record["tables_cut"] == {"days": "date"}
    assert [cut["rows_compared"] for cut in record["cuts"]] == [500, 500, 500]
    assert record["features_compared"] == 29 and record["safe"] == {}


def test_a_centred_window_is_caught(seattle: Project, tmp_path: Path) -> None:
    edit = {"rolling.sql": (SHORT_WINDOW, "rows between 1 preceding and 1 following")}
    line = caught(seattle, tmp_path, edit)
    short = ["temp_max_mean_short", "temp_min_mean_short", "wind_mean_short"]
    named(line, short, "rolling")
    assert "temp_max_mean_long" not in line
    assert re.search(r"the row day_id=\d+ at \d{4}-\d\d-\d\d", line)


def test_a_forward_window_is_caught(seattle: Project, tmp_path: Path) -> None:
    edit = {"rolling.sql": (SHORT_WINDOW, "range between current row and interval 2 day following")}
    named(caught(seattle, tmp_path, edit), ["precipitation_mean_short"], "rolling")


def test_lead_is_caught(seattle: Project, tmp_path: Path) -> None:
    edit = {
        "lags.sql": (
            "yesterday.wind as wind_lag1",
            "lead(days.wind) over (order by days.date) as wind_lag1",
        )
    }
    line = caught(seattle, tmp_path, edit)
    named(line, ["wind_lag1"], "lags")
    assert "temp_max_lag1" not in line


def test_the_next_row_by_a_join_is_caught(seattle: Project, tmp_path: Path) -> None:
    edit = {"lags.sql": ("yesterday.date = days.date - 1", "yesterday.date = days.date + 1")}
    line = caught(seattle, tmp_path, edit)
    # made in lags, and read again by features.sql's temp_max_change, which is named there
    named(line, ["temp_max_lag1", "temp_min_lag1", "weather_lag1"], "lags")
    named(line, ["temp_max_change"], "features")


def test_an_aggregate_over_the_whole_table_is_caught(seattle: Project, tmp_path: Path) -> None:
    edit = {"features.sql": ("        days.wind,\n", "        avg(days.wind) over () as wind,\n")}
    named(caught(seattle, tmp_path, edit), ["wind"], "features")


def test_an_aggregate_over_a_whole_group_is_caught(seattle: Project, tmp_path: Path) -> None:
    edit = {
        "rolling.sql": (
            "avg(days.temp_max) over long_window as temp_max_mean_long",
            "avg(days.temp_max) over (partition by month(days.date)) as temp_max_mean_long",
        )
    }
    line = caught(seattle, tmp_path, edit)
    named(line, ["temp_max_mean_long"], "rolling")
    assert "temp_min_mean_long" not in line


def test_a_later_row_of_another_table_is_caught(seattle: Project, tmp_path: Path) -> None:
    """A second time-stamped table, forecasts, joined on the next day's date."""
    days = pq.read_table(seattle.paths["days"], columns=["date", "temp_max"])
    spec = TableConfig(
        columns={"date": "DATE", "temp_max": "DOUBLE"},
        not_null=["date"],
        unique=[["date"]],
        ranges={},
        accepted_values={},
        expressions={},
        row_id=None,
    )
    seattle.add_table("forecasts", days, spec)
    steps = tmp_path / "steps_edit"
    try:
        edits = {
            "lags.sql": (
                "yesterday.temp_max as temp_max_lag1",
                "(select raw_forecasts.temp_max from raw_forecasts "
                "where raw_forecasts.date = days.date + 1) as temp_max_lag1",
            ),
            "steps.yaml": ("    days: date\n", "    days: date\n    forecasts: date\n"),
        }
        named(caught(seattle, steps, edits), ["temp_max_lag1"], "lags")
    finally:
        del seattle.settings.data.tables["forecasts"]
        del seattle.paths["forecasts"]


def test_a_column_declared_safe_is_listed_not_compared(seattle: Project, tmp_path: Path) -> None:
    edits = {
        "features.sql": ("        days.wind,\n", "        avg(days.wind) over () as wind,\n"),
        "steps.yaml": (
            "    days: date\n  time: date\n",
            "    days: date\n  time: date\n  safe: {wind: the climate normal published ahead}\n",
        ),
    }
    record = seattle.audit(tmp_path, edits)
    assert record["safe"] == {"wind": "the climate normal published ahead"}
    assert record["features_compared"] == 28


def test_a_safe_column_that_is_no_feature_is_refused(tmp_path: Path) -> None:
    sql = tmp_path / "seattle_weather"
    shutil.copytree(REPO / "sql/seattle_weather", sql)
    steps = sql / "steps.yaml"
    anchor = "    days: date\n  time: date\n"
    steps.write_text(steps.read_text().replace(anchor, f"{anchor}  safe: {{temp_rnge: x}}\n"))
    with pytest.raises(
        ConfigError,
        match=r"audit.safe names 'temp_rnge', which is not a feature \(did you mean 'temp_range'",
    ):
        load_declaration(sql)


def test_the_audit_turned_off_says_so(seattle: Project, tmp_path: Path) -> None:
    edit = {"rolling.sql": (SHORT_WINDOW, "rows between 1 preceding and 1 following")}
    record = seattle.audit(tmp_path, edit, enabled=False)
    assert record == {
        "enabled": False,
        "audited": False,
        "note": "the look-ahead audit was turned off (audit.enabled=false): no feature was checked",
    }


def test_a_data_set_without_time_is_not_cut(tmp_path: Path) -> None:
    settings = rule_slices(compose_config("data=cars task=cars_origin"))["audit"]
    paths = {"cars": tmp_path / "cars.parquet"}
    pq.write_table(read_table("cars", settings.data.tables["cars"], REPO), paths["cars"])
    record = audit_features(paths, REPO / "sql/cars", tmp_path / "none.parquet", settings)
    assert record["audited"] is False and record["tables_without_time"] == ["cars"]
    assert "declares when its rows become known" in record["note"]


# --- the sales example ------------------------------------------------------------------------

LONG_END = (
    "to_days(cast(getvariable('windows_long') as integer)) preceding\n"
    "                and to_days(1) preceding"
)


def test_the_sales_example_as_it_is_passes(sales: Project, tmp_path: Path) -> None:
    record = sales.audit(tmp_path)
    assert record["audited"] and record["tables_cut"] == {"sales": "date"}
    assert record["tables_without_time"] == ["stores"]
    assert all(cut["rows_compared"] == 500 for cut in record["cuts"])


def test_sales_a_centred_window_is_caught(sales: Project, tmp_path: Path) -> None:
    edit = {
        "history.sql": (LONG_END, "to_days(3) preceding\n                and to_days(3) following")
    }
    line = caught(sales, tmp_path, edit)
    named(line, ["units_mean_long"], "history")
    assert "units_mean_short" not in line


def test_sales_lead_is_caught(sales: Project, tmp_path: Path) -> None:
    edit = {
        "history.sql": (
            "week_before.units as units_lag7",
            "lead(sales.units) over (partition by sales.store, sales.product order by sales.date)"
            " as units_lag7",
        )
    }
    named(caught(sales, tmp_path, edit), ["units_lag7"], "history")


def test_sales_an_aggregate_over_a_whole_group_is_caught(sales: Project, tmp_path: Path) -> None:
    edit = {
        "features.sql": (
            "        sales.price,\n",
            "        sales.price / avg(sales.price) over (partition by sales.product) as price,\n",
        )
    }
    named(caught(sales, tmp_path, edit), ["price"], "features")


def test_sales_a_later_row_of_another_table_is_caught(sales: Project, tmp_path: Path) -> None:
    """A second time-stamped table, promotions, joined on the next day's row."""
    rows = pq.read_table(sales.paths["sales"], columns=["date", "store", "product", "promo"])
    spec = TableConfig(
        columns={"date": "DATE", "store": "VARCHAR", "product": "VARCHAR", "promo": "BOOLEAN"},
        not_null=["date"],
        unique=[],
        ranges={},
        accepted_values={},
        expressions={},
        row_id=None,
    )
    sales.add_table("promotions", rows, spec)
    try:
        edits = {
            "features.sql": (
                "cast(sales.promo as integer) as promo",
                "cast(coalesce((select bool_or(raw_promotions.promo) from raw_promotions where "
                "raw_promotions.store = sales.store and raw_promotions.product = sales.product "
                "and raw_promotions.date = sales.date + 1), false) as integer) as promo",
            ),
            "steps.yaml": (
                "audit: {known_at: {sales: date}",
                "audit: {known_at: {sales: date, promotions: date}",
            ),
        }
        named(caught(sales, tmp_path, edits), ["promo"], "features")
    finally:
        del sales.settings.data.tables["promotions"]
        del sales.paths["promotions"]
