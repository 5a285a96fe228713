"""How the feature build splits its prediction moments into blocks and what each block reads.

That blocks give the same table as one pass is tested on real rows in test_point_in_time.py.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from snakeml.features import WHOLE, connect, feature_variables, plan_blocks, raw_span


def _planned(flights: int, block_flights: int) -> list:
    con = connect(1)
    try:
        con.execute(
            "create temp table raw_flights as select"
            " timestamptz '2013-01-01 05:00:00+00' + to_minutes(range::bigint) as time_hour,"
            " 30 as minute from range(?)",
            [flights],
        )
        variables = feature_variables(
            {
                "horizon_minutes": 60,
                "windows": {"short": 60, "day": 1440, "week": 10080},
                "weather_change_minutes": 180,
                "delay_quantile": 0.9,
            }
        )
        return plan_blocks(con, variables, block_flights)
    finally:
        con.close()


def test_one_block_when_the_flights_fit() -> None:
    assert _planned(1000, 1000) == [WHOLE]
    assert _planned(0, 10) == [WHOLE]


def test_blocks_tile_the_moments_without_gaps() -> None:
    blocks = _planned(1000, 300)
    assert len(blocks) == 4
    assert blocks[0][0] is None and blocks[-1][1] is None
    for (_, end), (start, _) in itertools.pairwise(blocks):
        assert end == start
    cuts = [start for start, _ in blocks[1:]]
    assert cuts == sorted(cuts)


def test_a_block_reads_its_windows_history_and_later_departures() -> None:
    variables = {
        "horizon_minutes": 60,
        "window_short_minutes": 60,
        "window_day_minutes": 1440,
        "window_week_minutes": 10080,
    }
    start = datetime(2013, 3, 1, tzinfo=UTC)
    first, last = raw_span((start, start + timedelta(days=10)), variables)
    assert first == start - timedelta(days=7 + 3)
    assert last == start + timedelta(days=10, hours=1) + timedelta(days=1, hours=1)
    first, _ = raw_span((start, None), {**variables, "window_week_minutes": 60})
    assert first == start - timedelta(days=3 + 3)  # legs_today's three days
    assert raw_span(WHOLE, variables) == WHOLE
