"""snakeml.experiments.routing: where each job of the configured pair's run, another pair's run and
a sweep's experiments reads and writes."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from snakeml.configuration.compose import compose_config
from snakeml.configuration.slices import rule_slice_texts
from snakeml.configuration.validate import declaration_of
from snakeml.core.outputs import report_figures, run_files
from snakeml.experiments.routing import LEADERBOARD_FILES, Routes
from snakeml.experiments.runs import configured_pair, pair_run
from snakeml.experiments.workflow_config import sweep_experiments
from snakeml.models.task_kinds import task_kind

SMOKE = ["+experiment=smoke"]


class Wildcards(SimpleNamespace):
    """Snakemake's wildcards as an input function sees them: attributes and items()."""

    def items(self) -> Any:
        return vars(self).items()


def routes(conf_dir: Path, overrides: list[str], sweep: str = "", results: Path | None = None):
    cfg = compose_config(overrides, conf_dir, estimators=False)
    declaration = declaration_of(cfg, conf_dir.parent)
    texts = rule_slice_texts(cfg, declaration=declaration)
    experiments = (
        sweep_experiments({"sweep": sweep}, overrides, cfg, conf_dir, declaration) if sweep else []
    )
    pair = pair_run(cfg, texts, overrides, configured_pair(conf_dir), results or conf_dir / "none")
    return Routes(cfg, tuple(overrides), texts, tuple(experiments), pair, "run-name")


def files_of(cfg: dict) -> Any:
    groups = [group["name"] for group in cfg["task"]["groups"]]
    return run_files(groups, cfg["split"]["period"], task_kind(cfg["task"]["kind"]))


@pytest.fixture(scope="module")
def plain(conf_dir: Path) -> Routes:
    return routes(conf_dir, SMOKE)


@pytest.fixture(scope="module")
def other(conf_dir: Path) -> Routes:
    return routes(conf_dir, [*SMOKE, "data=seattle_weather", "task=seattle_temp_max"])


def test_the_configured_pairs_run_writes_results(plain: Routes) -> None:
    assert plain.pair is None and plain.plain_root == "" and plain.results == "results"
    assert plain.rule_config("split") == "results/configs/split.yaml"
    assert plain.rule_config("ingest") == "results/configs/ingest/nycflights13.yaml"
    assert plain.rule_config_files()[0] == "results/configs/ingest/nycflights13.yaml"
    assert "results/configs/ingest.yaml" not in plain.rule_config_files()
    root = Wildcards(root="", model="hgb")
    assert plain.upstream_root(root, "split") == ""
    assert plain.read_from("train", "results{root}/models/{model}.skops")(root) == (
        "results/models/hgb.skops"
    )
    assert plain.per_model("train", "models/{model}.skops")(root) == [
        f"results/models/{m}.skops" for m in plain.models
    ]
    assert plain.shards(root) == [
        f"results/tuning/hgb/shards/{s}.parquet" for s in range(plain.cfg["tuning"]["n_shards"])
    ]
    outputs = plain.final_outputs(files_of(dict(plain.cfg)))
    assert outputs[: len(LEADERBOARD_FILES)] == [f"results/{f}" for f in LEADERBOARD_FILES]
    assert "results/evaluation/hgb/importance.csv" in outputs
    assert outputs[-1] == "results/manifest.json"
    assert (
        plain.slice_text(Wildcards(root="", slice="ingest/nycflights13"))
        == (plain.slice_texts["ingest"])
    )
    planned = plain.planned_slices()
    assert planned["results/configs"] == {
        "ingest/nycflights13": plain.slice_texts["ingest"],
        **{k: v for k, v in plain.slice_texts.items() if k != "ingest"},
    }


