"""Tune: an Optuna study per model, fit on the train months and scored on the valid months."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from snakeml.io import write_parquet, write_yaml
from snakeml.metrics import loss, regression_metrics
from snakeml.models import (
    build_pipeline,
    feature_frame,
    limit_threads,
    suggest_params,
    target_vector,
)

log = logging.getLogger(__name__)


def _quiet_optuna() -> None:
    """Send Optuna's records through our logging setup instead of its own handler."""
    import optuna

    optuna.logging.disable_default_handler()
    optuna.logging.enable_propagation()
    optuna.logging.set_verbosity(optuna.logging.INFO)


def tune_model(
    train: pd.DataFrame, valid: pd.DataFrame, settings: dict[str, Any], threads: int = 1
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Run the study; return the best parameters and one row per trial."""
    import optuna

    _quiet_optuna()
    columns, model, tuning = settings["columns"], settings["model"], settings["tuning"]
    x_train, y_train = feature_frame(train, columns), target_vector(train, columns)
    x_valid, y_valid = feature_frame(valid, columns), target_vector(valid, columns)
    metric = tuning["metric"]

    def objective(trial: optuna.Trial) -> float:
        params = suggest_params(trial, model["search_space"])
        pipeline = build_pipeline(model, columns, params, threads, settings["seed"])
        with limit_threads(threads):
            pipeline.fit(x_train, y_train)
            scores = regression_metrics(y_valid, pipeline.predict(x_valid))
        for name, value in scores.items():
            trial.set_user_attr(f"valid_{name}", value)
        return loss(scores, metric)

    sampler = optuna.samplers.TPESampler(seed=settings["seed"])
    study = optuna.create_study(direction="minimize", sampler=sampler)
    n_trials = tuning["n_trials"] if model["search_space"] else 1
    study.optimize(objective, n_trials=n_trials, timeout=tuning["timeout_seconds"])
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not completed:
        raise RuntimeError(f"no trial of model {model['name']!r} completed; see the log above")
    log.info(
        "model %s: best valid %s %.4f with %s",
        model["name"],
        metric,
        study.best_trial.user_attrs[f"valid_{metric}"],
        study.best_params,
    )
    return dict(study.best_params), trials_frame(study, model["name"])


def trials_frame(study: Any, model_name: str) -> pd.DataFrame:
    """Every trial: number, state, value, duration, parameters and validation metrics."""
    rows = []
    for trial in study.trials:
        duration = trial.duration.total_seconds() if trial.duration is not None else None
        row = {
            "model": model_name,
            "trial": trial.number,
            "state": trial.state.name,
            "value": trial.value,
            "duration_seconds": duration,
        }
        row.update({f"param_{k}": v for k, v in trial.params.items()})
        row.update(trial.user_attrs)
        rows.append(row)
    return pd.DataFrame(rows)


def run_tuning(
    train_path: str | Path,
    valid_path: str | Path,
    settings: dict[str, Any],
    best_params_path: str | Path,
    trials_path: str | Path,
    threads: int = 1,
) -> dict[str, Any]:
    """Read the splits, tune, and write best_params.yaml and trials.parquet."""
    import pyarrow as pa

    best, trials = tune_model(
        pd.read_parquet(train_path), pd.read_parquet(valid_path), settings, threads
    )
    write_parquet(pa.Table.from_pandas(trials, preserve_index=False), trials_path)
    write_yaml(best_params_path, {"model": settings["model"]["name"], "params": best})
    return best
