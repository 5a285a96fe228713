"""Drift of scored rows against the rows the model was fitted on, per model input column.

The reference is the training rows themselves (the split files the model was fitted on), read
with DuckDB, so no model library is imported. For a categorical column it holds the categories
seen in training; for a numeric column its range [min, max]; for both, whether training had
nulls. The scored rows' feature frame is compared with it: categories never seen in training
(listed, most rows first, capped at ``UNSEEN_LISTED``), the share of values outside the range,
and the share of nulls where training had none. Shares are fractions of the scored rows.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

# How many unseen categories a column's summary lists by name (the count is always given).
UNSEEN_LISTED = 20


@dataclass(frozen=True)
class Reference:
    """What training held, per model input column.

    ``ranges`` maps a numeric column to its (min, max) over non-null, non-NaN values (None, None
    when it had none); ``categories`` maps a categorical column to its values as strings, the
    way the model sees them; ``nulls`` maps every column to its count of nulls (NaN included).
    """

    rows: int
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    categories: dict[str, frozenset[str]] = field(default_factory=dict)
    nulls: dict[str, int] = field(default_factory=dict)


def training_reference(paths: Sequence[str | Path], columns: dict[str, Any]) -> Reference:
    """The reference of the rows in the parquet files ``paths`` (all of them, as one table).

    ``columns`` holds the model's ``numeric`` and ``categorical`` column lists. Categories are
    turned into strings as the model's input frame turns them (``str`` of the value).
    """
    import duckdb

    files = [str(p) for p in paths]
    numeric, categorical = list(columns["numeric"]), list(columns["categorical"])
    aggregates = ["count(*)"]
    for name in numeric:
        value = f'cast(training."{name}" as double)'
        aggregates += [
            f"min({value}) filter (where not isnan({value}))",
            f"max({value}) filter (where not isnan({value}))",
            f"count(*) filter (where {value} is null or isnan({value}))",
        ]
    for name in categorical:
        aggregates += [
            f'list(distinct training."{name}") filter (where training."{name}" is not null)',
            f'count(*) filter (where training."{name}" is null)',
        ]
    con = duckdb.connect()
    try:
        con.execute("set enable_progress_bar = false")
        con.register("training", con.read_parquet(files))
        # One scan of the training rows for every column.
        (values,) = con.execute(f"select {', '.join(aggregates)} from training").fetchall()
    finally:
        con.close()
    count, rest = values[0], iter(values[1:])
    ranges: dict[str, tuple[float | None, float | None]] = {}
    nulls: dict[str, int] = {}
    for name in numeric:
        low, high, missing = next(rest), next(rest), next(rest)
        ranges[name] = (low, high)
        nulls[name] = int(missing)
    categories: dict[str, frozenset[str]] = {}
    for name in categorical:
        seen, missing = next(rest), next(rest)
        categories[name] = frozenset(str(value) for value in seen or ())
        nulls[name] = int(missing)
    return Reference(int(count), ranges, categories, nulls)


def _share(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 0.0


def column_drift(frame: pd.DataFrame, reference: Reference) -> dict[str, dict[str, Any]]:
    """Per model input column of ``reference``, how the scored ``frame`` departs from training.

    ``frame`` holds the scored rows' feature columns (one row per scored row). A numeric column
    gives ``training_min``/``training_max``, the rows ``below`` and ``above`` that range,
    ``outside`` (their sum) and ``outside_share``; a categorical one gives ``unseen`` (category
    -> rows, the ``UNSEEN_LISTED`` with most rows), ``unseen_categories`` (how many in all),
    ``unseen_rows`` and ``unseen_share``. Both give ``nulls``, ``null_share``,
    ``training_nulls``, ``new_nulls`` (nulls where training had none) and ``drifted``: whether
    any value is outside, unseen, or null where training had no null. Shares are fractions of
    ``len(frame)``, rounded to 6 decimals. A numeric column training never had a value of counts
    every value as below its (empty) range. Raises KeyError when ``frame`` lacks a column.
    """
    import pandas as pd

    rows = len(frame)
    out: dict[str, dict[str, Any]] = {}
    for name, (low, high) in reference.ranges.items():
        values = pd.to_numeric(frame[name], errors="coerce").astype("float64")
        present = values.notna()
        nulls = int((~present).sum())
        below = int((values < low).sum()) if low is not None else int(present.sum())
        above = int((values > high).sum()) if high is not None else 0
        outside = below + above
        out[name] = {
            "kind": "numeric",
            "training_min": low,
            "training_max": high,
            "below": below,
            "above": above,
            "outside": outside,
            "outside_share": _share(outside, rows),
            **_nulls(nulls, rows, reference.nulls[name]),
        }
        out[name]["drifted"] = bool(outside or out[name]["new_nulls"])
    for name, seen in reference.categories.items():
        values = frame[name]
        present = values.notna()
        as_text = values[present].astype("object").map(str)
        unseen = as_text[~as_text.isin(seen)].value_counts()
        ordered = sorted(unseen.items(), key=lambda item: (-item[1], item[0]))
        unseen_rows = int(unseen.sum())
        out[name] = {
            "kind": "categorical",
            "unseen": {str(k): int(v) for k, v in ordered[:UNSEEN_LISTED]},
            "unseen_categories": len(ordered),
            "unseen_rows": unseen_rows,
            "unseen_share": _share(unseen_rows, rows),
            **_nulls(int((~present).sum()), rows, reference.nulls[name]),
        }
        out[name]["drifted"] = bool(unseen_rows or out[name]["new_nulls"])
    return out


def _nulls(nulls: int, rows: int, training_nulls: int) -> dict[str, Any]:
    return {
        "nulls": nulls,
        "null_share": _share(nulls, rows),
        "training_nulls": training_nulls,
        "new_nulls": bool(nulls and not training_nulls),
    }


def drift_warnings(drift: dict[str, dict[str, Any]], rows: int) -> list[str]:
    """One line per drifted column of ``column_drift``'s result, for the rule's log."""
    lines = []
    for name, column in drift.items():
        if not column["drifted"]:
            continue
        parts = []
        if column["kind"] == "numeric" and column["outside"]:
            parts.append(
                f"{column['outside']} of {rows} scored rows ({column['outside_share']:.1%}) lie "
                f"outside the training range [{_number(column['training_min'])}, "
                f"{_number(column['training_max'])}] ({column['below']} below, "
                f"{column['above']} above)"
            )
        if column["kind"] == "categorical" and column["unseen_rows"]:
            listed = ", ".join(f"{k!r} ({v})" for k, v in column["unseen"].items())
            more = column["unseen_categories"] - len(column["unseen"])
            parts.append(
                f"{column['unseen_rows']} of {rows} scored rows ({column['unseen_share']:.1%}) "
                f"have categories never seen in training: {listed}"
                + (f" and {more} more" if more > 0 else "")
            )
        if column["new_nulls"]:
            parts.append(
                f"{column['nulls']} of {rows} scored rows ({column['null_share']:.1%}) are null "
                "where training had no null"
            )
        lines.append(f"drift in column {name}: " + "; ".join(parts))
    return lines


def _number(value: float | None) -> str:
    if value is None:
        return "none"
    return f"{value:g}" if math.isfinite(value) else str(value)
