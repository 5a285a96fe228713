"""The one registry of what the evaluation and tuning rules write, per model.

The rules (rules/evaluate.smk, rules/tune.smk), the final targets and the manifest
(rules/common.smk) and DVC's view of the outputs (dvc.yaml, written by :func:`dvc_yaml`) all
take their file lists from here, so adding a figure or a model is one change.
"""

from __future__ import annotations

from typing import Any

# Per model, under results/evaluation/{model}/: what the evaluate rule writes besides the
# breakdowns by group and by period, keyed by the rule's output names.
EVALUATE_FILES: dict[str, str] = {
    "metrics": "metrics.json",
    "scatter_csv": "predicted_vs_actual.csv",
    "scatter_png": "predicted_vs_actual.png",
}
# Per model, under results/evaluation/{model}/: what the importance rule writes.
IMPORTANCE_FILES: dict[str, str] = {
    "importance": "importance.csv",
    "summary": "importance_summary.csv",
    "plot": "importance.png",
    "families": "family_importance.csv",
    "families_summary": "family_importance_summary.csv",
    "families_plot": "family_importance.png",
}
# Per model, under results/tuning/{model}/: what tune_best writes that a run is for.
TUNING_FILES: tuple[str, ...] = ("best_params.yaml", "history.png", "param_importances.png")


def breakdown_files(group_names: list[str], period: str) -> dict[str, str]:
    """The evaluate rule's breakdowns: residuals per task group, error per period."""
    files: dict[str, str] = {}
    for name in group_names:
        files[f"by_{name}_csv"] = f"residuals_by_{name}.csv"
        files[f"by_{name}_png"] = f"residuals_by_{name}.png"
    files["by_period_csv"] = f"error_by_{period}.csv"
    files["by_period_png"] = f"error_by_{period}.png"
    return files


def evaluation_files(group_names: list[str], period: str) -> list[str]:
    """Every final file of one model under results/evaluation/{model}/."""
    return [
        *EVALUATE_FILES.values(),
        *breakdown_files(group_names, period).values(),
        *IMPORTANCE_FILES.values(),
    ]


def tuning_files() -> list[str]:
    """Every final file of one model under results/tuning/{model}/."""
    return list(TUNING_FILES)


def dvc_yaml(models: list[str], metric: str, params: list[str]) -> dict[str, Any]:
    """dvc.yaml's content: metrics, params and plots of a run, no stages.

    ``params`` are the config slices (paths) whose values ``dvc params diff`` compares.
    """
    return {
        "metrics": [
            "results/champion/metrics.json",
            *(f"results/evaluation/{m}/{EVALUATE_FILES['metrics']}" for m in models),
        ],
        "params": list(params),
        "plots": [
            {
                "results/leaderboard.csv": {
                    "title": f"Test {metric} per model and the baselines",
                    "template": "bar_horizontal_sorted",
                    "x": metric,
                    "y": "model",
                }
            },
            *(
                f"results/{folder}/{m}/{name}"
                for m in models
                for folder, name in (
                    ("evaluation", IMPORTANCE_FILES["plot"]),
                    ("tuning", "history.png"),
                )
            ),
        ],
    }
