"""Regression metrics, without importing scikit-learn."""

from __future__ import annotations

import numpy as np

# For each metric, whether a larger value is better.
GREATER_IS_BETTER: dict[str, bool] = {"rmse": False, "mae": False, "r2": True}


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """RMSE, MAE and R² of predictions."""
    y_true = np.asarray(y_true, dtype="float64")
    y_pred = np.asarray(y_pred, dtype="float64")
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(f"need equal, non-empty shapes; got {y_true.shape} and {y_pred.shape}")
    error = y_pred - y_true
    total = float(np.sum((y_true - y_true.mean()) ** 2))
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "r2": 1.0 - float(np.sum(error**2)) / total if total > 0 else 0.0,
    }


def loss(metrics: dict[str, float], metric: str) -> float:
    """A value to minimise for ``metric`` (R² is negated)."""
    return -metrics[metric] if GREATER_IS_BETTER[metric] else metrics[metric]
