"""Benchmark tuning: trials per minute with 1 vs 2 shards, and each storage's cost per trial.

    python -m bench.tuning [--model hgb] [--trials 8] [--rows 150000] [--repeats 3]
                           [--storage-trials 200] [--out results/bench/tuning.json]

Shards: the model's tune_shard work (time-ordered folds, one thread per model, as the rule runs
it, without the pruner so that every trial does the same kind of work and the ratio measures the
parallelism, not which trials happened to be pruned) on the first ``--rows`` rows of
results/split/{train,valid}.parquet (run `make run` or
`snakemake --cores 2 results/split/valid.parquet` first). One shard runs all the trials; then two
shards, each in its own process, run half each, side by side; wall time from launch to the last
exit, so start-up and data loading count. Repeated ``--repeats`` times, alternating; medians.

Storage: the same trivial objective (one suggested float) run ``--storage-trials`` times in an
in-memory study, an Optuna journal file, SQLite, and PostgreSQL when SNAKEML_POSTGRES_DIR names a
server started by .ci/postgres.sh; overhead per trial = (time - in-memory time) / trials.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SPLITS = (ROOT / "results/split/train.parquet", ROOT / "results/split/valid.parquet")


def shard_settings(model: str, n_trials: int, n_shards: int) -> Any:
    from snakeml.configuration.compose import compose_config
    from snakeml.configuration.slices import rule_slices

    cfg = compose_config(
        f"model=[{model}] tuning.n_trials={n_trials} tuning.n_shards={n_shards} "
        "tuning.pruner=none tuning.max_rows=null",
        config_dir=ROOT / "conf",
    )
    return rule_slices(cfg)[f"tune_shard/{model}"]


def child(model: str, n_trials: int, n_shards: int, shard: int, rows: int, folder: str) -> None:
    """One shard in this (child) process, as rule tune_shard runs it with one thread."""
    import pandas as pd

    from snakeml.models.estimators import limit_threads
    from snakeml.training.storage import open_storage
    from snakeml.training.tune import run_shard, tuning_frame
    from snakeml.validation.split import strategy_of

    settings = shard_settings(model, n_trials, n_shards)
    order = strategy_of(settings).tuning_order()
    frame = tuning_frame([pd.read_parquet(p) for p in SPLITS], order).iloc[:rows]
    storage = open_storage(None, Path(folder) / "journal.log")
    with limit_threads(1):
        trials = run_shard(frame, settings, shard, storage, "bench", threads=1)
    finished = int(trials["state"].isin(["COMPLETE", "PRUNED"]).sum())
    print(json.dumps({"finished": finished}))


def run_shards(model: str, n_trials: int, n_shards: int, rows: int) -> dict[str, float]:
    """Launch ``n_shards`` shard processes at once; wall time until the last one exits."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        child = [sys.executable, "-m", "bench.tuning", "--child", model, str(n_trials)]
        processes = [
            subprocess.Popen(
                [*child, str(n_shards), str(shard), str(rows), folder],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            for shard in range(n_shards)
        ]
        outputs = [p.communicate()[0] for p in processes]
        seconds = time.perf_counter() - start
    if any(p.returncode for p in processes):
        raise SystemExit(f"bench.tuning: a shard process failed: {outputs}")
    finished = sum(json.loads(out.strip().splitlines()[-1])["finished"] for out in outputs)
    return {"seconds": seconds, "trials": finished, "trials_per_minute": 60 * finished / seconds}


def bench_shards(model: str, n_trials: int, rows: int, repeats: int) -> dict[str, object]:
    runs: dict[int, list[dict[str, float]]] = {1: [], 2: []}
    for _ in range(repeats):
        for n_shards in (1, 2):
            result = run_shards(model, n_trials, n_shards, rows)
            runs[n_shards].append(result)
            print(f"  {n_shards} shard(s): {result['seconds']:.1f} s, {result['trials']} trials",
                  file=sys.stderr)  # fmt: skip
    median = {n: statistics.median(r["trials_per_minute"] for r in runs[n]) for n in runs}
    return {
        "model": model,
        "rows": rows,
        "trials": n_trials,
        "threads_per_shard": 1,
        "pruner": "none",
        "runs": {f"{n}_shards": runs[n] for n in runs},
        "median_trials_per_minute": {f"{n}_shards": median[n] for n in median},
        "speedup_2_vs_1": median[2] / median[1],
        "goal_speedup": 1.7,
    }


def time_study(storage: object, n_trials: int) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
    start = time.perf_counter()
    study.optimize(lambda trial: trial.suggest_float("x", 0.0, 1.0), n_trials=n_trials)
    return time.perf_counter() - start


def postgres_url() -> str | None:
    """The server .ci/postgres.sh started, with its password put in PGPASSWORD."""
    folder = os.environ.get("SNAKEML_POSTGRES_DIR")
    env_file = Path(folder) / "env" if folder else None
    if env_file is None or not env_file.is_file():
        return None
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    os.environ["PGPASSWORD"] = values["SNAKEML_TEST_POSTGRES_PASSWORD"]
    return values["SNAKEML_TEST_POSTGRES_URL"]


def bench_storage(n_trials: int, repeats: int) -> dict[str, object]:
    from snakeml.training.storage import open_storage

    with tempfile.TemporaryDirectory() as folder:
        storages = {
            "in_memory": lambda: None,
            "journal": lambda: open_storage(None, Path(folder) / f"{time.time_ns()}.log"),
            "sqlite": lambda: open_storage(f"sqlite:///{folder}/{time.time_ns()}.db", ""),
        }
        url = postgres_url()
        if url is not None:
            storages["postgresql"] = lambda: open_storage(url, "")
        seconds: dict[str, list[float]] = {name: [] for name in storages}
        for _ in range(repeats):
            for name, make in storages.items():
                seconds[name].append(time_study(make(), n_trials))
    median = {name: statistics.median(values) for name, values in seconds.items()}
    overhead_ms = {
        name: 1000 * (median[name] - median["in_memory"]) / n_trials
        for name in median
        if name != "in_memory"
    }
    return {
        "trials": n_trials,
        "repeats": repeats,
        "median_seconds": median,
        "overhead_ms_per_trial": overhead_ms,
        "postgresql": "measured" if url else "skipped: SNAKEML_POSTGRES_DIR not set",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="hgb")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--rows", type=int, default=150000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--storage-trials", type=int, default=200)
    parser.add_argument("--out", type=Path, default=ROOT / "results/bench/tuning.json")
    parser.add_argument("--child", nargs=6)
    args = parser.parse_args()
    if args.child:
        model, n_trials, n_shards, shard, rows, folder = args.child
        child(model, int(n_trials), int(n_shards), int(shard), int(rows), folder)
        return 0
    missing = [str(p.relative_to(ROOT)) for p in SPLITS if not p.is_file()]
    if missing:
        print(f"bench.tuning: {missing} missing: run `make run` (or snakemake up to the split) "
              "first", file=sys.stderr)  # fmt: skip
        return 1
    print("storage overhead per trial", file=sys.stderr)
    storage = bench_storage(args.storage_trials, args.repeats)
    print(json.dumps(storage["overhead_ms_per_trial"]), file=sys.stderr)
    print(f"{args.model}: 1 vs 2 shards, {args.trials} trials on {args.rows} rows", file=sys.stderr)
    shards = bench_shards(args.model, args.trials, args.rows, args.repeats)
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "shards": shards,
        "storage": storage,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"speedup 2 vs 1 shards: {shards['speedup_2_vs_1']:.2f}x (goal 1.7x); "
          f"wrote {args.out}", file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
