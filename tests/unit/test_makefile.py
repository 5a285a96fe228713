"""The Makefile hands Snakemake only values it accepts: blank OVERRIDES and SWEEP are none."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from conftest import REPO

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def make(*args: str) -> subprocess.CompletedProcess[str]:
    # STAMP= : no environment step, whatever the state of .venv
    command = ["make", "--no-print-directory", "STAMP=", *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)


def test_a_blank_sweep_is_refused_in_one_line() -> None:
    run = make("sweep", "SWEEP=   ")
    assert run.returncode == 2
    assert run.stderr.splitlines()[0] == (
        'make sweep: give SWEEP="key=a,b ..." or SWEEP=<conf/sweep name>'
    )
    assert "Traceback" not in run.stdout + run.stderr


def test_blank_overrides_reach_snakemake_as_empty() -> None:
    run = make("-n", "run", "OVERRIDES=  ")
    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stdout.splitlines() if "snakemake --cores" in line]
    assert lines and lines[0].endswith('--config overrides=""')
