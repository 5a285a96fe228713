"""The one registry of what the evaluation and tuning rules write, per model.

The rules (rules/evaluate.smk, rules/tune.smk), the final targets and the manifest
(rules/common.smk) and DVC's view of the outputs (dvc.yaml, written by :func:`dvc_yaml`) all
take their file lists from here, so adding a figure or a model is one change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

# Per model, under results/evaluation/{model}/: what the evaluate rule writes besides the
# breakdowns by group and by period, keyed by the rule's output names.
EVALUATE_FILES: dict[str, str] = {
    "metrics": "metrics.json",
    "scatter_csv": "predicted_vs_actual.csv",
    "scatter_png": "predicted_vs_actual.png",
}
# A classifier's instead: the confusion matrix at the decision, and the ROC, precision-recall
# and calibration curves (of the positive class, or of each class against the rest).
CLASSIFIER_EVALUATE_FILES: dict[str, str] = {
    "metrics": "metrics.json",
    "confusion_csv": "confusion_matrix.csv",
    "confusion_png": "confusion_matrix.png",
    "roc_csv": "roc_curve.csv",
    "roc_png": "roc_curve.png",
    "pr_csv": "precision_recall_curve.csv",
    "pr_png": "precision_recall_curve.png",
    "calibration_csv": "calibration_curve.csv",
    "calibration_png": "calibration_curve.png",
}


@dataclass(frozen=True)
class Evaluation:
    """What the evaluate rule writes for a task kind (its ``evaluation``,
    snakeml.models.task_kinds).

    ``files``: its outputs besides the breakdowns, by output name; ``group_stem`` and
    ``period_stem``: the stems of the breakdowns by group and by period; ``figures``: its own
    figures in the report, by output name (caption file, label); ``group_caption`` and
    ``period_caption``: the breakdowns' caption files and the words that label them;
    ``dvc_curves``: the curves DVC plots per model (output name, title, x, y).
    """

    files: Mapping[str, str]
    group_stem: str
    period_stem: str
    figures: Mapping[str, tuple[str, str]]
    group_caption: tuple[str, str]
    period_caption: tuple[str, str]
    dvc_curves: tuple[tuple[str, str, str, str], ...] = ()


class HasEvaluation(Protocol):
    """What this module asks of a task kind (snakeml.models.task_kinds.TaskKind): its Evaluation."""

    @property
    def evaluation(self) -> Evaluation: ...


# Regression: residuals per group, error per period.
REGRESSION_EVALUATION = Evaluation(
    files=EVALUATE_FILES,
    group_stem="residuals_by",
    period_stem="error_by",
    figures={"scatter_png": ("predicted_vs_actual.rst", "predicted vs actual")},
    group_caption=("residuals_by_group.rst", "residuals by"),
    period_caption=("error_by_period.rst", "error"),
)
# Classifiers: the task's metrics by group and per period (a group may be named like the
# period: month).
CLASSIFIER_EVALUATION = Evaluation(
    files=CLASSIFIER_EVALUATE_FILES,
    group_stem="metrics_by",
    period_stem="metrics_per",
    figures={
        "confusion_png": ("confusion_matrix.rst", "confusion matrix"),
        "roc_png": ("roc_curve.rst", "ROC curve"),
        "pr_png": ("precision_recall_curve.rst", "precision-recall curve"),
        "calibration_png": ("calibration_curve.rst", "calibration curve"),
    },
    group_caption=("metrics_by_group.rst", "metrics by"),
    period_caption=("metrics_by_period.rst", "metrics"),
)
# A binary task's ROC and precision-recall curves are one line each, which DVC can plot (a
# multiclass task's hold one line per class in one CSV, which DVC's templates would draw as one
# line: they are in the report only).
BINARY_EVALUATION = replace(
    CLASSIFIER_EVALUATION,
    dvc_curves=(
        ("roc_csv", "ROC curve", "false_positive_rate", "true_positive_rate"),
        ("pr_csv", "Precision-recall curve", "recall", "precision"),
    ),
)
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


def evaluate_files(kind: HasEvaluation) -> dict[str, str]:
    """What the evaluate rule writes for a ``kind`` task besides the breakdowns."""
    return dict(kind.evaluation.files)


def breakdown_files(
    group_names: list[str], period: str | None, kind: HasEvaluation
) -> dict[str, str]:
    """The evaluate rule's breakdowns per task group and per period (``period`` None: a task
    without a time column has none).

    Regression: residuals per group, error per period. Classifiers: the task's metrics by
    group and per period (a group may be named like the period: month).
    """
    group_stem, period_stem = kind.evaluation.group_stem, kind.evaluation.period_stem
    files: dict[str, str] = {}
    for name in group_names:
        files[f"by_{name}_csv"] = f"{group_stem}_{name}.csv"
        files[f"by_{name}_png"] = f"{group_stem}_{name}.png"
    if period is not None:
        files["by_period_csv"] = f"{period_stem}_{period}.csv"
        files["by_period_png"] = f"{period_stem}_{period}.png"
    return files


def evaluation_files(group_names: list[str], period: str | None, kind: HasEvaluation) -> list[str]:
    """Every final file of one model under results/evaluation/{model}/."""
    return [
        *evaluate_files(kind).values(),
        *breakdown_files(group_names, period, kind).values(),
        *IMPORTANCE_FILES.values(),
    ]


@dataclass(frozen=True)
class RunFiles:
    """What the per-model rules write, by output name: evaluate's files with its breakdowns,
    importance's, and tune_best's."""

    evaluate: Mapping[str, str]
    importance: Mapping[str, str]
    tuning: Sequence[str]


def run_files(group_names: list[str], period: str | None, kind: HasEvaluation) -> RunFiles:
    """The RunFiles of a ``kind`` task with these groups and period (None: no time column)."""
    evaluate = {**evaluate_files(kind), **breakdown_files(group_names, period, kind)}
    return RunFiles(evaluate, dict(IMPORTANCE_FILES), tuning_files())


def report_figures(
    groups: Sequence[Mapping[str, str]], period: str | None, kind: HasEvaluation
) -> dict[str, tuple[str, str]]:
    """Each figure of the evaluate and importance rules by output name: its caption file in
    report/ and its label in the report. ``groups`` are the task's (``name``, ``label``)."""
    figures = {
        "plot": ("importance.rst", "permutation importance per column"),
        "families_plot": ("family_importance.rst", "permutation importance per feature family"),
    }
    figures |= kind.evaluation.figures
    by_group, (by_period, what) = kind.evaluation.group_caption, kind.evaluation.period_caption
    for group in groups:
        figures[f"by_{group['name']}_png"] = (by_group[0], f"{by_group[1]} {group['label']}")
    if period is not None:
        figures["by_period_png"] = (by_period, f"{what} by {period}")
    return figures


def tuning_files() -> list[str]:
    """Every final file of one model under results/tuning/{model}/."""
    return list(TUNING_FILES)


def dvc_yaml(
    models: list[str], metric: str, params: list[str], kind: HasEvaluation
) -> dict[str, Any]:
    """dvc.yaml's content: metrics, params and plots of a run, no stages.

    ``params`` are the config slices (paths) whose values ``dvc params diff`` compares. The
    metrics files hold the task kind's metrics; a binary task adds its ROC and precision-recall
    curves to the plots (a multiclass task's curves hold one line per class in one CSV, which
    DVC's templates would draw as one line: they are in the report only).
    """
    curves = [
        {
            f"results/evaluation/{m}/{kind.evaluation.files[key]}": {
                "title": f"{title}: {m}",
                "x": x,
                "y": y,
            }
        }
        for m in models
        for key, title, x, y in kind.evaluation.dvc_curves
    ]
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
            *curves,
        ],
    }
