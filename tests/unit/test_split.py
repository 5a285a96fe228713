"""snakeml.split: time-based split by month and deterministic row caps."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from snakeml.errors import DataError
from snakeml.split import cap_rows, select_months, split_by_month, write_splits

SPLIT = {
    "train_months": [1, 2, 3],
    "valid_months": [4],
    "test_months": [5, 6],
    "max_train_rows": None,
    "max_eval_rows": None,
}


@pytest.fixture
def features() -> pa.Table:
    """Two flights per month for months 1-6, interleaved so month order != row order."""
    months = [3, 1, 2, 5, 4, 6, 1, 2, 3, 4, 5, 6]
    return pa.table(
        {
            "flight_id": pa.array(range(len(months)), pa.int64()),
            "month": pa.array(months, pa.int32()),
            "arr_delay": pa.array([10 * i for i in range(len(months))], pa.int32()),
        }
    )


def test_select_months_keeps_rows_in_order(features):
    part = select_months(features, [2, 3])
    assert part["flight_id"].to_pylist() == [0, 2, 7, 8]
    assert part["month"].to_pylist() == [3, 2, 2, 3]


def test_select_months_without_month_column():
    with pytest.raises(DataError, match="no 'month' column"):
        select_months(pa.table({"day": [1, 2]}), [1])


def test_split_by_month_sends_each_month_to_its_split(features):
    parts = split_by_month(features, SPLIT, seed=13)
    assert list(parts) == ["train", "valid", "test"]
    assert parts["train"]["flight_id"].to_pylist() == [0, 1, 2, 6, 7, 8]
    assert parts["valid"]["flight_id"].to_pylist() == [4, 9]
    assert parts["test"]["flight_id"].to_pylist() == [3, 5, 10, 11]
    assert set(parts["train"]["month"].to_pylist()) == {1, 2, 3}
    assert set(parts["test"]["month"].to_pylist()) == {5, 6}
    assert sum(p.num_rows for p in parts.values()) == features.num_rows


@pytest.mark.parametrize("name", ["train", "valid", "test"])
def test_empty_split_names_the_split(features, name):
    split = {**SPLIT, f"{name}_months": [12]}
    with pytest.raises(DataError, match=rf"split '{name}' is empty.*split\.{name}_months"):
        split_by_month(features, split, seed=13)


def test_cap_rows_without_cap_or_below_it_returns_the_table(features):
    assert cap_rows(features, None, seed=0) is features
    assert cap_rows(features, features.num_rows, seed=0) is features


def test_cap_rows_is_deterministic_and_keeps_order(features):
    first = cap_rows(features, 5, seed=3)
    again = cap_rows(features, 5, seed=3)
    ids = first["flight_id"].to_pylist()
    assert first.num_rows == 5
    assert first.equals(again)
    assert ids == sorted(ids)
    assert len(set(ids)) == 5
    assert set(ids) <= set(range(features.num_rows))
    # Each kept row is whole: its other columns came along with its id.
    assert first["arr_delay"].to_pylist() == [10 * i for i in ids]


def test_cap_rows_depends_on_the_seed(features):
    samples = {tuple(cap_rows(features, 3, seed=s)["flight_id"].to_pylist()) for s in range(10)}
    assert len(samples) > 1


def test_split_caps_train_and_both_eval_splits_with_offset_seeds(features):
    split = {**SPLIT, "max_train_rows": 4, "max_eval_rows": 1}
    parts = split_by_month(features, split, seed=13)
    assert parts["train"].num_rows == 4
    assert parts["valid"].num_rows == 1
    assert parts["test"].num_rows == 1
    assert parts["train"].equals(cap_rows(select_months(features, [1, 2, 3]), 4, 13))
    assert parts["valid"].equals(cap_rows(select_months(features, [4]), 1, 14))
    assert parts["test"].equals(cap_rows(select_months(features, [5, 6]), 1, 15))


def test_write_splits(features, tmp_path):
    pq.write_table(features, tmp_path / "features.parquet")
    outputs = {name: tmp_path / "split" / f"{name}.parquet" for name in ("train", "valid", "test")}
    counts = write_splits(tmp_path / "features.parquet", outputs, SPLIT, seed=13)
    assert counts == {"train": 6, "valid": 2, "test": 4}
    assert pq.read_table(outputs["valid"])["flight_id"].to_pylist() == [4, 9]
    assert pq.read_table(outputs["test"]).schema == features.schema


def test_write_splits_with_an_empty_split_writes_nothing(features, tmp_path):
    pq.write_table(features, tmp_path / "features.parquet")
    outputs = {name: tmp_path / "split" / f"{name}.parquet" for name in ("train", "valid", "test")}
    with pytest.raises(DataError, match="split 'test' is empty"):
        write_splits(tmp_path / "features.parquet", outputs, {**SPLIT, "test_months": [9]}, 13)
    assert not (tmp_path / "split").exists()


def test_split_orders_each_part_by_flight_id(features):
    shuffled = features.take(pa.array([11, 3, 0, 7, 5, 9, 1, 10, 2, 8, 4, 6]))
    parts = split_by_month(shuffled, SPLIT, seed=13)
    assert parts["train"]["flight_id"].to_pylist() == [0, 1, 2, 6, 7, 8]
    assert parts["test"]["flight_id"].to_pylist() == [3, 5, 10, 11]
    assert parts["test"]["arr_delay"].to_pylist() == [30, 50, 100, 110]
