"""The HTML report of the smoke run: stable bytes, and rendered by a real headless chromium."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.workflow.browser import Chromium
from tests.workflow.project import SMOKE

pytestmark = pytest.mark.workflow

REPORT = "results/report.html"
CAPTIONS = Path(__file__).resolve().parents[2] / "report"
# Report items and the caption each must show (the first words of the .rst file).
FIGURES = {
    "predicted_vs_actual.png": "predicted_vs_actual.rst",
    "residuals_by_hour.png": "residuals_by_group.rst",
    "residuals_by_carrier.png": "residuals_by_group.rst",
    "error_by_month.png": "error_by_period.rst",
    "importance.png": "importance.rst",
    "family_importance.png": "family_importance.rst",
    "leaderboard.csv": "leaderboard.rst",
    "metrics.json": "champion.rst",
    "manifest.json": "manifest.rst",
    "audit.json": "audit.rst",
    "history.png": "tuning_history.rst",
    "param_importances.png": "tuning_importances.rst",
}


def build_report(project: Path, overrides: str = SMOKE) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "snakeml.operations.report", "--overrides", overrides]
    return subprocess.run(
        command, cwd=project, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="session")
def smoke_report(smoke_project: Path) -> Path:
    run = build_report(smoke_project)
    assert run.returncode == 0, run.stderr[-3000:]
    return smoke_project / REPORT


def caption_opening(name: str, words: int = 6) -> str:
    first_line = (CAPTIONS / name).read_text().splitlines()[0].replace("``", "")
    return " ".join(first_line.split()[:words])


def test_report_is_rewritten_only_when_it_changes(smoke_report: Path) -> None:
    project = smoke_report.parents[1]
    content, modified = smoke_report.read_bytes(), smoke_report.stat().st_mtime_ns
    assert len(content) > 100_000 and b"baseline_median_carrier_hour" in content

    run = build_report(project)
    assert run.returncode == 0 and "is up to date" in run.stderr, run.stderr
    assert smoke_report.stat().st_mtime_ns == modified

    # An input newer than the report rebuilds it; the same run gives the same bytes (no clock
    # time in it), so the file is left alone.
    stat = smoke_report.stat()
    os.utime(smoke_report, ns=(stat.st_atime_ns, stat.st_mtime_ns - 10**11))
    aged = smoke_report.stat().st_mtime_ns
    (project / "results/leaderboard.csv").touch()
    run = build_report(project)
    assert run.returncode == 0 and "unchanged" in run.stderr, run.stderr
    assert smoke_report.read_bytes() == content
    assert smoke_report.stat().st_mtime_ns == aged


def test_no_report_is_built_for_overrides_whose_run_has_not_finished(smoke_report: Path) -> None:
    """As after a run of them that failed: the results are another run's (snakemake --summary
    plans their configuration slices and every job after them)."""
    project = smoke_report.parents[1]
    content = smoke_report.read_bytes()
    run = build_report(project, f"{SMOKE} tuning.n_trials=5")
    assert run.returncode == 1
    lines = [line for line in run.stderr.splitlines() if "ERROR" in line]
    assert len(lines) == 1, run.stderr[-3000:]
    assert "results/report.html: the run of these overrides has not finished: " in lines[0]
    assert "(config_slice, " in lines[0] or ", config_slice" in lines[0], lines[0]
    assert smoke_report.read_bytes() == content


def test_report_renders_leaderboard_and_captions_in_chromium(
    chromium: None, smoke_report: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    profile = tmp_path_factory.mktemp("chromium-profile")
    screenshots = tmp_path_factory.mktemp("screenshots")
    with Chromium(profile) as browser:
        browser.open(smoke_report.as_uri())
        landing = browser.evaluate(
            """(async () => {
                const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
                for (let i = 0; i < 100 && !document.querySelector("#app table"); i++) {
                    await sleep(100);
                }
                return document.body.innerText;
            })()"""
        )
        landing_png = browser.screenshot(screenshots / "report.png")
        shown = browser.evaluate(
            """(async () => {
                const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
                const shown = {};
                for (const path of Object.keys(results)) {
                    app.showResultInfo(path);
                    await sleep(150);
                    shown[path] = document.body.innerText;
                }
                return shown;
            })()"""
        )
        browser.evaluate("app.showCategory('Evaluation')")
        browser.screenshot(screenshots / "evaluation.png")

    # The landing page shows the champion statement and the leaderboard, number by number.
    project = smoke_report.parents[1]
    statement = (project / "results/champion/statement.txt").read_text().strip()
    assert statement in " ".join(landing.split())
    board = pd.read_csv(project / "results/leaderboard.csv", dtype=str)
    for row in board.itertuples():
        assert row.model in landing and row.rmse in landing and row.r2 in landing, row
    for category in ("Evaluation", "Leaderboard", "Data", "Tuning"):
        assert category in landing, category

    # Every figure and table is in the report, and its caption renders when it is opened.
    names = {Path(path).name for path in shown}
    assert set(FIGURES) <= names, sorted(names)
    per_model = [p for p in shown if Path(p).name == "importance.png"]
    assert len(per_model) == 3  # ridge, hgb and rf
    for path, text in shown.items():
        caption = FIGURES.get(Path(path).name)
        if caption is not None:
            assert caption_opening(caption) in " ".join(text.split()), (path, caption)

    # A real rendering: a PNG of the requested size, not a blank page.
    data = landing_png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1400, 1000)
    assert len(data) > 30_000
