"""Data without time, as the README's "Data without time" says: a lender's loans, no time column.

The loans example (tests/workflow/loans_example/) is copied into a fresh git + DVC project with
`cp -r tests/workflow/loans_example/* .`; the whole DAG runs on the default strategy
(stratified by class), then the report and batch prediction; then the same data on
`split.strategy=group split.group=customer`. Nothing under src/, scripts/ or rules/ changes.
Publishing a user's data set is the sales example's (test_own_dataset): the same steps.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.dvc.repo import git, init_repo, run
from tests.workflow.loans_table import loans_table
from tests.workflow.project import Run, job_folder, snakemake
from tests.workflow.test_own_dataset import engine_hashes

pytestmark = pytest.mark.workflow

EXAMPLE = Path(__file__).parent / "loans_example"
TASK = "data=loans task=loans_default"
# Where the run keeps its own files (not the configured data set and task's: results/).
RESULTS = "results/runs/loans/loans_default"
# The README's commands (the loans are small: no smoke sample needed), on a tuning budget of
# one shard of two trials per model: the steps work or fail alike on the default budget, which
# only takes longer. Two of the task's three classifiers: hgbc's binary run is the flights'
# delayed task's (test_classification).
BUDGET = "tuning.n_trials=2 tuning.n_shards=1"
OVERRIDES = f"{TASK} {BUDGET} model=[logreg,rfc]"
# The second strategy on one model: what it changes is the parts, which every model shares.
GROUPED = f"{OVERRIDES} split.strategy=group split.group=customer model=[logreg]"
# The README's new application, as its printf writes it.
APPLICATIONS = (
    "customer,branch,amount,term_months,income,student\nc0600,valley,12000.0,36,52000.0,False\n"
)
PARTS = ("train", "valid", "test")


@dataclass
class Session:
    project: Path
    runs: dict[str, Run]
    parts: dict[str, dict[str, pd.DataFrame]]
    # the stratified run's leaderboard: the group run, on one model, writes its own
    board: pd.DataFrame
    engine_before: dict[str, str]
    engine_after: dict[str, str]


def read_parts(project: Path) -> dict[str, pd.DataFrame]:
    folder = job_folder(project, RESULTS, "split") / "split"
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in PARTS}


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    """The README's steps, in order, in a fresh project."""
    project = init_repo(tmp_path_factory.mktemp("lender") / "project")
    shutil.copytree(EXAMPLE, project, dirs_exist_ok=True)  # cp -r tests/workflow/loans_example/* .
    git(project, "add", "conf", "sql", "data/loans")
    git(project, "commit", "--quiet", "-m", "The loans data set")
    before = engine_hashes(project)
    runs = {"stratified": snakemake(project, OVERRIDES)}
    parts = {"stratified": read_parts(project)}
    board = pd.read_csv(project / RESULTS / "leaderboard.csv")
    runs["report"] = run(
        [sys.executable, "-m", "snakeml.operations.report", "--overrides", OVERRIDES], project
    )
    (project / "data/new").mkdir(parents=True, exist_ok=True)
    (project / "data/new/applications.csv").write_text(APPLICATIONS, encoding="utf-8")
    runs["predict"] = snakemake(project, OVERRIDES, f"{RESULTS}/predictions/applications.parquet")
    runs["group"] = snakemake(project, GROUPED)
    parts["group"] = read_parts(project)
    return Session(project, runs, parts, board, before, engine_hashes(project))


def test_the_committed_table_is_what_the_generator_writes() -> None:
    committed = pd.read_csv(EXAMPLE / "data/loans/loans.csv")
    pd.testing.assert_frame_equal(committed, loans_table(), check_dtype=False)


def test_the_default_strategy_stratifies_the_parts_by_class(session: Session) -> None:
    run = session.runs["stratified"]
    assert run.returncode == 0, run.output[-5000:]
    parts = session.parts["stratified"]
    rows = sum(len(part) for part in parts.values())
    assert rows == len(loans_table())
    for label in ("yes", "no"):
        n = sum(int((part["defaulted"] == label).sum()) for part in parts.values())
        for name, share in zip(PARTS, (0.6, 0.2, 0.2), strict=True):
            held = int((parts[name]["defaulted"] == label).sum())
            assert abs(held - share * n) <= 1, (label, name, held, share * n)
    ids = [set(part["loan_id"]) for part in parts.values()]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    split = job_folder(session.project, RESULTS, "split")
    meta = json.loads((split / "split/train.parquet.meta.json").read_text())
    assert meta["counts"]["gap"] == 0 and meta["counts"]["no_target"] == 0


def test_the_leaderboard_ranks_the_models_beside_the_baselines(session: Session) -> None:
    board = session.board
    assert sorted(board.loc[board["kind"] == "model", "model"]) == ["logreg", "rfc"]
    assert "baseline_prior" in set(board["model"])
    assert board["log_loss"].notna().all()
    # no time column: no breakdown per period, the one per branch stays
    folder = job_folder(session.project, RESULTS, "evaluate/logreg") / "evaluation/logreg"
    assert (folder / "metrics_by_branch.csv").is_file()
    assert not list(folder.glob("metrics_per_*"))


def test_the_report_and_the_batch_prediction_run(session: Session) -> None:
    for name in ("report", "predict"):
        assert session.runs[name].returncode == 0, (name, session.runs[name].output[-4000:])
    assert (session.project / RESULTS / "report.html").stat().st_size > 0
    scored = pd.read_parquet(session.project / RESULTS / "predictions/applications.parquet")
    assert len(scored) == 1 and scored["refused"].isna().all()
    assert scored["customer"].tolist() == ["c0600"]
    assert scored.filter(like="proba").notna().all().all()


def test_the_group_strategy_keeps_each_customer_in_one_part(session: Session) -> None:
    run = session.runs["group"]
    assert run.returncode == 0, run.output[-5000:]
    # a change of strategy reruns the split and what follows, never the feature build
    assert "features" not in run.job_counts() and "ingest" not in run.job_counts()
    parts = session.parts["group"]
    customers = [set(part["customer"]) for part in parts.values()]
    assert not (customers[0] & customers[1] or customers[0] & customers[2])
    assert not customers[1] & customers[2]
    sizes = np.array([len(part) for part in parts.values()]) / len(loans_table())
    assert sizes == pytest.approx([0.6, 0.2, 0.2], abs=0.08)
    board = pd.read_csv(session.project / RESULTS / "leaderboard.csv")
    assert sorted(board.loc[board["kind"] == "model", "model"]) == ["logreg"]


def test_the_engine_is_unchanged(session: Session) -> None:
    assert session.engine_after == session.engine_before
