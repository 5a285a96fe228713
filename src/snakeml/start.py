"""What the workflow checks as it loads and before its first job, each failure one line.

Why it exists: Snakemake runs the Snakefile's top level on every invocation (a run, a dry run,
a report, a job's own Snakemake) and ``onstart`` once a run has jobs; the checks that must
stop a run early, in the right one of those moments, live here rather than in rules/.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from snakeml.errors import ConfigError, SnakemlError


def check_as_loaded(argv: Sequence[str], basedir: str | Path, run_itself: bool) -> Any | None:
    """The checks of a workflow being loaded; returns Snakemake's parsed arguments (or None).

    Refuses, raising SnakemlError (one line): running from another folder than the project's
    root (every path in the rules is relative to it), a core or job count below 1 (Snakemake
    would wait forever), a prediction asked for by a path. ``run_itself`` (not a job's own
    Snakemake): a lock a killed run left is cleared if its holder is provably gone, else one
    line on stderr names the holder and the unlock command (snakeml.runlock).
    """
    from snakeml.command_line import check_core_counts, snakemake_args
    from snakeml.new_rows import check_prediction_targets
    from snakeml.runlock import clear_before_run

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

    Raises ConfigError, one line (naming the sweep point). Imports scikit-learn: called only
    when a run has jobs.
    """
    from snakeml.config import check_estimator_settings

    if not experiments:
        check_estimator_settings(dict(cfg), list(overrides), conf_dir)
    for experiment in experiments:
        try:
            check_estimator_settings(experiment.config, experiment.overrides, conf_dir)
        except ConfigError as exc:
            raise ConfigError(f"sweep point {experiment.name}: {exc}") from None


def before_first_job(workflow: Any, routes: Any, conf_dir: Path) -> None:
    """What a run checks once, before its first job (Snakemake's ``onstart``).

    Records which process holds the lock Snakemake has just taken (snakeml.runlock), removes
    the temporaries of writers a kill stopped, checks the models against scikit-learn, that an
    RDB for the trials is reachable (and gets Optuna's tables once, not from two shards at a
    time), that each MLflow store answers, and, on SLURM, that every job fits a node (a job no
    node can run would be refused at submission; the executor is known only now). Raises
    SnakemlError (ConfigError), one line.
    """
    from snakemake.settings.types import ExecMode

    from snakeml.cluster import check_fits_node, slurm_largest_node
    from snakeml.io import remove_stale_temporaries
    from snakeml.runlock import record_lock_owner
    from snakeml.storage import check_storage

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
        from snakeml.tracking import check_tracking

        for uri in sorted({routes.config_of(root)["tracking"]["uri"] for root in tracked}):
            check_tracking(uri)
    if executor == "slurm":
        largest = slurm_largest_node()
        if largest is not None:
            check_fits_node(cfg["resources"], *largest)
