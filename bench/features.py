"""Benchmark the feature build: DuckDB SQL vs the pandas reference at x1, x10 and x30.

    python -m bench.features [--factors 1 10 30] [--out results/bench/features.json]

Each measurement runs in its own child process: wall time and that child's peak RSS
(os.wait4). DuckDB's threads and memory_limit come from conf/resources (features rule).
At x1 the two outputs are checked equal first.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from snakeml.features import REFERENCE_FILES

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = {name: ROOT / path for name, path in REFERENCE_FILES.items()}
RAW = ("flights", "weather", "planes", "airports")


def settings_and_resources() -> tuple[dict, dict]:
    from snakeml.config import compose_config, rule_slices

    cfg = compose_config(config_dir=ROOT / "conf")
    return rule_slices(cfg)["features"], cfg["resources"]["features"]


def child(engine: str, data_dir: Path, output: Path) -> None:
    """Run one build in this (child) process."""
    settings, resources = settings_and_resources()
    paths = {name: data_dir / f"{name}.parquet" for name in RAW}
    if engine == "duckdb":
        from snakeml.features import write_features

        write_features(
            paths, REFERENCE, ROOT / "sql", output, settings,
            threads=resources["threads"], memory_limit_mb=resources["mem_mb"],
        )  # fmt: skip
    else:
        from bench.features_pandas import build_features, load_raw

        build_features(load_raw(paths, REFERENCE), settings).to_parquet(output, index=False)


def measure(engine: str, data_dir: Path, output: Path) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.features", "--child", engine]
    command += [str(data_dir), str(output)]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench: the {engine} build failed on {data_dir}")
    return {"seconds": round(seconds, 3), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1)}


def compare(sql_output: Path, pandas_output: Path) -> dict[str, object]:
    """Column by column, rows matched by flight_id; floats to a relative 1e-9."""
    a = pd.read_parquet(sql_output).sort_values("flight_id").reset_index(drop=True)
    b = pd.read_parquet(pandas_output).sort_values("flight_id").reset_index(drop=True)
    mismatches = {}
    if len(a) != len(b) or not (a["flight_id"].to_numpy() == b["flight_id"].to_numpy()).all():
        return {"equal": False, "reason": f"rows differ: {len(a)} vs {len(b)}"}
    for column in a.columns:
        if column not in b.columns:
            mismatches[column] = "missing in pandas"
            continue
        x, y = a[column], b[column]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            xs, ys = x.to_numpy("float64", na_value=np.nan), y.to_numpy("float64", na_value=np.nan)
            same = np.isclose(xs, ys, rtol=1e-9, atol=1e-9, equal_nan=True)
        else:
            same = (x.isna().to_numpy() & y.isna().to_numpy()) | (
                x.astype(str).to_numpy() == y.astype(str).to_numpy()
            )
        if not same.all():
            mismatches[column] = int((~same).sum())
    return {"equal": not mismatches, "mismatched_rows_by_column": mismatches}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 10, 30])
    parser.add_argument("--out", type=Path, default=ROOT / "results/bench/features.json")
    parser.add_argument("--child", nargs=3, metavar=("ENGINE", "DATA", "OUTPUT"))
    parser.add_argument("--skip-pandas-above", type=int, default=30)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return 0

    from bench.scaleup import scale_up

    raw_dir = ROOT / "data/raw"
    if not (raw_dir / "flights.parquet").is_file():
        raise SystemExit("bench: data/raw is missing: run `make run` (or the ingest rule) first")
    work = args.out.parent / "work"
    _, resources = settings_and_resources()
    report: dict[str, object] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "duckdb": {"threads": resources["threads"], "memory_limit_mb": resources["mem_mb"]},
        "runs": [],
    }
    for factor in args.factors:
        data_dir = raw_dir
        if factor > 1:
            data_dir = work / f"x{factor}"
            scale_up(raw_dir, data_dir, factor)
        rows = int(pd.read_parquet(data_dir / "flights.parquet", columns=["flight_id"]).shape[0])
        run: dict[str, object] = {"factor": factor, "flights": rows}
        sql_output = work / f"sql_x{factor}.parquet"
        work.mkdir(parents=True, exist_ok=True)
        run["duckdb"] = measure("duckdb", data_dir, sql_output)
        if factor <= args.skip_pandas_above:
            pandas_output = work / f"pandas_x{factor}.parquet"
            run["pandas"] = measure("pandas", data_dir, pandas_output)
            run["time_ratio"] = round(run["duckdb"]["seconds"] / run["pandas"]["seconds"], 3)
            run["memory_ratio"] = round(
                run["duckdb"]["peak_rss_mib"] / run["pandas"]["peak_rss_mib"], 3
            )
            if factor == 1:
                run["check"] = compare(sql_output, pandas_output)
            pandas_output.unlink()
        sql_output.unlink()
        report["runs"].append(run)
        print(json.dumps(run), flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")  # after every run
    return 0


if __name__ == "__main__":
    sys.exit(main())
