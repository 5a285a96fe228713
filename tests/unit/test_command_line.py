"""snakeml.command_line: what the Snakemake command line reading the Snakefile will do."""

from __future__ import annotations

import pytest

from snakeml.command_line import runs_jobs, snakemake_args


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
