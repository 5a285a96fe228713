"""snakeml.validation.split's time strategy: boundaries or fractions, the gap, and deterministic row
caps.

The other strategies and the folds are in test_split_strategies.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from snakeml.core.errors import DataError
from snakeml.core.schema import SplitConfig
from snakeml.core.slices import FoldCount, SplitSlice, ValidationTask
from snakeml.validation.split import (
    EMBARGOED,
    SPLITS,
    boundary,
    kept_rows,
    make_strategy,
    split_table,
    write_splits,
)

SPLIT = {
    "strategy": "time",
    "gap": None,
    "group": None,
    "column": None,
    "fold_column": None,
    "time_zone": "UTC",
    "train_until": "2013-04-01",
    "valid_until": "2013-05-01",
    "train_fraction": None,
    "valid_fraction": None,
    "period": "month",
    "max_train_rows": None,
    "max_eval_rows": None,
}
FRACTIONS = {**SPLIT, "train_until": None, "valid_until": None}
KEY = ["flight_id"]


def mid_month(month: int) -> datetime:
    """Noon UTC on the 15th of ``month`` in 2013."""
    return datetime(2013, month, 15, 12, tzinfo=UTC)


@pytest.fixture
def features() -> pa.Table:
    """Two flights per month for months 1-6, interleaved so time order != row order."""
    months = [3, 1, 2, 5, 4, 6, 1, 2, 3, 4, 5, 6]
    return pa.table(
        {
            "flight_id": pa.array(range(len(months)), pa.int64()),
            "time_hour": pa.array([mid_month(m) for m in months], pa.timestamp("us", tz="UTC")),
            "month": pa.array(months, pa.int32()),
            "arr_delay": pa.array([10 * i for i in range(len(months))], pa.int32()),
        }
    )


def time_strategy(settings: dict, time: str = "time_hour", key=KEY, seed: int = 13, horizon=None):
    return make_strategy(SplitConfig(**settings), False, "arr_delay", time, horizon, key, seed)


def split_by_time(
    table: pa.Table, time: str, key: list[str], settings: dict, seed: int, horizon=None
) -> dict[str, pa.Table]:
    return split_table(table, time_strategy(settings, time, key, seed, horizon))[0]


def split(features: pa.Table, settings: dict, seed: int = 13) -> dict[str, pa.Table]:
    return split_by_time(features, "time_hour", KEY, settings, seed)


def split_masks(table: pa.Table, time: str, settings: dict) -> dict[str, pa.Array]:
    parts = time_strategy(settings, time).assign(table.to_pandas())
    return {name: pa.array(parts == index) for index, name in enumerate(SPLITS)}


def test_boundaries_send_each_row_to_its_split_in_key_order(features):
    parts = split(features, SPLIT)
    assert list(parts) == ["train", "valid", "test"]
    assert parts["train"]["flight_id"].to_pylist() == [0, 1, 2, 6, 7, 8]
    assert parts["valid"]["flight_id"].to_pylist() == [4, 9]
    assert parts["test"]["flight_id"].to_pylist() == [3, 5, 10, 11]
    assert set(parts["train"]["month"].to_pylist()) == {1, 2, 3}
    assert set(parts["test"]["month"].to_pylist()) == {5, 6}
    assert sum(p.num_rows for p in parts.values()) == features.num_rows


def test_boundary_is_a_wall_clock_time_in_the_time_zone():
    tz_column = pa.timestamp("us", tz="UTC")
    # Midnight in New York on Oct 1 (EDT, UTC-4) is 04:00 UTC.
    assert boundary("2013-10-01", tz_column, "America/New_York").as_py() == datetime(
        2013, 10, 1, 4, tzinfo=UTC
    )
    assert boundary("2013-10-01", tz_column, "UTC").as_py() == datetime(2013, 10, 1, tzinfo=UTC)
    # A boundary that states its offset keeps it.
    stated = boundary("2013-10-01T00:00:00+00:00", tz_column, "America/New_York")
    assert stated.as_py() == datetime(2013, 10, 1, tzinfo=UTC)
    # Dates and plain timestamps are compared as they are.
    assert boundary("2013-10-01", pa.date32(), "America/New_York").as_py() == date(2013, 10, 1)
    assert boundary("2013-10-01T06:00", pa.timestamp("us"), "America/New_York").as_py() == (
        datetime(2013, 10, 1, 6)
    )


def test_boundaries_on_a_zoned_column_follow_the_split_time_zone():
    # 23:30 on Sep 30 in New York is 03:30Z on Oct 1; 00:30 on Oct 1 in New York is 04:30Z.
    times = [
        datetime(2013, 9, 1, tzinfo=UTC),
        datetime(2013, 10, 1, 3, 30, tzinfo=UTC),
        datetime(2013, 10, 1, 4, 30, tzinfo=UTC),
        datetime(2013, 12, 1, 4, 59, tzinfo=UTC),  # Nov 30, 23:59 in New York
        datetime(2013, 12, 1, 5, 0, tzinfo=UTC),  # Dec 1, 00:00 in New York
    ]
    table = pa.table(
        {
            "flight_id": pa.array(range(5), pa.int64()),
            "time_hour": pa.array(times, pa.timestamp("us", tz="UTC")),
        }
    )
    settings = {
        **SPLIT,
        "time_zone": "America/New_York",
        "train_until": "2013-10-01",
        "valid_until": "2013-12-01",
    }
    parts = split_by_time(table, "time_hour", KEY, settings, 13)
    assert parts["train"]["flight_id"].to_pylist() == [0, 1]
    assert parts["valid"]["flight_id"].to_pylist() == [2, 3]
    assert parts["test"]["flight_id"].to_pylist() == [4]
    # In UTC the row at 03:30Z on Oct 1 is no longer train.
    parts = split_by_time(table, "time_hour", KEY, {**settings, "time_zone": "UTC"}, 13)
    assert parts["train"]["flight_id"].to_pylist() == [0]


def test_boundaries_on_a_date_column():
    days = [date(2014, 6, 30), date(2014, 7, 1), date(2014, 12, 31), date(2015, 1, 1)]
    table = pa.table({"day_id": pa.array([3, 2, 1, 0], pa.int64()), "date": pa.array(days)})
    settings = {**SPLIT, "train_until": "2014-07-01", "valid_until": "2015-01-01"}
    parts = split_by_time(table, "date", ["day_id"], settings, 13)
    assert parts["train"]["date"].to_pylist() == [date(2014, 6, 30)]
    assert parts["valid"]["date"].to_pylist() == [date(2014, 12, 31), date(2014, 7, 1)]
    assert parts["valid"]["day_id"].to_pylist() == [1, 2]  # key order, not time order
    assert parts["test"]["date"].to_pylist() == [date(2015, 1, 1)]


def test_fractions_cut_the_time_ordered_rows(features):
    parts = split(features, {**FRACTIONS, "train_fraction": 0.5, "valid_fraction": 0.25})
    # 12 rows: 6 train (months 1-3); the 75% cut falls between the two month-5 rows, so both
    # go to test with month 6
    assert set(parts["train"]["month"].to_pylist()) == {1, 2, 3}
    assert parts["train"].num_rows == 6
    assert parts["valid"]["month"].to_pylist() == [4, 4]
    assert parts["test"]["month"].to_pylist() == [5, 6, 5, 6]  # in key order


def test_fractions_keep_rows_at_the_same_time_together():
    start = datetime(2013, 1, 1, tzinfo=UTC)
    hours = [0, 1, 1, 1, 1, 2, 3, 3, 4, 5]
    table = pa.table(
        {
            "flight_id": pa.array(range(len(hours)), pa.int64()),
            "time_hour": pa.array([start + timedelta(hours=h) for h in hours]),
        }
    )
    masks = split_masks(table, "time_hour", {**FRACTIONS, "train_fraction": 0.3,
                                             "valid_fraction": 0.4})  # fmt: skip
    # The 30% cut falls inside the four rows at hour 1: they all go to valid.
    assert masks["train"].to_pylist() == [True] + [False] * 9
    assert masks["valid"].to_pylist() == [False] + [True] * 5 + [False] * 4
    assert masks["test"].to_pylist() == [False] * 6 + [True] * 4


def test_an_empty_split_between_boundaries_names_the_split_and_the_keys(features):
    # Both boundaries lie inside the data, but no flight falls between them.
    settings = {**SPLIT, "train_until": "2013-04-01", "valid_until": "2013-04-10"}
    keys = r"change split\.train_until and split\.valid_until"
    with pytest.raises(
        DataError, match=rf"split 'valid' is empty: .* by split\.strategy time; {keys}"
    ):
        split(features, settings)


def test_an_empty_split_by_fractions_names_the_split_and_the_keys():
    # Ten rows at the first time: a 10% train cut falls among them and leaves nothing before.
    start = datetime(2013, 4, 1, tzinfo=UTC)
    times = [start] * 10 + [start + timedelta(days=1 + d) for d in range(10)]
    table = pa.table(
        {
            "flight_id": pa.array(range(20), pa.int64()),
            "time_hour": pa.array(times, pa.timestamp("us", tz="UTC")),
        }
    )
    settings = {**FRACTIONS, "train_fraction": 0.1, "valid_fraction": 0.2}
    keys = r"change split\.train_fraction and split\.valid_fraction"
    with pytest.raises(
        DataError, match=rf"split 'train' is empty: .* by split\.strategy time; {keys}"
    ):
        split(table, settings)


@pytest.mark.parametrize(
    ("bounds", "key"),
    [
        (("2012-06-01", "2013-04-01"), "train_until"),
        (("2013-01-15T12:00:00", "2013-04-01"), "train_until"),  # no row before it
        (("2013-02-01", "2013-07-01"), "valid_until"),
    ],
)
def test_a_boundary_outside_the_data_names_it(features, bounds, key):
    settings = {**SPLIT, "train_until": bounds[0], "valid_until": bounds[1]}
    value = settings[key]
    with pytest.raises(
        DataError, match=rf"split\.{key}={value} lies outside the data's time range"
    ):
        split(features, settings)


@pytest.mark.parametrize(
    ("column", "message"),
    [
        (pa.array(range(12), pa.int32()), "is int32, not a date or timestamp"),
        (
            pa.array([mid_month(1)] * 11 + [None], pa.timestamp("us", tz="UTC")),
            "has 1 null values",
        ),
    ],
)
def test_the_time_column_must_be_a_complete_date_or_timestamp(features, column, message):
    table = features.set_column(1, "time_hour", column)
    with pytest.raises(DataError, match=rf"task\.time: column 'time_hour' {message}"):
        split(table, SPLIT)
    with pytest.raises(DataError, match=r"no column 'when' \(task\.time\)"):
        split_by_time(features, "when", KEY, SPLIT, 13)


def cap_rows(table: pa.Table, max_rows: int | None, seed: int) -> pa.Table:
    """The rows kept_rows keeps of ``table``."""
    keep = kept_rows(table.num_rows, max_rows, seed)
    return table if keep is None else table.take(pa.array(keep))


def test_kept_rows_without_cap_or_below_it_keeps_every_row(features):
    assert kept_rows(features.num_rows, None, seed=0) is None
    assert kept_rows(features.num_rows, features.num_rows, seed=0) is None


def test_kept_rows_is_deterministic_and_keeps_order(features):
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


def test_kept_rows_depends_on_the_seed(features):
    samples = {tuple(cap_rows(features, 3, seed=s)["flight_id"].to_pylist()) for s in range(10)}
    assert len(samples) > 1


def test_split_caps_train_and_both_eval_splits_with_offset_seeds(features):
    parts = split(features, {**SPLIT, "max_train_rows": 4, "max_eval_rows": 1})
    whole = split(features, SPLIT)
    assert parts["train"].num_rows == 4
    assert parts["valid"].num_rows == 1
    assert parts["test"].num_rows == 1
    assert parts["train"].equals(cap_rows(whole["train"], 4, 13))
    assert parts["valid"].equals(cap_rows(whole["valid"], 1, 14))
    assert parts["test"].equals(cap_rows(whole["test"], 1, 15))


def split_settings(split_config: dict, horizon=None) -> SplitSlice:
    """The split rule's slice: seed, split, task, key and the tuning folds."""
    task = ValidationTask(kind="regression", target="arr_delay", time="time_hour", horizon=horizon)
    return SplitSlice(
        seed=13, split=SplitConfig(**split_config), task=task, key=KEY, tuning=FoldCount(n_folds=2)
    )


