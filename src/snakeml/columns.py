"""Validated column lists: the only names that may reach model inputs."""

from __future__ import annotations

# Columns that identify a flight and let any feature row be traced back to the raw data.
ID_COLUMNS: tuple[str, ...] = (
    "flight_id",
    "year",
    "month",
    "day",
    "carrier",
    "flight",
    "tailnum",
    "origin",
    "dest",
    "sched_dep_time",
    "time_hour",
)

TARGETS: tuple[str, ...] = ("arr_delay",)

CONGESTION_FEATURES: tuple[str, ...] = tuple(
    f"{family}_delay_{stat}_{window}"
    for family in ("carrier", "origin", "route")
    for window in ("short", "day", "week")
    for stat in ("mean", "high")
    if (stat, window) != ("high", "short")
)

NUMERIC_FEATURES: tuple[str, ...] = (
    "month",
    "day_of_week",
    "day_of_year",
    "sched_dep_hour",
    "sched_dep_minute_of_day",
    "sched_arr_minute_of_day",
    "is_holiday",
    "days_to_holiday",
    "distance",
    "tz_diff_hours",
    "prev_leg_arr_delay",
    "turnaround_slack_minutes",
    "legs_today",
    *CONGESTION_FEATURES,
    "temp",
    "dewp",
    "humid",
    "wind_dir",
    "wind_speed",
    "wind_gust",
    "precip",
    "pressure",
    "visib",
    "weather_age_minutes",
    "visib_change",
    "wind_speed_change",
    "plane_age",
    "plane_seats",
    "plane_engines",
)

CATEGORICAL_FEATURES: tuple[str, ...] = (
    "carrier",
    "origin",
    "dest",
    "plane_engine",
)

FEATURE_COLUMNS: tuple[str, ...] = NUMERIC_FEATURES + CATEGORICAL_FEATURES
