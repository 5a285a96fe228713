"""Where Optuna keeps trials: a journal file per model, or an RDB such as PostgreSQL.

An RDB URL comes from the configuration and is written to the tuning rules' slices, so it must
never hold a password: PostgreSQL's client reads it from the environment (PGPASSWORD) or from
~/.pgpass instead, and nothing here ever logs or writes it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snakeml.errors import ConfigError

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

log = logging.getLogger(__name__)

JOURNAL_NAME = "journal.log"
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


def open_storage(url: str | None, journal: str | Path) -> BaseStorage:
    """An Optuna storage: the RDB at ``url``, else the journal file ``journal``.

    An unreachable or refusing database raises ConfigError with one line, before any trial.
    """
    import optuna

    if url is None:
        journal = Path(journal)
        journal.parent.mkdir(parents=True, exist_ok=True)
        backend = optuna.storages.journal.JournalFileBackend(str(journal))
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
