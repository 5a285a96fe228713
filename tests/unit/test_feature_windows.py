"""Each feature family of the SQL against values computed by hand on tiny tables.

Edges covered: the first leg of a day, a leg in the air at the prediction moment, a flight
crossing midnight, a missing tail number, a gap in the weather, a window boundary, the DST
change, and holidays.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import RAW_SCHEMAS, REPO, SQL_DIR, TABLES

from snakeml.configuration.compose import compose_config
from snakeml.configuration.slices import rule_slices
from snakeml.core.errors import DataError
from snakeml.core.slices import FeaturesSlice
from snakeml.data.contracts import ContractError
from snakeml.data.features import write_features
from snakeml.data.ingest import read_table


def z(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2013, month, day, hour, minute, tzinfo=UTC)


def leg(
    key: str,
    tail: str | None,
    month: int,
    day: int,
    local: int,
    utc_hour: datetime,
    dep_delay: int | None,
    arr_delay: int | None,
    dest: str = "ORD",
    sched_arr: int = 2359,
    origin: str = "EWR",
    carrier: str = "UA",
) -> dict[str, Any]:
    """A flight scheduled at ``local`` (hhmm, New York time) whose hour is ``utc_hour`` in UTC."""
    return {
        "key": key,
        "year": 2013,
        "month": month,
        "day": day,
        "sched_dep_time": local,
        "hour": local // 100,
        "minute": local % 100,
        "dep_delay": dep_delay,
        "arr_delay": arr_delay,
        "carrier": carrier,
        "flight": 1,
        "tailnum": tail,
        "origin": origin,
        "dest": dest,
        "distance": 700,
        "sched_arr_time": sched_arr,
        "time_hour": utc_hour,
    }


# New York is UTC-5 in winter. ORD (Chicago) is UTC-6, PHX (Phoenix, no DST) UTC-7.
LEGS = [
    # Aircraft N1 on Jan 1: f0 lands 07:30 CST + 10 = 13:40Z; f1 at 15:00 local = 20:00Z.
    leg("f0", "N1", 1, 1, 600, z(1, 1, 11), 0, 10, sched_arr=730),
    leg("f1", "N1", 1, 1, 1500, z(1, 1, 20), 5, 20, sched_arr=1630),
    # After midnight: f1 landed 16:30 CST + 20 = 22:50Z Jan 1; f2 at 00:30 local = 05:30Z Jan 2.
    leg("f2", "N1", 1, 2, 30, z(1, 2, 5), 0, 0, sched_arr=200),
    # No tail number.
    leg("f3", None, 1, 1, 1200, z(1, 1, 17), 0, 3),
    # Aircraft N2: f4 departs 15:00Z, lands 17:30Z; f5's moment 16:30Z falls in between.
    leg("f4", "N2", 1, 1, 1000, z(1, 1, 15), 0, 0, sched_arr=1130),
    leg("f5", "N2", 1, 1, 1230, z(1, 1, 17), 0, 1, sched_arr=1400),
    # Departures around f1's window [18:00Z, 19:00Z]: g2 on its start edge, g3 after it.
    leg("g1", "N3", 1, 1, 1320, z(1, 1, 18), 30, 0),
    leg("g2", "N4", 1, 1, 1300, z(1, 1, 18), 0, 0),
    leg("g3", "N5", 1, 1, 1330, z(1, 1, 18), 40, 0),
    # Weather gap: h1 at 16:40 local = 21:40Z, moment 20:40Z; no observation 19:00Z-20:00Z.
    leg("h1", "N6", 1, 1, 1640, z(1, 1, 21), 0, 0),
    # DST (Mar 10): Phoenix is 2 h behind New York before, 3 h after.
    leg("d1", "N7", 3, 9, 900, z(3, 9, 14), 0, 0, dest="PHX", sched_arr=1130),
    leg("d2", "N7", 3, 11, 900, z(3, 11, 13), 0, 0, dest="PHX", sched_arr=1030),
]

WEATHER = [
    ("EWR", z(1, 1, 16), 10.0, 4.0),
    ("EWR", z(1, 1, 17), 10.0, 5.0),
    ("EWR", z(1, 1, 18), 8.0, 7.0),
    ("EWR", z(1, 1, 21), 6.0, 9.0),
]


def write_raw(folder: Path, legs: list[dict[str, Any]], weather: list[tuple]) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    flights = pa.Table.from_pylist(
        [{c: row.get(c) for c in RAW_SCHEMAS["flights"].names} for row in legs],
        RAW_SCHEMAS["flights"],
    ).add_column(0, "flight_id", pa.array(range(len(legs)), pa.int64()))
    weather_rows = [
        {
            "origin": o,
            "year": t.year,
            "month": t.month,
            "day": t.day,
            "hour": t.hour,
            "time_hour": t,
            "visib": v,
            "wind_speed": w,
        }
        for o, t, v, w in weather
    ]
    tables = {
        "flights": flights,
        "weather": pa.Table.from_pylist(weather_rows, RAW_SCHEMAS["weather"]),
        "planes": pa.Table.from_pylist(
            [{"tailnum": "N1", "year": 2000, "seats": 150, "engines": 2, "engine": "Turbo-fan"}],
            RAW_SCHEMAS["planes"],
        ),
        "airports": pa.Table.from_pylist(
            [
                {"faa": faa, "tzone": zone}
                for faa, zone in [
                    ("EWR", "America/New_York"),
                    ("ORD", "America/Chicago"),
                    ("PHX", "America/Phoenix"),
                ]
            ],
            RAW_SCHEMAS["airports"],
        ),
        "airlines": pa.Table.from_pylist(
            [{"carrier": "UA", "name": "United"}], RAW_SCHEMAS["airlines"]
        ),
        # The real reference tables: holidays and the extra time zones.
        "holidays": read_table("holidays", TABLES["holidays"], REPO),
        "airport_timezones": read_table("airport_timezones", TABLES["airport_timezones"], REPO),
    }
    paths = {}
    for name, table in tables.items():
        paths[name] = folder / f"{name}.parquet"
        pq.write_table(table, paths[name])
    return paths


@pytest.fixture(scope="module")
def settings() -> FeaturesSlice:
    return rule_slices(compose_config())["features"]


@pytest.fixture(scope="module")
def features(tmp_path_factory: pytest.TempPathFactory, settings: FeaturesSlice) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("windows")
    paths = write_raw(folder, LEGS, WEATHER)
    write_features(paths, SQL_DIR, folder / "out.parquet", settings)
    frame = pd.read_parquet(folder / "out.parquet")
    keys = {i: row["key"] for i, row in enumerate(LEGS)}
    return frame.assign(key=frame["flight_id"].map(keys)).set_index("key")


def test_aircraft_history(features: pd.DataFrame) -> None:
    f0, f1, f2 = features.loc["f0"], features.loc["f1"], features.loc["f2"]
    assert pd.isna(f0["prev_leg_arr_delay"]) and f0["legs_today"] == 0  # first leg of the day
    assert f1["prev_leg_arr_delay"] == 10
    assert f1["turnaround_slack_minutes"] == (20 * 60) - (13 * 60 + 40)
    assert f1["legs_today"] == 1
    # Crossing midnight: yesterday's leg is the previous one, but today has no legs yet.
    assert f2["prev_leg_arr_delay"] == 20
    assert f2["turnaround_slack_minutes"] == (24 * 60 + 5 * 60 + 30) - (22 * 60 + 50)
    assert f2["legs_today"] == 0
    # In the air at the prediction moment: departed (counts as a leg) but not landed.
    f5 = features.loc["f5"]
    assert pd.isna(f5["prev_leg_arr_delay"]) and f5["legs_today"] == 1


def test_missing_tail_number_has_no_aircraft_history(features: pd.DataFrame) -> None:
    f3 = features.loc["f3"]
    for column in ("prev_leg_arr_delay", "turnaround_slack_minutes", "legs_today", "plane_age"):
        assert pd.isna(f3[column]), column


def test_congestion_windows_end_at_the_prediction_moment(features: pd.DataFrame) -> None:
    moment = z(1, 1, 19)
    departures = [
        (
            row["time_hour"].replace(minute=row["minute"]).timestamp() / 60 + row["dep_delay"],
            row["dep_delay"],
        )
        for row in LEGS
        if row["dep_delay"] is not None and row["carrier"] == "UA"
    ]

    def window(minutes: int) -> list[int]:
        end = moment.timestamp() / 60
        return [delay for at, delay in departures if end - minutes <= at <= end]

    assert sorted(window(60)) == [0, 30]  # g2 on the start edge is in, g3 at 19:10Z is out
    f1 = features.loc["f1"]
    assert f1["carrier_delay_mean_short"] == pytest.approx(15.0)
    day = window(1440)
    assert f1["carrier_delay_mean_day"] == pytest.approx(np.mean(day))
    assert f1["carrier_delay_high_day"] == pytest.approx(np.quantile(day, 0.9))
    assert f1["origin_delay_mean_short"] == pytest.approx(15.0)
    assert f1["route_delay_mean_short"] == pytest.approx(15.0)
    # Before any departure of the carrier there is nothing to average.
    assert pd.isna(features.loc["f0", "carrier_delay_mean_short"])


def test_weather_is_the_last_observation_at_or_before_the_moment(features: pd.DataFrame) -> None:
    f1 = features.loc["f1"]  # moment 19:00Z: the 18:00Z observation, 60 minutes old
    assert f1["visib"] == 8.0 and f1["weather_age_minutes"] == 60
    assert f1["visib_change"] == pytest.approx(8.0 - 10.0)  # vs the 16:00Z observation
    assert f1["wind_speed_change"] == pytest.approx(7.0 - 4.0)
    h1 = features.loc["h1"]  # moment 20:40Z, in the gap: still 18:00Z, never 21:00Z
    assert h1["visib"] == 8.0 and h1["weather_age_minutes"] == 160


def test_dst_changes_the_time_zone_difference(features: pd.DataFrame) -> None:
    assert features.loc["d1", "tz_diff_hours"] == -2.0
    assert features.loc["d2", "tz_diff_hours"] == -3.0
    assert features.loc["f0", "tz_diff_hours"] == -1.0


def test_calendar_and_holidays(features: pd.DataFrame) -> None:
    f0, f2, d1 = features.loc["f0"], features.loc["f2"], features.loc["d1"]
    assert f0["is_holiday"] == 1 and f0["days_to_holiday"] == 0  # New Year's Day
    assert f2["is_holiday"] == 0 and f2["days_to_holiday"] == 1
    assert d1["days_to_holiday"] == 19  # Washington's Birthday, Feb 18
    assert f0["day_of_week"] == 2 and f0["sched_dep_minute_of_day"] == 360
    assert features.loc["f1", "plane_age"] == 13


def test_flights_without_arrival_delay_are_kept_for_the_split(
    tmp_path: Path, settings: FeaturesSlice
) -> None:
    """The feature table is the task's business no more: the split leaves out null targets."""
    legs = [*LEGS, leg("x", "N1", 1, 1, 1700, z(1, 1, 22), None, None)]
    paths = write_raw(tmp_path, legs, WEATHER)
    counts = write_features(paths, SQL_DIR, tmp_path / "out.parquet", settings)
    assert counts == {"rows": len(LEGS) + 1}
    assert pd.read_parquet(tmp_path / "out.parquet")["arr_delay"].isna().sum() == 1


def test_duplicate_weather_key_fails_the_contract_and_writes_nothing(
    tmp_path: Path, settings: FeaturesSlice
) -> None:
    paths = write_raw(tmp_path, LEGS, [*WEATHER, WEATHER[0]])
    output = tmp_path / "out.parquet"
    with pytest.raises(
        ContractError,
        match=r"table weather \(.*weather.parquet\), column \(origin, time_hour\): 1 rows",
    ):
        write_features(paths, SQL_DIR, output, settings)
    assert not output.exists() and list(tmp_path.glob(".out.parquet*")) == []


def test_missing_raw_table_is_named(tmp_path: Path, settings: FeaturesSlice) -> None:
    paths = write_raw(tmp_path, LEGS, WEATHER)
    paths["planes"].unlink()
    with pytest.raises(DataError, match="table 'planes' missing"):
        write_features(paths, SQL_DIR, tmp_path / "out.parquet", settings)
