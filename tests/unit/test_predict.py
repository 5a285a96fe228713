"""snakeml.predict: new flights checked on entry, featurised by the same SQL, scored in order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from snakeml.columns import FEATURE_COLUMNS
from snakeml.config import rule_slices
from snakeml.errors import DataError
from snakeml.features import write_features
from snakeml.predict import (
    NEW_FLIGHT_COLUMNS,
    flight_keys,
    new_flight_features,
    read_new_flights,
    score_new_flights,
    typed_flights,
)

OUTCOMES = ["dep_time", "dep_delay", "arr_time", "arr_delay", "air_time"]


@pytest.fixture
def new_flights(shared_inputs, tmp_path) -> pd.DataFrame:
    """Every raw flight of the tiny tables, its outcomes removed, as a user would send it."""
    raw, _ = shared_inputs
    return pq.read_table(raw["flights"]).to_pandas().drop(columns=OUTCOMES)


def write(frame: pd.DataFrame, path) -> str:
    frame.to_parquet(path, index=False)
    return path


def test_new_flight_features_equal_the_training_features(sql_dir, shared_inputs, cfg, tmp_path):
    raw, reference = shared_inputs
    settings = rule_slices(cfg)["features"]
    write_features(raw, reference, sql_dir, tmp_path / "features.parquet", settings)
    expected = pd.read_parquet(tmp_path / "features.parquet").set_index("flight_id")

    flights = pq.read_table(raw["flights"])
    new = flights.drop_columns(OUTCOMES)
    features = new_flight_features(typed_flights(new, "new"), raw, reference, sql_dir, settings)
    assert features["row_index"].tolist() == list(range(new.num_rows))
    features.index = pd.Index(flights["flight_id"].to_pylist(), name="flight_id")
    landed = expected.index  # the training table holds only flights with an arrival delay
    assert len(landed) > 0
    pd.testing.assert_frame_equal(
        features.loc[landed, list(FEATURE_COLUMNS)],
        expected.loc[landed, list(FEATURE_COLUMNS)],
        check_dtype=False,
    )


def test_read_new_flights_parquet_and_csv_agree(new_flights, tmp_path):
    parquet = read_new_flights(write(new_flights, tmp_path / "new.parquet"))
    new_flights.to_csv(tmp_path / "new.csv", index=False)
    csv = read_new_flights(tmp_path / "new.csv")
    assert typed_flights(csv, "csv").equals(typed_flights(parquet, "parquet"))
    assert flight_keys(parquet)[0] == "flight_id"
    assert "flight_id" not in flight_keys(csv.drop_columns(["flight_id"]))


def test_missing_columns_are_named(new_flights, tmp_path):
    path = write(new_flights.drop(columns=["distance", "origin"]), tmp_path / "new.parquet")
    with pytest.raises(DataError, match=r"new\.parquet: new flights lack columns \['origin', "):
        read_new_flights(path)


def test_wrong_type_is_named(new_flights, tmp_path):
    path = write(new_flights.assign(distance="far"), tmp_path / "new.parquet")
    with pytest.raises(DataError, match=r"column 'distance' is .*string, expected an integer"):
        read_new_flights(path)


def test_naive_time_hour_is_refused(new_flights, tmp_path):
    naive = new_flights.assign(time_hour=new_flights["time_hour"].dt.tz_localize(None))
    with pytest.raises(DataError, match=r"'time_hour' .* expected a timestamp with a time zone"):
        read_new_flights(write(naive, tmp_path / "new.parquet"))


def test_csv_value_of_the_wrong_type_is_named(new_flights, tmp_path):
    new_flights.astype({"distance": object}).assign(distance="far").to_csv(
        tmp_path / "new.csv", index=False
    )
    with pytest.raises(DataError, match=r"new\.csv: cannot read .*invalid value 'far'"):
        read_new_flights(tmp_path / "new.csv")


def test_empty_and_unknown_files(new_flights, tmp_path):
    with pytest.raises(DataError, match="holds no flights"):
        read_new_flights(write(new_flights.head(0), tmp_path / "new.parquet"))
    (tmp_path / "new.json").write_text("{}")
    with pytest.raises(DataError, match=r"must be a \.parquet or \.csv file"):
        read_new_flights(tmp_path / "new.json")
    with pytest.raises(DataError, match="cannot read"):
        read_new_flights(tmp_path / "absent.parquet")


def test_values_out_of_range_fail_the_contract(sql_dir, new_flights, shared_inputs, cfg, tmp_path):
    raw, reference = shared_inputs
    bad = pa.Table.from_pandas(new_flights.assign(month=13), preserve_index=False)
    with pytest.raises(DataError, match=r"new flights, column month: \d+ rows lie outside"):
        new_flight_features(
            typed_flights(bad, "new"), raw, reference, sql_dir, rule_slices(cfg)["features"]
        )


def test_score_new_flights_keeps_keys_and_order(sql_dir, new_flights, shared_inputs, cfg, tmp_path):
    from sklearn.dummy import DummyRegressor
    from sklearn.pipeline import make_pipeline

    from snakeml.models import save_model

    raw, reference = shared_inputs
    pipeline = make_pipeline(DummyRegressor(strategy="constant", constant=7.0))
    pipeline.fit(np.zeros((2, 1)), [7.0, 7.0])
    save_model(pipeline, tmp_path / "model.skops")
    reordered = new_flights.iloc[::-1].drop(columns=["hour"])
    settings = {
        "features": rule_slices(cfg)["features"],
        "columns": rule_slices(cfg)["predict"]["columns"],
    }
    output = tmp_path / "out" / "scored.parquet"
    rows = score_new_flights(
        write(reordered, tmp_path / "new.parquet"),
        raw,
        reference,
        sql_dir,
        tmp_path / "model.skops",
        settings,
        output,
    )
    scored = pd.read_parquet(output)
    assert rows == len(reordered)
    assert scored["flight_id"].tolist() == reordered["flight_id"].tolist()
    assert list(scored.columns[:-1]) == flight_keys(pa.Table.from_pandas(reordered))
    assert scored.columns[-1] == "predicted_arr_delay"
    assert (scored["predicted_arr_delay"] == 7.0).all()


def test_bad_new_flights_write_nothing(sql_dir, new_flights, shared_inputs, cfg, tmp_path):
    raw, reference = shared_inputs
    settings = {"features": rule_slices(cfg)["features"], "columns": {}}
    output = tmp_path / "out" / "scored.parquet"
    with pytest.raises(DataError, match="lack columns"):
        score_new_flights(
            write(new_flights.drop(columns=["tailnum"]), tmp_path / "new.parquet"),
            raw,
            reference,
            sql_dir,
            tmp_path / "model.skops",
            settings,
            output,
        )
    assert not output.parent.exists()


def test_new_flight_columns_are_raw_flight_columns():
    from snakeml.ingest import RAW_SCHEMAS

    assert set(NEW_FLIGHT_COLUMNS) <= set(RAW_SCHEMAS["flights"].names)
