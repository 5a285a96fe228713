"""Experiments' shared folders, their checks, and the comparison table."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from snakeml.configuration.slices import rule_slice_texts
from snakeml.core.errors import ConfigError
from snakeml.core.io import write_yaml
from snakeml.evaluation.compare import (
    TASK_COLUMNS,
    best_per_experiment,
    comparison_table,
    override_values,
    plot_comparison,
)
from snakeml.experiments.runs import (
    PLAIN_OUTPUTS,
    UPSTREAM,
    Experiment,
    configured_pair,
    experiments_on_disk,
    instance,
    job_index,
    pair_run,
    plain_roots,
    reading_plain_jobs,
    shared_roots,
)
from snakeml.experiments.sweep import Point, experiment_name
from snakeml.experiments.workflow_config import load_workflow_config, sweep_experiments


def texts(**changes: str) -> dict[str, str]:
    """Slice texts of one model, ``ridge``; ``changes`` replace single slices' texts."""
    slices = {"ingest": "i", "features": "f", "audit": "a", "split": "s"}
    slices |= {instance(rule, "ridge"): rule for rule in UPSTREAM if rule not in slices}
    return slices | {key.replace("__", "/"): text for key, text in changes.items()}


def test_equal_slices_give_equal_folders() -> None:
    assert shared_roots(texts(), ["ridge"]) == shared_roots(texts(), ["ridge"])
    roots = shared_roots(texts(), ["ridge"])
    assert roots["features"].startswith("/shared/features/")
    assert len(roots["train/ridge"].rsplit("/", 1)[1]) == 12


def test_a_change_moves_its_job_and_every_job_below_it_only() -> None:
    before = shared_roots(texts(), ["ridge"])
    after = shared_roots(texts(tune_shard__ridge="more trials"), ["ridge"])
    moved = {key for key in before if before[key] != after[key]}
    assert moved == {
        "tune_shard/ridge",
        "tune_best/ridge",
        "train/ridge",
        "evaluate/ridge",
        "importance/ridge",
    }
    # the raw data's settings reach everything
    changed_ingest = shared_roots(texts(ingest="other tables"), ["ridge"])
    assert all(changed_ingest[key] != before[key] for key in before)


def test_a_model_folder_differs_from_another_models_with_the_same_text() -> None:
    slices = texts() | {instance(rule, "hgb"): rule for rule in UPSTREAM if rule in texts()}
    slices |= {instance(r, "hgb"): r for r in ("tune_shard", "tune_best", "train")}
    slices |= {instance(r, "hgb"): r for r in ("evaluate", "importance")}
    roots = shared_roots(slices, ["hgb", "ridge"])
    assert roots["train/hgb"] != roots["train/ridge"]
    assert roots["features"] == shared_roots(texts(), ["ridge"])["features"]


def plain_run(results: Path, slices: dict[str, str], *rules: str) -> None:
    """The configured pair's run below ``results``: the slices and outputs of ``rules``."""
    (results / "configs").mkdir(parents=True, exist_ok=True)
    for rule in rules:
        (results / "configs" / f"{rule}.yaml").write_text(slices[rule])
        output = results / PLAIN_OUTPUTS[rule]
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(b"made")


def test_the_plain_runs_data_jobs_are_read_where_they_computed_the_same(tmp_path: Path) -> None:
    slices = texts()
    shared = shared_roots(slices, ["ridge"])
    plain_run(tmp_path, slices, "features", "audit", "split")
    assert plain_roots(shared, slices, tmp_path) == {
        **shared,
        "features": "",
        "audit": "",
        "split": "",
    }  # the model jobs keep their content's folders
    # another split setting: the split is the experiment's own, what it reads the plain run's
    other = texts(split="another fraction")
    roots = plain_roots(shared_roots(other, ["ridge"]), other, tmp_path)
    assert (roots["features"], roots["audit"]) == ("", "")
    assert roots["split"].startswith("/shared/split/")
    # another feature setting: nothing below it is the plain run's, even an equal split slice
    moved = texts(features="another window")
    assert plain_roots(shared_roots(moved, ["ridge"]), moved, tmp_path) == shared_roots(
        moved, ["ridge"]
    )
    # a plain run that has not written its split yet: the experiment's split is its own
    (tmp_path / PLAIN_OUTPUTS["split"]).unlink()
    assert plain_roots(shared, slices, tmp_path)["split"] == shared["split"]


