"""A plain pandas implementation of the feature SQL, kept as the benchmark's reference.

Same definitions as sql/nycflights13/*.sql (see there); checked equal to the SQL output at
every factor by bench/features.py. Not used by the pipeline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# The identifying columns of the feature table and the weather readings taken over as they
# were at the prediction moment (sql/nycflights13/features.sql, weather_at_departure.sql).
ID_COLUMNS = ("flight_id", "year", "month", "day", "carrier", "flight", "tailnum", "origin",
              "dest", "sched_dep_time", "time_hour")  # fmt: skip
WEATHER_MEASURES = ("temp", "dewp", "humid", "wind_dir", "wind_speed", "wind_gust", "precip",
                    "pressure", "visib")  # fmt: skip

FAMILIES = ("carrier", "origin", "route")
WINDOWS = ("short", "day", "week")


def _minutes(values: pd.Series) -> pd.Series:
    return pd.to_timedelta(values, unit="min")


def _local_to_utc(local: pd.Series, zones: pd.Series) -> pd.Series:
    """Wall-clock times in per-row zones to UTC, as DuckDB reads them: a time in the gap moves
    forward by the DST hour, one in the repeated hour is read as standard time."""
    out = pd.Series(pd.NaT, index=local.index, dtype="datetime64[us, UTC]")
    for zone, index in local.groupby(zones).groups.items():
        converted = local.loc[index].dt.tz_localize(
            zone, ambiguous=np.zeros(len(index), dtype=bool), nonexistent=pd.Timedelta(hours=1)
        )
        out.loc[index] = converted.dt.tz_convert("UTC")
    return out


def _offset_minutes(instants: pd.Series, zones: pd.Series) -> pd.Series:
    """Minutes the zone's clock is ahead of UTC at each instant."""
    out = pd.Series(np.nan, index=instants.index)
    for zone, index in instants.groupby(zones).groups.items():
        utc = instants.loc[index]
        local = utc.dt.tz_convert(zone).dt.tz_localize(None)
        out.loc[index] = (local - utc.dt.tz_localize(None)) / pd.Timedelta(minutes=1)
    return out


