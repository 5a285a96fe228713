"""snakeml.operations.start: the checks a workflow makes as it loads, each one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from snakeml.core.errors import ConfigError, DataError, SnakemlError
from snakeml.operations.start import check_as_loaded, check_estimators

SNAKEMAKE = "/venv/bin/snakemake"


def test_another_working_directory_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SnakemlError, match=r"^run snakemake from the project's root, /elsewhere "):
        check_as_loaded([SNAKEMAKE, "--cores", "2"], "/elsewhere", run_itself=False)


@pytest.mark.parametrize(
    ("argv", "error", "words"),
    [
        (["--cores", "0"], ConfigError, "--cores"),
        (["--cores", "2", "results/predictions/data/new/x.parquet"], DataError, "named"),
    ],
)
def test_a_command_line_that_cannot_work_is_refused(
    tmp_path: Path, monkeypatch, argv: list[str], error: type, words: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=words):
        check_as_loaded([SNAKEMAKE, *argv], tmp_path, run_itself=False)


def test_a_command_line_that_can_work_returns_its_targets(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = check_as_loaded([SNAKEMAKE, "--cores", "2", "all"], tmp_path, run_itself=True)
    assert args.targets == ["all"]


def test_a_refused_models_param_names_the_sweep_point(conf_dir: Path) -> None:
    from types import SimpleNamespace

    from snakeml.configuration.compose import compose_config

    bad = ["+experiment=smoke", "model.hgb.params.validation_fraction=2.0"]
    cfg = compose_config(bad, conf_dir, estimators=False)
    with pytest.raises(ConfigError, match=r"validation_fraction"):
        check_estimators(cfg, bad, [], conf_dir)
    point = SimpleNamespace(name="point-a", config=cfg, overrides=bad)
    good = compose_config(["+experiment=smoke"], conf_dir, estimators=False)
    with pytest.raises(ConfigError, match=r"^sweep point point-a: "):
        check_estimators(good, ["+experiment=smoke"], [point], conf_dir)


def test_models_that_passed_are_not_checked_again(conf_dir: Path, tmp_path: Path, monkeypatch):
    import shutil

    from snakeml.configuration import compose
    from snakeml.configuration.cache import CHECKED_DIR
    from snakeml.configuration.compose import compose_config

    project_conf = tmp_path / "conf"
    shutil.copytree(conf_dir, project_conf)
    smoke = ["+experiment=smoke"]
    cfg = compose_config(smoke, conf_dir, estimators=False)
    check_estimators(cfg, smoke, [], project_conf)
    assert len(list((tmp_path / CHECKED_DIR).iterdir())) == 1

    calls = []

    def refuse(cfg, overrides, config_dir):
        calls.append(cfg)
        raise ConfigError("refused")

    monkeypatch.setattr(compose, "check_estimator_settings", refuse)
    check_estimators(cfg, smoke, [], project_conf)  # the same models: not checked again
    assert calls == []
    other = compose_config([*smoke, "model.hgb.params.max_iter=7"], conf_dir, estimators=False)
    with pytest.raises(ConfigError, match="refused"):
        check_estimators(other, smoke, [], project_conf)
    assert len(calls) == 1


# A workflow whose job "grow" dies by SIGKILL, as under the kernel's out-of-memory killer, whose
# job "fail" fails plainly and whose job "refuse" refuses its input as a rule does (run_rule);
# its onerror hook is the project's.
KILLING_SNAKEFILE = """
import sys
sys.path.insert(0, {src!r})
from snakeml.operations.start import name_killed_jobs, repeat_job_errors

rule all:
    input: "out/big.txt", "failed.txt", "refused.txt"

rule refuse:
    output: "refused.txt"
    log: "logs/refuse.log"
    script: "refuse.py"

rule grow:
    output: "out/{{name}}.txt"
    log: "logs/grow/{{name}}.log"
    resources: mem_mb=100
    script: "kill.py"

rule fail:
    output: "failed.txt"
    log: "logs/fail.log"
    shell: "exit 3"

onerror:
    name_killed_jobs(log, {{"grow": {{"mem_mb": 100}}, "fail": {{"mem_mb": 50}}}})
    repeat_job_errors(log)
"""
REFUSE = """
from snakeml.core.errors import DataError
from snakeml.operations.rule import run_rule


def main(smk):
    raise DataError("table t: 'thirty' on line 5 is not a number; fix the value")


run_rule(main, snakemake)
"""


def test_a_killed_job_is_named_with_its_memory_request_and_a_refusal_is_said_last(
    tmp_path: Path,
) -> None:
    import os
    import subprocess
    import sys

    src = str(Path(__file__).resolve().parents[2] / "src")
    (tmp_path / "Snakefile").write_text(KILLING_SNAKEFILE.format(src=src))
    (tmp_path / "kill.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    (tmp_path / "refuse.py").write_text(REFUSE)
    snakemake = Path(sys.executable).with_name("snakemake")
    run = subprocess.run(
        [str(snakemake), "--cores", "1", "--keep-going"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONPATH": src},
    )
    assert run.returncode != 0
    named = [line for line in run.stderr.splitlines() if line.startswith("snakeml: ")]
    refused = (
        "snakeml: refuse: table t: 'thirty' on line 5 is not a number; fix the value "
        "(log: logs/refuse.log)"
    )
    assert named == [
        "snakeml: rule grow (name=big) was killed by SIGKILL, most likely out of memory (the "
        "kernel's out-of-memory killer): its request is resources.grow.mem_mb = 100; raise it, "
        'e.g. --config overrides="resources.grow.mem_mb=200", or lower the rows it reads '
        "(docs/scaling.md)",
        refused,
    ], run.stderr[-3000:]
    # said after Snakemake's own account of the failed jobs: among the run's last lines
    assert refused in run.stderr.splitlines()[-6:], run.stderr[-3000:]
    assert named[0] in (tmp_path / "logs/grow/big.log").read_text()
    assert (
        not (tmp_path / "logs/fail.log").exists()
        or "snakeml" not in (tmp_path / "logs/fail.log").read_text()
    )


def test_a_slurm_job_out_of_memory_is_named() -> None:
    from snakeml.operations.start import killed_jobs

    # What Snakemake logs for a SLURM job the scheduler stopped (the SLURM executor's message).
    text = (
        "Error in rule train:\n"
        "    message: SLURM-job '42' failed, SLURM status is: 'OUT_OF_MEMORY'. Reason: Step 0: "
        "OutOfMemory.\n"
        "    jobid: 7\n"
        "    log: logs/train/ridge.log (check log file(s) for error details)\n"
        "    wildcards: root=, model=ridge\n"
        "Error in rule evaluate:\n"
        "    message: SLURM-job '43' failed, SLURM status is: 'FAILED'.\n"
        "    jobid: 8\n"
    )
    assert killed_jobs(text) == [
        {
            "rule": "train",
            "how": "OUT_OF_MEMORY",
            "log": "logs/train/ridge.log",
            "wildcards": "root=, model=ridge",
        }
    ]
