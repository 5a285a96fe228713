"""snakeml.start: the checks a workflow makes as it loads, each one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from snakeml.errors import ConfigError, DataError, SnakemlError
from snakeml.start import check_as_loaded, check_estimators

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

    from snakeml.config import compose_config

    bad = ["+experiment=smoke", "model.hgb.params.validation_fraction=2.0"]
    cfg = compose_config(bad, conf_dir, estimators=False)
    with pytest.raises(ConfigError, match=r"validation_fraction"):
        check_estimators(cfg, bad, [], conf_dir)
    point = SimpleNamespace(name="point-a", config=cfg, overrides=bad)
    good = compose_config(["+experiment=smoke"], conf_dir, estimators=False)
    with pytest.raises(ConfigError, match=r"^sweep point point-a: "):
        check_estimators(good, ["+experiment=smoke"], [point], conf_dir)
