"""Split: time-based train / valid / test by calendar month. Never random."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from snakeml.errors import DataError
from snakeml.io import write_parquet

log = logging.getLogger(__name__)

SPLITS: tuple[str, ...] = ("train", "valid", "test")


def select_months(table: pa.Table, months: list[int]) -> pa.Table:
    """Rows whose ``month`` is in ``months``, in their original order."""
    if "month" not in table.column_names:
        raise DataError("feature table has no 'month' column: the split needs it")
    return table.filter(pc.is_in(table["month"], value_set=pa.array(months, pa.int32())))


def cap_rows(table: pa.Table, max_rows: int | None, seed: int) -> pa.Table:
    """A deterministic sample of at most ``max_rows`` rows that keeps the time order."""
    if max_rows is None or table.num_rows <= max_rows:
        return table
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(table.num_rows, size=max_rows, replace=False))
    return table.take(pa.array(keep))


def split_by_month(table: pa.Table, split: dict[str, Any], seed: int) -> dict[str, pa.Table]:
    """Cut the feature table into train, valid and test by the configured months."""
    caps = {
        "train": split["max_train_rows"],
        "valid": split["max_eval_rows"],
        "test": split["max_eval_rows"],
    }
    parts: dict[str, pa.Table] = {}
    for offset, name in enumerate(SPLITS):
        months = list(split[f"{name}_months"])
        # The feature build does not sort (a global sort costs memory); order here, per split.
        part = select_months(table, months).sort_by("flight_id")
        if part.num_rows == 0:
            raise DataError(
                f"split {name!r} is empty: no flights in months {months}; "
                f"set split.{name}_months to months present in the data"
            )
        parts[name] = cap_rows(part, caps[name], seed + offset)
    return parts


def write_splits(
    features: str | Path, outputs: dict[str, str | Path], split: dict[str, Any], seed: int
) -> dict[str, int]:
    """Read the feature table, split it and write each part; return the row counts."""
    parts = split_by_month(pq.read_table(features), split, seed)
    counts: dict[str, int] = {}
    for name, part in parts.items():
        write_parquet(part, outputs[name])
        counts[name] = part.num_rows
        log.info("split %s: %d rows (months %s)", name, part.num_rows, split[f"{name}_months"])
    return counts
