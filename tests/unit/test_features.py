"""snakeml.data.features and nycflights13's SQL steps: checked by hand on a few flights
(raw_paths)."""

from __future__ import annotations

import copy
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import RAW_SCHEMAS, SQL_DIR

from snakeml.configuration.slices import rule_slices
from snakeml.core.errors import ConfigError, DataError
from snakeml.data.contracts import ContractError
from snakeml.data.dataset import load_declaration, sql_variables
from snakeml.data.features import connect, write_features

DECLARATION = load_declaration(SQL_DIR)
FEATURE_COLUMNS = [f.name for f in DECLARATION.features]
ID_COLUMNS = ["flight_id", "year", "month", "day", "carrier", "flight", "tailnum", "origin",
              "dest", "sched_dep_time", "time_hour"]  # fmt: skip


def feature_settings_of(cfg):
    """The features slice of a configuration."""
    return copy.deepcopy(rule_slices(cfg)["features"])


@pytest.fixture
def feature_settings(cfg):
    """The features slice of the default configuration (60-minute horizon)."""
    return feature_settings_of(cfg)


def run_build(raw, reference, sql, output, settings):
    counts = write_features({**raw, **reference}, sql, output, settings)
    table = pq.read_table(output)
    return counts, {row["flight_id"]: row for row in table.to_pylist()}, table


@pytest.fixture
def build(raw_paths, reference_paths, sql_dir, feature_settings, tmp_path):
    """Build from this test's own inputs; keyword arguments change the settings."""

    def run(sql=sql_dir, **changes):
        output = tmp_path / "features" / "flights.parquet"
        settings = copy.deepcopy(feature_settings)
        settings.features.update(changes)
        return run_build(raw_paths, reference_paths, sql, output, settings)

    return run


@pytest.fixture(scope="module")
def built(shared_inputs, sql_dir, _default_cfg, tmp_path_factory):
    """(counts, {flight_id: row}, table) of the default build, shared by the read-only tests."""
    raw, reference = shared_inputs
    output = tmp_path_factory.mktemp("features") / "flights.parquet"
    return run_build(raw, reference, sql_dir, output, feature_settings_of(_default_cfg))


# --- the table as a whole -------------------------------------------------------------------


def test_counts_and_the_cancelled_flight_is_kept_for_the_split(built):
    """No task in the build: the split leaves out the cancelled flight (no arrival delay)."""
    counts, rows, _ = built
    assert counts == {"rows": 11}
    assert sorted(rows) == list(range(11))
    assert rows[3]["arr_delay"] is None


def test_output_has_every_id_feature_and_target_column(built):
    _, _, table = built
    assert set(ID_COLUMNS) | set(FEATURE_COLUMNS) | {"arr_delay"} <= set(table.column_names)
    assert table.schema.field("arr_delay").type == pa.int32()
    assert table.schema.field("time_hour").type == pa.timestamp("us", tz="UTC")


def test_target_and_identifiers_come_through(built):
    _, rows, _ = built
    assert {i: r["arr_delay"] for i, r in rows.items()} == {
        0: 20,
        1: 15,
        2: 5,
        3: None,
        4: -3,
        5: 12,
        6: 25,
        7: 10,
        8: -5,
        9: 170,
        10: 0,
    }
    assert rows[2]["origin"] == "EWR"
    assert rows[2]["dest"] == "IAH"
    assert rows[2]["tailnum"] == "N1"
    assert rows[4]["tailnum"] is None


# --- weather at the origin ------------------------------------------------------------------


def test_weather_is_the_last_observation_before_the_prediction_moment(built):
    _, rows, _ = built
    ewr = rows[2]  # departs 15:30Z, predicted at 14:30Z; the 15:00Z observation is the future
    assert ewr["temp"] == 14.0
    assert ewr["visib"] == 5.0
    assert ewr["weather_age_minutes"] == 30
    assert ewr["humid"] is None  # a null measurement stays null
    # Change since the last observation three hours earlier (11:00Z, before 11:30Z).
    assert ewr["visib_change"] == 5.0 - 10.0
    assert ewr["wind_speed_change"] == 7.0 - 4.0


def test_observation_exactly_at_the_prediction_moment_is_used(built):
    _, rows, _ = built
    assert rows[4]["temp"] == 55.0
    assert rows[4]["weather_age_minutes"] == 0
    assert rows[4]["visib_change"] is None  # nothing at JFK three hours earlier


def test_no_weather_at_the_origin_gives_nulls(built):
    _, rows, _ = built
    assert rows[5]["temp"] is None
    assert rows[5]["weather_age_minutes"] is None


