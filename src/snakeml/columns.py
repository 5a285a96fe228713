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
    if stat == "mean" or window == "day"
)

# The hourly observations taken over as they were at the prediction moment, then the features
# derived from them.
WEATHER_MEASURES: tuple[str, ...] = (
    "temp",
    "dewp",
    "humid",
    "wind_dir",
    "wind_speed",
    "wind_gust",
    "precip",
    "pressure",
    "visib",
)
WEATHER_FEATURES: tuple[str, ...] = (
    *WEATHER_MEASURES,
    "weather_age_minutes",
    "visib_change",
    "wind_speed_change",
)

# Calendar and schedule: known long before the prediction moment.
SCHEDULE_FEATURES: tuple[str, ...] = (
    "month",
    "day_of_week",
    "day_of_year",
    "sched_dep_hour",
    "sched_dep_minute_of_day",
    "sched_arr_minute_of_day",
    "is_holiday",
    "days_to_holiday",
)

NUMERIC_FEATURES: tuple[str, ...] = (
    *SCHEDULE_FEATURES,
    "distance",
    "tz_diff_hours",
    "prev_leg_arr_delay",
    "turnaround_slack_minutes",
    "legs_today",
    *CONGESTION_FEATURES,
    *WEATHER_FEATURES,
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

# Feature families for grouped permutation importance and reports: every feature column belongs
# to exactly one. Permuting a family's columns together measures what the family adds as a whole,
# which single-column importance understates when its columns are correlated (the weather).
FEATURE_FAMILIES: dict[str, tuple[str, ...]] = {
    "schedule": SCHEDULE_FEATURES,
    "route": ("origin", "dest", "distance", "tz_diff_hours"),
    "carrier": ("carrier",),
    "aircraft_history": ("prev_leg_arr_delay", "turnaround_slack_minutes", "legs_today"),
    "congestion": CONGESTION_FEATURES,
    "weather": WEATHER_FEATURES,
    "plane": ("plane_age", "plane_seats", "plane_engines", "plane_engine"),
}


def feature_family(column: str) -> str:
    """The family a feature column belongs to."""
    for family, members in FEATURE_FAMILIES.items():
        if column in members:
            return family
    raise KeyError(f"feature column {column!r} belongs to no family in FEATURE_FAMILIES")
