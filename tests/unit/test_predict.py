"""snakeml.predict: new rows checked on entry, featurised by the same build, scored in order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import SQL_DIR

from snakeml.config import rule_slices
from snakeml.dataset import load_declaration
from snakeml.errors import DataError
from snakeml.features import write_features
from snakeml.predict import (
    new_row_features,
    new_row_types,
    read_new_rows,
    score_new_rows,
    typed_rows,
)

DECLARATION = load_declaration(SQL_DIR)
FEATURE_COLUMNS = [f.name for f in DECLARATION.features]
OUTCOMES = ["dep_time", "dep_delay", "arr_time", "arr_delay", "air_time"]


@pytest.fixture
def settings(cfg):
    return rule_slices(cfg)["predict"]


@pytest.fixture
def types(settings):
    spec = settings["data"]["tables"]["flights"]
    assert DECLARATION.predict is not None
    return new_row_types(spec, (*DECLARATION.predict.omit, "flight_id"))


@pytest.fixture
def paths(shared_inputs):
    raw, reference = shared_inputs
    return {**raw, **reference}


@pytest.fixture
def new_flights(shared_inputs) -> pd.DataFrame:
    """Every raw flight of the tiny tables, its outcomes removed, as a user would send it."""
    raw, _ = shared_inputs
    return pq.read_table(raw["flights"]).to_pandas().drop(columns=OUTCOMES)


def write(frame: pd.DataFrame, path) -> str:
    frame.to_parquet(path, index=False)
    return path


def test_new_row_features_equal_the_training_features(paths, settings, types, tmp_path):
    write_features(paths, SQL_DIR, tmp_path / "features.parquet", settings)
    expected = pd.read_parquet(tmp_path / "features.parquet").set_index("flight_id")

    flights = pq.read_table(paths["flights"])
    new = typed_rows(flights.drop_columns(OUTCOMES), types, "new")
    features = new_row_features(new, paths, DECLARATION, settings)
    assert features["row_index"].tolist() == list(range(new.num_rows))
    features.index = pd.Index(flights["flight_id"].to_pylist(), name="flight_id")
    landed = expected.index  # the training table holds only flights with an arrival delay
    assert len(landed) > 0
    pd.testing.assert_frame_equal(
        features.loc[landed, FEATURE_COLUMNS],
        expected.loc[landed, FEATURE_COLUMNS],
        check_dtype=False,
    )


def test_new_rows_are_built_in_blocks_like_the_history(paths, settings, types):
    """Blocks of two flights give new rows the same features as one pass."""
    flights = pq.read_table(paths["flights"])
    new = typed_rows(flights.drop_columns(OUTCOMES), types, "new")
    whole = new_row_features(new, paths, DECLARATION, settings)
    blocked = {**settings, "features": {**settings["features"], "block_rows": 2}}
    in_blocks = new_row_features(new, paths, DECLARATION, blocked)
    pd.testing.assert_frame_equal(in_blocks[FEATURE_COLUMNS], whole[FEATURE_COLUMNS])


def test_read_new_rows_parquet_and_csv_agree(new_flights, types, tmp_path):
    parquet = read_new_rows(write(new_flights, tmp_path / "new.parquet"), "flights", types)
    new_flights.to_csv(tmp_path / "new.csv", index=False)
    csv = read_new_rows(tmp_path / "new.csv", "flights", types)
    assert typed_rows(csv, types, "csv").equals(typed_rows(parquet, types, "parquet"))


def test_missing_columns_are_named(new_flights, types, tmp_path):
    path = write(new_flights.drop(columns=["distance", "origin"]), tmp_path / "new.parquet")
    with pytest.raises(DataError, match=r"new\.parquet: new rows lack columns \['origin', "):
        read_new_rows(path, "flights", types)


def test_wrong_type_is_named(new_flights, types, tmp_path):
    path = write(new_flights.assign(distance="far"), tmp_path / "new.parquet")
    with pytest.raises(DataError, match=r"column 'distance' is .*string, expected an integer"):
        read_new_rows(path, "flights", types)


def test_naive_time_hour_is_refused(new_flights, types, tmp_path):
    naive = new_flights.assign(time_hour=new_flights["time_hour"].dt.tz_localize(None))
    with pytest.raises(DataError, match=r"'time_hour' .* expected a timestamp with a time zone"):
        read_new_rows(write(naive, tmp_path / "new.parquet"), "flights", types)


def test_csv_value_of_the_wrong_type_is_named(new_flights, types, tmp_path):
    new_flights.astype({"distance": object}).assign(distance="far").to_csv(
        tmp_path / "new.csv", index=False
    )
    with pytest.raises(DataError, match=r"new\.csv: cannot read .*invalid value 'far'"):
        read_new_rows(tmp_path / "new.csv", "flights", types)


def test_empty_and_unknown_files(new_flights, types, tmp_path):
    with pytest.raises(DataError, match="holds no rows"):
        read_new_rows(write(new_flights.head(0), tmp_path / "new.parquet"), "flights", types)
    (tmp_path / "new.json").write_text("{}")
    with pytest.raises(DataError, match=r"must be a \.parquet or \.csv file"):
        read_new_rows(tmp_path / "new.json", "flights", types)
    with pytest.raises(DataError, match="cannot read"):
        read_new_rows(tmp_path / "absent.parquet", "flights", types)


def test_values_out_of_range_fail_the_contract(new_flights, paths, settings, types):
    bad = pa.Table.from_pandas(new_flights.assign(month=13), preserve_index=False)
    with pytest.raises(DataError, match=r"new flights, column month: \d+ rows lie outside"):
        new_row_features(typed_rows(bad, types, "new"), paths, DECLARATION, settings)


def test_score_new_rows_keeps_keys_and_order(new_flights, paths, settings, tmp_path):
    from sklearn.dummy import DummyRegressor
    from sklearn.pipeline import make_pipeline

    from snakeml.models import save_model

    pipeline = make_pipeline(DummyRegressor(strategy="constant", constant=7.0))
    pipeline.fit(np.zeros((2, 1)), [7.0, 7.0])
    save_model(pipeline, tmp_path / "model.skops")
    reordered = new_flights.iloc[::-1].drop(columns=["hour"])
    output = tmp_path / "out" / "scored.parquet"
    rows = score_new_rows(
        write(reordered, tmp_path / "new.parquet"),
        paths,
        SQL_DIR,
        tmp_path / "model.skops",
        settings,
        output,
    )
    scored = pd.read_parquet(output)
    assert rows == len(reordered)
    assert scored["flight_id"].tolist() == reordered["flight_id"].tolist()
    expected = [c for c in settings["id_columns"] if c in reordered.columns]
    assert list(scored.columns[:-1]) == expected
    assert scored.columns[-1] == "predicted_arr_delay"
    assert (scored["predicted_arr_delay"] == 7.0).all()


def test_bad_new_rows_write_nothing(new_flights, paths, settings, tmp_path):
    output = tmp_path / "out" / "scored.parquet"
    with pytest.raises(DataError, match="lack columns"):
        score_new_rows(
            write(new_flights.drop(columns=["tailnum"]), tmp_path / "new.parquet"),
            paths,
            SQL_DIR,
            tmp_path / "model.skops",
            settings,
            output,
        )
    assert not output.parent.exists()


def test_new_rows_need_the_declared_columns_less_the_omitted(types, settings):
    declared = set(settings["data"]["tables"]["flights"]["columns"])
    assert set(types) == declared - set(OUTCOMES) - {"hour"}


def test_a_time_hour_that_disagrees_with_the_schedule_is_refused(
    new_flights, paths, settings, types
):
    """The New York wall clock written as UTC: another moment, so it must not be scored."""
    wall_clock_as_utc = (
        new_flights["time_hour"]
        .dt.tz_convert("America/New_York")
        .dt.tz_localize(None)
        .dt.tz_localize("UTC")
    )
    bad = pa.Table.from_pandas(
        new_flights.assign(time_hour=wall_clock_as_utc), preserve_index=False
    )
    with pytest.raises(
        DataError, match=r"new flights, column time_hour_is_the_scheduled_hour: \d+ rows break"
    ):
        new_row_features(typed_rows(bad, types, "new"), paths, DECLARATION, settings)
