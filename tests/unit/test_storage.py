"""snakeml.training.storage: URL checks, the journal, its repair and lock, an unreachable
database."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from pathlib import Path

import optuna
import pytest

from snakeml.core.errors import ConfigError, DataError
from snakeml.training.storage import (
    check_storage,
    check_storage_url,
    display_url,
    journal_lock,
    open_storage,
    repair_journal,
)


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


# --- the journal after a kill: a torn record, a stale lock ---------------------------------

TORN = b'{"op_code":5,"worker_id":"x","trial_id":9,"param_na'


def tune(storage, n_trials, name="snakeml-ridge-abc-shard0"):
    """Run ``n_trials`` more trials of a tiny study; return its complete trial count."""
    study = optuna.create_study(storage=storage, study_name=name, load_if_exists=True)
    study.optimize(lambda t: t.suggest_float("alpha", 0.0, 1.0), n_trials=n_trials)
    return len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)))


def test_a_torn_tail_is_cut_kept_as_a_backup_and_every_finished_trial_kept(tmp_path, caplog):
    journal = tmp_path / "results/tuning/ridge/journal.log"
    assert tune(open_storage(None, journal), 3) == 3
    whole = journal.read_bytes()
    with journal.open("ab") as handle:  # the printf '...' >> journal.log
        handle.write(TORN)
    with caplog.at_level(logging.WARNING, logger="snakeml.training.storage"):
        assert tune(open_storage(None, journal), 1) == 4
    (backup,) = tmp_path.glob("results/tuning/ridge/journal.log.*.torn")
    assert backup.read_bytes() == whole + TORN
    assert journal.read_bytes().startswith(whole)
    (record,) = [r for r in caplog.records if "torn record" in r.getMessage()]
    assert f"the original is kept as {backup}" in record.getMessage()
    # The run after the repaired one reads the journal too (it used to fail for good here).
    assert tune(open_storage(None, journal), 1) == 5
    assert len(list(tmp_path.glob("results/tuning/ridge/journal.log.*.torn"))) == 1


def test_a_torn_record_a_later_run_appended_after_is_salvaged(tmp_path):
    """The state an unrepaired journal reached: a torn record and a whole one on one line."""
    journal = tmp_path / "journal.log"
    assert tune(open_storage(None, journal), 2) == 2
    with journal.open("ab") as handle:
        handle.write(TORN)

    def plain():
        """The journal as Optuna opens it without the repair."""
        backend = optuna.storages.journal.JournalFileBackend(str(journal))
        return optuna.storages.JournalStorage(backend)

    with pytest.raises(json.JSONDecodeError):  # it appends after the torn record, then reads
        tune(plain(), 1)
    assert TORN + b'{"op_code":' in journal.read_bytes()
    with pytest.raises(json.JSONDecodeError):  # and so does every later run
        tune(plain(), 1)
    assert tune(open_storage(None, journal), 1) == 3
    assert TORN not in journal.read_bytes()
    assert tune(plain(), 1) == 4


def test_a_clean_journal_is_left_alone(tmp_path):
    journal = tmp_path / "journal.log"
    tune(open_storage(None, journal), 2)
    before = journal.stat()
    assert repair_journal(journal) is None
    assert journal.stat().st_mtime_ns == before.st_mtime_ns
    assert [p.name for p in tmp_path.iterdir()] == ["journal.log"]


def test_a_line_that_cannot_be_repaired_is_one_line_naming_it(tmp_path):
    journal = tmp_path / "journal.log"
    tune(open_storage(None, journal), 1)
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join([lines[0], b"garbage\n", *lines[1:]]))
    with pytest.raises(DataError) as info:
        open_storage(None, journal)
    message = str(info.value)
    assert message.startswith(f"{journal}: line 2 is not an Optuna record and cannot be repaired")
    assert f"mv {journal} {journal}.broken" in message
    assert "\n" not in message


def acquire_within(lock, seconds=60):
    """Acquire in a thread; True if it got the lock within ``seconds`` (a bound, not a timing)."""
    thread = threading.Thread(target=lock.acquire, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive()


# Optuna's smallest grace period without a warning, so a stale lock goes in seconds.
SHORT_GRACE = 3


def test_a_lock_a_killed_writer_left_is_broken_after_the_grace_period(tmp_path, caplog):
    """Optuna cannot tell a dead holder from a slow one: it breaks a lock unchanged for long."""
    journal = tmp_path / "journal.log"
    lock_file = tmp_path / "journal.log.lock"
    lock_file.write_text("left by a killed shard\n")
    lock = journal_lock(journal, SHORT_GRACE)
    with caplog.at_level(logging.WARNING, logger="optuna"):
        assert acquire_within(lock)
    assert "Forcibly releasing the lock file" in caplog.text
    assert lock_file.exists()
    lock.release()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_optunas_dangling_symlink_lock_is_removed(tmp_path, caplog):
    """What a SIGKILL left before: a symlink to the journal's relative path, dangling."""
    journal = tmp_path / "results/tuning/ridge/journal.log"
    journal.parent.mkdir(parents=True)
    lock_file = Path(f"{journal}.lock")
    lock_file.symlink_to("results/tuning/ridge/journal.log")
    assert not lock_file.exists()  # dangling: Optuna cannot stat it, so never breaks it
    with caplog.at_level(logging.WARNING, logger="snakeml.training.storage"):
        lock = journal_lock(journal)
    assert f"removed the journal lock {lock_file}" in caplog.text
    assert acquire_within(lock)
    assert not lock_file.is_symlink()
    lock.release()


def test_a_live_holders_fresh_lock_is_waited_for(tmp_path):
    journal = tmp_path / "journal.log"
    holder = journal_lock(journal)
    holder.acquire()
    waiter = journal_lock(journal)
    thread = threading.Thread(target=waiter.acquire, daemon=True)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive(), "the waiter took a lock its live holder still had"
    holder.release()
    thread.join(60)
    assert not thread.is_alive()
    assert Path(f"{journal}.lock").exists()
    waiter.release()
    assert not Path(f"{journal}.lock").exists()


def test_tuning_goes_on_past_a_lock_left_by_a_killed_shard(tmp_path):
    journal = tmp_path / "journal.log"
    storage = open_storage(None, journal, SHORT_GRACE)
    tune(storage, 1)
    Path(f"{journal}.lock").write_text("left by a killed shard\n")
    done = []
    thread = threading.Thread(
        target=lambda: done.append(tune(open_storage(None, journal, SHORT_GRACE), 1)), daemon=True
    )
    thread.start()
    thread.join(120)
    assert done == [2]
