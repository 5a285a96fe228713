"""snakeml.operations.report: the HTML report is rebuilt only when stale and rewritten only when it
differs."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from snakeml.core.errors import SnakemlError
from snakeml.operations.report import STAMP, is_stale, update_report

# Stands in for snakemake: `--summary` prints its table, with the rows of pending.txt (rule and
# plan of files out of date) after a finished file's; `--report <path>` copies content.txt there
# (or fails when told to).
FAKE_SNAKEMAKE = """\
import shutil, sys
from pathlib import Path
if "--summary" in sys.argv:
    print("output_file\\tdate\\trule\\tlog-file(s)\\tstatus\\tplan")
    print("results/leaderboard.csv\\t-\\tleaderboard\\t-\\tok\\tno update")
    if Path("pending.txt").exists():
        for line in Path("pending.txt").read_text().splitlines():
            rule, plan = line.split(",")
            print(f"results/x\\t-\\t{rule}\\t-\\tok\\t{plan}")
    sys.exit(0)
if Path("fail.txt").exists():
    print("WorkflowError: something is missing", file=sys.stderr)
    sys.exit(1)
args = sys.argv[1:]
shutil.copyfile("content.txt", args[args.index("--report") + 1])
with open("calls.txt", "a") as calls:
    calls.write(" ".join(args[args.index("--config"):]) + "\\n")
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "leaderboard.csv").write_text("model,rmse\n")
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "workflow.rst").write_text("caption\n")
    (tmp_path / "content.txt").write_text("<html>report</html>")
    fake = tmp_path / "fake-snakemake"
    fake.write_text(f"#!{sys.executable}\n{FAKE_SNAKEMAKE}")
    fake.chmod(0o755)
    return tmp_path


def update(project: Path, overrides: str = "") -> bool:
    return update_report(project, "results/report.html", overrides, str(project / "fake-snakemake"))


def calls(project: Path) -> list[str]:
    path = project / "calls.txt"
    return path.read_text().splitlines() if path.exists() else []


def age(path: Path, seconds: int = 100) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - seconds * 10**9))


def test_first_build_writes_the_report_and_a_stamp(project):
    assert update(project, "+experiment=smoke") is True
    assert (project / "results/report.html").read_text() == "<html>report</html>"
    assert calls(project) == ["--config overrides=+experiment=smoke"]
    stamps = json.loads((project / STAMP).read_text())
    assert stamps["results/report.html"]["overrides"] == "+experiment=smoke"
    assert not [p for p in (project / "results").iterdir() if p.name.startswith(".")]


def test_up_to_date_report_is_not_rebuilt(project):
    update(project)
    report = project / "results/report.html"
    before = report.stat().st_mtime_ns
    assert update(project) is False
    assert calls(project) == ["--config overrides="]
    assert report.stat().st_mtime_ns == before


def test_newer_input_rebuilds_but_same_bytes_leave_the_file_alone(project):
    update(project)
    report = project / "results/report.html"
    age(report)
    before = report.stat().st_mtime_ns
    (project / "results/leaderboard.csv").touch()
    assert is_stale(project, report, "")
    assert update(project) is False
    assert len(calls(project)) == 2
    assert report.stat().st_mtime_ns == before
    # the stamp remembers the newest input, so the touched file does not rebuild it again
    assert not is_stale(project, report, "")


def test_changed_content_or_overrides_rewrite_the_report(project):
    update(project)
    report = project / "results/report.html"
    age(report)
    (project / "results/leaderboard.csv").write_text("model,rmse\nhgb,1\n")
    (project / "content.txt").write_text("<html>new</html>")
    assert update(project) is True
    assert report.read_text() == "<html>new</html>"
    assert is_stale(project, report, "model=[ridge]")


def test_batch_predictions_do_not_make_the_report_stale(project):
    update(project)
    report = project / "results/report.html"
    age(report)
    (project / "results/predictions").mkdir()
    (project / "results/predictions/new.parquet").write_bytes(b"x")
    assert not is_stale(project, report, "")