def test_zero_horizon_sees_the_departure_hour_observation(build):
    _, rows, _ = build(horizon_minutes=0)
    assert rows[2]["temp"] == 15.0
    assert rows[2]["weather_age_minutes"] == 30


def test_short_weather_change_window(build):
    _, rows, _ = build(weather_change_minutes=60)  # compare with 13:00Z (at or before 13:30Z)
    assert rows[2]["visib_change"] == 5.0 - 8.0
    assert rows[2]["wind_speed_change"] == 7.0 - 6.0


# --- the aircraft's earlier legs ------------------------------------------------------------


def test_previous_leg_is_the_last_landing_before_the_prediction_moment(built):
    _, rows, _ = built
    # id 0 landed at 13:20Z (+20); id 1 lands at 14:45Z, after the 14:30Z prediction moment.
    assert rows[2]["prev_leg_arr_delay"] == 20
    assert rows[2]["turnaround_slack_minutes"] == 130  # 15:30Z departure - 13:20Z landing
    assert rows[2]["legs_today"] == 2  # ids 0 and 1 had departed by 14:30Z


def test_first_legs_of_the_day(built):
    _, rows, _ = built
    assert rows[0]["legs_today"] == 0
    assert rows[0]["prev_leg_arr_delay"] is None
    assert rows[1]["legs_today"] == 1
    assert rows[1]["prev_leg_arr_delay"] is None  # id 0 lands after id 1's 12:30Z moment


def test_zero_horizon_sees_the_later_landing(build):
    _, rows, _ = build(horizon_minutes=0)
    assert rows[2]["prev_leg_arr_delay"] == 15
    assert rows[2]["turnaround_slack_minutes"] == 45


def test_previous_leg_that_landed_after_midnight(built):
    _, rows, _ = built
    # id 7 is scheduled to land at 01:00 local on the 2nd (06:00Z), +10: landed 06:10Z.
    assert rows[8]["prev_leg_arr_delay"] == 10
    assert rows[8]["turnaround_slack_minutes"] == 13 * 60 - (6 * 60 + 10)
    assert rows[8]["legs_today"] == 0  # id 7 departed on the 1st, local time
    assert rows[7]["sched_arr_minute_of_day"] == 60


def test_legs_count_actual_not_scheduled_departures(built):
    _, rows, _ = built
    assert rows[10]["legs_today"] == 0  # id 9 was due out at 11:00Z but left at 14:00Z
    assert rows[10]["prev_leg_arr_delay"] is None
    assert rows[9]["legs_today"] == 0


def test_no_tail_number_gives_no_aircraft_history(built):
    _, rows, _ = built
    for name in ("prev_leg_arr_delay", "turnaround_slack_minutes", "legs_today"):
        assert rows[4][name] is None


# --- congestion -----------------------------------------------------------------------------


def test_congestion_uses_only_departures_before_the_prediction_moment(built):
    _, rows, _ = built
    ewr = rows[2]  # UA departures by 14:30Z: id 0 (11:10Z, +10), id 1 (13:30Z, +0)
    assert ewr["carrier_delay_mean_short"] == 0.0  # only id 1 in [13:30Z, 14:30Z]
    assert ewr["carrier_delay_mean_day"] == 5.0  # id 6 (+30 at 15:10Z) is not yet known
    assert ewr["carrier_delay_high_day"] == pytest.approx(9.0)  # 0.9 quantile of [0, 10]
    assert ewr["carrier_delay_mean_week"] == 5.0
    assert ewr["origin_delay_mean_day"] is None  # nothing had left EWR by 14:30Z
    assert ewr["route_delay_mean_week"] is None


def test_congestion_by_origin(built):
    _, rows, _ = built
    assert rows[4]["origin_delay_mean_short"] == 0.0  # id 1 left JFK at 13:30Z
    assert rows[4]["carrier_delay_mean_day"] is None  # no AA departures


def test_congestion_ignores_a_departure_scheduled_but_not_yet_made(built):
    _, rows, _ = built
    # WN departures in the day before 12:30Z on the 3rd: id 8 (13:00Z on the 2nd, +0) only.
    assert rows[10]["carrier_delay_mean_day"] == 0.0
    assert rows[10]["carrier_delay_mean_short"] is None
    assert rows[10]["carrier_delay_mean_week"] == 0.0  # ids 7 and 8


def test_zero_horizon_congestion_sees_later_departures(build):
    _, rows, _ = build(horizon_minutes=0)
    assert rows[2]["carrier_delay_mean_short"] == 30.0  # id 6 at 15:10Z
    assert rows[2]["carrier_delay_mean_day"] == pytest.approx(40 / 3)
    assert rows[2]["origin_delay_mean_short"] == 30.0