def test_write_splits(features, tmp_path):
    pq.write_table(features, tmp_path / "features.parquet")
    outputs = {name: tmp_path / "split" / f"{name}.parquet" for name in ("train", "valid", "test")}
    counts = write_splits(tmp_path / "features.parquet", outputs, split_settings(SPLIT))
    assert counts == {"train": 6, "valid": 2, "test": 4, "gap": 0, "no_target": 0}
    assert pq.read_table(outputs["valid"])["flight_id"].to_pylist() == [4, 9]
    assert pq.read_table(outputs["test"]).schema == features.schema


def test_write_splits_writes_what_split_table_cuts_from_the_rows_with_a_target(features, tmp_path):
    with_null = features.set_column(3, "arr_delay", pa.array([None] * 3 + [10] * 9, pa.int32()))
    pq.write_table(with_null, tmp_path / "features.parquet")
    outputs = {name: tmp_path / f"{name}.parquet" for name in SPLITS}
    capped = {**FRACTIONS, "train_fraction": 0.6, "valid_fraction": 0.2, "max_eval_rows": 1}
    counts = write_splits(tmp_path / "features.parquet", outputs, split_settings(capped))
    kept = with_null.filter(pc.is_valid(with_null["arr_delay"]))
    expected, _ = split_table(kept, time_strategy(capped))
    assert counts["no_target"] == 3
    for name in SPLITS:
        assert pq.read_table(outputs[name]).equals(expected[name]), name
        assert counts[name] == expected[name].num_rows
    assert counts["valid"] == counts["test"] == 1


