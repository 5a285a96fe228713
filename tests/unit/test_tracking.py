"""MLflow tracking against a real local SQLite store, read back with MLflow's client."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from snakeml.core.errors import ConfigError
from snakeml.evaluation.tracking import check_tracking, check_tracking_uri, log_experiment
from tests.services import require_module


@pytest.fixture
def result(tmp_path: Path) -> dict[str, Path]:
    """A leaderboard, a champion and a figure, as an experiment leaves them."""
    folder = tmp_path / "experiment"
    (folder / "champion").mkdir(parents=True)
    leaderboard = folder / "leaderboard.csv"
    pd.DataFrame(
        {"model": ["hgb", "baseline_mean"], "kind": ["model", "baseline"], "rmse": [40.5, 47.0]}
    ).to_csv(leaderboard, index=False)
    champion = folder / "champion/metrics.json"
    champion.write_text(json.dumps({"model": "hgb", "metrics": {"rmse": 40.5}}))
    model = folder / "champion/model.skops"
    model.write_bytes(b"model bytes")
    figure = folder / "importance.png"
    figure.write_bytes(b"\x89PNG figure")
    return {"leaderboard": leaderboard, "champion": champion, "model": model, "figure": figure}


def log(uri: str, result: dict[str, Path], name: str = "n_trials-8") -> dict:
    return log_experiment(
        uri=uri,
        experiment="snakeml-test",
        name=name,
        overrides=["+experiment=smoke", "tuning.n_trials=8"],
        models=["hgb"],
        leaderboard_path=result["leaderboard"],
        champion_path=result["champion"],
        artifacts={
            "": [result["leaderboard"]],
            "champion": [result["champion"], result["model"]],
            "hgb/evaluation": [result["figure"]],
        },
    )


def test_a_result_is_one_run_with_its_params_metrics_and_artifacts(
    tmp_path: Path, result: dict[str, Path]
) -> None:
    require_module("mlflow", "make venv-tracking")
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path}/store/mlflow.db"
    first = log(uri, result)
    assert first["logged"] is True
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(first["run_id"])
    assert run.info.run_name == "n_trials-8"
    assert run.info.status == "FINISHED"
    assert run.data.params == {"experiment": "smoke", "tuning.n_trials": "8", "models": "hgb"}
    assert run.data.metrics == {
        "hgb.rmse": 40.5,
        "baseline_mean.rmse": 47.0,
        "champion.rmse": 40.5,
    }
    assert run.data.tags["snakeml.experiment"] == "n_trials-8"
    assert (tmp_path / "store/artifacts").is_dir()  # beside the store, not ./mlruns
    paths = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert paths == {"leaderboard.csv", "champion", "hgb"}
    assert {a.path for a in client.list_artifacts(run.info.run_id, "champion")} == {
        "champion/metrics.json",
        "champion/model.skops",
    }
    # The same result again logs nothing; a changed one is a new run.
    again = log(uri, result)
    assert again == {**first, "logged": False}
    result["model"].write_bytes(b"another model")
    changed = log(uri, result)
    assert changed["logged"] is True and changed["run_id"] != first["run_id"]
    experiment = client.get_experiment_by_name("snakeml-test")
    assert len(client.search_runs([experiment.experiment_id])) == 2


def test_a_run_that_fails_midway_leaves_no_run_behind(
    tmp_path: Path, result: dict[str, Path]
) -> None:
    require_module("mlflow", "make venv-tracking")
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path}/store/mlflow.db"
    result["champion"].write_text("{not json")
    with pytest.raises(json.JSONDecodeError):
        log(uri, result)
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("snakeml-test")
    assert client.search_runs([experiment.experiment_id]) == []
    result["champion"].write_text(json.dumps({"metrics": {"rmse": 40.5}}))
    assert log(uri, result)["logged"] is True


def test_an_unreachable_store_is_one_line(tmp_path: Path) -> None:
    require_module("mlflow", "make venv-tracking")
    with pytest.raises(ConfigError, match=r"^tracking.uri http://127.0.0.1:9: the MLflow"):
        check_tracking("http://127.0.0.1:9")
    check_tracking(f"sqlite:///{tmp_path}/new/mlflow.db")  # a new local store is made
    assert (tmp_path / "new/mlflow.db").is_file()


def test_a_password_in_the_uri_is_refused() -> None:
    with pytest.raises(ConfigError, match="MLFLOW_TRACKING_PASSWORD"):
        check_tracking_uri("https://user:secret@mlflow.example.org")
    check_tracking_uri("https://mlflow.example.org")


def test_an_experiment_created_by_a_parallel_job_is_joined_not_an_error(
    tmp_path: Path, result: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two tracking jobs of one sweep: the other one creates the experiment after this one
    looked it up and before this one creates it."""
    require_module("mlflow", "make venv-tracking")
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path}/store/mlflow.db"
    other = MlflowClient(tracking_uri=uri).create_experiment("snakeml-test")
    lookup = MlflowClient.get_experiment_by_name
    calls: list[str] = []

    def late_lookup(client: MlflowClient, name: str):  # type: ignore[no-untyped-def]
        calls.append(name)
        return None if len(calls) == 1 else lookup(client, name)

    monkeypatch.setattr(MlflowClient, "get_experiment_by_name", late_lookup)
    logged = log(uri, result)
    assert logged["logged"] is True and logged["experiment_id"] == other
    assert calls == ["snakeml-test", "snakeml-test"]