def test_each_pairs_report_follows_its_own_run_only(project):
    """Another pair's run (results/runs/<data>/<task>/) neither rebuilds this report nor is
    rebuilt by this run's files; its report reads the shared jobs' files too."""
    pair = project / "results/runs/cars/cars_mpg"
    pair.mkdir(parents=True)
    (pair / "leaderboard.csv").write_text("model,rmse\n")
    (project / "results/shared/split/0123456789ab").mkdir(parents=True)
    default, other = project / "results/report.html", pair / "report.html"
    overrides = "data=cars task=cars_mpg"
    update(project)
    update_report(
        project,
        "results/runs/cars/cars_mpg/report.html",
        overrides,
        str(project / "fake-snakemake"),
    )
    for report in (default, other):
        age(report)
    assert not is_stale(project, default, "") and not is_stale(project, other, overrides)
    (pair / "leaderboard.csv").write_text("model,rmse\nhgb,1\n")
    assert not is_stale(project, default, "") and is_stale(project, other, overrides)
    update_report(
        project,
        "results/runs/cars/cars_mpg/report.html",
        overrides,
        str(project / "fake-snakemake"),
    )
    (project / "results/shared/split/0123456789ab/train.parquet").write_bytes(b"x")
    assert not is_stale(project, default, "") and is_stale(project, other, overrides)
    (project / "results/leaderboard.csv").write_text("model,rmse\nrf,2\n")
    assert is_stale(project, default, "")
    # Each report keeps its own stamp: building one leaves the other's overrides alone.
    stamps = json.loads((project / STAMP).read_text())
    assert stamps["results/runs/cars/cars_mpg/report.html"]["overrides"] == overrides
    assert stamps["results/report.html"]["overrides"] == ""


def test_failed_build_raises_and_keeps_the_old_report(project):
    update(project)
    age(project / "results/report.html")
    (project / "results/leaderboard.csv").write_text("changed\n")
    (project / "fail.txt").write_text("")
    with pytest.raises(SnakemlError, match=r"snakemake --report failed .*something is missing"):
        update(project)
    assert (project / "results/report.html").read_text() == "<html>report</html>"
    assert not [p for p in (project / "results").iterdir() if p.name.startswith(".")]


def test_a_run_that_has_not_finished_gets_no_report(project):
    """After a failed run, results/ mixes its first outputs with the last finished run's."""
    update(project)
    age(project / "results/report.html")
    (project / "results/leaderboard.csv").write_text("changed\n")
    (project / "pending.txt").write_text(
        "split,update pending\ntrain,update pending\ntrain,update pending\nfeatures,no update\n"
    )
    with pytest.raises(SnakemlError) as caught:
        update(project, "split.strategy=group")
    assert str(caught.value) == (
        "results/report.html: the run of these overrides has not finished: 3 of its files are "
        'out of date (split, train): finish it first (make run OVERRIDES="split.strategy=group"),'
        " or give the overrides of the last run that finished"
    )
    assert (project / "results/report.html").read_text() == "<html>report</html>"
    assert len(calls(project)) == 1  # the first build's: no --report for the unfinished run
    (project / "pending.txt").write_text("features,no update\n")  # the run finished
    (project / "content.txt").write_text("<html>the finished run</html>")
    assert update(project, "split.strategy=group") is True


def test_a_run_said_finished_is_not_asked_again(project):
    """make run reaches the report only after snakemake succeeded: no --summary then."""
    (project / "pending.txt").write_text("split,update pending\n")  # would refuse if asked
    fake = str(project / "fake-snakemake")
    assert update_report(project, "results/report.html", "", fake, finished=True) is True
    with pytest.raises(SnakemlError, match="has not finished"):
        update_report(project, "results/report.html", "tuning.n_trials=5", fake)


def test_a_setting_that_cannot_work_stops_the_report_before_snakemake(tmp_path, monkeypatch):
    from conftest import REPO

    from snakeml.operations.report import main

    for folder in ("conf", "sql", "data/reference"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["--overrides", "tuning.n_trials=-1"])
    assert str(info.value) == (
        "snakeml: tuning.n_trials = -1: must be an integer >= 1 "
        "(set it in conf/tuning/default.yaml or drop the override)"
    )
    assert not (tmp_path / "results").exists() and not (tmp_path / ".snakemake").exists()


def test_what_a_killed_build_left_is_removed_by_the_next_and_nothing_else(project):
    results = project / "results"
    folder = results / ".report.html.k1lled_8.tmp"
    folder.mkdir()
    (folder / "report.html").write_text("<html>half")
    earlier = results / ".report-ab12cd34.html"
    earlier.write_text("<html>half")
    stamp_tmp = project / ".snakemake" / ".snakeml-report.json.k1lled_8.tmp"
    stamp_tmp.parent.mkdir()
    stamp_tmp.write_text("{")
    others = [results / ".leaderboard.csv.k1lled_8.tmp", results / ".report.html.notours.tmp"]
    for path in others:
        path.write_text("not the report's")
    assert update(project) is True
    assert not folder.exists() and not earlier.exists() and not stamp_tmp.exists()
    assert all(path.exists() for path in others)


def test_a_second_build_at_the_same_time_stops_with_one_line(project):
    import fcntl

    from snakeml.operations.report import BUILD_LOCK

    (project / BUILD_LOCK).parent.mkdir(parents=True, exist_ok=True)
    with (project / BUILD_LOCK).open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        expected = r"another `python -m snakeml\.operations\.report` builds"
        with pytest.raises(SnakemlError, match=expected):
            update(project)
    assert calls(project) == []
    assert update(project) is True
