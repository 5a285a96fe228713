"""Cluster tests need a SLURM controller and the executor plugin; CI must have both."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess

import pytest

SETUP = "`make test-slurm` starts a one-node cluster (root; .ci/slurm.sh) and runs these tests"


def slurm_unavailable() -> str | None:
    """Why the cluster tests cannot run on this machine, or None if they can."""
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return "the SLURM executor plugin is not installed (make venv-slurm); " + SETUP
    if shutil.which("sbatch") is None:
        return "no SLURM client (sbatch) on PATH; " + SETUP
    try:
        ping = subprocess.run(
            ["scontrol", "ping"], capture_output=True, text=True, timeout=60, check=False
        )
    except subprocess.TimeoutExpired:
        return "`scontrol ping` hung for 60 s; " + SETUP
    if ping.returncode != 0 or " is UP" not in ping.stdout:
        said = (ping.stdout + ping.stderr).strip().splitlines()[-1:] or ["no output"]
        return f"no SLURM controller answers `scontrol ping` ({said[0]}); " + SETUP
    return None


@pytest.fixture(scope="session")
def slurm() -> None:
    """Skip without SLURM, unless SNAKEML_REQUIRE_SERVICES=1 (CI): then fail."""
    reason = slurm_unavailable()
    if reason is None:
        return
    if os.environ.get("SNAKEML_REQUIRE_SERVICES") == "1":
        pytest.fail(f"SNAKEML_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)
