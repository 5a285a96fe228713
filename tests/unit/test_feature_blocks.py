"""How the feature build splits its moments into blocks and what each block reads.

That blocks give the same table as one pass is tested on real rows in test_point_in_time.py.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from conftest import SQL_DIR

from snakeml.data.dataset import load_declaration
from snakeml.data.features import WHOLE, bind_variables, connect, plan_blocks, raw_span, reach

DECLARATION = load_declaration(SQL_DIR)
VARIABLES = {
    "horizon_minutes": 60,
    "windows_short": 60,
    "windows_day": 1440,
    "windows_week": 10080,
    "weather_change_minutes": 180,
    "delay_quantile": 0.9,
    "legs_lookback_days": 3,
}


def _planned(flights: int, block_rows: int | None) -> list:
    con = connect(1)
    try:
        con.execute(
            "create temp table raw_flights as select"
            " timestamptz '2013-01-01 05:00:00+00' + to_minutes(range::bigint) as time_hour,"
            " 30 as minute from range(?)",
            [flights],
        )
        bind_variables(con, VARIABLES)
        return plan_blocks(con, DECLARATION, block_rows)
    finally:
        con.close()


def _reach(**changes: int) -> tuple[timedelta, timedelta]:
    con = connect(1)
    try:
        bind_variables(con, {**VARIABLES, **changes})
        return reach(con, DECLARATION)
    finally:
        con.close()


def test_one_block_when_the_flights_fit() -> None:
    assert _planned(1000, 1000) == [WHOLE]
    assert _planned(0, 10) == [WHOLE]
    assert _planned(1000, None) == [WHOLE]


def test_blocks_tile_the_moments_without_gaps() -> None:
    blocks = _planned(1000, 300)
    assert len(blocks) == 4
    assert blocks[0][0] is None and blocks[-1][1] is None
    for (_, end), (start, _) in itertools.pairwise(blocks):
        assert end == start
    cuts = [start for start, _ in blocks[1:]]
    assert cuts == sorted(cuts)
    # cuts are prediction moments: the first scheduled departure minus the horizon, then steps
    first = datetime(2013, 1, 1, 5, 30, tzinfo=UTC) - timedelta(minutes=60)
    step = timedelta(minutes=999) / 4
    assert cuts[0] == first + step


def test_a_block_reads_its_windows_history_and_later_departures() -> None:
    back, ahead = _reach()
    assert back == timedelta(days=7 + 3)  # the week window, plus three days of schedule
    assert ahead == timedelta(hours=1) + timedelta(days=1, hours=1)
    start = datetime(2013, 3, 1, tzinfo=UTC)
    first, last = raw_span((start, start + timedelta(days=10)), back, ahead)
    assert first == start - timedelta(days=7 + 3)
    assert last == start + timedelta(days=10, hours=1) + timedelta(days=1, hours=1)
    back, _ = _reach(windows_week=60)
    assert back == timedelta(days=3 + 3)  # legs_today's three days
    assert raw_span(WHOLE, back, ahead) == WHOLE
