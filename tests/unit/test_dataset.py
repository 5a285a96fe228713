"""snakeml.data.dataset: the predict declaration, its span of history and its checks."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import CONF_DIR, REPO, SQL_DIR

from snakeml.configuration.compose import compose_config
from snakeml.core.errors import ConfigError
from snakeml.core.schema import data_config
from snakeml.data.dataset import Prediction, check_data, load_declaration, parse_interval

SPAN = {"table": "flights", "time": "time_hour", "reach": "1 day"}


def declared(tmp_path: Path, predict: object) -> Path:
    """A copy of nycflights13's SQL folder whose steps.yaml declares ``predict``."""
    folder = tmp_path / "nycflights13"
    shutil.copytree(SQL_DIR, folder)
    raw = yaml.safe_load((folder / "steps.yaml").read_text())
    raw["predict"] = predict
    (folder / "steps.yaml").write_text(yaml.safe_dump(raw))
    return folder


def test_the_bundled_data_sets_declare_their_span_of_history():
    flights = load_declaration(SQL_DIR).predict
    days = load_declaration(REPO / "sql" / "seattle_weather").predict
    sales = load_declaration(REPO / "tests/workflow/sales_example/sql/sales").predict
    assert (flights.time, flights.reach, flights.new_rows_extend) == ("time_hour", "1 hour", False)
    assert (days.time, days.reach, days.new_rows_extend) == ("date", "1 day", True)
    assert (sales.time, sales.reach, sales.new_rows_extend) == ("date", "1 day", False)


def test_a_span_is_optional(tmp_path):
    predict = load_declaration(declared(tmp_path, {"table": "flights"})).predict
    assert predict == Prediction("flights")


@pytest.mark.parametrize(
    ("predict", "named"),
    [
        ({**SPAN, "reach": "a while"}, ["predict.reach", "'a while'", "'1 day'"]),
        ({**SPAN, "reach": "-1 day"}, ["predict.reach", "negative"]),
        ({**SPAN, "reach": 1}, ["predict.reach", "in quotes", "got 1"]),
        ({**SPAN, "reach": ""}, ["predict.reach"]),
        ({"table": "flights", "time": "time_hour"}, ["predict.time and predict.reach go together"]),
        ({"table": "flights", "reach": "1 day"}, ["predict.time and predict.reach go together"]),
        ({**SPAN, "time": ["a", "b"]}, ["predict.time", "one column"]),
        (
            {"table": "flights", "omit": ["time_hour"], "time": "time_hour", "reach": "1 day"},
            ["'time_hour' is also in predict.omit"],
        ),
        (
            {"table": "flights", "time": "time_hour", "reach": "1 day", "new_rows_extend": "yes"},
            ["predict.new_rows_extend", "true or false"],
        ),
        ({"table": "flights", "new_rows_extend": True}, ["new_rows_extend needs predict.time"]),
        ({"table": "flights", "span": "1 day"}, ["unknown keys ['span']", "reach"]),
    ],
)  # fmt: skip
def test_a_bad_predict_declaration_is_named_on_one_line(tmp_path, predict, named):
    with pytest.raises(ConfigError) as info:
        load_declaration(declared(tmp_path, predict))
    message = str(info.value)
    assert "steps.yaml" in message and "\n" not in message
    for fragment in named:
        assert fragment in message


@pytest.mark.parametrize("text", ["1 day", "90 minutes", "2 days 3 hours", "0 seconds", " 1 hour "])
def test_parse_interval_accepts_duckdb_intervals(text):
    assert parse_interval(text, "here") == text.strip()


def test_the_span_time_must_be_a_time_column_of_the_table():
    data = data_config(compose_config(None, CONF_DIR)["data"])
    declaration = load_declaration(SQL_DIR)
    wrong = Prediction("flights", time="carrier", reach="1 hour")
    with pytest.raises(ConfigError, match=r"predict\.time 'carrier' must be a DATE, TIMESTAMP"):
        check_data(data, dataclasses.replace(declaration, predict=wrong), REPO)
    absent = Prediction("flights", time="departed_at", reach="1 hour")
    with pytest.raises(ConfigError, match=r"'departed_at' must be .* column of flights"):
        check_data(data, dataclasses.replace(declaration, predict=absent), REPO)
    check_data(data, declaration, REPO)  # the bundled declaration passes


def test_a_check_on_a_column_the_table_lacks_names_the_closest_column():
    cfg = compose_config(None, CONF_DIR)
    data = data_config(cfg["data"])
    flights = data.tables["flights"]
    assert "dep_time" in flights.columns
    renamed = {
        **data.tables,
        "flights": dataclasses.replace(flights, not_null=[*flights.not_null, "dep_tme"]),
    }
    with pytest.raises(ConfigError) as caught:
        check_data(dataclasses.replace(data, tables=renamed), load_declaration(SQL_DIR), REPO)
    text = str(caught.value)
    assert text.startswith(
        "data.tables.flights.not_null: 'dep_tme' is not one of the table's columns "
        "(did you mean 'dep_time'?): declare it under data.tables.flights.columns or fix the "
        "name; the columns are ["
    ), text
