"""Leaderboard: every model beside naive baselines on the test rows; the champion.

Every number gets a reference: the training mean, and the training median of the row's group
(the task's group columns, falling back to coarser groups, then to the overall median). The
champion is the best model by the configured metric; whether it beats every baseline is stated
plainly.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from snakeml.io import atomic_path, read_json, write_csv, write_json, write_text_atomic
from snakeml.task_kinds import (
    BASELINE_MEAN,
    GREATER_IS_BETTER,
    mean_baseline,
    median_baseline,
    median_baseline_name,
    regression_metrics,
)

log = logging.getLogger(__name__)

METRIC_NAMES = {"rmse": "RMSE", "mae": "MAE", "r2": "R²"}


def baseline_scores(
    fit: pd.DataFrame, test: pd.DataFrame, target: str, keys: list[str], group_names: list[str]
) -> dict[str, dict]:
    """RMSE, MAE and R² of each baseline on the test rows."""
    actual = test[target].to_numpy(dtype="float64")
    return {
        BASELINE_MEAN: regression_metrics(actual, mean_baseline(fit, test, target)),
        median_baseline_name(group_names): regression_metrics(
            actual, median_baseline(fit, test, target, keys)
        ),
    }


def build_leaderboard(
    model_metrics: dict[str, dict[str, float]],
    baselines: dict[str, dict[str, float]],
    metric: str,
) -> pd.DataFrame:
    """One row per model and baseline, best first by ``metric`` (ties by name)."""
    rows = [{"model": name, "kind": "model", **m} for name, m in model_metrics.items()]
    rows += [{"model": name, "kind": "baseline", **m} for name, m in baselines.items()]
    board = pd.DataFrame(rows)[["model", "kind", "rmse", "mae", "r2"]]
    ascending = not GREATER_IS_BETTER[metric]
    return board.sort_values([metric, "model"], ascending=[ascending, True], ignore_index=True)


def champion_statement(champion: dict[str, Any]) -> str:
    """One plain sentence: who is champion and whether it beats the baselines."""
    metric = champion["metric"]
    name = METRIC_NAMES[metric]
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


def pick_champion(board: pd.DataFrame, metric: str) -> dict[str, Any]:
    """The best model (never a baseline), the best baseline and whether the model beats it."""
    models = board[board["kind"] == "model"]
    baselines = board[board["kind"] == "baseline"]
    best, reference = models.iloc[0], baselines.iloc[0]
    better = (lambda a, b: a > b) if GREATER_IS_BETTER[metric] else (lambda a, b: a < b)
    champion: dict[str, Any] = {
        "model": str(best["model"]),
        "metric": metric,
        "rmse": float(best["rmse"]),
        "mae": float(best["mae"]),
        "r2": float(best["r2"]),
        "beats_baselines": bool(all(better(best[metric], b) for b in baselines[metric])),
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
) -> dict[str, Any]:
    """Rank models and baselines; write the board, the champion, its statement and its model.

    ``settings`` is the leaderboard rule's slice: metric, target, groups and group_names.
    """
    target, metric, keys = settings["target"], settings["metric"], list(settings["groups"])
    model_metrics = {}
    for name, path in metrics_paths.items():
        data = read_json(path)
        model_metrics[name] = {k: float(data[k]) for k in ("rmse", "mae", "r2")}
    wanted = list(dict.fromkeys([*keys, target]))
    # The models are refitted on train + valid: the baselines learn from the same rows.
    fit = pd.concat([pd.read_parquet(p, columns=wanted) for p in fit_paths], ignore_index=True)
    test = pd.read_parquet(test_path, columns=wanted)
    baselines = baseline_scores(fit, test, target, keys, list(settings["group_names"]))
    board = build_leaderboard(model_metrics, baselines, metric)
    champion = pick_champion(board, metric)
    write_csv(board, outputs["leaderboard"])
    write_json(outputs["champion"], champion)
    write_text_atomic(outputs["statement"], champion["statement"] + "\n")
    with atomic_path(outputs["model"]) as tmp:
        shutil.copyfile(model_paths[champion["model"]], tmp)
    if champion["beats_baselines"]:
        log.info("%s", champion["statement"])
    else:
        log.warning("%s", champion["statement"])
    return champion
