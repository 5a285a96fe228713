"""Benchmark the cold pipeline against its bare work: the pipeline ratio.

    python -m bench.pipeline [--cores 2] [--keep DIR] [--out results/bench/pipeline.json]

1. A fresh copy of the project (the workflow's own files, no results, no data; .venv is this
   one) runs ``snakemake --cores N`` with the default configuration: every job, from ingest to
   the manifest. Its wall time is timed from launch to exit.
2. Right after, in the same bench run, the bare work: one process fits each of the run's models
   once on train + valid with the best parameters its tuning chose, one thread each (n_jobs=1,
   OpenMP and BLAS pools limited to 1), as the train rule builds it. Only the fits are timed.

The figure is (1) / (2): goal at most 2.5. The JSON also holds each rule's summed job seconds
(Snakemake's benchmark files), the champion and its test score, so a faster pipeline that buys
its speed with a worse model shows. Then, unless ``--no-noop``, bench.noop measures a run with
nothing to do in the same copy. ``--keep DIR`` runs in DIR and leaves it there; else the copy
is removed.
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
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
GOAL = 2.5


def bare_fits(project: Path) -> dict[str, float]:
    """Fit each model of the run once, one thread, in this process: seconds per model.

    Reads the project's results/configs/train/<model>.yaml (the train rule's slice),
    results/tuning/<model>/best_params.yaml and results/split/{train,valid}.parquet.
    """
    import pandas as pd

    from snakeml.core.io import read_yaml
    from snakeml.core.slices import TrainSlice, load_slice
    from snakeml.models.estimators import (
        build_pipeline,
        feature_frame,
        limit_threads,
        target_vector,
    )
    from snakeml.models.task_kinds import task_kind

    results = project / "results"
    fit = pd.concat(
        [pd.read_parquet(results / f"split/{part}.parquet") for part in ("train", "valid")],
        ignore_index=True,
    )
    seconds: dict[str, float] = {}
    for config in sorted((results / "configs/train").glob("*.yaml")):
        settings = load_slice(config, TrainSlice)
        model, columns = settings.model, settings.columns
        kind = task_kind(settings.task.kind)
        best = results / f"tuning/{model.name}/best_params.yaml"
        params = read_yaml(best)["params"] if best.is_file() else {}
        x, y = feature_frame(fit, columns), target_vector(fit, columns, kind)
        pipeline = build_pipeline(model, columns, params, kind, 1, settings.seed)
        start = time.perf_counter()
        with limit_threads(1):
            pipeline.fit(x, y)
        seconds[model.name] = time.perf_counter() - start
    return seconds


def rule_seconds(project: Path) -> dict[str, float]:
    """Each rule's jobs' wall seconds summed, from Snakemake's benchmark files."""
    totals: dict[str, float] = defaultdict(float)
    for path in (project / "benchmarks").rglob("*.tsv"):
        rule = path.relative_to(project / "benchmarks").parts[0]
        with path.open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        if rows:
            totals[rule] += float(rows[-1]["s"])
    return {rule: round(value, 2) for rule, value in sorted(totals.items())}


def champion(project: Path) -> dict[str, object]:
    """The champion's name and test metrics from results/champion/metrics.json."""
    path = project / "results/champion/metrics.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def copy_project(target: Path) -> None:
    """The workflow's own files, as a fresh clone has them, with this .venv."""
    sys.path.insert(0, str(ROOT))
    from tests.workflow.project import copy_project as copy

    copy(target)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it")
    parser.add_argument("--out", type=Path, default=ROOT / "results/bench/pipeline.json")
    parser.add_argument("--no-noop", action="store_true", help="skip bench.noop in the copy")
    parser.add_argument("--bare-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_only:
        print(json.dumps(bare_fits(args.bare_only)))
        return 0
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="snakeml-bench-"))
    if args.keep and args.keep.exists():
        shutil.rmtree(args.keep)
    try:
        copy_project(workdir)
        print(f"cold pipeline: snakemake --cores {args.cores} in a fresh copy", file=sys.stderr)
        start = time.perf_counter()
        run = subprocess.run(
            [str(SNAKEMAKE), "--cores", str(args.cores)],
            cwd=workdir,
            capture_output=True,
            text=True,
            check=False,
        )
        pipeline = time.perf_counter() - start
        if run.returncode:
            print(run.stdout[-3000:] + run.stderr[-3000:], file=sys.stderr)
            print("bench.pipeline: the pipeline failed", file=sys.stderr)
            return 1
        print(f"  {pipeline:.1f} s; bare fits, one thread, one process", file=sys.stderr)
        bare = subprocess.run(
            [sys.executable, "-m", "bench.pipeline", "--bare-only", str(workdir)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if bare.returncode:
            print(f"bench.pipeline: the bare fits failed: {bare.stderr[-3000:]}", file=sys.stderr)
            return 1
        fits = json.loads(bare.stdout.strip().splitlines()[-1])
        ratio = pipeline / sum(fits.values())
        result = {
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "cores": args.cores,
            "pipeline_seconds": round(pipeline, 2),
            "bare_fit_seconds": {k: round(v, 2) for k, v in fits.items()},
            "bare_seconds": round(sum(fits.values()), 2),
            "ratio_pipeline_vs_bare": ratio,
            "goal_ratio": GOAL,
            "met": ratio <= GOAL,
            "rule_job_seconds": rule_seconds(workdir),
            "champion": champion(workdir),
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(
            f"pipeline {pipeline:.1f} s / bare fits {sum(fits.values()):.1f} s = {ratio:.2f} "
            f"(goal <= {GOAL}); wrote {args.out}",
            file=sys.stderr,
        )
        if not args.no_noop:
            noop = [sys.executable, "-m", "bench.noop", "--project", str(workdir)]
            out = ["--out", str(args.out.with_name("noop.json"))]
            subprocess.run([*noop, *out], cwd=ROOT, check=False)
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
