"""snakeml.prediction.predict: new rows checked on entry, featurised by the same build, scored in
order."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import SQL_DIR

from snakeml.configuration.slices import rule_slices
from snakeml.core.errors import DataError
from snakeml.core.slices import FeaturesSlice, PredictSlice
from snakeml.data.dataset import load_declaration
from snakeml.data.features import write_features
from snakeml.data.ingest import NEW_ROWS_FIX
from snakeml.prediction.predict import (
    new_row_features,
    new_row_types,
    read_new_rows,
    score_new_rows,
    span_refusals,
    typed_rows,
)

DECLARATION = load_declaration(SQL_DIR)
FEATURE_COLUMNS = [f.name for f in DECLARATION.features]
OUTCOMES = ["dep_time", "dep_delay", "arr_time", "arr_delay", "air_time"]


@pytest.fixture
def settings(cfg):
    return rule_slices(cfg)["predict"]


def as_features(predict: PredictSlice) -> FeaturesSlice:
    """The feature build's slice within the predict slice: the same data and settings."""
    return FeaturesSlice(data=predict.data, features=predict.features)


@pytest.fixture
def types(settings):
    spec = settings.data.tables["flights"]
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
    write_features(paths, SQL_DIR, tmp_path / "features.parquet", as_features(settings))
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
    blocked = replace(settings, features={**settings.features, "block_rows": 2})
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


def test_a_csv_value_that_does_not_convert_is_named_by_column_and_line(
    new_flights, types, tmp_path
):
    """As ingest names a raw table's: the column by its name, the value's line (header: 1)."""
    bad = new_flights.astype({"distance": object})
    bad.loc[2, "distance"] = "far"
    bad.to_csv(tmp_path / "new.csv", index=False)
    with pytest.raises(DataError) as info:
        read_new_rows(tmp_path / "new.csv", "flights", types)
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'new.csv'}: new rows of table flights: ")
    assert "column 'distance'" in message and "invalid value 'far' on line 4 (" in message
    # the fix is the value's: the model takes the types the data set declares
    assert message.endswith(f"({NEW_ROWS_FIX})"), message
    assert "#" not in message and "\n" not in message


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

    from snakeml.models.estimators import save_model

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
    expected = [c for c in settings.task.id_columns if c in reordered.columns]
    assert list(scored.columns[:-2]) == expected
    assert list(scored.columns[-2:]) == ["predicted_arr_delay", "refused"]
    assert (scored["predicted_arr_delay"] == 7.0).all()
    assert scored["refused"].isna().all()


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
    declared = set(settings.data.tables["flights"].columns)
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


