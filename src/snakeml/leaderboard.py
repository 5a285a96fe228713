"""Leaderboard: every model beside naive baselines on the test rows; the champion.

Every number gets a reference. Regression: the training mean, and the training median of the
row's group (the task's group columns, falling back to coarser groups, then to the overall
median). Classifiers: the training class frequencies (the prior), and the class frequencies of
the row's group, falling back the same way to the prior. The columns are the task kind's
metrics. The champion is the best model by the configured metric in its direction; whether it
beats every baseline is stated plainly.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from snakeml.io import atomic_path, read_json, write_csv, write_json, write_text_atomic
from snakeml.task_kinds import (
    REGRESSION,
    baseline_scores,
    greater_is_better,
    is_better,
    metric_label,
    metric_names,
)
from snakeml.train import read_decision

log = logging.getLogger(__name__)


def build_leaderboard(
    model_metrics: dict[str, dict[str, float]],
    baselines: dict[str, dict[str, float]],
    metric: str,
    kind: str = REGRESSION,
) -> pd.DataFrame:
    """One row per model and baseline, best first by ``metric`` (ties by name).

    The columns after ``model`` and ``kind`` are the task kind's metrics.
    """
    rows = [{"model": name, "kind": "model", **m} for name, m in model_metrics.items()]
    rows += [{"model": name, "kind": "baseline", **m} for name, m in baselines.items()]
    board = pd.DataFrame(rows)[["model", "kind", *metric_names(kind)]]
    ascending = not greater_is_better(metric)
    return board.sort_values([metric, "model"], ascending=[ascending, True], ignore_index=True)


def champion_statement(champion: dict[str, Any]) -> str:
    """One plain sentence: who is champion and whether it beats the baselines."""
    metric = champion["metric"]
    name = metric_label(metric)
    model, value = champion["model"], champion[metric]
    baseline, reference = champion["best_baseline"], champion["best_baseline_value"]
    if champion["beats_baselines"]:
        return (
            f"The champion is {model}: test {name} {value:.3f} against {reference:.3f} for the "
            f"best baseline ({baseline}); it beats every baseline."
        )
    return (
        f"No model beats the baselines: the best model, {model}, has test {name} {value:.3f}, "
        f"no better than {reference:.3f} for {baseline}. Its predictions add nothing over that "
        "rule of thumb; do not rely on them."
    )


def pick_champion(board: pd.DataFrame, metric: str, kind: str = REGRESSION) -> dict[str, Any]:
    """The best model (never a baseline), the best baseline and whether the model beats it."""
    models = board[board["kind"] == "model"]
    baselines = board[board["kind"] == "baseline"]
    best, reference = models.iloc[0], baselines.iloc[0]
    champion: dict[str, Any] = {
        "model": str(best["model"]),
        "metric": metric,
        **{name: float(best[name]) for name in metric_names(kind)},
        "beats_baselines": bool(all(is_better(metric, best[metric], b) for b in baselines[metric])),
        "best_baseline": str(reference["model"]),
        "best_baseline_value": float(reference[metric]),
    }
    champion["statement"] = champion_statement(champion)
    return champion


def run_leaderboard(
    metrics_paths: dict[str, str | Path],
    model_paths: dict[str, str | Path],
    fit_paths: list[str | Path],
    test_path: str | Path,
    settings: dict[str, Any],
    outputs: dict[str, str | Path],
    decision_paths: dict[str, str | Path] | None = None,
) -> dict[str, Any]:
    """Rank models and baselines; write the board, the champion, its statement and its model.

    ``settings`` is the leaderboard rule's slice: kind, metric, target, groups and group_names.
    ``fit_paths`` are train, then valid; ``decision_paths`` each model's decision file (its
    classes and threshold), the champion's copied beside its model.
    """
    target, metric, keys = settings["target"], settings["metric"], list(settings["groups"])
    kind = settings.get("kind", REGRESSION)
    model_metrics = {}
    for name, path in metrics_paths.items():
        data = read_json(path)
        model_metrics[name] = {k: float(data[k]) for k in metric_names(kind)}
    classes = None
    if decision_paths:
        classes = read_decision(next(iter(decision_paths.values())))["classes"]
    wanted = list(dict.fromkeys([*keys, target]))
    # The models are refitted on train + valid: the baselines learn from the same rows (a
    # binary baseline's threshold is chosen as a model's: learnt on train, scored on valid).
    frames = [pd.read_parquet(p, columns=wanted) for p in fit_paths]
    train = frames[0]
    valid = pd.concat(frames[1:], ignore_index=True) if len(frames) > 1 else train.iloc[:0]
    test = pd.read_parquet(test_path, columns=wanted)
    baselines = baseline_scores(
        kind, train, valid, test, target, keys, list(settings["group_names"]), classes
    )
    board = build_leaderboard(model_metrics, baselines, metric, kind)
    champion = pick_champion(board, metric, kind)
    write_csv(board, outputs["leaderboard"])
    write_json(outputs["champion"], champion)
    write_text_atomic(outputs["statement"], champion["statement"] + "\n")
    with atomic_path(outputs["model"]) as tmp:
        shutil.copyfile(model_paths[champion["model"]], tmp)
    if "decision" in outputs and decision_paths:
        with atomic_path(outputs["decision"]) as tmp:
            shutil.copyfile(decision_paths[champion["model"]], tmp)
    if champion["beats_baselines"]:
        log.info("%s", champion["statement"])
    else:
        log.warning("%s", champion["statement"])
    return champion