def test_write_splits_above_its_memory_request_stops_before_writing(features, tmp_path):
    from snakeml.core.errors import ConfigError

    pq.write_table(features, tmp_path / "features.parquet")
    outputs = {name: tmp_path / "split" / f"{name}.parquet" for name in ("train", "valid", "test")}
    with pytest.raises(ConfigError, match=r"^rule split: 12 rows x \d+ columns need about \d+ MB"):
        write_splits(tmp_path / "features.parquet", outputs, split_settings(SPLIT), memory_mb=1)
    assert not (tmp_path / "split").exists()
    write_splits(tmp_path / "features.parquet", outputs, split_settings(SPLIT), memory_mb=4608)
    assert outputs["train"].is_file()


def test_write_splits_follows_the_slice(features, tmp_path):
    pq.write_table(features, tmp_path / "features.parquet")
    outputs = {name: tmp_path / f"{name}.parquet" for name in ("train", "valid", "test")}
    later = {**SPLIT, "train_until": "2013-05-01", "valid_until": "2013-06-01"}
    counts = write_splits(tmp_path / "features.parquet", outputs, split_settings(later))
    assert counts == {"train": 8, "valid": 2, "test": 2, "gap": 0, "no_target": 0}


def test_write_splits_with_an_empty_split_writes_nothing(features, tmp_path):
    pq.write_table(features, tmp_path / "features.parquet")
    outputs = {name: tmp_path / "split" / f"{name}.parquet" for name in ("train", "valid", "test")}
    empty = {**SPLIT, "valid_until": "2013-04-10"}
    with pytest.raises(DataError, match="split 'valid' is empty"):
        write_splits(tmp_path / "features.parquet", outputs, split_settings(empty))
    assert not (tmp_path / "split").exists()


