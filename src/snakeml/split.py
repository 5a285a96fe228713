"""Split: time-based train / valid / test by the task's time column. Never random.

Either boundaries in time (``split.train_until``, ``split.valid_until``, wall-clock times in
``split.time_zone``) or fractions of the time-ordered rows (``split.train_fraction``,
``split.valid_fraction``). Each part keeps its rows in the order of the feature table's key.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from snakeml.errors import DataError
from snakeml.io import write_parquet

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

SPLITS: tuple[str, ...] = ("train", "valid", "test")


def kept_rows(n_rows: int, max_rows: int | None, seed: int) -> np.ndarray | None:
    """The positions of a deterministic sample of at most ``max_rows`` of ``n_rows`` rows, in
    order; None when every row is kept (``max_rows`` None or not below ``n_rows``)."""
    if max_rows is None or n_rows <= max_rows:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_rows, size=max_rows, replace=False))


def cap_rows(table: pa.Table, max_rows: int | None, seed: int) -> pa.Table:
    """A deterministic sample of at most ``max_rows`` rows that keeps the row order."""
    keep = kept_rows(table.num_rows, max_rows, seed)
    return table if keep is None else table.take(pa.array(keep))


def sample_rows(frame: pd.DataFrame, max_rows: int | None, seed: int) -> pd.DataFrame:
    """A deterministic sample of at most ``max_rows`` rows of ``frame``, in their original order.

    ``max_rows=None`` keeps every row. The same ``seed`` gives the same rows.
    """
    keep = kept_rows(len(frame), max_rows, seed)
    return frame if keep is None else frame.iloc[keep]


def boundary(value: str, column_type: pa.DataType, time_zone: str) -> pa.Scalar:
    """A boundary such as ``"2013-10-01"`` as a scalar of the time column's type.

    For a column with a time zone (UTC instants) the boundary is a wall-clock time in
    ``time_zone``; dates and plain timestamps are compared as they are.
    """
    from zoneinfo import ZoneInfo

    moment = datetime.fromisoformat(str(value))
    if pa.types.is_date(column_type):
        return pa.scalar(date(moment.year, moment.month, moment.day), column_type)
    if pa.types.is_timestamp(column_type) and column_type.tz is not None:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(time_zone))
        return pa.scalar(moment, column_type)
    return pa.scalar(moment.replace(tzinfo=None), column_type)


def _time_column(table: pa.Table, time: str) -> pa.ChunkedArray:
    if time not in table.column_names:
        raise DataError(f"feature table has no column {time!r} (task.time): the split needs it")
    column = table[time]
    if not (pa.types.is_timestamp(column.type) or pa.types.is_date(column.type)):
        raise DataError(
            f"task.time: column {time!r} is {column.type}, not a date or timestamp: "
            "the split orders rows by time"
        )
    if column.null_count:
        raise DataError(f"task.time: column {time!r} has {column.null_count} null values")
    return column


def split_masks(table: pa.Table, time: str, split: dict[str, Any]) -> dict[str, pa.ChunkedArray]:
    """Which rows fall in train, valid and test."""
    column = _time_column(table, time)
    if split["train_until"] is not None:
        train_until = boundary(split["train_until"], column.type, split["time_zone"])
        valid_until = boundary(split["valid_until"], column.type, split["time_zone"])
        first, last = pc.min(column), pc.max(column)
        for key, value in (("train_until", train_until), ("valid_until", valid_until)):
            if pc.less_equal(value, first).as_py() or pc.greater(value, last).as_py():
                raise DataError(
                    f"split.{key}={split[key]} lies outside the data's time range "
                    f"({first.as_py()} to {last.as_py()} in column {time}): choose a time inside it"
                )
    else:
        ordered = pc.sort_indices(column)
        n = table.num_rows
        cut_train = min(n - 1, int(np.ceil(n * split["train_fraction"])))
        fraction = split["train_fraction"] + split["valid_fraction"]
        cut_valid = min(n - 1, int(np.ceil(n * fraction)))
        # Rows at the same time stay together: each cut falls at a change of time.
        train_until = column.take(ordered[cut_train : cut_train + 1])[0]
        valid_until = column.take(ordered[cut_valid : cut_valid + 1])[0]
    return {
        "train": pc.less(column, train_until),
        "valid": pc.and_(pc.greater_equal(column, train_until), pc.less(column, valid_until)),
        "test": pc.greater_equal(column, valid_until),
    }


def split_by_time(
    table: pa.Table, time: str, key: list[str], split: dict[str, Any], seed: int
) -> dict[str, pa.Table]:
    """Cut the feature table into train, valid and test by time; each part in key order."""
    caps = {
        "train": split["max_train_rows"],
        "valid": split["max_eval_rows"],
        "test": split["max_eval_rows"],
    }
    masks = split_masks(table, time, split)
    parts: dict[str, pa.Table] = {}
    for offset, name in enumerate(SPLITS):
        # The feature build does not sort (a global sort costs memory); order here, per split.
        part = table.filter(masks[name]).sort_by([(column, "ascending") for column in key])
        if part.num_rows == 0:
            how = (
                "split.train_until and split.valid_until"
                if split["train_until"] is not None
                else "split.train_fraction and split.valid_fraction"
            )
            raise DataError(
                f"split {name!r} is empty: no rows of {table.num_rows} fall in it by {time}; "
                f"change {how}"
            )
        parts[name] = cap_rows(part, caps[name], seed + offset)
    return parts


def write_splits(
    features: str | Path, outputs: dict[str, str | Path], settings: dict[str, Any]
) -> dict[str, int]:
    """Read the feature table, split it and write each part; return the row counts.

    ``settings`` is the split rule's slice: ``seed``, ``split``, ``time`` and ``key``.
    """
    parts = split_by_time(
        pq.read_table(features),
        settings["time"],
        list(settings["key"]),
        settings["split"],
        settings["seed"],
    )
    counts: dict[str, int] = {}
    for name, part in parts.items():
        write_parquet(part, outputs[name])
        counts[name] = part.num_rows
        log.info("split %s: %d rows", name, part.num_rows)
    return counts
