"""Data contracts: each kind of violation is caught and named in one line."""

from __future__ import annotations

import duckdb
import pytest

from snakeml.contracts import RAW_CONTRACTS, Contract, ContractError, check_contract

CONTRACT = Contract(
    table="things",
    types={"id": "BIGINT", "name": "VARCHAR", "size": "INTEGER"},
    not_null=("id",),
    unique=(("id",),),
    ranges={"size": (0, 10)},
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
    ],
)
def test_violations_name_rule_table_column_and_count(rows: str, message: str) -> None:
    con = relation(rows)
    prefix = "contract violated in rule demo: table things, "
    with pytest.raises(ContractError, match=prefix + message):
        check_contract(con, "things", CONTRACT, "demo")


def test_a_wrong_type_or_missing_column_is_named() -> None:
    con = relation("(1, 'a', 3)")
    con.execute("create table other as select id, name, size::double as size from things")
    with pytest.raises(ContractError, match="column size: is typed DOUBLE, expected INTEGER"):
        check_contract(con, "other", CONTRACT, "demo")
    con.execute("create table fewer as select id, name from things")
    with pytest.raises(ContractError, match="column size: is missing"):
        check_contract(con, "fewer", CONTRACT, "demo")


def test_every_raw_table_declares_a_unique_key() -> None:
    assert all(contract.unique for contract in RAW_CONTRACTS.values())
    assert RAW_CONTRACTS["weather"].unique == (("origin", "time_hour"),)
