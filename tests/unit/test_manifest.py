"""snakeml.manifest: git state, checksums, versions and benchmarks; same inputs, same bytes."""

from __future__ import annotations

import hashlib
import json
import subprocess

import pytest

from snakeml.manifest import (
    benchmarks,
    build_manifest,
    git_state,
    package_versions,
    read_benchmark,
    rule_config_keys,
    write_manifest,
)

BENCHMARK = (
    "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    "12.3456\t0:00:12\t301.25\t900.1\t250.0\t260.0\t1.0\t2.0\t95.0\t11.0\n"
)


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


def test_git_state_outside_and_inside_a_repository(tmp_path):
    assert git_state(tmp_path) == {"commit": None, "dirty": None}
    run = {"cwd": tmp_path, "check": True, "capture_output": True}
    subprocess.run(["git", "init", "-q"], **run)
    (tmp_path / "a.txt").write_text("a")
    subprocess.run(["git", "add", "a.txt"], **run)
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", *identity, "commit", "-qm", "a"], **run)
    head = subprocess.run(["git", "rev-parse", "HEAD"], text=True, **run).stdout.strip()
    assert git_state(tmp_path) == {"commit": head, "dirty": False}
    (tmp_path / "untracked.txt").write_text("not part of the checkout")
    assert git_state(tmp_path)["dirty"] is False
    (tmp_path / "a.txt").write_text("changed")
    assert git_state(tmp_path) == {"commit": head, "dirty": True}


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
        "config_sha256",
        "git",
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


def test_rule_config_keys_are_paths_below_the_config_folder():
    paths = ["results/configs/features.yaml", "results/configs/train/hgb.yaml"]
    assert rule_config_keys(paths) == {"features": paths[0], "train/hgb": paths[1]}
    assert rule_config_keys(["results/configs/train/hgb.yaml"]) == {
        "hgb": "results/configs/train/hgb.yaml"
    }
    assert rule_config_keys([]) == {}
