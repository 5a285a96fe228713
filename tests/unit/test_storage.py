"""snakeml.storage: URL checks, the journal default and an unreachable database."""

from __future__ import annotations

import socket
import time

import optuna
import pytest

from snakeml.errors import ConfigError
from snakeml.storage import check_storage, check_storage_url, display_url, open_storage


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_default_is_a_journal_file(tmp_path):
    storage = open_storage(None, tmp_path / "ridge" / "journal.log")
    assert isinstance(storage, optuna.storages.JournalStorage)
    optuna.create_study(storage=storage, study_name="s").optimize(lambda t: 1.0, n_trials=1)
    assert (tmp_path / "ridge" / "journal.log").stat().st_size > 0
    assert check_storage(None) is None


def test_sqlite_is_an_rdb_storage(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path}/optuna.db", journal=tmp_path / "unused")
    assert isinstance(storage, optuna.storages.RDBStorage)
    assert not (tmp_path / "unused").exists()


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("postgresql+psycopg://me:pw@host/db", "holds a password"),
        (
            "postgresql://host/db",
            r"unsupported database 'postgresql'; use one of \['postgresql\+psycopg'",
        ),
        ("redis://host", "unsupported database"),
        ("journal.log", "is not a database URL"),
    ],
)
def test_bad_urls_are_one_line(url, named):
    with pytest.raises(ConfigError, match=named) as info:
        check_storage_url(url)
    assert "\n" not in str(info.value)
    assert "pw" not in str(info.value)


def test_an_unreachable_database_is_one_line_before_any_trial():
    url = f"postgresql+psycopg://snakeml@127.0.0.1:{closed_port()}/optuna"
    started = time.monotonic()
    with pytest.raises(ConfigError) as info:
        check_storage(url)
    message = str(info.value)
    assert message.startswith(f"tuning.storage: cannot use {url}: ")
    assert "start the database" in message
    assert "\n" not in message
    assert time.monotonic() - started < 30


def test_display_url_masks_a_password():
    shown = display_url("postgresql+psycopg://me:secret@host:5432/db")
    assert "secret" not in shown
    assert shown.startswith("postgresql+psycopg://me:")