# --- calendar, schedule, planes -------------------------------------------------------------


def test_calendar_and_holidays(built):
    _, rows, _ = built
    assert rows[2]["day_of_week"] == 2  # 2013-01-01 was a Tuesday (ISO: Monday = 1)
    assert rows[2]["day_of_year"] == 1
    assert rows[2]["is_holiday"] == 1
    assert rows[2]["days_to_holiday"] == 0
    assert rows[5]["day_of_week"] == 3
    assert rows[5]["is_holiday"] == 0
    assert rows[5]["days_to_holiday"] == 1  # New Year's Day was one day earlier


def test_schedule_features(built):
    _, rows, _ = built
    assert rows[2]["sched_dep_hour"] == 10
    assert rows[2]["sched_dep_minute_of_day"] == 10 * 60 + 30
    assert rows[2]["sched_arr_minute_of_day"] == 12 * 60 + 45
    assert rows[2]["distance"] == 1400


def test_time_zone_difference_including_the_reference_table(built):
    _, rows, _ = built
    assert rows[2]["tz_diff_hours"] == -1.0  # EWR -> IAH (Chicago)
    assert rows[4]["tz_diff_hours"] == 0.0
    assert rows[5]["tz_diff_hours"] == 1.0  # LGA -> BQN (Puerto Rico, from the reference CSV)


def test_plane_features(built):
    _, rows, _ = built
    assert rows[2]["plane_age"] == 2013 - 2004
    assert rows[2]["plane_seats"] == 55
    assert rows[2]["plane_engines"] == 2
    assert rows[2]["plane_engine"] == "Turbo-fan"
    for flight_id in (4, 5):  # no tail number; a tail number unknown to planes
        for name in ("plane_age", "plane_seats", "plane_engines", "plane_engine"):
            assert rows[flight_id][name] is None


# --- failures -------------------------------------------------------------------------------


def test_missing_raw_table_is_named(build, raw_paths):
    raw_paths["weather"].unlink()
    with pytest.raises(DataError, match="table 'weather' missing"):
        build()


def test_raw_table_left_out_of_the_input_is_named(build, raw_paths):
    del raw_paths["airports"]
    with pytest.raises(DataError, match="table 'airports' missing"):
        build()


def test_missing_reference_table_is_named(build, reference_paths):
    reference_paths["holidays"].unlink()
    with pytest.raises(DataError, match="table 'holidays' missing"):
        build()


def test_raw_contract_violation_names_table_and_column(build, raw_paths):
    flights = pq.read_table(raw_paths["flights"])
    months = pa.array([13, *flights["month"].to_pylist()[1:]], pa.int32())
    pq.write_table(flights.set_column(2, "month", months), raw_paths["flights"])
    with pytest.raises(
        ContractError,
        match=r"table flights \(.*flights.parquet\), column month: 1 rows lie outside \[1, 12\]",
    ):
        build()


def test_duplicate_weather_observation_breaks_the_contract(build, raw_paths):
    weather = pq.read_table(raw_paths["weather"])
    pq.write_table(pa.concat_tables([weather, weather.slice(0, 1)]), raw_paths["weather"])
    with pytest.raises(ContractError, match=r"table weather \(.*\), column \(origin, time_hour\)"):
        build()


def test_unknown_destination_time_zone_breaks_the_feature_contract(build, raw_paths, tmp_path):
    airports = pq.read_table(raw_paths["airports"])
    keep = [faa != "IAH" for faa in airports["faa"].to_pylist()]
    pq.write_table(airports.filter(pa.array(keep)), raw_paths["airports"])
    with pytest.raises(ContractError, match="column tz_diff_hours: 1 rows are null"):
        build()
    assert list((tmp_path / "features").iterdir()) == []  # nothing written, no temp file left


def test_look_ahead_in_the_sql_is_caught_by_the_contract(build, sql_dir, tmp_path):
    leaky = tmp_path / "sql"
    shutil.copytree(sql_dir, leaky)
    step = leaky / "weather_at_departure.sql"
    text = step.read_text(encoding="utf-8")
    honest = "and flights.predicted_at >= weather.time_hour"
    assert honest in text
    step.write_text(
        text.replace(honest, "and flights.predicted_at + interval 1 hour >= weather.time_hour"),
        encoding="utf-8",
    )
    with pytest.raises(ContractError, match=r"column weather_age_minutes: \d+ rows lie outside"):
        build(sql=leaky)
    assert not (tmp_path / "features" / "flights.parquet").exists()


