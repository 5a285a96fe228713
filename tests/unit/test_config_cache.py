"""snakeml.configuration.cache: the workflow's configurations read back only while nothing they
depend on changed (conf/, sql/, overrides, sweep, code), and recomposed otherwise."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import omegaconf
import pytest
import yaml
from conftest import REPO

import snakeml.configuration.compose as compose_module
import snakeml.configuration.validate as validate_module
import snakeml.experiments.workflow_config as workflow_module
from snakeml.configuration import cache as config_cache
from snakeml.configuration.cache import cache_key, read_cache, write_cache
from snakeml.core import schema
from snakeml.core.errors import ConfigError
from snakeml.experiments.workflow_config import WorkflowConfig, load_workflow_config

SMOKE = {"overrides": "+experiment=smoke"}


@pytest.fixture
def project(tmp_path):
    """A copy of the project's conf/, sql/ and reference data: tests may edit it."""
    for folder in ("conf", "sql", "data/reference"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    return tmp_path


@pytest.fixture
def composed(monkeypatch):
    """The overrides of each composition load_workflow_config makes (not of a cache hit)."""
    calls: list[list[str]] = []
    compose = workflow_module.compose_config

    def spy(overrides, *args, **kwargs):
        calls.append(list(overrides))
        return compose(overrides, *args, **kwargs)

    monkeypatch.setattr(workflow_module, "compose_config", spy)  # the run's own
    # each point's (snakeml.experiments.sweep)
    monkeypatch.setattr(compose_module, "compose_config", spy)
    return calls


def cache_dir(root: Path) -> Path:
    return root / config_cache.CACHE_DIR


def entries(root: Path) -> list[Path]:
    """The cache's entries, one file per configuration."""
    folder = cache_dir(root)
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def cache_file(root: Path) -> Path:
    """The only entry of the cache."""
    (entry,) = entries(root)
    return entry


def load(root: Path, config: dict | None = None) -> WorkflowConfig:
    return load_workflow_config(dict(SMOKE if config is None else config), root, cache_dir(root))


def set_n_trials(root: Path, n_trials: int) -> None:
    """Set n_trials in conf/tuning/default.yaml, its comments kept."""
    path = root / "conf" / "tuning" / "default.yaml"
    text = path.read_text(encoding="utf-8")
    old = f"\nn_trials: {yaml.safe_load(text)['n_trials']}\n"
    assert old in text
    path.write_text(text.replace(old, f"\nn_trials: {n_trials}\n"), encoding="utf-8")


def test_a_second_load_reads_the_cache_and_gives_the_same_configuration(project, composed):
    first = load(project)
    assert composed == [["+experiment=smoke"]]
    assert cache_file(project).is_file()
    second = load(project)
    assert composed == [["+experiment=smoke"]]  # not composed again
    assert second == first
    assert second.slice_texts == first.slice_texts and "train/ridge" in second.slice_texts
    assert second.feature_sql[-1] == "sql/nycflights13/steps.yaml"
    assert second.config_files[-1] == "conf/experiment/smoke.yaml"


def test_without_a_cache_file_every_load_composes(project, composed):
    load_workflow_config(dict(SMOKE), project)
    load_workflow_config(dict(SMOKE), project)
    assert len(composed) == 2
    assert entries(project) == []


def test_a_changed_conf_file_recomposes(project, composed):
    set_n_trials(project, 7)
    assert load(project, {}).cfg["tuning"]["n_trials"] == 7
    set_n_trials(project, 9)
    again = load(project, {})
    assert len(composed) == 2
    assert again.cfg["tuning"]["n_trials"] == 9
    assert "n_trials: 9" in again.slice_texts["tune_shard/ridge"]


def test_changed_overrides_recompose_and_going_back_reads_the_cache(project, composed):
    assert load(project, {"overrides": "tuning.n_trials=3"}).cfg["tuning"]["n_trials"] == 3
    assert load(project, {"overrides": "tuning.n_trials=4"}).cfg["tuning"]["n_trials"] == 4
    assert len(composed) == 2
    assert load(project, {"overrides": "tuning.n_trials=3"}).cfg["tuning"]["n_trials"] == 3
    assert load(project, {"overrides": "tuning.n_trials=4"}).cfg["tuning"]["n_trials"] == 4
    assert len(composed) == 2
    assert len(entries(project)) == 2


def test_the_cache_keeps_the_most_recently_used_configurations(project, composed, monkeypatch):
    monkeypatch.setattr(config_cache, "MAX_ENTRIES", 2)
    for n_trials in (3, 4):
        load(project, {"overrides": f"tuning.n_trials={n_trials}"})
    load(project, {"overrides": "tuning.n_trials=3"})  # used again: 4 is now the oldest
    load(project, {"overrides": "tuning.n_trials=5"})
    assert len(entries(project)) == 2
    assert len(composed) == 3
    load(project, {"overrides": "tuning.n_trials=3"})
    assert len(composed) == 3  # kept
    load(project, {"overrides": "tuning.n_trials=4"})
    assert len(composed) == 4  # removed, composed again


def test_a_copy_of_the_project_reads_what_the_original_composed(project, composed, tmp_path):
    first = load(project)
    copy = tmp_path / "elsewhere" / "project"
    shutil.copytree(project, copy)
    assert load(copy) == first
    assert len(composed) == 1


def test_a_configuration_naming_the_project_folder_is_never_cached(project, composed):
    path = project / "conf" / "tracking" / "default.yaml"
    text = path.read_text(encoding="utf-8")
    assert "experiment: snakeml" in text
    path.write_text(text.replace("experiment: snakeml", f"experiment: {project.resolve()}/runs"))
    load(project)
    load(project)
    assert len(composed) == 2
    assert entries(project) == []


def test_an_overrides_file_is_read_each_time(project, composed):
    overrides = project / "overrides.txt"
    overrides.write_text("tuning.n_trials=5\n")
    assert load(project, {"overrides_file": str(overrides)}).cfg["tuning"]["n_trials"] == 5
    overrides.write_text("tuning.n_trials=6\n")
    assert load(project, {"overrides_file": str(overrides)}).cfg["tuning"]["n_trials"] == 6
    assert len(composed) == 2


def categorical_columns(loaded: WorkflowConfig) -> list[str]:
    return yaml.safe_load(loaded.slice_texts["train/ridge"])["columns"]["categorical"]


def test_a_changed_sql_declaration_recomposes(project, composed):
    assert "plane_engine" in categorical_columns(load(project))
    steps = project / "sql" / "nycflights13" / "steps.yaml"
    data = yaml.safe_load(steps.read_text(encoding="utf-8"))
    data["features"].pop("plane_engine")
    steps.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert "plane_engine" not in categorical_columns(load(project))
    assert len(composed) == 2


def test_changed_code_changes_the_key(project, tmp_path, monkeypatch):
    code = tmp_path / "code" / "snakeml"
    code.mkdir(parents=True)
    (code / "config.py").write_text("A = 1\n")
    monkeypatch.setattr(config_cache, "PACKAGE_DIR", code)
    before = cache_key(project, {"overrides": []})
    (code / "__pycache__").mkdir()
    (code / "__pycache__" / "config.cpython-311.pyc").write_bytes(b"compiled")
    assert cache_key(project, {"overrides": []}) == before  # compiled files aside
    (code / "config.py").write_text("A = 2\n")
    assert cache_key(project, {"overrides": []}) != before


def test_the_key_follows_the_sweep_and_the_installed_packages(project, monkeypatch):
    plain = cache_key(project, {"overrides": [], "sweep": None})
    assert cache_key(project, {"overrides": [], "sweep": "tuning.n_trials=2,3"}) != plain
    monkeypatch.setattr(config_cache, "_distributions", lambda: ["scikit_learn-9.9.dist-info"])
    assert cache_key(project, {"overrides": [], "sweep": None}) != plain


def test_a_configuration_reading_the_environment_is_never_cached(project, composed):
    path = project / "conf" / "tracking" / "default.yaml"
    text = path.read_text(encoding="utf-8")
    assert "experiment: snakeml" in text
    path.write_text(text.replace("experiment: snakeml", "experiment: ${oc.env:USER,snakeml}"))
    assert cache_key(project, {"overrides": []}) is None
    load(project)
    load(project)
    assert len(composed) == 2
    assert entries(project) == []


def test_an_unreadable_file_under_conf_means_no_key(project, monkeypatch):
    read_bytes = Path.read_bytes

    def refuse(path):
        if path.name == "config.yaml":
            raise PermissionError(13, "Permission denied")
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    assert cache_key(project, {"overrides": []}) is None


@pytest.mark.parametrize(
    "damage",
    [
        b"\x00\xff not json",
        b'{"key": "',
        b"[]",
        b'{"key": "KEY", "value": {"overrides": ["+experiment=smoke"]}}',
        b'{"key": "KEY", "value": {"overrides": 1, "cfg": 2, "slice_texts": 3, '
        b'"feature_sql": 4, "experiments": 5}}',
    ],
)
def test_a_damaged_cache_file_is_ignored_and_rewritten(project, composed, damage):
    first = load(project)
    stored = json.loads(cache_file(project).read_text(encoding="utf-8"))
    cache_file(project).write_bytes(damage.replace(b"KEY", stored["key"].encode()))
    again = load(project)
    assert again == first
    assert len(composed) == 2
    assert json.loads(cache_file(project).read_text(encoding="utf-8")) == stored
    load(project)
    assert len(composed) == 2


def test_a_bad_configuration_is_not_cached_and_fails_each_time(project, composed):
    bad = {"overrides": "tuning.n_trials=-1"}
    for _ in range(2):
        with pytest.raises(ConfigError, match=r"^tuning\.n_trials = -1: must be an integer >= 1"):
            load(project, bad)
    assert len(composed) == 2
    assert entries(project) == []


def test_a_missing_table_file_fails_with_a_cached_configuration(project):
    load(project)
    shutil.rmtree(project / "data" / "reference")
    with pytest.raises(ConfigError, match=r"^data\.tables\.holidays\.path: .* matches no file"):
        load(project)


def test_a_model_package_gone_fails_with_a_cached_configuration(project, monkeypatch):
    load(project)
    find_spec = validate_module.importlib.util.find_spec
    monkeypatch.setattr(
        validate_module.importlib.util,
        "find_spec",
        lambda name, *args: None if name == "sklearn" else find_spec(name, *args),
    )
    with pytest.raises(ConfigError, match=r"^model\.\w+\._target_: 'sklearn\."):
        load(project)


def test_a_sweep_is_cached_with_its_experiments(project, composed):
    config = {**SMOKE, "sweep": "tuning.n_trials=2,3 model=[ridge]"}
    first = load(project, config)
    assert len(composed) == 3  # the run's own configuration and each point's
    assert [e.config["tuning"]["n_trials"] for e in first.experiments] == [2, 3]
    second = load(project, config)
    assert len(composed) == 3
    assert second.experiments == first.experiments
    assert [e.config for e in second.experiments] == [e.config for e in first.experiments]
    assert isinstance(second.experiments[0].choices[0], tuple)
    other = load(project, {**config, "sweep": "tuning.n_trials=2,4 model=[ridge]"})
    assert [e.config["tuning"]["n_trials"] for e in other.experiments] == [2, 4]


def test_only_what_json_gives_back_equal_is_written(tmp_path):
    folder = tmp_path / "cache"
    assert not write_cache(folder, "k", {"a": (1, 2)})
    assert not write_cache(folder, "k", {"a": float("nan")})
    assert not folder.exists()
    assert write_cache(folder, "k", {"a": [1, 2]})
    assert read_cache(folder, "k") == {"a": [1, 2]}
    assert read_cache(folder, "other") is None


def test_the_schema_marks_a_required_value_as_omegaconf_does():
    assert schema.MISSING == omegaconf.MISSING


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"sweep": None}, "sweep: empty: give keys with several values"),
        ({"sweep_max_points": "0"}, "sweep_max_points='0': give a whole number of points"),
    ],
)
def test_sweep_arguments_are_checked_before_the_cache_is_read(project, extra, message):
    """The plain run's cache never answers for --config sweep= or a bad sweep_max_points."""
    load(project)
    assert cache_file(project).is_file()
    with pytest.raises(ConfigError, match=f"^{message}"):
        load(project, {**SMOKE, **extra})