def test_a_sweeps_experiments_read_the_plain_runs_data_jobs(tmp_path: Path) -> None:
    slices = texts()
    point = Experiment("a", (), (), ("ridge",), 1, slices, shared_roots(slices, ["ridge"]))
    plain_run(tmp_path, slices, "features", "audit")
    (read,) = reading_plain_jobs([point], tmp_path)
    assert (read.roots["features"], read.roots["audit"]) == ("", "")
    assert read.roots["split"] == point.roots["split"]
    jobs = job_index([read])
    assert jobs[read.roots["split"]].upstream == {"features": "", "audit": ""}


def test_the_config_keys_and_sweep_points_become_experiments(conf_dir: Path) -> None:
    from snakeml.configuration.compose import compose_config
    from snakeml.configuration.validate import declaration_of

    base = ["+experiment=smoke"]
    cfg = compose_config(base, conf_dir, estimators=False)
    declaration = declaration_of(cfg, conf_dir.parent)
    experiments = sweep_experiments(
        {"sweep": "tuning.n_trials=2,3 model=[ridge]"}, base, cfg, conf_dir, declaration
    )
    assert [e.name for e in experiments] == [
        "experiment-smoke_model-ridge__n_trials-2",
        "experiment-smoke_model-ridge__n_trials-3",
    ]
    first, second = experiments
    assert first.models == ("ridge",)
    assert first.overrides == ("+experiment=smoke", "model=[ridge]", "tuning.n_trials=2")
    assert first.roots["split"] == second.roots["split"]
    assert first.roots["tune_shard/ridge"] != second.roots["tune_shard/ridge"]
    plain = rule_slice_texts(cfg, declaration=declaration)
    assert first.slice_texts["split"] == plain["split"]
    jobs = job_index(experiments)
    assert len(jobs) == 3 + 2 * 5  # features, audit and split once, five model jobs per point
    train = jobs[first.roots["train/ridge"]]
    assert train.upstream == {
        "split": first.roots["split"],
        "tune_best": first.roots["tune_best/ridge"],
    }
    assert jobs[first.roots["tune_best/ridge"]].n_shards == cfg["tuning"]["n_shards"]
    assert first.record()["jobs"]["split"] == f"results{first.roots['split']}"
    assert sweep_experiments({}, base, cfg, conf_dir, declaration) == []
    # --config sweep= reaches the workflow as None: a sweep given empty, not no sweep
    with pytest.raises(ConfigError, match=r"^sweep: empty: give keys with several values"):
        sweep_experiments({"sweep": None}, base, cfg, conf_dir, declaration)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"sweep": "tuning.n_trials=2,3", "sweep_max_points": "0"}, "sweep_max_points='0'"),
        ({"sweep": "tuning.n_trials=2,3", "sweep_max_points": "x"}, "whole number"),
        ({"sweep": "nothing_here"}, "no file conf/sweep/nothing_here.yaml"),
        (
            {"sweep": "conf/sweep/horizons.yaml"},
            "^sweep=conf/sweep/horizons.yaml: give the name of a file in conf/sweep/, not a "
            "path: give sweep=horizons; sweep files: ['horizons']$",
        ),
        ({"sweep": "task=arr_delay,delayed model=[ridge]"}, "changes the task's kind"),
    ],
)
def test_bad_sweep_settings_are_refused(
    conf_dir: Path, config: dict[str, str], expected: str
) -> None:
    from snakeml.configuration.compose import compose_config
    from snakeml.configuration.validate import declaration_of

    cfg = compose_config([], conf_dir, estimators=False)
    declaration = declaration_of(cfg, conf_dir.parent)
    pattern = expected.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
    with pytest.raises(ConfigError, match=pattern):
        sweep_experiments(config, [], cfg, conf_dir, declaration)


def test_an_experiment_is_named_by_every_override_it_runs_with() -> None:
    point = Point(
        name="n_trials-2",
        overrides=("model=[ridge]", "tuning.n_trials=2"),
        choices=(("tuning.n_trials", "2"),),
    )
    assert experiment_name(point) == "model-ridge__n_trials-2"
    assert experiment_name(point, ["+experiment=smoke"]) == (
        "experiment-smoke_model-ridge__n_trials-2"
    )
    bare = Point(name="n_trials-2", overrides=("tuning.n_trials=2",), choices=point.choices)
    assert experiment_name(bare) == "n_trials-2"
    long = experiment_name(bare, [f"+k{i}=value{i}" for i in range(30)])
    assert len(long) == 120 and long[-9] == "-"


def write_experiment(
    folder: Path,
    name: str,
    overrides: list[str],
    rows: list[dict],
    task: tuple[str, str, str] = ("nycflights13", "arr_delay", "rmse"),
) -> None:
    record = {"name": name, "overrides": overrides, **dict(zip(TASK_COLUMNS, task, strict=True))}
    write_yaml(folder / name / "configs/experiment.yaml", record)
    pd.DataFrame(rows).to_csv(folder / name / "leaderboard.csv", index=False)


