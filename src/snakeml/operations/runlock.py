"""Snakemake's directory lock after a killed run: cleared when no run can hold it, else one line.

Why it exists: Snakemake never tells a dead run's lock from a live one's; ``--unlock`` removes
either, so a user must guess which it is.

A killed Snakemake leaves its lock files in .snakemake/locks, and every later run in the
directory stops on them until someone runs ``snakemake --unlock``. A run records beside its
lock files which process holds them, on which host and with which executor (the Snakefile's
onstart, ``record_lock_owner``). ``clear_stale_lock`` removes the lock files only when that
record proves their holder gone: it ran on this host, it is dead, it ran its jobs here (a
cluster's jobs outlive it), and no Snakemake process works in the directory. A lock whose
holder ran on another host, or left no record, is never removed: one line names it and the
command that clears it.

The Snakefile calls ``clear_before_run`` while it is parsed, which is before Snakemake checks
its lock (Workflow.execute, ``with self.persistence.lock()``), so a plain ``snakemake`` goes on
after a kill. ``make run`` calls ``python -m snakeml.operations.runlock`` before Snakemake: exit 1
while a run may hold the lock.
"""

from __future__ import annotations

import argparse
import os
import shlex
import socket
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from snakeml.core.io import SNAKEMAKE_LOCKS, read_json, write_json
from snakeml.operations.command_line import snakemake_args

UNLOCK_COMMAND = ".venv/bin/snakemake --unlock"
# Beside the lock files, so Snakemake's own unlock (it deletes the folder) removes it too.
OWNER_PREFIX = "snakeml-owner-"


@dataclass(frozen=True)
class LockOwner:
    """The run that wrote some of Snakemake's lock files."""

    host: str
    pid: int
    started: float
    executor: str
    locks: tuple[str, ...]

    def describe(self) -> str:
        """``process <pid>``, with its host when that is not this one."""
        here = self.host == socket.gethostname()
        return f"process {self.pid}" + ("" if here else f" on {self.host}")


def snakemake_processes(directory: str | Path) -> list[int]:
    """Ids of processes working in ``directory`` whose command line names snakemake.

    That is runs and the jobs they started (scripts run from .snakemake/scripts), found by
    their working directory; this process and its parents are left out.
    """
    import psutil

    directory = Path(directory).resolve()
    mine = {os.getpid(), *(parent.pid for parent in psutil.Process().parents())}
    found = []
    for process in psutil.process_iter(["pid", "cmdline", "cwd"]):
        pid, command, cwd = (process.info[key] for key in ("pid", "cmdline", "cwd"))
        if pid in mine or not command or not cwd:
            continue
        if Path(cwd).resolve() == directory and any("snakemake" in part for part in command):
            found.append(pid)
    return sorted(found)


def lock_files(directory: str | Path) -> list[Path]:
    """Snakemake's lock files in ``directory``."""
    return sorted((Path(directory) / SNAKEMAKE_LOCKS).glob("*.lock"))


def process_started(pid: int) -> float | None:
    """When process ``pid`` of this host started (seconds since the epoch), None if none runs."""
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except psutil.NoSuchProcess:
        return None


def record_lock_owner(
    lock_paths: Iterable[str | Path], executor: str, directory: str | Path = "."
) -> Path | None:
    """Write beside the lock files this process holds who holds them; None if it holds none."""
    names = sorted(Path(path).name for path in lock_paths)
    if not names:
        return None
    host, pid = socket.gethostname(), os.getpid()
    record = {
        "host": host,
        "pid": pid,
        "started": process_started(pid),
        "executor": executor,
        "locks": names,
    }
    target = Path(directory) / SNAKEMAKE_LOCKS / f"{OWNER_PREFIX}{host}-{pid}.json"
    write_json(target, record)
    return target