def test_a_binary_task_on_a_target_of_many_values_fails_in_the_split(
    raw_paths, reference_paths, sql_dir, feature_settings, cfg, tmp_path
):
    """Before any tuning: the target of the wrong kind is named, no part is written."""
    from snakeml.validation.split import SPLITS, write_splits

    output = tmp_path / "features" / "flights.parquet"
    run_build(raw_paths, reference_paths, sql_dir, output, feature_settings)
    settings = copy.deepcopy(rule_slices(cfg)["split"])
    settings.task.kind, settings.task.target = "binary", "arr_delay"
    parts = {name: tmp_path / "split" / f"{name}.parquet" for name in SPLITS}
    with pytest.raises(DataError) as caught:
        write_splits(output, parts, settings)
    assert str(caught.value).startswith(
        "target 'arr_delay' of a binary task must hold exactly two values; found 10: "
    )
    assert "choose a target of two values (task.target)" in str(caught.value)
    assert not (tmp_path / "split").exists()


def test_missing_sql_step_names_the_file(build, sql_dir, tmp_path):
    partial = tmp_path / "sql"
    shutil.copytree(sql_dir, partial)
    (partial / "congestion.sql").unlink()
    with pytest.raises(ConfigError, match=r"step 'congestion' has no file .*congestion\.sql"):
        build(sql=partial)


def test_a_failing_sql_step_names_its_file_and_duckdb_message(build, sql_dir, tmp_path):
    broken = tmp_path / "sql"
    shutil.copytree(sql_dir, broken)
    step = broken / "calendar.sql"
    step.write_text(step.read_text(encoding="utf-8").replace("select", "selec", 1))
    with pytest.raises(DataError, match=r"calendar\.sql: the SQL step calendar fails: Parser"):
        build(sql=broken)
    assert list((tmp_path / "features").iterdir()) == []


def test_a_declared_feature_the_sql_does_not_make_is_named(build, sql_dir, tmp_path):
    changed = tmp_path / "sql"
    shutil.copytree(sql_dir, changed)
    steps = changed / "steps.yaml"
    steps.write_text(
        steps.read_text(encoding="utf-8").replace(
            "features:\n", "features:\n  gate_changes: {kind: numeric, family: schedule}\n", 1
        )
    )
    with pytest.raises(DataError, match=r"features\.sql: the table lacks declared columns \['gate"):
        build(sql=changed)


def test_a_column_the_sql_makes_but_nobody_declared_is_named(build, sql_dir, tmp_path):
    changed = tmp_path / "sql"
    shutil.copytree(sql_dir, changed)
    steps = changed / "steps.yaml"
    text = steps.read_text(encoding="utf-8")
    steps.write_text(text.replace("  legs_today: {kind: numeric, family: aircraft_history}\n", ""))
    with pytest.raises(DataError, match=r"features\.sql: the table has undeclared columns \['legs"):
        build(sql=changed)


def test_negative_horizon(build):
    with pytest.raises(
        ConfigError, match=r"features\.horizon_minutes = -1: must be an integer >= 0"
    ):
        build(horizon_minutes=-1)


# --- helpers --------------------------------------------------------------------------------


def test_sql_variables_flatten_the_settings(feature_settings):
    values = sql_variables(feature_settings.features, DECLARATION)
    assert values == {
        "horizon_minutes": 60,
        "windows_short": 60,
        "windows_day": 1440,
        "windows_week": 10080,
        "weather_change_minutes": 180,
        "delay_quantile": 0.9,
        "legs_lookback_days": 3,
    }


def test_a_variable_the_sql_reads_must_be_set(feature_settings):
    del feature_settings.features["windows"]
    with pytest.raises(ConfigError, match=r"reads \['windows_day', 'windows_short'"):
        sql_variables(feature_settings.features, DECLARATION)


def test_every_step_has_its_sql_file(sql_dir):
    assert DECLARATION.steps[-1] == "features"
    for step in DECLARATION.steps:
        assert (sql_dir / f"{step}.sql").is_file()


def test_raw_schemas_cover_the_feature_inputs():
    assert {"flights", "weather", "planes", "airports", "holidays"} <= set(RAW_SCHEMAS)


def test_connect_sets_utc_threads_and_memory():
    con = connect(2, memory_limit_mb=256)
    try:
        settings = dict(
            con.execute(
                "select name, value from duckdb_settings() "
                "where name in ('TimeZone', 'threads', 'memory_limit')"
            ).fetchall()
        )
    finally:
        con.close()
    assert settings["TimeZone"] == "UTC"
    assert settings["threads"] == "2"
    assert settings["memory_limit"] == "244.1 MiB"  # 256 MB
