"""The figures of `make bench`, each against its goal: a table and results/bench/summary.json.

    python -m bench.summary [--folder results/bench] [--markdown docs/benchmarks.md]

Reads what the benchmarks wrote (features.json, tuning.json, busy.json, pipeline.json,
noop.json, scale.json) and prints one line per figure: its value, its goal and whether it is
met. A figure whose benchmark did not run, or has no benchmark yet, says so. Exits 0 either
way: the table is the result. With ``--markdown`` (as ``make bench`` passes it) the same table
is also written as a markdown page, with when each figure was measured and on how many CPUs:
docs/benchmarks.md is that page, committed, so the documentation points at measured figures
instead of copying them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Figure:
    """One figure: where it is read from, and its goal (``value <= goal`` or ``>=``).

    ``read_met``, when given, reads the benchmark's own verdict instead (one that allows for
    run-to-run noise, as bench.busy's does).
    """

    name: str
    source: str
    read: Callable[[dict[str, Any]], float | None]
    goal: float
    at_most: bool
    read_met: Callable[[dict[str, Any]], bool | None] | None = None


def _feature_run(factor: int, key: str) -> Callable[[dict[str, Any]], float | None]:
    def read(data: dict[str, Any]) -> float | None:
        runs = [run for run in data.get("runs", []) if run.get("factor") == factor]
        return runs[0].get(key) if runs else None

    return read


def _scale_run(factor: int, key: str) -> Callable[[dict[str, Any]], float | None]:
    def read(data: dict[str, Any]) -> float | None:
        runs = [run for run in data.get("runs", []) if run.get("factor") == factor]
        return runs[0].get(key) if runs and runs[0].get("ok") else None

    return read


FIGURES: tuple[Figure, ...] = (
    Figure(
        "feature build x30, time vs pandas",
        "features.json",
        _feature_run(30, "time_ratio"),
        0.5,
        True,
    ),
    Figure(
        "feature build x30, peak memory vs pandas",
        "features.json",
        _feature_run(30, "memory_ratio"),
        0.35,
        True,
    ),
    Figure(
        "look-ahead audit x1 vs the feature build",
        "features.json",
        _feature_run(1, "audit_ratio"),
        0.25,
        True,
    ),
    Figure(
        "tuning, trials per minute 2 vs 1 shards",
        "tuning.json",
        lambda data: data.get("shards", {}).get("speedup_2_vs_1"),
        1.7,
        False,
    ),
    Figure(
        "cold pipeline vs its bare model fits",
        "pipeline.json",
        lambda data: data.get("ratio_pipeline_vs_bare"),
        2.5,
        True,
    ),
    *(
        figure
        for factor in (10, 30)
        for figure in (
            Figure(
                f"pipeline x{factor}, largest job's peak RSS (GiB)",
                "scale.json",
                _scale_run(factor, "max_job_rss_gib"),
                6.0,
                True,
            ),
            Figure(
                f"pipeline x{factor}, wall time vs x1",
                "scale.json",
                _scale_run(factor, "wall_ratio_vs_x1"),
                20.0,
                True,
            ),
        )
    ),
    Figure(
        "fit on a busy machine, 2 vs 1 thread",
        "busy.json",
        lambda data: data.get("ratio_2_vs_1_thread"),
        1.0,
        True,
        lambda data: data.get("met"),
    ),
    Figure(
        "no-op snakemake vs import snakemake.cli",
        "noop.json",
        lambda data: data.get("ratio_noop_vs_import"),
        1.3,
        True,
    ),
)
# Goals of the speed issue without a benchmark yet: listed, so the table shows what is missing.
NOT_MEASURED: tuple[tuple[str, float, bool], ...] = ()


def summarise(folder: Path) -> list[dict[str, Any]]:
    """One row per figure: name, value (None when not measured), goal, direction, met, note."""
    rows = []
    for figure in FIGURES:
        path = folder / figure.source
        value, note = None, f"{figure.source} missing: its benchmark did not run"
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                value = figure.read(data)
                # a benchmark that could not measure says why (noop.json: "reason")
                why = f": {data['reason']}" if value is None and data.get("reason") else ""
                note = "" if value is not None else f"not in {figure.source}{why}"
            except (ValueError, AttributeError) as exc:
                note = f"{figure.source} unreadable: {exc}"
        measured = measured_on(path)
        met, goal = None, f"{'<=' if figure.at_most else '>='} {figure.goal}"
        if value is not None and figure.read_met is not None:
            met = figure.read_met(data)
            if data.get("tolerance") is not None:
                goal += f" (+ {data['tolerance']:.3f} run-to-run)"
        if value is not None and met is None:
            met = value <= figure.goal if figure.at_most else value >= figure.goal
        rows.append(
            {
                "figure": figure.name,
                "value": value,
                "goal": goal,
                "met": met,
                "note": note,
                "measured": measured if value is not None else None,
            }
        )
    for name, goal, at_most in NOT_MEASURED:
        rows.append(
            {
                "figure": name,
                "value": None,
                "goal": f"{'<=' if at_most else '>='} {goal}",
                "met": None,
                "note": "no benchmark yet",
                "measured": None,
            }
        )
    return rows


def measured_on(path: Path) -> str | None:
    """When and where a benchmark file was written: its date (UTC) and the machine's CPUs."""
    if not path.is_file():
        return None
    day = datetime.fromtimestamp(path.stat().st_mtime, UTC).date().isoformat()
    try:
        cpus = json.loads(path.read_text(encoding="utf-8")).get("machine", {}).get("cpus")
    except (ValueError, AttributeError):
        cpus = None
    return day if cpus is None else f"{day}, {cpus} CPUs"


