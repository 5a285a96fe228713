"""Snakemake's directory lock after a killed run: cleared when no run can hold it, else one line.

A killed Snakemake leaves its lock files in .snakemake/locks, and every later run in the
directory stops on them until someone runs ``snakemake --unlock``. Before ``make run`` this
module clears them when no Snakemake process (a run, or a job a killed run left running)
works in the directory, and otherwise says in one line which processes to wait for.

Run as ``python -m snakeml.runlock`` from the project's root; exit 1 while a run holds the lock.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from snakeml.io import SNAKEMAKE_LOCKS

UNLOCK_COMMAND = ".venv/bin/snakemake --unlock"


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


def clear_stale_lock(directory: str | Path = ".") -> tuple[bool, str | None]:
    """Remove Snakemake's locks in ``directory`` unless a Snakemake process works there.

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
            f"the lock with `{UNLOCK_COMMAND}`"
        )
    for lock in locks:
        lock.unlink(missing_ok=True)
    return True, "snakeml: removed Snakemake's lock left by a stopped run (none runs here now)"


def main() -> int:
    """Clear a stale lock in the working directory; print one line if there was a lock."""
    ok, line = clear_stale_lock(Path.cwd())
    if line is not None:
        print(line, file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
