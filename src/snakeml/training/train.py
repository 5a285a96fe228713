"""Train: refit the model with its best parameters on train + valid, save it with skops.

A binary classifier's decision threshold is chosen first: fitted on train alone, the model's
validation probabilities give the threshold of maximum F1
(snakeml.models.task_kinds.BinaryClassification.choose_threshold);
the refit on train + valid keeps it. The task's kind, classes and threshold are written beside
the model (its decision file), read by every later stage.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from snakeml.core.errors import DataError
from snakeml.core.io import read_json, read_yaml, write_json
from snakeml.core.memory import BYTES_PER_VALUE, check_memory
from snakeml.core.slices import TrainSlice
from snakeml.models.estimators import (
    build_pipeline,
    feature_frame,
    limit_threads,
    parquet_rows,
    read_model_rows,
    save_model,
    target_vector,
)
from snakeml.models.task_kinds import task_kind
from snakeml.validation.split import kept_rows

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)


def train_model(
    frame: pd.DataFrame, cfg: TrainSlice, params: dict[str, Any], threads: int = 1
) -> Pipeline:
    """Fit the model of ``cfg`` (a train slice) with ``params`` on ``frame``'s model inputs."""
    columns, kind = cfg.columns, task_kind(cfg.task.kind)
    pipeline = build_pipeline(cfg.model, columns, params, kind, threads, cfg.seed)
    with limit_threads(threads):
        pipeline.fit(feature_frame(frame, columns), target_vector(frame, columns, kind))
    return pipeline


def validation_proba(
    train: pd.DataFrame,
    valid: pd.DataFrame,
    cfg: TrainSlice,
    params: dict[str, Any],
    classes: np.ndarray,
    threads: int = 1,
) -> np.ndarray:
    """The validation rows' probabilities (rows, classes) of a model fitted on train: what a
    binary threshold is chosen from."""
    pipeline = train_model(train, cfg, params, threads)
    with limit_threads(threads):
        return task_kind(cfg.task.kind).predict(
            pipeline, feature_frame(valid, cfg.columns), classes
        )


def decision_of(
    train: pd.DataFrame,
    valid: pd.DataFrame,
    cfg: TrainSlice,
    params: dict[str, Any],
    threads: int = 1,
) -> dict[str, Any]:
    """The task's kind, the classes (from the training period) and the binary threshold.

    Raises DataError in one line for a target of the wrong shape for its kind, one class in
    the training period, or a validation class the training period never held.
    """
    target = cfg.columns["target"]
    return task_kind(cfg.task.kind).decision(
        train[target],
        valid[target],
        target,
        lambda classes: validation_proba(train, valid, cfg, params, classes, threads),
    )


def read_decision(path: str | Path) -> dict[str, Any]:
    """A model's decision file: ``kind``, ``classes`` (None for regression) and ``threshold``."""
    decision = read_json(path)
    if not isinstance(decision, dict) or "kind" not in decision:
        raise DataError(f"{path} is not a decision file: retrain (delete it, rerun snakemake)")
    return decision


def run_training(
    split_paths: list[str | Path],
    best_params_path: str | Path,
    cfg: TrainSlice,
    model_path: str | Path,
    threads: int = 1,
    decision_path: str | Path | None = None,
    memory_mb: int | None = None,
) -> None:
    """Refit on the concatenated splits (time order kept) and write the skops file.

    ``cfg`` is the model's train slice (snakeml.core.slices.TrainSlice), ``split_paths`` train
    then valid; only the model's columns are read. With
    ``model.<name>.max_train_rows`` set below their rows, the fit (and a binary threshold's)
    takes a seeded sample of that many, in order, and the decision file says so under
    ``training_rows``. ``memory_mb`` is the job's memory request: a fit whose estimate
    (snakeml.core.memory) exceeds it stops before reading a row, with ConfigError. The decision
    file is written to ``decision_path``.
    """
    model, columns, seed = cfg.model, cfg.columns, cfg.seed
    n_train, available = parquet_rows(split_paths[:1]), parquet_rows(split_paths)
    cap = model.max_train_rows
    keep = kept_rows(available, cap, seed)
    fitted = available if keep is None else len(keep)
    check_memory(
        f"train {model.name}",
        fitted,
        len(columns["numeric"]) + len(columns["categorical"]),
        BYTES_PER_VALUE[model.preprocessing],
        memory_mb,
        f"model.{model.name}.max_train_rows",
    )
    frame = read_model_rows(split_paths, columns, keep=keep)
    train_rows = n_train if keep is None else int(np.count_nonzero(keep < n_train))
    params = read_yaml(best_params_path)["params"]
    train, valid = frame.iloc[:train_rows], frame.iloc[train_rows:]
    decision = decision_of(train, valid, cfg, params, threads)
    decision["training_rows"] = training_rows(available, fitted, cap, seed)
    pipeline = train_model(frame, cfg, params, threads)
    save_model(pipeline, model_path)
    if decision_path is not None:
        write_json(decision_path, decision)
    if keep is not None:
        log.info(
            "model %s: a seeded sample of %d of the %d train + valid rows "
            "(model.%s.max_train_rows)",
            model.name,
            fitted,
            available,
            model.name,
        )
    log.info("model %s fitted on %d rows with %s", model.name, len(frame), params)
    if decision["threshold"] is not None:
        log.info("decision threshold %.6f, chosen on the validation rows", decision["threshold"])


def training_rows(available: int, fitted: int, cap: int | None, seed: int) -> dict[str, Any]:
    """The record of the rows a model was fitted on: all ``available`` train + valid rows, or
    a seeded sample of ``fitted`` of them (``sampled``) because ``max_train_rows`` is ``cap``."""
    return {
        "available": available,
        "fitted": fitted,
        "sampled": fitted < available,
        "max_train_rows": cap,
        "seed": seed if fitted < available else None,
    }
