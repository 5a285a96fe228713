"""snakeml.prediction.drift: scored rows against the rows the model was fitted on, on tiny
tables."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from snakeml.prediction.drift import UNSEEN_LISTED, column_drift, drift_warnings, training_reference

COLUMNS = {"target": "y", "numeric": ["distance", "temp"], "categorical": ["carrier"]}


@pytest.fixture
def reference(tmp_path):
    """Training in two files (train, valid): distance 100..500, temp with a null and a NaN."""
    train = pd.DataFrame(
        {
            "distance": [100, 200, 300],
            "temp": [1.5, None, 3.0],
            "carrier": ["AA", "UA", "AA"],
            "y": [1.0, 2.0, 3.0],
        }
    )
    valid = pd.DataFrame({"distance": [500], "temp": [math.nan], "carrier": ["DL"], "y": [4.0]})
    train.to_parquet(tmp_path / "train.parquet", index=False)
    valid.to_parquet(tmp_path / "valid.parquet", index=False)
    return training_reference([tmp_path / "train.parquet", tmp_path / "valid.parquet"], COLUMNS)


def test_reference_holds_ranges_categories_and_nulls_of_every_file(reference):
    assert reference.rows == 4
    assert reference.ranges == {"distance": (100.0, 500.0), "temp": (1.5, 3.0)}
    assert reference.categories == {"carrier": frozenset({"AA", "UA", "DL"})}
    assert reference.nulls == {"distance": 0, "temp": 2, "carrier": 0}


def test_unseen_categories_and_values_outside_the_range(reference):
    scored = pd.DataFrame(
        {
            # 8 rows: 50 below, 600 and 900 above, 100 and 500 are the range's own ends
            "distance": [50, 100, 250, 500, 600, 900, 300, None],
            "temp": [2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 40.0],
            "carrier": ["AA", "ZZ", "YY", "ZZ", None, "UA", "DL", "AA"],
        }
    )
    drift = column_drift(scored, reference)
    distance = drift["distance"]
    assert (distance["below"], distance["above"], distance["outside"]) == (1, 2, 3)
    assert distance["outside_share"] == round(3 / 8, 6)
    # training had no null distance: a null now is drift too
    assert (distance["nulls"], distance["null_share"], distance["new_nulls"]) == (1, 0.125, True)
    assert distance["drifted"] is True
    assert drift["temp"]["outside"] == 1 and drift["temp"]["new_nulls"] is False
    carrier = drift["carrier"]
    assert carrier["unseen"] == {"ZZ": 2, "YY": 1}  # most rows first
    assert (carrier["unseen_rows"], carrier["unseen_categories"]) == (3, 2)
    assert carrier["unseen_share"] == 0.375
    assert carrier["nulls"] == 1 and carrier["new_nulls"] is True


def test_rows_like_training_do_not_drift(reference):
    scored = pd.DataFrame({"distance": [100, 500], "temp": [None, 3.0], "carrier": ["DL", "UA"]})
    drift = column_drift(scored, reference)
    assert not any(column["drifted"] for column in drift.values())
    assert drift["temp"]["nulls"] == 1  # training had nulls: not drift
    assert drift_warnings(drift, 2) == []


def test_unseen_categories_are_listed_up_to_the_cap(reference):
    many = [f"C{i:03d}" for i in range(UNSEEN_LISTED + 5)]
    scored = pd.DataFrame(
        {"distance": [200] * len(many), "temp": [2.0] * len(many), "carrier": many}
    )
    carrier = column_drift(scored, reference)["carrier"]
    assert len(carrier["unseen"]) == UNSEEN_LISTED
    assert carrier["unseen_categories"] == UNSEEN_LISTED + 5
    (line,) = drift_warnings({"carrier": carrier}, len(many))
    assert line.endswith("and 5 more")


def test_one_warning_line_per_drifted_column(reference):
    scored = pd.DataFrame({"distance": [50, 200], "temp": [2.0, 2.0], "carrier": ["ZZ", "AA"]})
    lines = drift_warnings(column_drift(scored, reference), 2)
    assert lines == [
        "drift in column distance: 1 of 2 scored rows (50.0%) lie outside the training range "
        "[100, 500] (1 below, 0 above)",
        "drift in column carrier: 1 of 2 scored rows (50.0%) have categories never seen in "
        "training: 'ZZ' (1)",
    ]
