"""What the Snakemake command line that is reading the Snakefile is about to do.

Why it exists: Snakemake's API says whether a run executes jobs only after it has read the
Snakefile, and the Snakefile must know it while it is read (to rewrite configuration slices).

The Snakefile is read before Snakemake says whether it will run jobs (``workflow.dryrun`` is
set later), so the command line is parsed again with Snakemake's own parser
(``snakemake.cli.parse_args``), profile included, never by hand.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from snakeml.core.errors import ConfigError

# Snakemake options under which it reads the workflow but runs no job (snakemake.cli,
# args_to_api: each picks a branch other than execute_workflow).
NO_JOB_OPTIONS = (
    "dryrun",
    "report",
    "lint",
    "list_target_rules",
    "list_rules",
    "print_compilation",
    "containerize",
    "generate_unit_tests",
    "dag",
    "rulegraph",
    "filegraph",
    "d3dag",
    "unlock",
    "cleanup_metadata",
    "conda_cleanup_envs",
    "conda_create_envs_only",
    "list_conda_envs",
    "cleanup_shadow",
    "container_cleanup_images",
    "list_changes",
    "list_input_changes",
    "list_params_changes",
    "list_untracked",
    "summary",
    "detailed_summary",
    "archive",
    "delete_all_output",
    "delete_temp_output",
)


def snakemake_args(argv: Sequence[str]) -> Any | None:
    """Snakemake's parsed arguments (argparse.Namespace) of ``argv``, or None.

    None when ``argv`` is not a ``snakemake`` command line (the Snakefile loaded through the
    API or by another program) or Snakemake's parser refuses it.
    """
    program = Path(argv[0]) if argv else Path()
    if not (program.name == "snakemake" or program.parent.name == "snakemake"):
        return None
    # Private use: no public API parses a command line with its profiles as Snakemake does.
    from snakemake import cli

    try:
        with contextlib.redirect_stderr(io.StringIO()):  # it says again which profile it uses
            _, args = cli.parse_args(list(argv[1:]))
    except (Exception, SystemExit):
        return None
    return args


def runs_jobs(argv: Sequence[str]) -> bool:
    """Whether ``argv`` is a Snakemake run that may execute jobs in this directory.

    False for a dry run, a report, a listing or any other option that only reads the
    workflow, and for a job's own Snakemake (``--mode subprocess`` or ``remote``: the run that
    started it did the run's work). True for a command line that is not Snakemake's own: the
    caller cannot tell, and writing is what a run needs.
    """
    from snakemake.settings.types import ExecMode

    args = snakemake_args(argv)
    if args is None:
        return True
    if args.mode != ExecMode.DEFAULT:
        return False
    options = [option for option in NO_JOB_OPTIONS if getattr(args, option, None)]
    # --report-after-run runs the workflow first, then writes its report
    if options == ["report"] and getattr(args, "report_after_run", False):
        return True
    return not options


def check_core_counts(args: Any | None) -> None:
    """Refuse a ``--cores`` or ``--jobs`` below 1 in parsed arguments (``snakemake_args``).

    Snakemake takes either and then waits forever for a free core; raises ConfigError, one
    line, naming the option and what to give instead.
    """
    if args is None:
        return
    for option, value, largest in (
        ("--cores", args.cores, "all"),
        ("--jobs", args.jobs, "unlimited"),
    ):
        if value is not None and value < 1:
            raise ConfigError(
                f"{option} {value}: a run needs at least 1; give {option} N with N of 1 or "
                f"more, or {option} {largest}"
            )