def scale_section(scale: dict[str, Any] | None) -> list[str]:
    """The scale benchmark's runs (scale.json) as markdown lines: per factor its command, wall
    time, ratio to x1 and champion, then each rule's largest peak RSS (MB) and summed seconds.
    No lines when the benchmark did not run."""
    runs = [run for run in (scale or {}).get("runs", []) if run.get("rules")]
    if not runs:
        return []
    factors = ", ".join(f"x{run['factor']}" for run in runs)
    lines = [
        "",
        "## The pipeline by scale",
        "",
        f"`python -m bench.scale --factors {' '.join(str(run['factor']) for run in runs)}`"
        f" ({factors}; `--cores {scale.get('cores', '-')}`), each factor cold in a fresh copy;"
        " a rule's figures are its largest job's peak RSS and all its jobs' seconds, from"
        " Snakemake's benchmark files.",
        "",
        "| factor | ran | wall (s) | vs x1 | champion |",
        "| --- | --- | --- | --- | --- |",
    ]
    for run in runs:
        champion = run.get("champion") or {}
        metric = champion.get("metric")
        score = champion.get(metric) if metric else None
        named = (
            f"{champion.get('model')}, {metric} {score:.4g}"
            if isinstance(score, int | float)
            else "-"
        )
        lines.append(
            f"| x{run['factor']} | {'yes' if run.get('ok') else 'failed'} | "
            f"{run.get('wall_seconds', '-')} | {run.get('wall_ratio_vs_x1', '-')} | {named} |"
        )
    rules = sorted({rule for run in runs for rule in run["rules"]})
    header = " | ".join(f"x{run['factor']} peak RSS (MB) | x{run['factor']} s" for run in runs)
    lines += ["", f"| rule | {header} |", "| --- " * (1 + 2 * len(runs)) + "|"]
    for rule in rules:
        cells = []
        for run in runs:
            entry = run["rules"].get(rule)
            if entry is None:
                cells += ["-", "-"]
                continue
            largest = entry.get("largest_job", "")
            job = f" ({Path(largest).stem})" if entry.get("jobs", 1) > 1 and largest else ""
            cells += [f"{entry['max_rss_mb']:.0f}{job}", f"{entry['seconds']:.1f}"]
        lines.append(f"| {rule} | {' | '.join(cells)} |")
    return lines


def markdown(rows: list[dict[str, Any]], scale: dict[str, Any] | None = None) -> str:
    """The rows as the markdown page docs/benchmarks.md: a header saying who writes it, then
    one table row per figure, or a line saying nothing was measured yet; then the scale
    benchmark's runs rule by rule (scale_section) when ``scale`` (scale.json) holds any."""
    lines = [
        "# Benchmarks",
        "",
        "*Written by `make bench` (`python -m bench.summary --markdown docs/benchmarks.md`);"
        " do not edit by hand.*",
        "",
        "The figures `make bench` measured last, each against its goal. `make bench` writes",
        "them to `results/bench/*.json` (not committed) and this page from them; what each",
        "benchmark measures and how is in [speed.md](speed.md).",
        "",
    ]
    if all(row["value"] is None for row in rows):
        lines += [
            "No figures were measured yet: run `make bench` on an otherwise idle machine.",
            "",
            "| figure | goal |",
            "| --- | --- |",
        ]
        lines += [f"| {row['figure']} | {row['goal']} |" for row in rows]
        return "\n".join([*lines, *scale_section(scale)]) + "\n"
    lines += ["| figure | value | goal | met | measured |", "| --- | --- | --- | --- | --- |"]
    for row in rows:
        value = "-" if row["value"] is None else f"{row['value']:.3g}"
        met = {True: "yes", False: "no", None: row["note"] or "-"}[row["met"]]
        lines.append(
            f"| {row['figure']} | {value} | {row['goal']} | {met} | {row['measured'] or '-'} |"
        )
    lines += scale_section(scale)
    return "\n".join(lines) + "\n"


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a plain-text table: figure, value, goal, met."""
    lines = [("figure", "value", "goal", "met")]
    for row in rows:
        value = "-" if row["value"] is None else f"{row['value']:.3g}"
        met = {True: "yes", False: "no", None: row["note"] or "-"}[row["met"]]
        lines.append((row["figure"], value, row["goal"], met))
    widths = [max(len(line[i]) for line in lines) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line[:3], widths, strict=True))
        + "  "
        + line[3]
        for line in lines
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folder", type=Path, default=ROOT / "results/bench")
    parser.add_argument(
        "--markdown", type=Path, default=None, help="also write the table as this markdown page"
    )
    args = parser.parse_args()
    rows = summarise(args.folder)
    args.folder.mkdir(parents=True, exist_ok=True)
    (args.folder / "summary.json").write_text(json.dumps(rows, indent=2) + "\n")
    if args.markdown is not None:
        scale_path = args.folder / "scale.json"
        scale = None
        if scale_path.is_file():
            try:
                scale = json.loads(scale_path.read_text(encoding="utf-8"))
            except ValueError:
                scale = None  # its figures' rows already say it is unreadable
        args.markdown.write_text(markdown(rows, scale), encoding="utf-8")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
