"""The smoke experiment submitted to a real SLURM scheduler through profiles/slurm.

Every job must go through the scheduler with the threads, memory and wall time of
conf/resources/, the results must equal a local run's byte for byte, and a request larger than
any node must fail at submission instead of pending forever.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.workflow.project import SMOKE, SNAKEMAKE, Run, copy_project

# One worker submits to the one-node test cluster: make test runs a file on one worker.
pytestmark = [
    pytest.mark.workflow,
    pytest.mark.slurm,
    pytest.mark.usefixtures("slurm"),
]

# Layered over profiles/slurm: polls every second instead of after 40 s, for jobs of seconds.
TEST_PROFILE = Path(__file__).with_name("profile")
JOBS_PER_RULE = {
    "ingest": 1,
    "features": 1,
    "audit": 1,
    "split": 1,
    "tune_shard": 3,
    "tune_best": 3,
    "train": 3,
    "evaluate": 3,
    "importance": 3,
    "leaderboard": 1,
    "manifest": 1,
}
SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+)")


def snakemake_on_slurm(workdir: Path, overrides: str = SMOKE, timeout: int = 900) -> Run:
    """Run snakemake with the SLURM profile, as a user on a login node would.

    No --cores: on a cluster it would cap every job's threads. A job that pends forever
    fails the test through the timeout.
    """
    command = [
        str(SNAKEMAKE),
        *("--profile", "profiles/slurm", "--profile", str(TEST_PROFILE)),
        *("--config", f"overrides={overrides}"),
    ]
    result = subprocess.run(
        command, cwd=workdir, capture_output=True, text=True, timeout=timeout, check=False
    )
    return Run(result.returncode, result.stdout + result.stderr)


def scheduler_record(job_id: str) -> dict[str, str]:
    """SLURM's own record of a job (kept for MinJobAge after it ends)."""
    shown = subprocess.run(
        ["scontrol", "show", "job", "--oneliner", job_id],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(re.findall(r"([\w/:]+)=(\S*)", shown.stdout))


def slurm_log_jobs(workdir: Path) -> dict[str, str]:
    """Job id -> rule, from the SLURM logs the plugin keeps: rule_<rule>/[<wildcards>/]<id>.log."""
    jobs = {}
    for log in (workdir / ".snakemake/slurm_logs").rglob("*.log"):
        rule_dir = next(p for p in log.relative_to(workdir).parts if p.startswith("rule_"))
        jobs[log.stem] = rule_dir.removeprefix("rule_")
    return jobs


def megabytes(value: str) -> int:
    """SLURM's memory figure ("4608M", "4.50G") in MB."""
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)([MGT])", value).groups()
    return round(float(number) * {"M": 1, "G": 1024, "T": 1024 * 1024}[unit])


def minutes(value: str) -> int:
    days, _, clock = value.rpartition("-")
    hours, mins, secs = (int(part) for part in clock.split(":"))
    return (int(days or 0) * 24 + hours) * 60 + mins + (secs > 0)


def largest_node() -> tuple[int, int]:
    """CPUs and memory (MB) of the cluster's largest node."""
    nodes = subprocess.run(
        ["sinfo", "--noheader", "--Node", "--format=%c %m"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split("\n")
    sizes = [tuple(int(v.rstrip("+")) for v in line.split()) for line in nodes if line.strip()]
    return max(cpus for cpus, _ in sizes), max(mem for _, mem in sizes)


@dataclass
class SlurmSmoke:
    workdir: Path
    run: Run
    jobs: dict[str, str]  # SLURM job id -> rule
    records: dict[str, dict[str, str]]  # SLURM job id -> the scheduler's record


@pytest.fixture(scope="module")
def slurm_smoke(tmp_path_factory: pytest.TempPathFactory) -> SlurmSmoke:
    workdir = copy_project(tmp_path_factory.mktemp("slurm") / "project")
    run = snakemake_on_slurm(workdir)
    assert run.returncode == 0, run.output[-5000:]
    jobs = slurm_log_jobs(workdir)
    # Read the scheduler's records now: it forgets finished jobs after MinJobAge.
    return SlurmSmoke(workdir, run, jobs, {job: scheduler_record(job) for job in jobs})


def test_every_job_went_through_the_scheduler(slurm_smoke: SlurmSmoke) -> None:
    assert "Using profiles profiles/slurm" in slurm_smoke.run.output
    rules = sorted(slurm_smoke.jobs.values())
    assert rules == sorted(rule for rule, n in JOBS_PER_RULE.items() for _ in range(n))
    assert set(SUBMITTED.findall(slurm_smoke.run.output)) == set(slurm_smoke.jobs)
    for job_id, record in slurm_smoke.records.items():
        assert record["JobId"] == job_id
        assert record["JobState"] == "COMPLETED", record
        assert record["ExitCode"] == "0:0", record
        assert Path(record["WorkDir"]) == slurm_smoke.workdir


def test_jobs_ask_for_the_configured_threads_memory_and_runtime(slurm_smoke: SlurmSmoke) -> None:
    conf = yaml.safe_load((slurm_smoke.workdir / "conf/resources/default.yaml").read_text())
    for job_id, rule in slurm_smoke.jobs.items():
        record, wanted = slurm_smoke.records[job_id], conf[rule]
        asked = {
            "threads": int(record["CPUs/Task"]),
            "mem_mb": megabytes(record["MinMemoryNode"]),
            "runtime": minutes(record["TimeLimit"]),
        }
        assert asked == wanted, f"rule {rule}, SLURM job {job_id}"


def test_slurm_leaderboard_equals_the_local_runs_byte_for_byte(
    slurm_smoke: SlurmSmoke, smoke_build: Path
) -> None:
    on_slurm = (slurm_smoke.workdir / "results/leaderboard.csv").read_bytes()
    local = (smoke_build / "results/leaderboard.csv").read_bytes()
    assert on_slurm.count(b"\n") == 7, on_slurm  # header, three models, three baselines
    assert on_slurm == local


@pytest.mark.parametrize("resource", ["threads", "mem_mb"])
def test_request_larger_than_any_node_fails_before_submission(
    resource: str, tmp_path: Path
) -> None:
    cpus, mem_mb = largest_node()
    too_much = {"threads": cpus + 1, "mem_mb": 2 * mem_mb}[resource]
    limit = {"threads": cpus, "mem_mb": mem_mb}[resource]
    workdir = copy_project(tmp_path / "project")

    run = snakemake_on_slurm(workdir, f"{SMOKE} resources.ingest.{resource}={too_much}", 300)

    assert run.returncode != 0
    lines = [line for line in run.output.splitlines() if line.startswith("snakeml:")]
    assert len(lines) == 1, run.output[-3000:]
    assert f"resources.ingest.{resource}={too_much} is more than the largest" in lines[0]
    assert f"override resources.ingest.{resource}={limit}" in lines[0]
    assert not SUBMITTED.search(run.output), "a job no node can run was submitted"
    queued = subprocess.run(
        ["squeue", "--noheader", "--format=%Z"], capture_output=True, text=True, check=True
    )
    assert str(workdir) not in queued.stdout, "a job of this run is left in the queue"
    assert not (workdir / "data/raw").exists()