def flights_timed(raw: dict[str, pd.DataFrame], settings: dict[str, Any]) -> pd.DataFrame:
    f = raw["flights"].copy()
    zones = pd.concat([raw["airports"][["faa", "tzone"]], raw["airport_timezones"]])
    zones = zones.drop_duplicates("faa").set_index("faa")["tzone"]
    f["local_date"] = pd.to_datetime(dict(year=f["year"], month=f["month"], day=f["day"]))
    f["sched_dep_utc"] = f["time_hour"] + _minutes(f["minute"])
    f["predicted_at"] = f["sched_dep_utc"] - pd.Timedelta(minutes=settings["horizon_minutes"])
    f["actual_dep_utc"] = f["sched_dep_utc"] + _minutes(f["dep_delay"].astype("float64"))
    arr_local = f["local_date"] + _minutes(
        (f["sched_arr_time"] // 100) * 60 + f["sched_arr_time"] % 100
    )
    dest_zone, origin_zone = f["dest"].map(zones), f["origin"].map(zones)
    sched_arr = _local_to_utc(arr_local, dest_zone)
    sched_arr = sched_arr.where(sched_arr >= f["sched_dep_utc"], sched_arr + pd.Timedelta(days=1))
    f["actual_arr_utc"] = sched_arr + _minutes(f["arr_delay"].astype("float64"))
    f["tz_diff_hours"] = (
        _offset_minutes(f["sched_dep_utc"], dest_zone)
        - _offset_minutes(f["sched_dep_utc"], origin_zone)
    ) / 60.0
    return f


def calendar(f: pd.DataFrame, holidays: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"flight_id": f["flight_id"]})
    out["day_of_week"] = f["local_date"].dt.day_of_week + 1
    out["day_of_year"] = f["local_date"].dt.day_of_year
    out["sched_dep_hour"] = f["sched_dep_time"] // 100
    out["sched_dep_minute_of_day"] = (f["sched_dep_time"] // 100) * 60 + f["sched_dep_time"] % 100
    out["sched_arr_minute_of_day"] = (f["sched_arr_time"] // 100) * 60 + f["sched_arr_time"] % 100
    days = pd.DataFrame({"holiday": pd.to_datetime(holidays["date"]).sort_values().to_numpy()})
    # merge_asof needs one datetime resolution on both sides (pandas 3 reads dates as seconds).
    days["holiday"] = days["holiday"].astype(f["local_date"].dtype)
    dates = f[["flight_id", "local_date"]].sort_values("local_date")
    prev = pd.merge_asof(dates, days, left_on="local_date", right_on="holiday")
    nxt = pd.merge_asof(dates, days, left_on="local_date", right_on="holiday", direction="forward")
    prev, nxt = prev.set_index("flight_id"), nxt.set_index("flight_id")
    ids = f["flight_id"]
    to_prev = (prev.loc[ids, "local_date"] - prev.loc[ids, "holiday"]).dt.days.to_numpy()
    to_next = (nxt.loc[ids, "holiday"] - nxt.loc[ids, "local_date"]).dt.days.to_numpy()
    out["is_holiday"] = (to_prev == 0).astype("int32")
    out["days_to_holiday"] = np.fmin(to_prev, to_next)
    return out


def aircraft_history(f: pd.DataFrame) -> pd.DataFrame:
    tails = f[f["tailnum"].notna()]
    landed = tails["actual_arr_utc"].notna()
    landings = tails.loc[landed, ["tailnum", "actual_arr_utc", "arr_delay"]]
    landings = landings.groupby(["tailnum", "actual_arr_utc"], as_index=False)["arr_delay"].max()
    queries = tails[["flight_id", "tailnum", "predicted_at", "sched_dep_utc", "local_date"]]
    last = pd.merge_asof(
        queries.sort_values("predicted_at"),
        landings.sort_values("actual_arr_utc").rename(columns={"arr_delay": "prev_leg_arr_delay"}),
        left_on="predicted_at",
        right_on="actual_arr_utc",
        by="tailnum",
    )
    last["turnaround_slack_minutes"] = (
        last["sched_dep_utc"] - last["actual_arr_utc"]
    ) / pd.Timedelta(minutes=1)
    departed = tails["actual_dep_utc"].notna()
    departures = tails.loc[departed, ["tailnum", "local_date", "actual_dep_utc"]]
    departures = departures.sort_values(["tailnum", "local_date", "actual_dep_utc"])
    departures["legs_today"] = departures.groupby(["tailnum", "local_date"]).cumcount() + 1
    legs = pd.merge_asof(
        last.sort_values("predicted_at"),
        departures.sort_values("actual_dep_utc"),
        left_on="predicted_at",
        right_on="actual_dep_utc",
        by=["tailnum", "local_date"],
    )
    legs["legs_today"] = legs["legs_today"].fillna(0)
    return legs[["flight_id", "prev_leg_arr_delay", "turnaround_slack_minutes", "legs_today"]]


def congestion(f: pd.DataFrame, settings: dict[str, Any]) -> pd.DataFrame:
    out = pd.DataFrame({"flight_id": f["flight_id"]}).set_index("flight_id")
    keys = {
        "carrier": f["carrier"],
        "origin": f["origin"],
        "route": f["origin"] + "-" + f["dest"],
    }
    q = settings["delay_quantile"]
    for family in FAMILIES:
        done = f["actual_dep_utc"].notna()
        events = pd.DataFrame(
            {
                "key": keys[family][done],
                "at": f.loc[done, "actual_dep_utc"],
                "delay": f.loc[done, "dep_delay"].astype("float64"),
                "flight_id": -1,
                "query": 0,
            }
        )
        moments = pd.DataFrame(
            {
                "key": keys[family],
                "at": f["predicted_at"],
                "delay": np.nan,
                "flight_id": f["flight_id"],
                "query": 1,
            }
        )
        stream = pd.concat([events, moments], ignore_index=True)
        # Departures at the very moment count: they sort before the moment itself.
        stream = stream.sort_values(["key", "at", "query"], kind="mergesort", ignore_index=True)
        # Grouped results come back group by group in row order: the stream's own order.
        grouped = stream.groupby("key", sort=True)
        for window in WINDOWS:
            length = f"{int(settings['windows'][window])}min"
            rolling = grouped.rolling(length, on="at", closed="both")["delay"]
            stream[f"mean_{window}"] = rolling.mean().to_numpy()
            if window == "day":
                stream[f"high_{window}"] = rolling.quantile(q).to_numpy()
        picked = stream[stream["query"] == 1].set_index("flight_id")
        for window in WINDOWS:
            out[f"{family}_delay_mean_{window}"] = picked[f"mean_{window}"]
            if window == "day":
                out[f"{family}_delay_high_{window}"] = picked[f"high_{window}"]
    return out.reset_index()


def weather_at_departure(f: pd.DataFrame, weather: pd.DataFrame, settings: dict) -> pd.DataFrame:
    columns = list(WEATHER_MEASURES)
    obs = weather[["origin", "time_hour", *columns]].sort_values("time_hour")
    queries = f[["flight_id", "origin", "predicted_at"]].copy()
    queries["earlier_at"] = queries["predicted_at"] - pd.Timedelta(
        minutes=settings["weather_change_minutes"]
    )
    latest = pd.merge_asof(
        queries.sort_values("predicted_at"),
        obs,
        left_on="predicted_at",
        right_on="time_hour",
        by="origin",
    )
    latest["weather_age_minutes"] = (latest["predicted_at"] - latest["time_hour"]) / pd.Timedelta(
        minutes=1
    )
    earlier = pd.merge_asof(
        queries.sort_values("earlier_at"),
        obs[["origin", "time_hour", "visib", "wind_speed"]],
        left_on="earlier_at",
        right_on="time_hour",
        by="origin",
    ).set_index("flight_id")
    latest = latest.set_index("flight_id")
    latest["visib_change"] = latest["visib"] - earlier["visib"]
    latest["wind_speed_change"] = latest["wind_speed"] - earlier["wind_speed"]
    keep = [*columns, "weather_age_minutes", "visib_change", "wind_speed_change"]
    return latest[keep].reset_index()


def build_features(raw: dict[str, pd.DataFrame], settings: dict[str, Any]) -> pd.DataFrame:
    """The feature table, as sql/features.sql defines it."""
    f = flights_timed(raw, settings)
    planes = raw["planes"].rename(
        columns={
            "year": "built_year",
            "seats": "plane_seats",
            "engines": "plane_engines",
            "engine": "plane_engine",
        }
    )[["tailnum", "built_year", "plane_seats", "plane_engines", "plane_engine"]]
    out = f[[*ID_COLUMNS, "distance", "tz_diff_hours", "arr_delay"]]
    out = out.merge(calendar(f, raw["holidays"]), on="flight_id")
    out = out.merge(aircraft_history(f), on="flight_id", how="left")
    out = out.merge(congestion(f, settings), on="flight_id")
    out = out.merge(weather_at_departure(f, raw["weather"], settings), on="flight_id")
    out = out.merge(planes, on="tailnum", how="left")
    out["plane_age"] = out["year"] - out["built_year"]
    out = out.drop(columns=["built_year"])
    # the task `delayed`: the US on-time definition; unknown for a flight that never landed
    landed = out["arr_delay"].notna()
    out["delayed"] = (out["arr_delay"] >= 15).astype("boolean").where(landed, pd.NA)
    return out


def load_raw(paths: dict[str, Path]) -> dict[str, pd.DataFrame]:
    """Every table of the data set, as ingest wrote it."""
    return {name: pd.read_parquet(path) for name, path in paths.items()}
