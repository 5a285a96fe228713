"""The one entry point every scripts/<rule>.py goes through.

Why it exists: Snakemake shows a failed script's whole traceback; a user's bad input deserves
one line naming it, and a library's error meaning bad input is told apart from a bug here.
"""

from __future__ import annotations

import logging
import math
import os
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from snakeml.core.errors import SnakemlError
from snakeml.core.io import file_damage, rebuild_advice
from snakeml.core.logs import setup_logging

# Errors of the libraries the rules call that mean bad input, not a bug: (module, class) ->
# what to tell the user after the library's own message. A class is looked up only when its
# module is already imported (an exception of it cannot exist otherwise).
LIBRARY_ERRORS: dict[tuple[str, str], str] = {
    ("duckdb", "ConversionException"): (
        "a value in the input data does not fit the type it is cast to; fix or drop that value"
    ),
    ("duckdb", "OutOfRangeException"): (
        "a value or a computed result is outside its type's range; check the input data"
    ),
    ("duckdb", "IOException"): "DuckDB cannot read or write a file; check the path it names",
}
# A quoted path in a library's message, e.g. DuckDB's "... at end of file 'data/raw/x.parquet'".
QUOTED = re.compile(r"""['"]([^'"]+)['"]""")


def run_rule(body: Callable[[Any], object], smk: Any) -> None:
    """Set up logging to the rule's log file, run ``body(smk)``, turn failures into one line.

    A job given more than one thread uses no more than the cores idle at its start
    (``usable_threads``): ``smk.threads`` is lowered to that.

    A SnakemlError (bad data, bad config), a damaged input file or a known library error on
    bad data is logged as a single line saying what to do. Any other exception is a bug: it is
    logged with its traceback. Either way the log file holds the error and the exit code is 1.
    An interrupt (Ctrl-C) is logged as one line and exits with 130.
    """
    setup_logging(smk.log[0] if smk.log else None)
    log = logging.getLogger(f"snakeml.operations.rule.{smk.rule}")
    given = int(getattr(smk, "threads", 1) or 1)
    if given > 1:
        smk.threads = usable_threads(given)
        if smk.threads < given:
            log.info(
                "%d of the %d threads given: other processes keep cores busy", smk.threads, given
            )
    try:
        body(smk)
    except KeyboardInterrupt:
        _interrupted(log, smk.rule)
    except SnakemlError as exc:
        log.error("%s: %s", smk.rule, exc)
        raise SystemExit(1) from None
    except Exception as exc:
        if _caused_by_interrupt(exc):  # e.g. a C extension's import stopped by Ctrl-C
            _interrupted(log, smk.rule)
        line = explain_failure(exc, input_files(smk))
        if line is None:
            log.exception("%s: failed with %s, a bug; the traceback follows", smk.rule, _name(exc))
        else:
            log.error("%s: %s", smk.rule, line)
        raise SystemExit(1) from None


def _interrupted(log: logging.Logger, rule: str) -> None:
    """Ctrl-C reaches every process of the run: stop quietly, as the shell would (128 + 2).

    Outputs are written atomically, so nothing half-written is left.
    """
    log.error("%s: interrupted (Ctrl-C); run again to resume", rule)
    raise SystemExit(130) from None


def _caused_by_interrupt(exc: BaseException) -> bool:
    """Whether a KeyboardInterrupt lies in ``exc``'s chain of causes and contexts."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def input_files(smk: Any) -> list[str]:
    """The job's input files (Snakemake's ``input``, flattened), or none."""
    files: list[str] = []
    for item in getattr(smk, "input", None) or []:
        files.extend([item] if isinstance(item, str | os.PathLike) else list(item))
    return [str(f) for f in files]


def explain_failure(exc: BaseException, inputs: Iterable[str | Path] = ()) -> str | None:
    """One line for a failure the user can fix, or None for a bug.

    A damaged file (one the message names first, else one of ``inputs``) is named with what to
    do about it; a known library error on bad data (LIBRARY_ERRORS) gives the library's message
    and advice.
    """
    named = [m for m in QUOTED.findall(str(exc)) if _is_file(m)]
    for path in dict.fromkeys([*named, *map(str, inputs)]):
        reason = file_damage(path)
        if reason is not None:
            return f"{path} is damaged ({reason}): {rebuild_advice(path)}"
    for (module_name, class_name), advice in LIBRARY_ERRORS.items():
        module = sys.modules.get(module_name)
        cls = getattr(module, class_name, None) if module is not None else None
        if isinstance(cls, type) and isinstance(exc, cls):
            return f"{module_name}: {_one_line(exc)}: {advice}"
    return None


def _is_file(text: str) -> bool:
    try:
        return bool(Path(text).suffix) and Path(text).is_file()
    except (OSError, ValueError):  # not a path: too long, a NUL byte
        return False


def _name(exc: BaseException) -> str:
    return type(exc).__name__


def _one_line(exc: BaseException) -> str:
    """The message's first paragraph on one line (DuckDB appends the SQL after a blank line)."""
    first = str(exc).strip().split("\n\n", 1)[0]
    return " ".join(first.split()) or _name(exc)


# How the OpenMP threads of a job wait for work: asleep, not spinning (libgomp's default spins).
# Spinning threads of a 2-thread histogram gradient boosting fit wait on each other when another
# process holds a core: measured 2-2.7x the 1-thread time; asleep, no slower than 1 thread
# (bench/busy.py).
JOB_ENVIRONMENT: dict[str, str] = {"OMP_WAIT_POLICY": "PASSIVE"}


# A core counts as busy when other processes used more than this share of it while sampled.
BUSY_CORE_PERCENT = 50.0


def usable_threads(requested: int, sample_seconds: float = 0.25) -> int:
    """The threads a job uses: at most ``requested``, and no more than the cores idle now.

    A core another process keeps busy would slow one of the job's OpenMP threads to a share of
    it, and the others wait for that thread at every parallel step: with one of 2 cores held,
    a 2-thread histogram gradient boosting fit took 1.06x the 1-thread time even with sleeping
    waits (bench/busy.py). So a job given N > 1 threads samples the cores' use for
    ``sample_seconds`` (psutil.cpu_percent, per core, summed: a process that moves from core to
    core counts once) and keeps one thread per core not in use, at least one. The cores in use
    are the summed use rounded to whole cores, a core counting from BUSY_CORE_PERCENT. Only at
    the job's start: load that comes later is not seen.
    """
    if requested <= 1:
        return max(1, requested)
    import psutil

    use = psutil.cpu_percent(interval=sample_seconds, percpu=True)
    busy = math.floor((sum(use) + 100.0 - BUSY_CORE_PERCENT) / 100.0)
    return max(1, min(requested, len(use) - busy))


def share_job_environment() -> None:
    """Set JOB_ENVIRONMENT here where the user has not set it, for every job started from here.

    Script jobs are child processes and inherit it; cluster jobs read the Snakefile again.
    """
    for name, value in JOB_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


def share_import_path(path: str) -> None:
    """Put ``path`` first on PYTHONPATH, so the scripts of jobs this process starts import it."""
    current = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != path]
    os.environ["PYTHONPATH"] = os.pathsep.join([path, *current])