def test_another_pairs_run_keeps_its_own_folder_and_shares_its_jobs(other: Routes) -> None:
    root = "/runs/seattle_weather/seattle_temp_max"
    assert other.plain_root == root and other.results == f"results{root}"
    assert other.rule_config("predict") == f"results{root}/configs/predict.yaml"
    assert other.rule_config("ingest") == "results/configs/ingest/seattle_weather.yaml"
    own = Wildcards(root=root, model="ridge")
    assert other.per_model("train", "models/{model}.skops")(own) == [
        f"results{other.pair.roots[f'train/{m}']}/models/{m}.skops" for m in other.models
    ]
    assert other.split_of("test")(own) == f"results{other.pair.roots['split']}/split/test.parquet"
    assert other.plain_file("split", "split/train.parquet").startswith("results/shared/split/")
    # A shared job reads the jobs its run names, and holds its own slice only.
    train = Wildcards(root=other.pair.roots["train/ridge"], model="ridge", slice="train/ridge")
    assert other.upstream_root(train, "tune_best") == other.pair.roots["tune_best/ridge"]
    assert other.slice_text(train) == other.slice_texts["train/ridge"]
    with pytest.raises(ValueError, match=r"holds train/ridge, not split$"):
        other.slice_text(Wildcards(root=train.root, slice="split"))
    record = yaml.safe_load(other.slice_text(Wildcards(root=root, slice="experiment")))
    assert record["task"] == "seattle_temp_max" and record["jobs"]["split"].startswith("results/")
    outputs = other.final_outputs(files_of(dict(other.cfg)))
    assert f"results{root}/leaderboard.csv" in outputs
    assert f"results{root}/manifest.json" in outputs
    assert f"results{root}/configs/experiment.yaml" in outputs
    assert not [p for p in outputs if p.startswith(("results/evaluation", "results/leaderboard"))]
    assert other.experiment_labels({"table": "leaderboard"})(own) == {"table": "leaderboard"}
    assert other.result_name(root) == "run-name" and other.tracked_roots() == []
    assert set(other.planned_slices()) == {"results/configs", f"results{root}/configs"}


def test_a_sweeps_experiments_leave_the_plain_runs_slices_alone(conf_dir: Path) -> None:
    sweep = routes(conf_dir, SMOKE, sweep="tuning.n_trials=2,3 model=[ridge]")
    first, second = sweep.experiments
    assert set(sweep.planned_slices()) == {
        "results/configs",
        f"results{first.root}/configs",
        f"results{second.root}/configs",
    }
    assert sweep.planned_slices()["results/configs"] == {
        "ingest/nycflights13": sweep.slice_texts["ingest"]
    }
    labels = sweep.experiment_labels({"table": "leaderboard"})(Wildcards(root=first.root))
    assert labels == {"experiment": first.name, "table": "leaderboard"}
    assert sweep.result_name(first.root) == first.name
    import re

    pattern = re.compile(sweep.own_root_pattern())
    assert pattern.fullmatch(first.root) and pattern.fullmatch("")
    assert not pattern.fullmatch("/experiments/another")
    files = files_of(dict(sweep.cfg))
    outputs = sweep.experiment_outputs(first, files)
    assert outputs[-1] == f"results{first.root}/configs/experiment.yaml"
    figures = report_figures(sweep.cfg["task"]["groups"], "month", task_kind("regression"))
    tracked = sweep.tracked_artifacts(Wildcards(root=first.root), files, figures)
    assert tracked[""] == [f"results{first.root}/leaderboard.csv"]
    assert all(p.endswith(".png") for p in tracked["ridge/evaluation"])
    assert tracked["ridge/evaluation"][0].startswith(f"results{first.roots['evaluate/ridge']}/")


def test_the_report_figures_follow_the_kind_groups_and_period() -> None:
    groups = [{"name": "carrier", "label": "carrier"}]
    regression = report_figures(groups, None, task_kind("regression"))
    assert regression["by_carrier_png"] == ("residuals_by_group.rst", "residuals by carrier")
    assert "by_period_png" not in regression and "roc_png" not in regression
    binary = report_figures(groups, "month", task_kind("binary"))
    assert binary["by_period_png"] == ("metrics_by_period.rst", "metrics by month")
    assert binary["roc_png"][0] == "roc_curve.rst" and "scatter_png" not in binary
