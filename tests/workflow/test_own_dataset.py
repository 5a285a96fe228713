"""A new data set, made as a user would: CSV files, YAML and SQL in a project copy, no Python.

The sales example (tests/workflow/sales_example/: conf/data/sales.yaml, conf/task/sales_units.yaml
and sql/sales/) is copied into a fresh project beside generated CSV files of a chain's daily
sales. The smoke DAG, the report, batch prediction and publishing then run on it unchanged, and
a broken file, declaration or setting fails with one line that names it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.dvc.repo import dvc, git, init_repo, make, run
from tests.workflow.project import SMOKE, Run, copy_project, job_folder, snakemake

pytestmark = pytest.mark.workflow

EXAMPLE = Path(__file__).parent / "sales_example"
# One of the three regressors: the steps of a user's data set work or fail alike for each (the
# three run in the smoke build).
OVERRIDES = f"{SMOKE} data=sales task=sales_units model=[ridge]"
# Where the run keeps its own files (not the configured data set and task's: results/).
RESULTS = "results/runs/sales/sales_units"
MODELS = ("ridge",)
# What a user may add; the engine's own files must stay as they are.
ENGINE = ("src", "scripts", "rules")

# store: (region, floor area in m²); product: mean units a day in a store of 800 m²
STORES = {"north_1": ("north", 1200.0), "north_2": ("north", 400.0), "south_1": ("south", 800.0)}
PRODUCTS = {"bread": 40.0, "milk": 30.0, "coffee": 8.0, "apples": 20.0}
PRICES = {"bread": 2.5, "milk": 1.2, "coffee": 6.0, "apples": 3.0}
# Monday to Sunday
WEEKDAY = np.array([0.8, 0.85, 0.9, 1.0, 1.25, 1.5, 0.7])
FIRST_DAY, DAYS = "2023-01-01", 456  # to 2024-03-31
# Days whose counts were lost: their units are empty for every store and product.
UNKNOWN_DAYS = ("2023-03-14", "2023-08-02", "2024-02-20")
NO_TARGET = len(UNKNOWN_DAYS) * len(STORES) * len(PRODUCTS)
NEW_DAYS = 7


def sales_rows(first_day: str = FIRST_DAY, days: int = DAYS, seed: int = 13) -> pd.DataFrame:
    """Daily units per store and product, in date order: weekday, promotion, store size,
    product, and a slowly drifting demand level that past days reveal."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(first_day, periods=days, freq="D")
    frames = []
    for store, (_, size) in STORES.items():
        for product, base in PRODUCTS.items():
            level = np.zeros(days)
            shocks = rng.normal(0.0, 0.12, days)
            for day in range(1, days):
                level[day] = 0.92 * level[day - 1] + shocks[day]
            promo = rng.random(days) < 0.15
            mean = base * size / 800 * WEEKDAY[dates.day_of_week] * np.exp(level)
            mean *= np.where(promo, 1.6, 1.0)
            frames.append(
                pd.DataFrame(
                    {
                        "date": dates.strftime("%Y-%m-%d"),
                        "store": store,
                        "product": product,
                        "promo": np.where(promo, "true", "false"),
                        "price": np.round(PRICES[product] * np.where(promo, 0.8, 1.0), 2),
                        "units": rng.poisson(mean).astype(float),
                    }
                )
            )
    rows = pd.concat(frames).sort_values(["date", "store", "product"], kind="stable")
    rows.loc[rows["date"].isin(UNKNOWN_DAYS), "units"] = np.nan
    return rows.reset_index(drop=True)


def write_sales(project: Path) -> pd.DataFrame:
    """data/sales/sales_<year>.csv (one file per year) and data/sales/stores.csv."""
    folder = project / "data/sales"
    folder.mkdir(parents=True, exist_ok=True)
    rows = sales_rows()
    for year, part in rows.groupby(rows["date"].str[:4]):
        part.to_csv(folder / f"sales_{year}.csv", index=False)
    stores = pd.DataFrame(
        [(store, region, size) for store, (region, size) in STORES.items()],
        columns=["store", "region", "size_m2"],
    )
    stores.to_csv(folder / "stores.csv", index=False)
    return rows


