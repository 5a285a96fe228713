"""bench.summary: each figure of make bench against its goal, from the benchmarks' files."""

from __future__ import annotations

import json

from bench.summary import main, markdown, summarise, table


def write(folder, name, data):
    (folder / name).write_text(json.dumps(data))


def test_each_figure_is_read_and_judged_in_its_direction(tmp_path):
    write(
        tmp_path,
        "features.json",
        {"runs": [{"factor": 1, "time_ratio": 0.9, "audit_ratio": 0.2},
                  {"factor": 30, "time_ratio": 0.41, "memory_ratio": 0.5}]},
    )  # fmt: skip
    write(tmp_path, "tuning.json", {"shards": {"speedup_2_vs_1": 1.7}})
    write(tmp_path, "busy.json", {"ratio_2_vs_1_thread": 1.2})
    write(tmp_path, "pipeline.json", {"ratio_pipeline_vs_bare": 2.4})
    write(tmp_path, "noop.json", {"ratio_noop_vs_import": 1.35})
    rows = {row["figure"]: row for row in summarise(tmp_path)}
    assert rows["feature build x30, time vs pandas"]["value"] == 0.41
    assert rows["feature build x30, time vs pandas"]["met"] is True
    assert rows["feature build x30, peak memory vs pandas"]["met"] is False
    assert rows["look-ahead audit x1 vs the feature build"]["value"] == 0.2
    assert rows["look-ahead audit x1 vs the feature build"]["met"] is True
    assert rows["tuning, trials per minute 2 vs 1 shards"]["met"] is True  # >= 1.7, equal
    assert rows["fit on a busy machine, 2 vs 1 thread"]["met"] is False
    assert rows["cold pipeline vs its bare model fits"]["value"] == 2.4
    assert rows["cold pipeline vs its bare model fits"]["met"] is True
    assert rows["no-op snakemake vs import snakemake.cli"]["value"] == 1.35
    assert rows["no-op snakemake vs import snakemake.cli"]["met"] is False


def test_a_benchmark_that_could_not_measure_says_why(tmp_path):
    write(tmp_path, "noop.json", {"measured": False, "reason": "snakemake -n finds work"})
    rows = {row["figure"]: row for row in summarise(tmp_path)}
    noop = rows["no-op snakemake vs import snakemake.cli"]
    assert noop["value"] is None and noop["met"] is None
    assert noop["note"] == "not in noop.json: snakemake -n finds work"


def test_a_benchmark_that_did_not_run_is_named_and_the_table_still_prints(tmp_path, capsys):
    write(tmp_path, "busy.json", {"ratio_2_vs_1_thread": 0.95})
    rows = summarise(tmp_path)
    missing = [row for row in rows if row["note"].startswith("features.json missing")]
    assert len(missing) == 3 and all(row["met"] is None for row in missing)
    text = table(rows)
    assert text.splitlines()[0].split() == ["figure", "value", "goal", "met"]
    busy = next(line for line in text.splitlines() if line.startswith("fit on a busy"))
    assert busy.split()[-4:] == ["0.95", "<=", "1.0", "yes"]


def test_the_command_writes_the_summary_and_exits_0_without_any_benchmark(tmp_path, monkeypatch):
    monkeypatch.setattr("sys.argv", ["summary", "--folder", str(tmp_path / "bench")])
    assert main() == 0
    rows = json.loads((tmp_path / "bench/summary.json").read_text())
    assert len(rows) == 11 and all(row["met"] is None for row in rows)


def test_busy_judges_slower_only_beyond_the_one_thread_runs_spread():
    from bench.busy import verdict

    one = [25.56, 26.33, 26.09]  # measured: 3 % apart
    ratio, tolerance, met = verdict(one, [26.20, 26.15, 26.14])
    assert round(ratio, 4) == 1.0023 and round(tolerance, 4) == 0.0295 and met is True
    assert verdict(one, [28.60, 28.11, 27.03])[2] is False  # all threads used: 1.08
    assert verdict([26.0, 26.0, 26.0], [26.1, 26.1, 26.1])[2] is False  # no noise, no slack


def test_the_summary_takes_busys_own_verdict_and_shows_its_slack(tmp_path):
    write(tmp_path, "busy.json", {"ratio_2_vs_1_thread": 1.0023, "tolerance": 0.0296, "met": True})
    row = next(r for r in summarise(tmp_path) if r["figure"].startswith("fit on a busy"))
    assert row["met"] is True and row["goal"] == "<= 1.0 (+ 0.030 run-to-run)"
    write(tmp_path, "busy.json", {"ratio_2_vs_1_thread": 1.08, "tolerance": 0.0295, "met": False})
    row = next(r for r in summarise(tmp_path) if r["figure"].startswith("fit on a busy"))
    assert row["met"] is False


def test_the_scale_figures_are_read_per_factor_and_a_missing_or_failed_run_is_not_judged(tmp_path):
    runs = [
        {"factor": 1, "ok": True, "max_job_rss_gib": 1.5, "wall_ratio_vs_x1": 1.0},
        {"factor": 10, "ok": True, "max_job_rss_gib": 6.2, "wall_ratio_vs_x1": 7.5},
        {"factor": 30, "ok": False, "max_job_rss_gib": 3.0, "wall_ratio_vs_x1": 2.0},
    ]
    write(tmp_path, "scale.json", {"runs": runs})
    rows = {row["figure"]: row for row in summarise(tmp_path)}
    rss, wall = (
        rows["pipeline x10, largest job's peak RSS (GiB)"],
        rows["pipeline x10, wall time vs x1"],
    )
    assert (rss["value"], rss["met"]) == (6.2, False)
    assert (wall["value"], wall["met"]) == (7.5, True)
    assert rows["pipeline x30, largest job's peak RSS (GiB)"]["value"] is None  # it failed
    assert rows["pipeline x30, wall time vs x1"]["met"] is None


def test_the_page_lists_each_scale_runs_rules_and_champion(tmp_path):
    rule = {"jobs": 3, "seconds": 12.34, "max_rss_mb": 6617.9, "largest_job": "ridge.tsv"}
    runs = [
        {"factor": 1, "ok": True, "wall_seconds": 80.0, "wall_ratio_vs_x1": 1.0,
         "champion": {"model": "hgb", "metric": "rmse", "rmse": 40.74},
         "rules": {"train": {**rule, "max_rss_mb": 1041.0}, "split": {"jobs": 1, "seconds": 2.0,
                   "max_rss_mb": 603.0, "largest_job": "split.tsv"}}},
        {"factor": 30, "ok": False, "wall_seconds": 900.0, "wall_ratio_vs_x1": 11.25,
         "rules": {"train": rule}},
    ]  # fmt: skip
    page = markdown(summarise(tmp_path), {"cores": 2, "runs": runs}).splitlines()
    assert "## The pipeline by scale" in page
    assert "| x1 | yes | 80.0 | 1.0 | hgb, rmse 40.74 |" in page
    assert "| x30 | failed | 900.0 | 11.25 | - |" in page
    assert "| train | 1041 (ridge) | 12.3 | 6618 (ridge) | 12.3 |" in page
    assert "| split | 603 | 2.0 | - | - |" in page
    # Without scale.json the page has no such section.
    assert "## The pipeline by scale" not in markdown(summarise(tmp_path))
