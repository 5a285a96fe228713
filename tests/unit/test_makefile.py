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


@pytest.mark.parametrize("target", ["run", "smoke", "sweep"])
@pytest.mark.parametrize("cores", ["0", "-1", "abc", "2 4"])
def test_a_core_count_that_cannot_work_stops_make_in_one_line(target, cores) -> None:
    run = make(target, f"CORES={cores}", "SWEEP=tuning.n_trials=2,3")
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        f"Makefile:{line_of(target)}: *** make {target}: CORES={cores} is not a core count; give "
        "a whole number of 1 or more, or CORES=all.  Stop."
    ]
    assert run.stdout == ""


def line_of(target: str) -> int:
    """The line of the recipe that checks CORES in ``target``."""
    lines = (REPO / "Makefile").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{target}:"))
    return next(i for i in range(start, len(lines)) if "$(CHECK_CORES)" in lines[i]) + 1


def test_a_core_count_of_one_or_more_or_all_reaches_snakemake() -> None:
    for cores in ("1", "12", "all"):
        run = make("-n", "run", f"CORES={cores}")
        assert run.returncode == 0, run.stderr
        assert f"snakemake --cores {cores} --config" in run.stdout


def test_a_target_make_does_not_have_is_one_line_listing_those_it_has() -> None:
    run = make("rnu")
    assert run.returncode == 2
    (line,) = run.stderr.splitlines()
    assert "*** make: no target 'rnu'; the targets are: help venv " in line
    assert " run smoke sweep " in line and line.endswith("(make help says what each does).  Stop.")
