"""The look-ahead audit in the real DAG, on a copy of the seattle_weather run: it ran there and
passed; a centred window planted in the SQL stops the next run at the audit, before the split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.workflow.project import SEATTLE, SEATTLE_RESULTS, copy_run, job_folder, snakemake

pytestmark = pytest.mark.workflow

SHORT_WINDOW = (
    "range between to_days(cast(getvariable('windows_short') as integer) - 1) preceding\n"
    "                and current row"
)


def test_a_look_ahead_stops_the_run_at_the_audit(seattle_build: Path, tmp_path: Path) -> None:
    project = copy_run(seattle_build, tmp_path / "project")
    audit = job_folder(project, SEATTLE_RESULTS, "audit")  # results/shared/audit/<key>
    audit_log = project / "logs" / audit.relative_to(project / "results") / "audit/audit.log"
    record = json.loads((audit / "audit/audit.json").read_text())
    assert record["audited"] and record["tables_cut"] == {"days": "date"}
    assert len(record["cuts"]) == 3
    train = job_folder(project, SEATTLE_RESULTS, "split") / "split/train.parquet"
    split_written = train.stat().st_mtime_ns

    rolling = project / "sql/seattle_weather/rolling.sql"
    text = rolling.read_text()
    assert SHORT_WINDOW in text
    rolling.write_text(text.replace(SHORT_WINDOW, "rows between 1 preceding and 1 following"))
    run = snakemake(project, SEATTLE)

    assert run.returncode != 0
    errors = [line for line in audit_log.read_text().splitlines() if " ERROR " in line]
    assert len(errors) == 1, errors
    assert "snakeml.operations.rule.audit: audit: look-ahead: 4 feature(s) change" in errors[0]
    assert (
        "temp_max_mean_short, temp_min_mean_short, precipitation_mean_short, wind_mean_short "
        "(sql/seattle_weather/rolling.sql)" in errors[0]
    )
    assert "end the window before the row's moment" in errors[0]
    assert not (audit / "audit/audit.json").exists()
    assert train.stat().st_mtime_ns == split_written  # the split did not run
