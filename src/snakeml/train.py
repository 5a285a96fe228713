"""Train: refit the model with its best parameters on train + valid, save it with skops."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from snakeml.io import read_yaml
from snakeml.models import build_pipeline, feature_frame, limit_threads, save_model, target_vector

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)


def train_model(
    frame: pd.DataFrame, settings: dict[str, Any], params: dict[str, Any], threads: int = 1
) -> Pipeline:
    """Fit the configured Pipeline with ``params`` on ``frame``."""
    columns = settings["columns"]
    pipeline = build_pipeline(settings["model"], columns, params, threads, settings["seed"])
    with limit_threads(threads):
        pipeline.fit(feature_frame(frame, columns), target_vector(frame, columns))
    return pipeline


def run_training(
    split_paths: list[str | Path],
    best_params_path: str | Path,
    settings: dict[str, Any],
    model_path: str | Path,
    threads: int = 1,
) -> None:
    """Refit on the concatenated splits (time order kept) and write the skops file."""
    frame = pd.concat([pd.read_parquet(p) for p in split_paths], ignore_index=True)
    params = read_yaml(best_params_path)["params"]
    pipeline = train_model(frame, settings, params, threads)
    save_model(pipeline, model_path)
    log.info("model %s fitted on %d rows with %s", settings["model"]["name"], len(frame), params)
