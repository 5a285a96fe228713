"""The pre-submission check of resources against the largest cluster node."""

from __future__ import annotations

import pytest

from snakeml.core.errors import ConfigError
from snakeml.operations.cluster import check_fits_node

RESOURCES = {
    "ingest": {"threads": 1, "mem_mb": 1000, "runtime": 5},
    "train": {"threads": 4, "mem_mb": 8000, "runtime": 5},
}


def test_resources_within_the_node_pass() -> None:
    check_fits_node(RESOURCES, cpus=4, mem_mb=8000)


@pytest.mark.parametrize(
    ("cpus", "mem_mb", "message"),
    [
        (2, 64000, r"resources\.train\.threads=4 is more than .* \(2 CPUs\).*threads=2"),
        (8, 4000, r"resources\.train\.mem_mb=8000 is more than .* \(4000 MB\).*mem_mb=4000"),
    ],
)
def test_a_request_no_node_can_run_names_the_key(cpus: int, mem_mb: int, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_fits_node(RESOURCES, cpus=cpus, mem_mb=mem_mb)