def test_the_comparison_shows_the_overrides_that_differ_then_the_metrics(tmp_path: Path) -> None:
    rows = [
        {"model": "hgb", "kind": "model", "rmse": 40.0},
        {"model": "ridge", "kind": "model", "rmse": 42.0},
        {"model": "baseline_mean", "kind": "baseline", "rmse": 47.0},
    ]
    write_experiment(tmp_path, "a", ["+experiment=smoke", "model=[hgb,ridge]"], rows)
    write_experiment(
        tmp_path, "b", ["+experiment=smoke", "model=[ridge]", "seed=1"], [rows[1], rows[2]]
    )
    (tmp_path / "c/configs").mkdir(parents=True)  # a stopped experiment: no leaderboard
    assert experiments_on_disk(tmp_path.parent / tmp_path.name) == []  # not results/experiments
    table = comparison_table(tmp_path, ["a", "b", "c"])
    assert list(table.columns) == [
        "experiment",
        *TASK_COLUMNS,
        "override.model",
        "seed",
        "model",
        "kind",
        "rmse",
    ]
    assert table["experiment"].tolist() == ["a", "a", "a", "b", "b"]
    assert table["override.model"].tolist()[2:4] == ["[hgb,ridge]", "[ridge]"]
    assert table["seed"].fillna("").astype(str).tolist() == ["", "", "", "1", "1"]
    best = best_per_experiment(table, "rmse")
    assert best[["experiment", "model"]].values.tolist() == [["a", "hgb"], ["b", "ridge"]]
    greater = table.assign(r2=[0.3, 0.1, -0.1, 0.2, -0.1])
    assert best_per_experiment(greater, "r2")["model"].tolist() == ["hgb", "ridge"]
    plot_comparison(table, tmp_path / "comparison.png")
    assert (tmp_path / "comparison.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ConfigError, match="no log_loss column"):
        best_per_experiment(table, "log_loss")
    with pytest.raises(ConfigError, match="has a leaderboard"):
        comparison_table(tmp_path, ["c"])


def test_experiments_on_disk_need_a_record_and_a_leaderboard(tmp_path: Path) -> None:
    folder = tmp_path / "experiments"
    write_experiment(folder, "a", ["seed=1"], [{"model": "m", "kind": "model", "rmse": 1.0}])
    write_yaml(folder / "b/configs/experiment.yaml", {"name": "b", "overrides": []})
    assert experiments_on_disk(tmp_path) == ["a"]


def test_override_values_keep_the_last_and_read_deletions() -> None:
    assert override_values(["+a.b=1", "a.b=2", "~c", "model=[x,y]"]) == {
        "a.b": "2",
        "c": "deleted",
        "model": "[x,y]",
    }


def test_experiments_of_other_data_sets_or_tasks_are_kept_apart(tmp_path: Path) -> None:
    regression = [{"model": "hgb", "kind": "model", "rmse": 40.0, "r2": 0.2}]
    classes = [
        {"model": "hgbc", "kind": "model", "log_loss": 0.40, "accuracy": 0.88},
        {"model": "baseline_prior", "kind": "baseline", "log_loss": 0.93, "accuracy": 0.62},
    ]
    write_experiment(tmp_path, "flights", ["seed=1"], regression)
    write_experiment(
        tmp_path,
        "cars",
        ["data=cars", "task=cars_origin"],
        classes,
        ("cars", "cars_origin", "log_loss"),
    )
    table = comparison_table(tmp_path, ["flights", "cars"])
    assert table[["experiment", "data", "task", "metric"]].drop_duplicates().values.tolist() == [
        ["flights", "nycflights13", "arr_delay", "rmse"],
        ["cars", "cars", "cars_origin", "log_loss"],
    ]
    # the data set and task are columns of their own, not overrides that differ
    assert "override.data" not in table.columns and "override.task" not in table.columns
    plot_comparison(table, tmp_path / "comparison.png")
    assert (tmp_path / "comparison.png").read_bytes()[:4] == b"\x89PNG"


def test_a_run_of_another_pair_is_routed_to_its_own_folder(conf_dir: Path) -> None:
    from snakeml.configuration.compose import compose_config
    from snakeml.configuration.validate import declaration_of

    configured = configured_pair(conf_dir)
    assert configured == ("nycflights13", "arr_delay")
    cfg = compose_config(["+experiment=smoke"], conf_dir, estimators=False)
    assert pair_run(cfg, rule_slice_texts(cfg), ["+experiment=smoke"], configured) is None

    runs = {}
    for task in ("cars_origin", "cars_mpg"):
        overrides = ["+experiment=smoke", "data=cars", f"task={task}"]
        other = compose_config(overrides, conf_dir, estimators=False)
        slices = rule_slice_texts(other, declaration=declaration_of(other, conf_dir.parent))
        runs[task] = pair_run(other, slices, overrides, configured)
    origin, mpg = runs["cars_origin"], runs["cars_mpg"]
    assert origin.root == "/runs/cars/cars_origin" and mpg.root == "/runs/cars/cars_mpg"
    assert origin.name == "cars/cars_origin" and mpg.overrides[-1] == "task=cars_mpg"
    # Another task of the data set reads the same feature table, and nothing below it.
    assert origin.roots["features"] == mpg.roots["features"]
    assert origin.roots["split"] != mpg.roots["split"]
    assert mpg.record()["task"] == "cars_mpg"
    assert type(origin).from_data(origin.as_data()) == origin
    # as_data always writes the folder: data without it is not an experiment's
    unrouted = {key: value for key, value in origin.as_data().items() if key != "folder"}
    with pytest.raises(KeyError, match="folder"):
        type(origin).from_data(unrouted)


def test_a_task_switch_reads_the_configured_runs_feature_table(
    conf_dir: Path, tmp_path: Path
) -> None:
    from snakeml.configuration.compose import compose_config
    from snakeml.configuration.validate import declaration_of

    configured = configured_pair(conf_dir)
    overrides = ["+experiment=smoke", "task=delayed"]
    cfg = compose_config(overrides, conf_dir, estimators=False)
    slices = rule_slice_texts(cfg, declaration=declaration_of(cfg, conf_dir.parent))
    alone = pair_run(cfg, slices, overrides, configured, tmp_path)
    assert alone.roots["features"].startswith("/shared/features/")
    (tmp_path / "features").mkdir()
    (tmp_path / "features/features.parquet").write_bytes(b"table")
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs/features.yaml").write_text(slices["features"] + "other: 1\n")
    assert pair_run(cfg, slices, overrides, configured, tmp_path).roots == alone.roots
    (tmp_path / "configs/features.yaml").write_text(slices["features"])
    beside = pair_run(cfg, slices, overrides, configured, tmp_path)
    assert beside.roots == {**alone.roots, "features": ""}  # the keys below stay the content's
    jobs = job_index([beside])
    assert "" not in jobs and jobs[beside.roots["audit"]].upstream == {"features": ""}
    assert jobs[beside.roots["split"]].upstream == {"features": "", "audit": beside.roots["audit"]}


def test_a_defaults_list_without_a_data_set_or_task_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("defaults:\n  - data: cars\n  - _self_\n")
    with pytest.raises(ConfigError, match=r"chooses no task: add '- task: <name>'$"):
        configured_pair(tmp_path)


@pytest.fixture(scope="module")
def sweep_project(conf_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's conf/, sql/ and reference data, with an empty sweep file."""
    root = tmp_path_factory.mktemp("sweeps")
    for part in ("conf", "sql", "data/reference"):
        shutil.copytree(conf_dir.parent / part, root / part)
    (root / "conf/sweep").mkdir(exist_ok=True)
    (root / "conf/sweep/empty.yaml").write_text("params: {}\n")
    return root


@pytest.mark.parametrize(
    ("sweep", "extra", "expected"),
    [
        ("tuning.n_trials=2,-1", {}, "sweep point n_trials--1: tuning.n_trials"),
        ("seed=13,013", {}, "resolve to the same configuration"),
        ("empty", {}, "conf/sweep/empty.yaml: a sweep file holds params"),
        ("", {}, "sweep: empty: give keys with several values"),
        ("tuning.n_trails=2,3", {}, "n_trails"),
        (
            "tuning.n_trials=2,3,4",
            {"sweep_max_points": "2"},
            "3 points, more than the maximum of 2",
        ),
        ("task=arr_delay,delayed model=[ridge]", {}, "changes the task's kind"),
        ("data=nycflights13,seattle_weather", {}, "sweep point data-seattle_weather: task.target"),
        ("tuning.n_trials=2", {}, "gives each key one value"),
        ("no_such_sweep", {}, "sweep=no_such_sweep: no file conf/sweep/no_such_sweep.yaml"),
    ],
)
def test_a_bad_sweep_of_the_workflow_is_one_line(
    sweep_project: Path, sweep: str, extra: dict[str, str], expected: str
) -> None:
    """What the workflow reads from ``--config sweep=...``, as the Snakefile reads it (the
    workflow test runs one case through snakemake)."""
    config = {"overrides": "+experiment=smoke", "sweep": sweep, **extra}
    with pytest.raises(ConfigError) as caught:
        load_workflow_config(config, sweep_project)
    assert expected in str(caught.value) and "\n" not in str(caught.value), str(caught.value)