def add_sales_dataset(project: Path) -> Path:
    """What a user adds: the data files, conf/data/sales.yaml, conf/task/, sql/sales/."""
    shutil.copytree(EXAMPLE, project, dirs_exist_ok=True)
    write_sales(project)
    return project


def engine_hashes(project: Path) -> dict[str, str]:
    """sha256 of every engine file (Python's bytecode caches aside)."""
    return {
        str(path.relative_to(project)): hashlib.sha256(path.read_bytes()).hexdigest()
        for part in ENGINE
        for path in sorted((project / part).rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def new_sales(rows: pd.DataFrame) -> pd.DataFrame:
    """The week after the history, every store and product, without units (not known yet)."""
    last = pd.Timestamp(rows["date"].max())
    template = sales_rows(str((last + pd.Timedelta(days=1)).date()), NEW_DAYS, seed=14)
    return template.drop(columns=["units"])


@dataclass
class Session:
    """A user's session on the new data set: each command's result, the engine before/after."""

    project: Path
    rows: pd.DataFrame
    new: pd.DataFrame
    runs: dict[str, Run]
    engine_before: dict[str, str]
    engine_after: dict[str, str]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    """The sales data set added to a fresh git + DVC project, then run, reported, used to score
    new rows and published, as the README's steps say."""
    project = init_repo(tmp_path_factory.mktemp("team") / "project")
    add_sales_dataset(project)
    rows = sales_rows()
    git(project, "add", "conf", "sql", "data/sales")
    git(project, "commit", "--quiet", "-m", "The sales data set")
    before = engine_hashes(project)
    runs = {"run": snakemake(project, OVERRIDES)}
    report = [sys.executable, "-m", "snakeml.operations.report", "--overrides", OVERRIDES]
    runs["report"] = run(report, project)
    new = new_sales(rows)
    (project / "data/new").mkdir(parents=True, exist_ok=True)
    new.to_csv(project / "data/new/next_week.csv", index=False)
    runs["predict"] = snakemake(project, OVERRIDES, f"{RESULTS}/predictions/next_week.parquet")
    runs["publish"] = make(project, "publish", OVERRIDES)
    return Session(project, rows, new, runs, before, engine_hashes(project))


def test_the_smoke_dag_ranks_the_model_and_two_baselines(session: Session) -> None:
    run = session.runs["run"]
    assert run.returncode == 0, run.output[-5000:]
    board = pd.read_csv(session.project / RESULTS / "leaderboard.csv")
    assert sorted(board.loc[board["kind"] == "model", "model"]) == list(MODELS)
    assert sorted(board.loc[board["kind"] == "baseline", "model"]) == [
        "baseline_mean",
        "baseline_median_store_product",
    ]
    assert board["rmse"].notna().all() and (board["rmse"] > 0).all()
    champion = json.loads((session.project / RESULTS / "champion/metrics.json").read_text())
    assert champion["beats_baselines"], champion


def test_rows_without_units_are_dropped_and_counted(session: Session) -> None:
    features = job_folder(session.project, RESULTS, "features") / "features"
    meta = json.loads((features / "features.parquet.meta.json").read_text())
    assert meta["counts"] == {"rows": len(session.rows)}
    folder = job_folder(session.project, RESULTS, "split") / "split"
    split = json.loads((folder / "train.parquet.meta.json").read_text())
    assert split["counts"]["no_target"] == NO_TARGET
    parts = [pd.read_parquet(folder / f"{name}.parquet") for name in ("train", "valid", "test")]
    assert sum(map(len, parts)) + split["counts"]["gap"] == len(session.rows) - NO_TARGET
    assert all(part["units"].notna().all() for part in parts)
    assert not any(part["date"].astype(str).isin(UNKNOWN_DAYS).any() for part in parts)
    raw = pd.read_parquet(session.project / "data/raw/sales/sales.parquet")
    assert len(raw) == len(session.rows) and raw["units"].isna().sum() == NO_TARGET


def test_the_report_is_written(session: Session) -> None:
    report = session.runs["report"]
    assert report.returncode == 0, report.output[-3000:]
    assert (session.project / RESULTS / "report.html").stat().st_size > 0


def test_new_sales_rows_are_scored_without_rerunning_the_pipeline(session: Session) -> None:
    predict = session.runs["predict"]
    assert predict.returncode == 0, predict.output[-3000:]
    assert predict.job_counts() == {"predict": 1}
    scored = pd.read_parquet(session.project / RESULTS / "predictions/next_week.parquet")
    assert list(scored.columns) == ["date", "store", "product", "predicted_units", "refused"]
    assert len(scored) == len(session.new) == NEW_DAYS * len(STORES) * len(PRODUCTS)
    assert scored["date"].astype(str).tolist() == session.new["date"].tolist()
    # Predicted the evening before (reach: 1 day): the first new day is scored; the later ones
    # would read yesterday's units, which no new row brings, so they are refused.
    first = scored["date"].astype(str) == session.new["date"].min()
    assert scored.loc[first, "predicted_units"].notna().all()
    assert scored.loc[first, "refused"].isna().all()
    assert scored.loc[~first, "predicted_units"].isna().all()
    assert (scored.loc[~first, "refused"] == "after_history").all()
    summary = json.loads(
        (session.project / RESULTS / "predictions/next_week.summary.json").read_text()
    )
    assert summary["rows"]["scored"] == len(STORES) * len(PRODUCTS)
    assert summary["refused"]["after_history"]["rows"] == (NEW_DAYS - 1) * len(STORES) * len(
        PRODUCTS
    )


def test_the_run_is_published_to_the_dvc_remote(session: Session) -> None:
    publish = session.runs["publish"]
    assert publish.returncode == 0, publish.output[-3000:]
    assert publish.job_counts() == {}, "publishing must not rerun the pipeline"
    staged = git(session.project, "diff", "--cached", "--name-only").output.split()
    assert {"data/raw.dvc", "results/runs.dvc", "results/shared.dvc"} <= set(staged)
    cloud = dvc(session.project, "status", "--cloud")
    assert cloud.returncode == 0 and "in sync" in cloud.output, cloud.output


def test_no_engine_file_changed(session: Session) -> None:
    assert len(session.engine_before) > 20
    assert session.engine_after == session.engine_before
    assert git(session.project, "status", "--porcelain", *ENGINE).output == ""


# Failures: each on a fresh copy, each one line that names what to fix.


@pytest.fixture
def user_project(tmp_path: Path) -> Path:
    return add_sales_dataset(copy_project(tmp_path / "project"))


def error_lines(text: str) -> list[str]:
    """snakeml's one-line errors: a rule's ERROR record, or the workflow's `snakeml:` exit."""
    return [line for line in text.splitlines() if " ERROR " in line or line.startswith("snakeml:")]


def assert_fails_before_any_job(run: Run, project: Path, *fragments: str) -> None:
    assert run.returncode != 0
    errors = error_lines(run.output)
    assert len(errors) == 1, run.output[-3000:]
    assert errors[0].startswith("snakeml: ")
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    assert not (project / "logs").exists() and not (project / "data/raw").exists()


def shared_log(project: Path, rule: str) -> str:
    """The log of the one ``rule`` job of the run: its jobs are in the shared folders
    (logs/shared/<rule>/<key>/), as the sales run is not the configured data set's."""
    found = sorted((project / "logs/shared" / rule).glob(f"*/{rule}/{rule}.log"))
    assert len(found) == 1, found
    return str(found[0].relative_to(project))


def assert_rule_fails(run: Run, project: Path, log: str, *fragments: str) -> str:
    """The rule's log holds one ERROR line with every fragment; stderr repeats it, and says it
    once more among the run's last lines, naming the log."""
    assert run.returncode != 0
    logged = error_lines((project / log).read_text())
    assert len(logged) == 1, (project / log).read_text()
    for fragment in fragments:
        assert fragment in logged[0], logged[0]
    assert logged[0].split(" ERROR ", 1)[1] in run.output
    said = logged[0].split(" ERROR ", 1)[1].strip().split(": ", 1)[1]
    assert f"snakeml: {said} (log: {log})" in run.output.splitlines()[-8:], run.output[-3000:]
    return logged[0]


SALES_2023, SALES_2024 = "data/sales/sales_2023.csv", "data/sales/sales_2024.csv"
# A spoil takes the 2024 file's rows (as text) and the project, and returns the rows to write.
Spoil = Callable[[pd.DataFrame, Path], pd.DataFrame]


def read_text_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def set_cell(column: str, value: str, row: int = 5) -> Spoil:
    def spoil(frame: pd.DataFrame, project: Path) -> pd.DataFrame:
        frame.loc[row, column] = value
        return frame

    return spoil


def repeat_a_2024_row(frame: pd.DataFrame, project: Path) -> pd.DataFrame:
    return pd.concat([frame, frame.iloc[[3]]])


def repeat_a_2023_row(frame: pd.DataFrame, project: Path) -> pd.DataFrame:
    return pd.concat([frame, read_text_csv(project / SALES_2023).iloc[[0]]])


def drop_price(frame: pd.DataFrame, project: Path) -> pd.DataFrame:
    return frame.drop(columns=["price"])


@pytest.mark.parametrize(
    ("spoil", "fragments"),
    [
        pytest.param(
            set_cell("price", "-4.5"),
            [SALES_2024, "column price", "1 rows lie outside [0, 1000]"],
            id="range",
        ),
        pytest.param(
            set_cell("store", "west_9"),
            [SALES_2024, "column store", "1 rows hold values not in ['north_1', 'north_2'"],
            id="accepted_values",
        ),
        pytest.param(
            repeat_a_2024_row,
            [SALES_2024, "column (store, product, date)", "1 rows repeat a key"],
            id="duplicate_key",
        ),
        pytest.param(
            set_cell("units", "twelve"),
            [SALES_2024, "column 'units'", "invalid value 'twelve'"],
            id="type",
        ),
        pytest.param(drop_price, [SALES_2024, "lacks declared columns ['price']"], id="missing"),
        pytest.param(
            repeat_a_2023_row,
            [f"{SALES_2023}, {SALES_2024}", "column (store, product, date)", "1 rows repeat"],
            id="duplicate_key_across_files",
        ),
    ],
)
def test_a_broken_csv_stops_ingest_with_one_line(
    user_project: Path, spoil: Spoil, fragments: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What rule ingest refuses, from what it runs: its slice's tables, ingest_tables. One case
    goes through snakemake (below): the log, the line said last, nothing written."""
    from snakeml.configuration.compose import compose_config
    from snakeml.core.errors import DataError
    from snakeml.core.schema import data_config
    from snakeml.data.ingest import ingest_tables

    path = user_project / SALES_2024
    spoil(read_text_csv(path), user_project).to_csv(path, index=False)
    tables = data_config(compose_config(OVERRIDES, user_project / "conf")["data"]).tables
    outputs = {name: user_project / f"data/raw/sales/{name}.parquet" for name in tables}
    monkeypatch.chdir(user_project)  # as the rule runs: in the project, its paths relative
    with pytest.raises(DataError) as caught:
        ingest_tables(tables, outputs)
    line = str(caught.value)
    for fragment in ("table sales", *fragments):
        assert fragment in line, line
    assert "\n" not in line
    if SALES_2023 not in fragments[0]:
        assert SALES_2023 not in line, "only the file that holds the bad row is named"
    assert not (user_project / "data/raw").exists()


def test_a_value_that_does_not_convert_stops_the_ingest_rule_with_one_line(
    user_project: Path,
) -> None:
    path = user_project / SALES_2024
    set_cell("units", "twelve")(read_text_csv(path), user_project).to_csv(path, index=False)
    run = snakemake(user_project, OVERRIDES)
    line = assert_rule_fails(
        run, user_project, "logs/ingest/sales.log", "ingest", "table sales", SALES_2024,
        "column 'units'", "invalid value 'twelve' on line 7",
    )  # fmt: skip
    assert SALES_2023 not in line, "only the file that holds the bad row is named"
    assert run.job_counts().get("ingest") == 1
    assert not [path for path in (user_project / "data/raw").rglob("*") if path.is_file()]


def test_a_missing_data_file_fails_before_any_job(user_project: Path) -> None:
    (user_project / "data/sales/stores.csv").unlink()
    run = snakemake(user_project, OVERRIDES)
    assert_fails_before_any_job(
        run, user_project, "data.tables.stores.path", "'data/sales/stores.csv' matches no file"
    )


@pytest.mark.parametrize(
    ("override", "fragments"),
    [
        ("task.target=revenue", ["task.target: 'revenue' is not a column", "sql/sales/"]),
        ("task.time=day", ["task.time: 'day' is not a column", "sql/sales/"]),
    ],
)
def test_a_task_column_missing_from_the_feature_table_fails_before_any_job(
    user_project: Path, override: str, fragments: list[str]
) -> None:
    run = snakemake(user_project, f"{OVERRIDES} {override}")
    assert_fails_before_any_job(run, user_project, *fragments)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        pytest.param(
            lambda sql: edit(
                sql / "steps.yaml",
                "  units_lag7:",
                "  units_lag14: {kind: numeric, family: history}\n  units_lag7:",
            ),
            ["sql/sales/features.sql", "lacks declared columns ['units_lag14']"],
            id="declared_not_made",
        ),
        pytest.param(
            lambda sql: edit(
                sql / "steps.yaml", "  units_lag7: {kind: numeric, family: history}\n", ""
            ),
            ["sql/sales/features.sql", "undeclared columns ['units_lag7']"],
            id="made_not_declared",
        ),
        pytest.param(
            lambda sql: edit(sql / "history.sql", "left join sales as week_before", "left jion"),
            ["sql/sales/history.sql", "the SQL step history fails", "syntax error"],
            id="syntax_error",
        ),
    ],
)
def test_a_broken_feature_step_fails_naming_its_sql_file(
    user_project: Path, change, fragments, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What rule features refuses, from what it runs: its slice, its tables and write_features.
    One case goes through snakemake (below): the log, the line said last, nothing written."""
    from snakeml.configuration.compose import compose_config
    from snakeml.configuration.slices import rule_slices
    from snakeml.core.errors import SnakemlError
    from snakeml.data.features import write_features
    from snakeml.data.ingest import ingest_tables

    change(user_project / "sql/sales")
    monkeypatch.chdir(user_project)  # as the rules run: in the project, its paths relative
    cfg = rule_slices(compose_config(OVERRIDES, user_project / "conf"), user_project)["features"]
    tables = {name: Path(f"data/raw/sales/{name}.parquet") for name in cfg.data.tables}
    ingest_tables(cfg.data.tables, tables)
    output = Path("results/features/features.parquet")
    with pytest.raises(SnakemlError) as caught:
        write_features(tables, Path("sql/sales"), output, cfg)
    line = str(caught.value)
    for fragment in fragments:
        assert fragment in line, line
    assert "\n" not in line
    assert not output.exists() and not list(output.parent.glob(".*"))


def test_a_failing_feature_step_stops_the_features_rule_with_one_line(user_project: Path) -> None:
    sql = user_project / "sql/sales"
    edit(sql / "history.sql", "left join sales as week_before", "left jion")
    run = snakemake(user_project, OVERRIDES)
    log = shared_log(user_project, "features")
    fragments = ["sql/sales/history.sql", "the SQL step history fails", "syntax error"]
    assert_rule_fails(run, user_project, log, "features", *fragments)
    assert not list((user_project / "results").rglob("features.parquet"))


def test_a_split_boundary_outside_the_data_fails_naming_it(user_project: Path) -> None:
    run = snakemake(user_project, f"{OVERRIDES} split.train_until=2022-06-01")
    assert_rule_fails(
        run,
        user_project,
        shared_log(user_project, "split"),
        "split.train_until=2022-06-01 lies outside the data's time range",
        "2023-01-01",
    )


def test_the_example_ships_the_csv_files_this_test_generates(tmp_path: Path) -> None:
    """A user copies tests/workflow/sales_example/ whole: its data/ is what the test runs on."""
    write_sales(tmp_path)
    shipped = EXAMPLE / "data/sales"
    names = sorted(path.name for path in (tmp_path / "data/sales").iterdir())
    assert names == ["sales_2023.csv", "sales_2024.csv", "stores.csv"]
    assert sorted(path.name for path in shipped.iterdir()) == names
    for name in names:
        assert (shipped / name).read_bytes() == (tmp_path / "data/sales" / name).read_bytes()
