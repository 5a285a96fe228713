"""Evaluate: test-set metrics and permutation importance per model; leaderboard and champion."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from snakeml.errors import DataError
from snakeml.io import atomic_path, read_json, write_json
from snakeml.metrics import GREATER_IS_BETTER, regression_metrics
from snakeml.models import feature_frame, limit_threads, load_model, target_vector

log = logging.getLogger(__name__)

BASELINE_MEAN = "baseline_mean"


def permutation_importances(
    pipeline: Any, x: pd.DataFrame, y: np.ndarray, repeats: int, seed: int
) -> pd.DataFrame:
    """Every repeat of permutation importance (RMSE increase) on raw feature columns."""
    from sklearn.inspection import permutation_importance

    result = permutation_importance(
        pipeline, x, y, scoring="neg_root_mean_squared_error", n_repeats=repeats, random_state=seed
    )
    rows = [
        {"feature": feature, "repeat": repeat, "importance": float(value)}
        for feature, values in zip(x.columns, result.importances, strict=True)
        for repeat, value in enumerate(values)
    ]
    return pd.DataFrame(rows)


def sample_rows(frame: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    """A deterministic sample of at most ``max_rows`` rows, in their original order."""
    if len(frame) <= max_rows:
        return frame
    rng = np.random.default_rng(seed)
    return frame.iloc[np.sort(rng.choice(len(frame), size=max_rows, replace=False))]


def plot_importances(importances: pd.DataFrame, title: str, target: str | Path) -> None:
    """Box plot of every repeat per feature, most important on top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = importances.groupby("feature")["importance"].mean().sort_values().index.tolist()
    data = [importances.loc[importances["feature"] == f, "importance"].to_numpy() for f in order]
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(order) + 1.5))
    ax.boxplot(data, orientation="horizontal", tick_labels=order)
    ax.axvline(0.0, color="grey", linewidth=0.8)
    ax.set_xlabel("increase in test RMSE when the column is permuted (minutes)")
    ax.set_title(title)
    fig.tight_layout()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)


def evaluate_model(
    model_path: str | Path,
    test_path: str | Path,
    settings: dict[str, Any],
    model_name: str,
    outputs: dict[str, str | Path],
    threads: int = 1,
) -> dict[str, float]:
    """Score the model on the test months; write metrics, predictions and importances."""
    columns, evaluation, seed = settings["columns"], settings["evaluation"], settings["seed"]
    test = pd.read_parquet(test_path)
    if test.empty:
        raise DataError(f"test split {test_path} is empty: check split.test_months")
    if "flight_id" not in test.columns:
        raise DataError(f"test split {test_path} has no flight_id column: rebuild the features")
    pipeline = load_model(model_path)
    x, y = feature_frame(test, columns), target_vector(test, columns)
    with limit_threads(threads):
        predicted = pipeline.predict(x)
        scores = regression_metrics(y, predicted)
        sample = sample_rows(test, evaluation["importance_max_rows"], seed)
        importances = permutation_importances(
            pipeline,
            feature_frame(sample, columns),
            target_vector(sample, columns),
            evaluation["importance_repeats"],
            seed,
        )
    write_json(outputs["metrics"], {"model": model_name, "rows": len(test), **scores})
    predictions = pd.DataFrame(
        {"flight_id": test["flight_id"].to_numpy(), "actual": y, "predicted": predicted}
    )
    with atomic_path(outputs["predictions"]) as tmp:
        predictions.to_parquet(tmp, index=False)
    with atomic_path(outputs["importance"]) as tmp:
        importances.to_csv(tmp, index=False, float_format="%.6f")
    plot_importances(importances, f"Permutation importance: {model_name}", outputs["plot"])
    log.info("model %s on %d test rows: %s", model_name, len(test), scores)
    return scores


def baseline_metrics(train: pd.DataFrame, test: pd.DataFrame, target: str) -> dict[str, float]:
    """The naive reference: predict the mean of the fitting rows for every test flight."""
    y_test = test[target].to_numpy(dtype="float64")
    mean = float(train[target].mean())
    return regression_metrics(y_test, np.full_like(y_test, mean))


def build_leaderboard(
    model_metrics: dict[str, dict[str, float]], baseline: dict[str, float], metric: str
) -> pd.DataFrame:
    """One row per model and baseline, best first by ``metric``."""
    rows = [{"model": name, "kind": "model", **m} for name, m in model_metrics.items()]
    rows.append({"model": BASELINE_MEAN, "kind": "baseline", **baseline})
    board = pd.DataFrame(rows)[["model", "kind", "rmse", "mae", "r2"]]
    ascending = not GREATER_IS_BETTER[metric]
    return board.sort_values([metric, "model"], ascending=[ascending, True], ignore_index=True)


def pick_champion(board: pd.DataFrame, metric: str) -> dict[str, Any]:
    """The best model (never a baseline) and whether it beats every baseline."""
    models = board[board["kind"] == "model"]
    baselines = board[board["kind"] == "baseline"]
    best = models.iloc[0]
    better = (lambda a, b: a > b) if GREATER_IS_BETTER[metric] else (lambda a, b: a < b)
    beats = bool(all(better(best[metric], b) for b in baselines[metric]))
    return {
        "model": str(best["model"]),
        "metric": metric,
        "rmse": float(best["rmse"]),
        "mae": float(best["mae"]),
        "r2": float(best["r2"]),
        "beats_baselines": beats,
    }


def run_leaderboard(
    metrics_paths: dict[str, str | Path],
    fit_paths: list[str | Path],
    test_path: str | Path,
    target: str,
    metric: str,
    outputs: dict[str, str | Path],
) -> dict[str, Any]:
    """Gather every model's test metrics, add the baseline, write leaderboard and champion."""
    model_metrics = {}
    for name, path in metrics_paths.items():
        data = read_json(path)
        model_metrics[name] = {k: float(data[k]) for k in ("rmse", "mae", "r2")}
    # The models are refitted on train + valid: the baseline learns from the same rows.
    fitted_on = pd.concat([pd.read_parquet(p, columns=[target]) for p in fit_paths])
    baseline = baseline_metrics(fitted_on, pd.read_parquet(test_path, columns=[target]), target)
    board = build_leaderboard(model_metrics, baseline, metric)
    champion = pick_champion(board, metric)
    with atomic_path(outputs["leaderboard"]) as tmp:
        board.to_csv(tmp, index=False, float_format="%.6f")
    write_json(outputs["champion"], champion)
    if not champion["beats_baselines"]:
        log.warning("champion %s does not beat the baselines on %s", champion["model"], metric)
    log.info("champion: %s", champion)
    return champion
