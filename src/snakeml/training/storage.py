"""Where Optuna keeps trials: a journal file per model, or an RDB such as PostgreSQL.

Why it exists: Optuna neither repairs a journal a killed writer tore nor refuses an RDB URL that
would write a password into results/configs/.

An RDB URL comes from the configuration and is written to the tuning rules' slices, so it must
never hold a password: PostgreSQL's client reads it from the environment (PGPASSWORD) or from
~/.pgpass instead, and nothing here ever logs or writes it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snakeml.core.errors import ConfigError, DataError
from snakeml.core.io import atomic_path

if TYPE_CHECKING:
    from optuna.storages import BaseStorage
    from optuna.storages.journal import JournalFileOpenLock

log = logging.getLogger(__name__)

JOURNAL_NAME = "journal.log"
# Optuna's name for a journal's lock file: every process that appends must use the same one.
LOCK_SUFFIX = ".lock"
# An append holds the lock for milliseconds: one unchanged this long was left by a killed writer
# (the default of tuning.lock_grace_seconds, for callers without a configuration).
LOCK_GRACE_SECONDS = 30
# Each record Optuna appends is one line of compact JSON that starts like this.
RECORD_START = b'{"op_code":'
CONNECT_TIMEOUT_SECONDS = 10
# Databases with a driver in the lock file: PostgreSQL through psycopg (3), SQLite built in.
# Plain ``postgresql://`` would ask SQLAlchemy for psycopg2, which is not installed.
RDB_SCHEMES: tuple[str, ...] = ("postgresql+psycopg", "sqlite")


def check_storage_url(url: str) -> None:
    """Refuse a URL that cannot be parsed, names an unknown database or carries a password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            f"tuning.storage: {url!r} is not a database URL ({exc}); use null for a journal "
            "file or e.g. postgresql+psycopg://user@host:5432/dbname"
        ) from exc
    if parsed.drivername not in RDB_SCHEMES:
        raise ConfigError(
            f"tuning.storage: unsupported database {parsed.drivername!r}; use one of "
            f"{list(RDB_SCHEMES)}, or null for a journal file"
        )
    if parsed.password is not None:
        raise ConfigError(
            "tuning.storage: the URL holds a password, which would be written to "
            "results/configs/; remove it and give it in the environment (PGPASSWORD) instead"
        )


def display_url(url: str) -> str:
    """The URL as it may appear in logs: any password masked."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _engine_kwargs(url: str) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if make_url(url).get_backend_name() == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    return kwargs


def journal_path(tuning_dir: str | Path) -> Path:
    """The default storage of one model: a journal file beside its results."""
    return Path(tuning_dir) / JOURNAL_NAME


def open_storage(
    url: str | None, journal: str | Path, lock_grace_seconds: int = LOCK_GRACE_SECONDS
) -> BaseStorage:
    """An Optuna storage: the RDB at ``url``, else the journal file ``journal``.

    An unreachable or refusing database raises ConfigError with one line, before any trial.
    A journal is first repaired if a killed writer left it torn (see repair_journal), and is
    locked with Optuna's own open lock, which breaks a lock left unchanged for
    ``lock_grace_seconds`` (``tuning.lock_grace_seconds``), as a killed writer leaves it.
    """
    import optuna

    if url is None:
        journal = Path(journal)
        journal.parent.mkdir(parents=True, exist_ok=True)
        lock = journal_lock(journal, lock_grace_seconds)
        repair_journal(journal, lock)
        backend = optuna.storages.journal.JournalFileBackend(str(journal), lock_obj=lock)
        return optuna.storages.JournalStorage(backend)
    check_storage_url(url)
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return optuna.storages.RDBStorage(url, engine_kwargs=_engine_kwargs(url))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise ConfigError(
            f"tuning.storage: cannot use {display_url(url)}: {reason}; start the database, "
            "check the URL and the password in the environment (PGPASSWORD), or set "
            "tuning.storage=null for a journal file"
        ) from exc


def check_storage(url: str | None) -> None:
    """Connect once (and create Optuna's tables) so a bad RDB fails before any job runs."""
    if url is not None:
        open_storage(url, journal="")
        log.info("tuning storage %s is reachable", display_url(url))


# --- the journal file: its lock and its repair -------------------------------------------


def journal_lock(
    journal: str | Path, grace_seconds: int = LOCK_GRACE_SECONDS
) -> JournalFileOpenLock:
    """Optuna's O_EXCL lock on ``<journal>.lock``, with its stale-lock handling.

    A lock a killed writer left is broken once it has not changed for ``grace_seconds``.
    Optuna's default symlink lock, which
    snakeml used before, dangles when the journal's path is relative, and the open lock then
    spins on it forever: such a leftover is removed first.
    """
    from optuna.storages.journal import JournalFileOpenLock

    path = Path(f"{journal}{LOCK_SUFFIX}")
    if path.is_symlink() and not path.exists():
        log.warning("removed the journal lock %s an earlier version left", path)
        path.unlink(missing_ok=True)
    return JournalFileOpenLock(str(journal), grace_period=grace_seconds)


@contextlib.contextmanager
def locked(lock: JournalFileOpenLock) -> Iterator[None]:
    """Hold ``lock`` for the body."""
    lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _is_record(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _salvage(line: bytes) -> bytes | None:
    """A whole record appended after a torn one on the same line, else None."""
    start = line.find(RECORD_START, 1)
    while start != -1:
        if _is_record(line[start:]):
            return line[start:]
        start = line.find(RECORD_START, start + 1)
    return None


def repair_journal(journal: str | Path, lock: JournalFileOpenLock | None = None) -> Path | None:
    """Cut a torn record a killed writer left in ``journal``; return the backup, or None.

    A writer killed while appending leaves a partial last line. Optuna skips it when reading
    but appends after it, and the merged line then stops every later read (JSONDecodeError).
    Under the journal's lock, a partial last line is cut off, and a merged line is cut back to
    the whole record it ends with; every whole record, and so every finished trial, is kept.
    The original is kept beside the journal as ``<journal>.<UTC time>.torn``. A line that
    cannot be repaired raises DataError naming it.
    """
    journal = Path(journal)
    if not journal.is_file():
        return None
    with locked(lock or journal_lock(journal)):
        data = journal.read_bytes()
        *lines, tail = data.split(b"\n")
        if not tail and all(_is_record(line) for line in lines):
            return None
        kept: list[bytes] = []
        for number, line in enumerate(lines, start=1):
            if _is_record(line):
                kept.append(line)
                continue
            salvaged = _salvage(line)
            if salvaged is None:
                raise DataError(
                    f"{journal}: line {number} is not an Optuna record and cannot be repaired; "
                    f"move the journal aside to start its studies afresh (mv {journal} "
                    f"{journal}.broken), losing their trials"
                )
            kept.append(salvaged)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        backup = journal.with_name(f"{journal.name}.{stamp}.torn")
        backup.write_bytes(data)
        repaired = b"".join(line + b"\n" for line in kept)
        if data.startswith(repaired):
            os.truncate(journal, len(repaired))  # in place: readers' offsets stay valid
        else:
            with atomic_path(journal) as tmp:
                tmp.write_bytes(repaired)
    log.warning(
        "%s held a torn record left by a stopped run: cut back to its %d whole records "
        "(%d bytes removed); the original is kept as %s",
        journal,
        len(kept),
        len(data) - len(repaired),
        backup,
    )
    return backup
