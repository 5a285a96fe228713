"""snakeml.core.outputs: the registry of per-model files, and the committed dvc.yaml built from
it."""

from __future__ import annotations

import yaml
from conftest import REPO

from snakeml.configuration.slices import model_names, rule_slices
from snakeml.core.io import dump_yaml
from snakeml.core.outputs import (
    EVALUATE_FILES,
    IMPORTANCE_FILES,
    TUNING_FILES,
    breakdown_files,
    dvc_yaml,
    evaluation_files,
    tuning_files,
)
from snakeml.models.task_kinds import task_kind
from snakeml.operations.publish import DVC_PARAMS, DVC_YAML_HEADER

REGRESSION = task_kind("regression")


def params_of(slices: dict) -> list[str]:
    """The config slices dvc.yaml lists as params, in the order write_dvc_yaml finds them."""
    params = []
    for rule in DVC_PARAMS:
        if rule in slices:
            params.append(f"results/configs/{rule}.yaml")
        per_model = [key for key in slices if key.startswith(rule + "/")]
        params += sorted(f"results/configs/{key}.yaml" for key in per_model)
    return params


def test_breakdown_files_follow_the_groups_and_the_period():
    assert breakdown_files(["carrier", "hour"], "month", REGRESSION) == {
        "by_carrier_csv": "residuals_by_carrier.csv",
        "by_carrier_png": "residuals_by_carrier.png",
        "by_hour_csv": "residuals_by_hour.csv",
        "by_hour_png": "residuals_by_hour.png",
        "by_period_csv": "error_by_month.csv",
        "by_period_png": "error_by_month.png",
    }
    assert breakdown_files([], "week", REGRESSION) == {
        "by_period_csv": "error_by_week.csv",
        "by_period_png": "error_by_week.png",
    }


def test_evaluation_and_tuning_files_list_every_file_once():
    files = evaluation_files(["carrier", "hour"], "month", REGRESSION)
    assert len(files) == len(set(files)) == len(EVALUATE_FILES) + 6 + len(IMPORTANCE_FILES)
    assert {"metrics.json", "residuals_by_hour.png", "error_by_month.csv"} <= set(files)
    assert "family_importance.png" in files
    assert tuning_files() == list(TUNING_FILES)


def test_dvc_yaml_lists_metrics_params_and_plots_per_model():
    content = dvc_yaml(["a", "b"], "mae", ["results/configs/split.yaml"], REGRESSION)
    assert sorted(content) == ["metrics", "params", "plots"]
    assert content["metrics"] == [
        "results/champion/metrics.json",
        "results/evaluation/a/metrics.json",
        "results/evaluation/b/metrics.json",
    ]
    assert content["params"] == ["results/configs/split.yaml"]
    board = content["plots"][0]["results/leaderboard.csv"]
    assert board["x"] == "mae" and board["title"] == "Test mae per model and the baselines"
    assert content["plots"][1:] == [
        "results/evaluation/a/importance.png",
        "results/tuning/a/history.png",
        "results/evaluation/b/importance.png",
        "results/tuning/b/history.png",
    ]


def test_dvc_yaml_of_a_binary_task_adds_its_curves():
    content = dvc_yaml(["a"], "log_loss", [], task_kind("binary"))
    assert content["metrics"][1] == "results/evaluation/a/metrics.json"
    curves = [next(iter(plot)) for plot in content["plots"] if isinstance(plot, dict)][1:]
    assert curves == [
        "results/evaluation/a/roc_curve.csv",
        "results/evaluation/a/precision_recall_curve.csv",
    ]
    assert content["plots"][-1]["results/evaluation/a/precision_recall_curve.csv"]["x"] == "recall"


def test_classifier_breakdowns_keep_a_group_named_like_the_period():
    files = breakdown_files(["month", "weather"], "month", task_kind("multiclass"))
    assert files["by_month_csv"] == "metrics_by_month.csv"
    assert files["by_period_csv"] == "metrics_per_month.csv"
    assert len(set(files.values())) == len(files)


def test_the_committed_dvc_yaml_is_the_registrys_for_the_default_models(cfg):
    models = model_names(cfg)
    expected = dvc_yaml(
        models, cfg["evaluation"]["metric"], params_of(rule_slices(cfg)), REGRESSION
    )
    text = (REPO / "dvc.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(text) == expected
    # Byte for byte as make publish writes it.
    assert text == DVC_YAML_HEADER + dump_yaml(expected)