def test_split_orders_each_part_by_the_key(features):
    shuffled = features.take(pa.array([11, 3, 0, 7, 5, 9, 1, 10, 2, 8, 4, 6]))
    parts = split(shuffled, SPLIT)
    assert parts["train"]["flight_id"].to_pylist() == [0, 1, 2, 6, 7, 8]
    assert parts["test"]["flight_id"].to_pylist() == [3, 5, 10, 11]
    assert parts["test"]["arr_delay"].to_pylist() == [30, 50, 100, 110]


def test_a_gap_drops_the_rows_whose_target_crosses_each_cut(features):
    # Mid-month rows, boundaries on Apr 1 and Jun 1: a 20-day horizon pushes the targets of the
    # March 15 rows past Apr 1 and of the May 15 rows past Jun 1; a 10-day one does not.
    settings = {**SPLIT, "valid_until": "2013-06-01"}
    parts, dropped = split_table(features, time_strategy(settings, horizon="20 days"))
    assert set(parts["train"]["month"].to_pylist()) == {1, 2}
    assert parts["valid"]["month"].to_pylist() == [4, 4]
    assert parts["test"]["month"].to_pylist() == [6, 6]
    assert dropped == 4
    assert split_table(features, time_strategy(settings, horizon="10 days"))[1] == 0


