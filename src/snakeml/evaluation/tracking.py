"""MLflow tracking of each experiment's result (rule track; optional, ``tracking.mlflow=true``).

One MLflow run per experiment result, in the MLflow experiment ``tracking.experiment`` of the
store at ``tracking.uri`` (a local SQLite file by default; any tracking URI). The run holds:

- params: the Hydra overrides that compose the experiment (``key`` -> ``value``) and its models;
- metrics: every leaderboard row's test metrics, ``<model>.<metric>``, and the champion's,
  ``champion.<metric>``;
- artifacts: the leaderboard, the champion (metrics, statement, decision, model) and each
  model's figures (evaluation and tuning PNGs);
- tags: ``snakeml.experiment`` (the experiment's name) and ``snakeml.result``, a SHA-256 of
  what the run records. A job that finds a run with its ``snakeml.result`` already in the store
  logs nothing new: a rerun that changes nothing adds no run.

The MLflow client is an extra (``make venv-tracking``): imported only here, only when tracking.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from snakeml.core.errors import ConfigError

log = logging.getLogger(__name__)

RESULT_TAG = "snakeml.result"
EXPERIMENT_TAG = "snakeml.experiment"
# One try, a few seconds: an unreachable server is named at once, not after minutes of retries.
CLIENT_ENVIRONMENT = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}


def check_tracking_uri(uri: str) -> None:
    """Refuse a tracking URI that holds a password (it would be written to results/configs/).

    Raises ConfigError naming the environment variable to use instead.
    """
    parts = urlsplit(uri)
    if parts.password:
        raise ConfigError(
            "tracking.uri holds a password, which would be written to results/configs/: drop "
            "it from the URI and give it in the environment (MLFLOW_TRACKING_USERNAME, "
            "MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN)"
        )


def _client(uri: str) -> Any:
    try:
        from mlflow import MlflowClient
    except ImportError:
        raise ConfigError(
            "tracking.mlflow=true needs the MLflow client, which is not installed: run "
            "make venv-tracking (or set tracking.mlflow=false)"
        ) from None
    for key, value in CLIENT_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    database = local_database(uri)
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True)
    return MlflowClient(tracking_uri=uri)


def local_database(uri: str) -> Path | None:
    """The file of a ``sqlite:///`` store (relative to the working directory), else None."""
    parts = urlsplit(uri)
    if parts.scheme != "sqlite" or parts.path in ("", "/", "/:memory:"):
        return None
    return Path(parts.path.removeprefix("/"))


def artifact_location(uri: str) -> str | None:
    """Where a new MLflow experiment keeps its artifacts: beside a local SQLite store, in
    ``artifacts/`` (MLflow's default would be ./mlruns of whatever folder runs it); a server's
    own choice otherwise (None)."""
    database = local_database(uri)
    return None if database is None else (database.parent.resolve() / "artifacts").as_uri()


def check_tracking(uri: str) -> None:
    """Reach the tracking store once (before any job): one line naming it when it cannot be.

    Raises ConfigError when the client is missing or the store does not answer.
    """
    check_tracking_uri(uri)
    client = _client(uri)
    try:
        client.search_experiments(max_results=1)
    except Exception as exc:  # the client raises its own, requests' and SQLAlchemy's errors
        reason = " ".join(str(exc).split())[:300]
        raise ConfigError(
            f"tracking.uri {uri}: the MLflow tracking store cannot be reached ({reason}); "
            "start it, give another tracking.uri, or set tracking.mlflow=false"
        ) from None
    log.info("MLflow tracking store %s is reachable", uri)


def _parameters(overrides: Sequence[str], models: Sequence[str]) -> dict[str, str]:
    from snakeml.evaluation.compare import override_values

    return {**override_values(overrides), "models": ",".join(models)}


def _metrics(leaderboard: Any, champion: Mapping[str, Any]) -> dict[str, float]:
    metrics: dict[str, float] = {}
    numeric = [c for c in leaderboard.columns if c not in ("model", "kind")]
    for row in leaderboard.to_dict("records"):
        for column in numeric:
            value = row[column]
            if value == value:  # NaN: not logged
                metrics[f"{row['model']}.{column}"] = float(value)
    for key, value in champion.get("metrics", {}).items():
        metrics[f"champion.{key}"] = float(value)
    return metrics


def result_digest(parameters: Mapping[str, str], artifacts: Mapping[str, Sequence[Path]]) -> str:
    """SHA-256 of the run's params and of every artifact's path and bytes: what it records."""
    digest = hashlib.sha256()
    for key, value in sorted(parameters.items()):
        digest.update(f"{key}={value}\n".encode())
    for folder, paths in sorted(artifacts.items()):
        for path in sorted(paths, key=str):
            digest.update(f"{folder}/{Path(path).name}\n".encode())
            digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def _experiment_id(client: Any, experiment: str, uri: str) -> str:
    """The id of MLflow experiment ``experiment``, created if missing.

    The tracking jobs of one sweep run side by side: when another job creates the experiment
    between the lookup and the creation, MLflow answers RESOURCE_ALREADY_EXISTS and the
    experiment it created is the one to use.
    """
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(experiment)
    if found:
        return str(found.experiment_id)
    try:
        return str(client.create_experiment(experiment, artifact_location=artifact_location(uri)))
    except MlflowException as error:
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        return str(client.get_experiment_by_name(experiment).experiment_id)


def log_experiment(
    uri: str,
    experiment: str,
    name: str,
    overrides: Sequence[str],
    models: Sequence[str],
    leaderboard_path: str | Path,
    champion_path: str | Path,
    artifacts: Mapping[str, Sequence[Path]],
) -> dict[str, Any]:
    """Log one experiment's result as an MLflow run, unless the store already has it.

    ``artifacts`` maps an artifact folder of the run ("" for its root) to files. Returns the
    record the rule writes: tracking URI, MLflow experiment and run id, and whether this call
    logged the run (``logged``) or found it (the same ``snakeml.result``).
    """
    import pandas as pd

    from snakeml.core.io import read_json

    client = _client(uri)
    parameters = _parameters(overrides, models)
    digest = result_digest(parameters, artifacts)
    experiment_id = _experiment_id(client, experiment, uri)
    existing = client.search_runs(
        [experiment_id], filter_string=f"tags.`{RESULT_TAG}` = '{digest}'", max_results=1
    )
    record = {"tracking_uri": uri, "experiment": experiment, "experiment_id": experiment_id}
    if existing:
        run_id = existing[0].info.run_id
        log.info("MLflow run %s already holds this result of %s: nothing logged", run_id, name)
        return {**record, "run_id": run_id, "logged": False}
    run = client.create_run(
        experiment_id, run_name=name, tags={EXPERIMENT_TAG: name, RESULT_TAG: digest}
    )
    run_id = run.info.run_id
    try:
        from mlflow.entities import Metric, Param

        metrics = _metrics(pd.read_csv(leaderboard_path), read_json(champion_path))
        now = int(time.time() * 1000)
        client.log_batch(
            run_id,
            metrics=[Metric(key, value, now, 0) for key, value in sorted(metrics.items())],
            params=[Param(key, value) for key, value in sorted(parameters.items())],
        )
        for folder, paths in sorted(artifacts.items()):
            for path in paths:
                client.log_artifact(run_id, str(path), artifact_path=folder or None)
    except BaseException:
        # A run without all its parts must not count as this result's record.
        client.set_terminated(run_id, status="FAILED")
        client.delete_run(run_id)
        raise
    client.set_terminated(run_id)
    log.info("MLflow run %s: %s, %d metrics", run_id, name, len(metrics))
    return {**record, "run_id": run_id, "logged": True}
