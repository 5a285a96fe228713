"""Benchmark a run with nothing to do: `snakemake --cores 2` against importing Snakemake's CLI.

    python -m bench.noop [--runs 7] [--overrides "..."] [--project DIR]
                         [--out results/bench/noop.json]

In the project's root (or ``--project``, a copy such as bench.pipeline's), once everything is
up to date (`make run` first; with ``--overrides``, a run with those overrides).
`snakemake -n --cores 1` must first find nothing to do: otherwise the bench writes why it
could not measure and exits 0. Then, alternating, ``--runs`` times each, the wall time of
three processes, all with .venv's Python:

- `snakemake --cores 2` in the project's root (``--config overrides=...`` when given), which
  must find nothing to do again;
- `python -c "import snakemake.cli"`: what any Snakemake command costs before it reads a
  workflow;
- `snakemake --cores 2` on a workflow of one rule with nothing to do, in a temporary folder:
  what Snakemake costs beyond that import whatever the workflow (the floor).

The figure is the median no-op over the median import; the goal is at most 1.3. The floor
over the import says how much of the figure is Snakemake's own.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL = 1.3
NOTHING_TO_DO = "Nothing to be done"
# The floor's workflow: one rule with a param (as the project's config_slice rule has: its
# params trigger is checked on every run), its output already there.
ONE_RULE = """\
rule all:
    input:
        "out.txt",


rule write:
    output:
        "out.txt",
    params:
        text="up to date",
    shell:
        "echo {params.text} > {output}"
"""


def bin_dir() -> Path:
    """The .venv's bin folder, else the running Python's."""
    venv = ROOT / ".venv" / "bin"
    return venv if (venv / "snakemake").is_file() else Path(sys.executable).parent


def snakemake_command(*args: str, overrides: str = "") -> list[str]:
    command = [str(bin_dir() / "snakemake"), *args]
    return [*command, "--config", f"overrides={overrides}"] if overrides else command


def timed(command: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run ``command`` in ``cwd``; its wall time in seconds and what it did."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done


def not_a_noop(done: subprocess.CompletedProcess[str]) -> str | None:
    """Why ``done`` (a snakemake run) was not a run with nothing to do, or None."""
    output = done.stdout + done.stderr
    if done.returncode == 0 and NOTHING_TO_DO in output:
        return None
    last = [line for line in output.strip().splitlines() if line.strip()][-3:]
    return f"exit status {done.returncode}: {' | '.join(last) or 'no output'}"


def write(out: Path, result: dict[str, object]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


def failure(name: str, done: subprocess.CompletedProcess[str]) -> str | None:
    """What went wrong in the ``name`` process, or None."""
    if name != "import":
        return not_a_noop(done)
    if done.returncode:
        return f"exit status {done.returncode}: {done.stderr.strip()[-300:]}"
    return None


def not_measured(out: Path, result: dict[str, object], reason: str) -> int:
    """Write why the bench could not measure; exit status 0 (the file is the result)."""
    write(out, {**result, "measured": False, "reason": reason})
    print(f"bench.noop: not measured: {reason}; wrote {out}", file=sys.stderr)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--overrides", default="", help="Hydra overrides of the measured run")
    parser.add_argument("--project", type=Path, default=ROOT, help="the project to run in")
    parser.add_argument("--out", type=Path, default=ROOT / "results/bench/noop.json")
    args = parser.parse_args()
    project = args.project.resolve()
    commands = {
        "noop": snakemake_command("--cores", "2", overrides=args.overrides),
        "import": [str(bin_dir() / "python"), "-c", "import snakemake.cli"],
        "floor": snakemake_command("--cores", "2"),
    }
    result: dict[str, object] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        # set, every run compiles the modules of src/ (no __pycache__ there) again
        "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE", ""),
        "commands": {
            name: shlex.join([Path(command[0]).name, *command[1:]])
            for name, command in commands.items()
        },
        "goal_ratio": GOAL,
    }
    _, dry = timed(snakemake_command("-n", "--cores", "1", overrides=args.overrides), project)
    if not_a_noop(dry) is not None:
        return not_measured(args.out, result, f"snakemake -n finds work: {not_a_noop(dry)}")
    runs: dict[str, list[float]] = {name: [] for name in commands}
    with tempfile.TemporaryDirectory() as folder:
        floor = Path(folder)
        (floor / "Snakefile").write_text(ONE_RULE)
        _, first = timed(snakemake_command("--cores", "1"), floor)  # writes out.txt
        if first.returncode:
            return not_measured(args.out, result, f"floor: {first.stderr.strip()[-300:]}")
        for _ in range(args.runs):
            for name, command in commands.items():
                seconds, done = timed(command, floor if name == "floor" else project)
                problem = failure(name, done)
                if problem is not None:
                    return not_measured(args.out, result, f"{name}: {problem}")
                runs[name].append(seconds)
                print(f"  {name}: {seconds:.2f} s", file=sys.stderr)
    median = {name: statistics.median(seconds) for name, seconds in runs.items()}
    ratio = median["noop"] / median["import"]
    result |= {
        "measured": True,
        "runs": args.runs,
        "runs_seconds": runs,
        "median_seconds": median,
        "ratio_noop_vs_import": ratio,
        "ratio_floor_vs_import": median["floor"] / median["import"],
        "met": ratio <= GOAL,
    }
    write(args.out, result)
    print(
        f"no-op vs import snakemake.cli: {ratio:.2f} (goal <= {GOAL}; a one-rule workflow's "
        f"no-op: {result['ratio_floor_vs_import']:.2f}); wrote {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
