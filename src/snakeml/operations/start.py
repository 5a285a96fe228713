"""What the workflow checks as it loads and before its first job, each failure one line.

Why it exists: Snakemake runs the Snakefile's top level on every invocation (a run, a dry run,
a report, a job's own Snakemake) and ``onstart`` once a run has jobs; the checks that must
stop a run early, in the right one of those moments, live here rather than in rules/.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from snakeml.core.errors import ConfigError, SnakemlError


def check_as_loaded(argv: Sequence[str], basedir: str | Path, run_itself: bool) -> Any | None:
    """The checks of a workflow being loaded; returns Snakemake's parsed arguments (or None).

    Refuses, raising SnakemlError (one line): running from another folder than the project's
    root (every path in the rules is relative to it), a core or job count below 1 (Snakemake
    would wait forever), a prediction asked for by a path. ``run_itself`` (not a job's own
    Snakemake): a lock a killed run left is cleared if its holder is provably gone, else one
    line on stderr names the holder and the unlock command (snakeml.operations.runlock).
    """
    from snakeml.operations.command_line import check_core_counts, snakemake_args
    from snakeml.operations.runlock import clear_before_run
    from snakeml.prediction.new_rows import check_prediction_targets

    if Path.cwd().resolve() != Path(basedir).resolve():
        raise SnakemlError(
            f"run snakemake from the project's root, {basedir} "
            f"(cd there; not -s or --directory from {Path.cwd()})"
        )
    args = snakemake_args(argv)
    check_core_counts(args)
    check_prediction_targets(args.targets if args else [])
    if run_itself:
        line = clear_before_run(argv)
        if line is not None:
            print(line, file=sys.stderr)
    return args


def check_estimators(
    cfg: Mapping[str, Any],
    overrides: Sequence[str],
    experiments: Sequence[Any],
    conf_dir: Path,
) -> None:
    """Each model of the run (or of each sweep point) against scikit-learn's constraints.

    Raises ConfigError, one line (naming the sweep point). Imports scikit-learn (about a second
    of every run): called only when a run has jobs, and skipped for models whose settings
    passed before in this project (snakeml.configuration.cache.check_key: the same settings,
    task kind, code and installed packages).
    """
    if not experiments:
        _check_once(dict(cfg), list(overrides), conf_dir)
    for experiment in experiments:
        try:
            _check_once(experiment.config, experiment.overrides, conf_dir)
        except ConfigError as exc:
            raise ConfigError(f"sweep point {experiment.name}: {exc}") from None


def _check_once(cfg: Mapping[str, Any], overrides: Sequence[str], conf_dir: Path) -> None:
    """check_estimator_settings of one configuration, unless its models passed before."""
    from snakeml.configuration.cache import CHECKED_DIR, check_key

    key = check_key([cfg["task"]["kind"], cfg["model"]])
    passed = Path(conf_dir).parent / CHECKED_DIR / key if key else None
    if passed is not None and passed.is_file():
        return
    from snakeml.configuration.compose import check_estimator_settings
    from snakeml.core.io import write_text_atomic

    check_estimator_settings(dict(cfg), list(overrides), conf_dir)
    if passed is not None:
        with contextlib.suppress(OSError):  # a read-only project checks again next time
            write_text_atomic(passed, "")


def before_first_job(workflow: Any, routes: Any, conf_dir: Path) -> None:
    """What a run checks once, before its first job (Snakemake's ``onstart``).

    Records which process holds the lock Snakemake has just taken (snakeml.operations.runlock),
    removes the temporaries of writers a kill stopped, checks the models against scikit-learn, that
    an RDB for the trials is reachable (and gets Optuna's tables once, not from two shards at a
    time), that each MLflow store answers, and, on SLURM, that every job fits a node (a job no node
    can run would be refused at submission; the executor is known only now). Raises SnakemlError
    (ConfigError), one line.
    """
    from snakemake.settings.types import ExecMode

    from snakeml.core.io import remove_stale_temporaries
    from snakeml.operations.cluster import check_fits_node, slurm_largest_node
    from snakeml.operations.runlock import record_lock_owner
    from snakeml.training.storage import check_storage

    # Private use: no public API names the lock files this run holds (none if that changes).
    own_locks = list(getattr(workflow.persistence, "_lockfile", {}).values())
    executor = getattr(workflow.executor_plugin, "name", "local")
    if workflow.exec_mode == ExecMode.DEFAULT:
        record_lock_owner(own_locks, executor)
    stale = remove_stale_temporaries(["results", "data"], own_locks=own_locks)
    if stale:
        print(f"snakeml: removed {len(stale)} temporary files of a stopped run", file=sys.stderr)
    cfg = routes.cfg
    check_estimators(cfg, routes.overrides, routes.experiments, conf_dir)
    check_storage(cfg["tuning"]["storage"])
    tracked = routes.tracked_roots()
    if tracked:
        from snakeml.evaluation.tracking import check_tracking

        for uri in sorted({routes.config_of(root)["tracking"]["uri"] for root in tracked}):
            check_tracking(uri)
    if executor == "slurm":
        largest = slurm_largest_node()
        if largest is not None:
            check_fits_node(cfg["resources"], *largest)


# What Snakemake's log says of a job that was killed: its script's process "died with
# <Signals.SIGKILL: 9>" (a local job: the kernel's out-of-memory killer sends SIGKILL), or the
# job's SLURM state OUT_OF_MEMORY (SLURM's memory limit, from the SLURM executor plugin).
KILLED = re.compile(r"(died with <Signals\.SIGKILL: 9>|exit status 137)|(OUT_OF_MEMORY)")
FAILED_JOB = re.compile(r"^Error in rule (\S+):$")
JOB_STARTED = re.compile(r"^(?:local)?rule (\S+):$")


def _blocks(lines: list[str], header: re.Pattern[str]) -> list[tuple[int, str, dict[str, str]]]:
    """Each block of a Snakemake log that starts with ``header`` (its group 1 the rule): the
    header's line number, the rule, and its indented ``name: value`` lines."""
    blocks = []
    for number, line in enumerate(lines):
        matched = header.match(line)
        if matched is None:
            continue
        fields: dict[str, str] = {}
        for inner in lines[number + 1 :]:
            if inner[:1] not in (" ", "\t"):
                break
            name, _, value = inner.strip().partition(": ")
            fields.setdefault(name, value)
        blocks.append((number, matched.group(1), fields))
    return blocks


def killed_jobs(log_text: str) -> list[dict[str, str]]:
    """The jobs a Snakemake log shows killed: one dict each, with ``rule``, ``how`` ("SIGKILL"
    or "OUT_OF_MEMORY") and, where the log names them, ``wildcards`` and ``log`` (the job's own
    log file).

    A failed job is the block "Error in rule <rule>:" and its indented lines (the message of a
    cluster job); the exception Snakemake prints just before it ("RuleException: ...") is the
    local job's; its start ("rule <rule>:" with the same jobid) gives its wildcards.
    """
    lines = log_text.splitlines()
    started = {
        fields["jobid"]: (number, fields)
        for number, _, fields in _blocks(lines, JOB_STARTED)
        if "jobid" in fields
    }
    jobs: list[dict[str, str]] = []
    for number, rule, fields in _blocks(lines, FAILED_JOB):
        start, job_fields = started.get(fields.get("jobid", ""), (number, {}))
        # The exception Snakemake printed for this job: from its last "RuleException" line
        # before the block (jobs running beside it print theirs elsewhere).
        raised = [n for n in range(start, number) if lines[n].startswith("RuleException")]
        exception = lines[raised[-1] : number] if raised else []
        killed = KILLED.search("\n".join([*exception, fields.get("message", "")]))
        if killed is None:
            continue
        job = {"rule": rule, "how": "SIGKILL" if killed.group(1) else "OUT_OF_MEMORY"}
        wildcards = fields.get("wildcards") or job_fields.get("wildcards")
        if wildcards:
            job["wildcards"] = wildcards
        if fields.get("log"):
            job["log"] = ", ".join(_own_logs(fields))
        jobs.append(job)
    return jobs


def _run_logs(log_files: str | Sequence[str]) -> list[str]:
    """The text of each of a run's Snakemake logs (``onerror``'s ``log``); "" for a missing one."""
    files = [log_files] if isinstance(log_files, str) else log_files
    return [Path(f).read_text(errors="replace") if Path(f).is_file() else "" for f in files]


def _own_logs(fields: Mapping[str, str]) -> list[str]:
    """The job's own log files its failed block names ("log: a, b (check log file(s) ...)")."""
    named = fields.get("log", "").split(" (check log file")[0]
    return [name for name in named.split(", ") if name]


# The line run_rule (snakeml.operations.rule) logs when a job fails: "<time> ERROR   <logger>:
# <rule>: <what is wrong and how to fix it>" (snakeml.core.logs.LOG_FORMAT).
JOB_ERROR = re.compile(r"\sERROR\s+snakeml\.operations\.rule\.\S+: (.+)$")


def repeat_job_errors(log_files: str | Sequence[str]) -> list[str]:
    """After a failed run (Snakemake's ``onerror``): each failed job's own error line, read from
    its log, once more on stderr as ``snakeml: <line> (log: <its log>)``, so that the last lines
    a user sees say what is wrong (Snakemake prints the job's block, its log and the
    exception's command before). Jobs killed by a signal, or without such a line, are left to
    name_killed_jobs. ``log_files`` is the run's Snakemake log; returns the lines printed.
    """
    lines = []
    for text in _run_logs(log_files):
        for _, _, fields in _blocks(text.splitlines(), FAILED_JOB):
            for own_log in _own_logs(fields):
                path = Path(own_log)
                said = (
                    [m.group(1) for m in map(JOB_ERROR.search, path.read_text().splitlines()) if m]
                    if path.is_file()
                    else []
                )
                if said:
                    lines.append(f"snakeml: {said[-1]} (log: {own_log})")
    for line in lines:
        print(line, file=sys.stderr)
    return lines


def name_killed_jobs(
    log_files: str | Sequence[str], resources: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """After a failed run (Snakemake's ``onerror``): one line on stderr for each killed job,
    naming it, its memory request and how to raise it; the line is added to the job's own log.

    ``log_files`` is the run's Snakemake log (``onerror``'s ``log``), ``resources`` the
    configuration's ``resources``. Returns the lines. A job killed by SIGKILL is named as most
    likely out of memory (what the kernel's out-of-memory killer sends; a user's ``kill -9``
    looks the same).
    """
    lines = []
    for text in _run_logs(log_files):
        for job in killed_jobs(text):
            rule = job["rule"]
            asked = resources[rule]["mem_mb"] if rule in resources else None
            request = f"resources.{rule}.mem_mb"
            what = (
                "was stopped by SLURM for exceeding its memory (OUT_OF_MEMORY)"
                if job["how"] == "OUT_OF_MEMORY"
                else "was killed by SIGKILL, most likely out of memory (the kernel's "
                "out-of-memory killer)"
            )
            fix = (
                f"its request is {request} = {asked}; raise it, e.g. "
                f'--config overrides="{request}={2 * asked}", or lower the rows it reads'
                if asked is not None
                else "lower the rows it reads"
            )
            where = f" ({job['wildcards']})" if "wildcards" in job else ""
            line = f"snakeml: rule {rule}{where} {what}: {fix} (docs/scaling.md)"
            print(line, file=sys.stderr)
            if "log" in job:
                for own_log in job["log"].split(", "):
                    with Path(own_log).open("a") as out:
                        out.write(line + "\n")
            lines.append(line)
    return lines
