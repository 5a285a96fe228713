"""snakeml.core.memory: a job's peak memory estimated from its rows, checked against its request."""

from __future__ import annotations

import pytest

from snakeml.core.errors import ConfigError
from snakeml.core.memory import BASE_MB, check_memory, estimate_mb


def test_the_estimate_is_the_base_plus_rows_times_columns_times_bytes():
    assert estimate_mb(0, 44, 40.0) == BASE_MB
    assert estimate_mb(2**20, 10, 4.0) == BASE_MB + 40


def test_a_job_within_its_request_passes_and_gets_its_estimate():
    assert check_memory("train ridge", 1000, 44, 40.0, 4096) == estimate_mb(1000, 44, 40.0)
    assert check_memory("train ridge", 10**9, 44, 40.0, None) > 4096  # no request, no check


def test_a_job_above_its_request_names_rule_estimate_and_settings():
    with pytest.raises(ConfigError) as raised:
        check_memory("train ridge", 10_000_000, 44, 40.0, 6144, "model.ridge.max_train_rows")
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("rule train ridge: 10,000,000 rows x 44 model inputs need about")
    assert f"{estimate_mb(10_000_000, 44, 40.0)} MB" in message
    assert "resources.train.mem_mb = 6144" in message
    assert "set model.ridge.max_train_rows" in message