def test_a_gap_longer_than_a_part_is_refused(features):
    with pytest.raises(DataError, match=r"split\.gap '40 days' is longer than the valid part"):
        split_table(features, time_strategy({**SPLIT, "gap": "40 days"}))


def test_a_gap_in_months_is_a_calendar_month():
    # Monthly rows: with a 1-month gap, December's row (its target is January's) leaves train.
    months = [date(2013 + (m - 1) // 12, (m - 1) % 12 + 1, 1) for m in range(1, 19)]
    table = pa.table({"row": pa.array(range(len(months)), pa.int64()), "month": pa.array(months)})
    settings = {**SPLIT, "train_until": "2014-01-01", "valid_until": "2014-04-01"}
    strategy = time_strategy(settings, time="month", key=["row"], horizon="1 month")
    cut = EMBARGOED
    assert strategy.assign(table.to_pandas()).tolist() == [0] * 11 + [cut, 1, 1, cut] + [2] * 3
    # split.gap overrides the task's horizon
    wider = time_strategy({**settings, "gap": "2 months"}, time="month", key=["row"])
    assert wider.assign(table.to_pandas()).tolist() == [0] * 10 + [cut, cut, 1, cut, cut] + [2] * 3


def test_write_splits_counts_the_gap_and_the_rows_without_a_target(features, tmp_path):
    twice = pa.concat_tables(
        [features, features.set_column(0, "flight_id", pa.array(range(12, 24), pa.int64()))]
    )
    with_null = twice.set_column(3, "arr_delay", pa.array([None] + [10] * 23, pa.int32()))
    pq.write_table(with_null, tmp_path / "features.parquet")
    outputs = {name: tmp_path / f"{name}.parquet" for name in SPLITS}
    settings = {**SPLIT, "train_until": "2013-03-01", "valid_until": "2013-06-01"}
    counts = write_splits(
        tmp_path / "features.parquet", outputs, split_settings(settings, horizon="20 days")
    )
    # flight 0 (March) has no target; the February and May rows cross the cuts
    assert counts == {"train": 4, "valid": 7, "test": 4, "gap": 8, "no_target": 1}
