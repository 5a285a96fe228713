"""Tests against real system services. They skip with a reason where a service is missing,
unless SNAKEML_REQUIRE_SERVICES=1 (set by .ci/run): then a missing service fails the run."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services import unavailable

POSTGRES_SETUP = (
    "start one with `SNAKEML_POSTGRES_DIR=$(mktemp -d) .ci/postgres.sh start` and export "
    "SNAKEML_POSTGRES_DIR (or run `make test-postgres`)"
)


@dataclass(frozen=True)
class Postgres:
    url: str  # without the password
    password: str


@pytest.fixture(scope="session")
def postgres() -> Postgres:
    """The private server .ci/postgres.sh started, as its env file describes it."""
    folder = os.environ.get("SNAKEML_POSTGRES_DIR")
    if not folder:
        unavailable(
            "no PostgreSQL for the tests: SNAKEML_POSTGRES_DIR is not set; " + POSTGRES_SETUP
        )
    env_file = Path(folder) / "env"
    if not env_file.is_file():
        unavailable(f"no PostgreSQL for the tests: {env_file} is missing; " + POSTGRES_SETUP)
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    server = Postgres(values["SNAKEML_TEST_POSTGRES_URL"], values["SNAKEML_TEST_POSTGRES_PASSWORD"])
    from snakeml.core.errors import ConfigError
    from snakeml.training.storage import check_storage

    previous = os.environ.get("PGPASSWORD")
    os.environ["PGPASSWORD"] = server.password
    try:
        check_storage(server.url)
    except ConfigError as exc:
        unavailable(f"the test PostgreSQL does not answer ({exc}); " + POSTGRES_SETUP)
    finally:
        if previous is None:
            os.environ.pop("PGPASSWORD", None)
        else:
            os.environ["PGPASSWORD"] = previous
    return server
