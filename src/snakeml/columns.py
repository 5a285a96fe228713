"""Validated column lists: the only names that may reach SQL text or model inputs."""

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

NUMERIC_FEATURES: tuple[str, ...] = (
    "month",
    "day_of_week",
    "day_of_year",
    "sched_dep_hour",
    "sched_dep_minute_of_day",
    "sched_arr_minute_of_day",
    "distance",
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