def test_a_clock_time_that_cannot_be_is_refused_and_rules_on_omitted_columns_skipped(
    new_flights, paths, settings, types
):
    """New flights bring no dep_time or arr_time: the rules on those do not apply to them."""
    assert "dep_time" not in types
    ok = pa.Table.from_pandas(new_flights, preserve_index=False)
    new_row_features(typed_rows(ok, types, "new"), paths, DECLARATION, settings)
    bad = new_flights.assign(sched_arr_time=new_flights["sched_arr_time"] // 100 * 100 + 60)
    with pytest.raises(
        DataError, match=r"new flights, column sched_arr_time_is_a_clock_time: \d+ rows break"
    ):
        bad_rows = pa.Table.from_pandas(bad, preserve_index=False)
        new_row_features(typed_rows(bad_rows, types, "new"), paths, DECLARATION, settings)


def stamps(*texts: str | None) -> pa.Array:
    return pa.array(
        [None if t is None else pd.Timestamp(t, tz="UTC") for t in texts], pa.timestamp("us", "UTC")
    )


def test_span_refuses_rows_before_and_after_the_history():
    history = stamps("2013-01-01 10:00", "2013-01-02 12:00", "2013-01-01 18:00")
    new = stamps(
        "2013-01-01 12:00",  # inside
        "2012-12-31 23:00",  # before the first
        "2013-01-02 13:00",  # exactly the reach after the last: inside
        "2013-01-02 13:01",  # after
        None,
        "2013-01-01 10:00",  # the first itself
    )
    reasons, first, last = span_refusals(new, history, "1 hour")
    assert reasons == [None, "before_history", None, "after_history", "no_time", None]
    assert (first, last) == ("2013-01-01 10:00:00+00", "2013-01-02 12:00:00+00")


def test_new_rows_that_extend_the_history_are_scored_until_a_gap():
    history = pa.array([date(2015, 12, 30), date(2015, 12, 31)], pa.date32())
    # out of order on purpose: the chain follows time, not input order
    days = [
        date(2016, 1, 2),
        date(2016, 1, 5),
        date(2016, 1, 1),
        date(2016, 1, 4),
        date(2015, 12, 31),
    ]
    new = pa.array(days, pa.date32())
    chained, _, _ = span_refusals(new, history, "1 day", new_rows_extend=True)
    assert chained == [None, "after_history", None, "after_history", None]
    alone, _, _ = span_refusals(new, history, "1 day")
    assert alone == ["after_history", "after_history", None, "after_history", None]


def moved_to(flights: pd.DataFrame, year: int, month: int, day: int) -> pd.DataFrame:
    """The flights on another date, time_hour still their scheduled hour in New York."""
    hours = pd.to_datetime(
        {"year": year, "month": month, "day": day, "hour": flights["sched_dep_time"] // 100}
    )
    time_hour = hours.dt.tz_localize("America/New_York").dt.tz_convert("UTC")
    return flights.assign(year=year, month=month, day=day, time_hour=time_hour)


@pytest.fixture
def constant_model(tmp_path):
    from sklearn.dummy import DummyRegressor
    from sklearn.pipeline import make_pipeline

    from snakeml.models.estimators import save_model

    pipeline = make_pipeline(DummyRegressor(strategy="constant", constant=7.0))
    pipeline.fit(np.zeros((2, 1)), [7.0, 7.0])
    save_model(pipeline, tmp_path / "model.skops")
    return tmp_path / "model.skops"


def test_rows_outside_the_history_are_refused_and_the_summary_shows_drift(
    new_flights, paths, settings, constant_model, tmp_path
):
    write_features(paths, SQL_DIR, tmp_path / "built.parquet", as_features(settings))
    # the rows with a target stand for the split's train + valid, the drift reference
    built = pd.read_parquet(tmp_path / "built.parquet")
    built[built["arr_delay"].notna()].to_parquet(tmp_path / "features.parquet")
    new = new_flights.copy()
    new.loc[0, "carrier"] = "ZZ"  # a carrier the model never saw
    late = moved_to(new_flights.iloc[[1]], 2014, 6, 1)
    new = pd.concat([new.iloc[:2], late, new.iloc[2:]], ignore_index=True)
    output, summary = tmp_path / "out" / "scored.parquet", tmp_path / "out" / "scored.summary.json"
    rows = score_new_rows(
        write(new, tmp_path / "new.parquet"),
        paths,
        SQL_DIR,
        constant_model,
        settings,
        output,
        summary_path=summary,
        reference_paths=[tmp_path / "features.parquet"],
    )
    assert rows == len(new) - 1
    scored = pd.read_parquet(output)
    assert scored["flight_id"].tolist() == new["flight_id"].tolist()
    refused = scored["refused"].astype(object).where(scored["refused"].notna(), None)
    assert refused.tolist() == [None, None, "after_history"] + [None] * (len(new) - 3)
    assert scored["predicted_arr_delay"].isna().tolist() == scored["refused"].notna().tolist()
    report = json.loads(summary.read_text())
    assert report["rows"] == {"read": len(new), "scored": len(new) - 1, "refused": 1}
    assert report["refused"]["after_history"]["rows"] == 1
    assert "more than 1 hour after" in report["refused"]["after_history"]["reason"]
    assert report["history"]["time"] == "time_hour" and report["history"]["reach"] == "1 hour"
    assert report["training_rows"] == len(pd.read_parquet(tmp_path / "features.parquet"))
    # ZZ, and DL: its only flight never landed, so it made no training row
    trained = set(pd.read_parquet(tmp_path / "features.parquet")["carrier"])
    assert "DL" not in trained and "DL" in set(new_flights["carrier"])
    assert report["columns"]["carrier"]["unseen"] == {"DL": 1, "ZZ": 1}
    assert "carrier" in report["drifted"]
    assert set(report["columns"]) == {
        *settings.columns["numeric"],
        *settings.columns["categorical"],
    }


def test_when_every_row_is_refused_nothing_is_written(
    new_flights, paths, settings, constant_model, tmp_path
):
    output, summary = tmp_path / "out" / "scored.parquet", tmp_path / "out" / "scored.summary.json"
    late = moved_to(new_flights, 2014, 6, 1)
    with pytest.raises(DataError) as info:
        score_new_rows(
            write(late, tmp_path / "new.parquet"),
            paths,
            SQL_DIR,
            constant_model,
            settings,
            output,
            summary_path=summary,
        )
    message = str(info.value)
    assert (
        f"every one of the {len(late)} new rows is refused ({len(late)} after_history)" in message
    )
    assert "history of flights.time_hour runs from 2013-01-01" in message
    assert "1 hour after" in message and "\n" not in message
    assert not output.parent.exists()


def test_a_refused_row_that_breaks_the_contract_still_fails_the_job(
    new_flights, paths, settings, constant_model, tmp_path
):
    late = moved_to(new_flights.iloc[[0]], 2014, 6, 1).assign(distance=-5)
    new = pd.concat([new_flights, late], ignore_index=True)
    # the message names the new-rows file, not the history's
    named = r"new flights \(\S+/new\.parquet\), column distance: 1 rows lie outside"
    with pytest.raises(DataError, match=named):
        score_new_rows(
            write(new, tmp_path / "new.parquet"),
            paths,
            SQL_DIR,
            constant_model,
            settings,
            tmp_path / "out.parquet",
        )


# --- train/serve consistency, on a copy of seattle_weather's SQL ------------------------------

CENTRED = (
    "range between to_days(cast(getvariable('windows_short') as integer) - 1) preceding\n"
    "                and current row",
    "rows between 1 preceding and 1 following",
)


def seattle_serving(tmp_path, edit: tuple[str, str] | None) -> pd.DataFrame:
    """Train on a copy of seattle_weather's SQL (``edit`` made in rolling.sql), then build a new
    day after the history with the serving check on (the look-ahead audit plays no part)."""
    import shutil

    from conftest import REPO

    from snakeml.configuration.compose import compose_config
    from snakeml.data.ingest import read_table

    cfg = compose_config("data=seattle_weather task=seattle_temp_max audit.enabled=false")
    settings = rule_slices(cfg)["predict"]
    sql = tmp_path / "seattle_weather"
    shutil.copytree(REPO / "sql/seattle_weather", sql)
    if edit is not None:
        text = (sql / "rolling.sql").read_text()
        assert edit[0] in text
        (sql / "rolling.sql").write_text(text.replace(edit[0], edit[1]))
    spec = settings.data.tables["days"]
    paths = {"days": tmp_path / "days.parquet"}
    pq.write_table(read_table("days", spec, REPO), paths["days"])
    write_features(paths, sql, tmp_path / "features.parquet", as_features(settings))
    declaration = load_declaration(sql)
    types = new_row_types(spec, ("day_id",))
    new_day = {"date": [date(2016, 1, 1)], "precipitation": [0.0], "temp_max": [9.0]}
    new_day |= {"temp_min": [2.0], "wind": [3.0], "weather": ["sun"]}
    new = typed_rows(pa.table(new_day), types, "new")
    assert settings.audit.serving_rows == 200
    return new_row_features(
        new,
        paths,
        declaration,
        settings,
        training_features=tmp_path / "features.parquet",
        history_rows=settings.audit.serving_rows,
    )


def test_serving_rebuilds_history_rows_equal_to_training(tmp_path):
    features = seattle_serving(tmp_path, None)
    assert features["row_index"].tolist() == [0]
    assert features["temp_max_lag1"].tolist() == [pytest.approx(5.6)]  # 2015-12-31's maximum


def test_a_centred_window_refuses_the_batch_with_the_audit_off(tmp_path):
    with pytest.raises(DataError) as error:
        seattle_serving(tmp_path, CENTRED)
    line = str(error.value)
    assert "\n" not in line and line.startswith("train/serve: ")
    for column in ("temp_max_mean_short", "temp_min_mean_short", "wind_mean_short"):
        assert f"{column} (1 row)" in line
    assert "temp_max_mean_long" not in line and "e.g. the row day_id=1460" in line
    assert "nothing was scored" in line