def lock_owners(directory: str | Path) -> dict[Path, LockOwner]:
    """The owner records beside Snakemake's lock files, by file; unreadable ones are skipped."""
    owners = {}
    for path in sorted((Path(directory) / SNAKEMAKE_LOCKS).glob(f"{OWNER_PREFIX}*.json")):
        try:
            data = read_json(path)
            owners[path] = LockOwner(
                host=str(data["host"]),
                pid=int(data["pid"]),
                started=float(data["started"]),
                executor=str(data["executor"]),
                locks=tuple(data["locks"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return owners


def may_still_hold(owner: LockOwner) -> str | None:
    """Why ``owner`` may still hold its lock (one phrase), or None when it provably does not."""
    if owner.host != socket.gethostname():
        return f"{owner.describe()}, which cannot be checked from here"
    started = process_started(owner.pid)
    if started is not None and abs(started - owner.started) < 1:
        return f"{owner.describe()}, which runs"
    if owner.executor != "local":
        return f"stopped {owner.describe()}, whose {owner.executor} jobs may still run"
    return None


def clear_stale_lock(
    directory: str | Path = ".", unlock_command: str = UNLOCK_COMMAND
) -> tuple[bool, str | None]:
    """Remove Snakemake's locks in ``directory`` when their holder is provably gone.

    Returns whether a run may start and the line to show (None when there was no lock).
    """
    locks = lock_files(directory)
    if not locks:
        return True, None
    running = snakemake_processes(directory)
    if running:
        pids = " ".join(map(str, running))
        return False, (
            f"snakeml: Snakemake runs in this directory (process {pids}) and holds its lock: "
            f"wait for it, or stop it (kill {pids}); if it is not a run of this project, clear "
            f"the lock with `{unlock_command}`"
        )
    owners = lock_owners(directory)
    names = {lock.name for lock in locks}
    holding = [owner for owner in owners.values() if names & set(owner.locks)]
    claimed = {name for owner in holding for name in owner.locks}
    reasons = [reason for owner in holding if (reason := may_still_hold(owner)) is not None]
    unknown = [lock.name for lock in locks if lock.name not in claimed]
    if unknown:
        reasons.append(f"a run that left no record of itself ({', '.join(unknown)})")
    if reasons:
        return False, (
            f"snakeml: Snakemake's lock in this directory is held by {'; '.join(reasons)}: "
            f"once that run is over, clear it with `{unlock_command}`"
        )
    for path in [*locks, *owners]:
        path.unlink(missing_ok=True)
    pids = " ".join(str(owner.pid) for owner in holding)
    return True, (
        f"snakeml: removed Snakemake's lock left by stopped process {pids} "
        "(no Snakemake runs here now)"
    )


def locking_run_config(argv: Sequence[str]) -> list[str] | None:
    """The ``--config`` items of a Snakemake command line that takes the directory's lock.

    None for one that takes none (a dry run, --nolock, a job's own Snakemake on a cluster or
    for a ``run:`` rule), for ``--unlock`` (it clears the lock anyway) and for a command line
    that is not Snakemake's (the Snakefile loaded through the API): nothing may be cleared.
    """
    from snakemake.settings.types import ExecMode

    args = snakemake_args(argv)
    if args is None:
        return None
    if args.dryrun or args.nolock or args.unlock or args.mode != ExecMode.DEFAULT:
        return None
    return list(args.config or [])


def unlock_command(config: Sequence[str], snakemake: str = "snakemake") -> str:
    """The command that clears the lock of a run made with these ``--config`` items."""
    return shlex.join([snakemake, "--unlock", *(["--config", *config] if config else [])])


def clear_before_run(argv: Sequence[str], directory: str | Path = ".") -> str | None:
    """Clear a stale lock for a Snakemake run about to check it; the line to show, if any.

    Does nothing unless ``argv`` is a run that takes the lock (``locking_run_config``) and a
    lock file is there. It never stops the run: when the lock may be held, Snakemake decides
    (a run on other files may go on beside it).
    """
    if not lock_files(directory):
        return None
    config = locking_run_config(argv)
    if config is None:
        return None
    return clear_stale_lock(directory, unlock_command(config))[1]


def main(argv: Sequence[str] | None = None) -> int:
    """Clear a stale lock in the working directory; print one line if there was a lock."""
    parser = argparse.ArgumentParser(
        prog="python -m snakeml.operations.runlock", description=__doc__
    )
    parser.add_argument("--overrides", default=None, help="the Hydra overrides of the run")
    args = parser.parse_args(argv)
    config = [] if args.overrides is None else [f"overrides={' '.join(args.overrides.split())}"]
    ok, line = clear_stale_lock(Path.cwd(), unlock_command(config, ".venv/bin/snakemake"))
    if line is not None:
        print(line, file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
