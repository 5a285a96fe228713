"""snakeml.operations.command_line: what the Snakemake command line reading the Snakefile will
do."""

from __future__ import annotations

import pytest

from snakeml.core.errors import ConfigError
from snakeml.operations.command_line import check_core_counts, runs_jobs, snakemake_args


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["snakemake", "--cores", "2"], True),
        (["/v/bin/snakemake", "--cores", "2", "--config", "overrides=model=[ridge]"], True),
        (["snakemake", "--cores", "2", "--nolock"], True),
        (["snakemake", "--cores", "2", "--touch"], True),
        (["snakemake", "--cores", "2", "--report", "r.html", "--report-after-run"], True),
        (["snakemake", "-n", "--cores", "2"], False),
        (["snakemake", "-np", "--cores", "2"], False),
        (["snakemake", "--dry-run", "--cores", "2"], False),
        (["snakemake", "--report", "r.html"], False),
        (["snakemake", "--unlock"], False),
        (["snakemake", "--summary"], False),
        (["snakemake", "--list-params-changes"], False),
        (["snakemake", "--rulegraph"], False),
        (["snakemake", "--lint"], False),
        (["snakemake", "--cores", "2", "--mode", "subprocess"], False),
        (["snakemake", "--cores", "2", "--mode", "remote", "--nolock"], False),
        # not Snakemake's command line (the API, a test runner): a run may follow
        (["pytest", "-x"], True),
    ],
)
def test_only_a_run_that_executes_jobs_runs_jobs(argv, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no workflow profile here
    assert runs_jobs(argv) is expected


def test_a_command_line_snakemake_refuses_is_not_parsed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert snakemake_args(["snakemake", "--no-such-option"]) is None
    assert snakemake_args(["snakemake", "--cores", "3"]).cores == 3


@pytest.mark.parametrize(
    ("options", "line"),
    [
        (
            ["--cores", "0"],
            "--cores 0: a run needs at least 1; give --cores N with N of 1 or more, or --cores all",
        ),
        (
            ["--cores", "-1"],
            "--cores -1: a run needs at least 1; give --cores N with N of 1 or "
            "more, or --cores all",
        ),
        (
            ["--jobs", "0"],
            "--jobs 0: a run needs at least 1; give --jobs N with N of 1 or more, "
            "or --jobs unlimited",
        ),
    ],
)
def test_a_core_or_job_count_below_one_is_one_line(options, line, tmp_path, monkeypatch):
    """Snakemake takes these, then waits forever for a core."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        check_core_counts(snakemake_args(["snakemake", *options]))
    assert str(info.value) == line


def test_counts_of_one_or_more_pass(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for options in (["--cores", "1"], ["--cores", "all"], ["--jobs", "unlimited"], []):
        assert check_core_counts(snakemake_args(["snakemake", *options])) is None
    # a word Snakemake's own parser refuses (it says so in one line itself)
    assert snakemake_args(["snakemake", "--jobs", "abc"]) is None
    assert check_core_counts(None) is None
