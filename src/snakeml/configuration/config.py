"""Compose the Hydra configuration once, validate it, and cut it into per-rule slices.

The workflow reaches it through snakeml.experiments.workflow_config (with a sweep's points and the
cache). Only the workflow and the tests call this module: scripts read the YAML slice their rule was
given and never call Hydra.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from snakeml.configuration.settings import check_model_settings, check_settings
from snakeml.core.errors import ConfigError, SettingError, closest_name
from snakeml.core.io import dump_yaml, write_text_if_changed
from snakeml.core.schema import (
    PERIODS,
    PREPROCESSORS,
    PRUNERS,
    SEARCH_TYPES,
    STRATEGIES,
    TASK_KINDS,
    TIMELESS,
    default_strategy,
    register_schema,
    schema_bounds,
)
from snakeml.data.dataset import (
    DECLARATION,
    Declaration,
    check_data,
    check_task,
    check_task_baselines,
    load_declaration,
    parse_interval,
    selected_features,
    table_files,
)
from snakeml.models.task_kinds import TaskKind, task_kind

DEFAULT_CONFIG_DIR = Path(__file__).resolve().parents[3] / "conf"
SLICE_HEADER = "# Resolved by snakeml from conf/ for one rule. Do not edit: edit conf/ instead.\n"
_TARGET_PATTERN = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+$")


def parse_overrides(overrides: str | Sequence[str] | None) -> list[str]:
    """Split a Hydra override string such as ``"tuning.n_trials=5 split.test_months=[12]"``."""
    if overrides is None:
        return []
    if isinstance(overrides, str):
        try:
            return shlex.split(overrides)
        except ValueError as exc:
            raise ConfigError(
                f"cannot parse overrides {overrides!r}: {exc}; put a value with quotes or "
                "spaces in a file, one override per line, and pass --config overrides_file=<file>"
            ) from exc
    return [str(item) for item in overrides]


# The keys `snakemake --config` may set: Hydra overrides in one string, or in a file; a sweep
# (snakeml.experiments.sweep) and the most points it may have.
CONFIG_KEYS: tuple[str, ...] = ("overrides", "overrides_file", "sweep", "sweep_max_points")


def workflow_overrides(config: dict[str, Any]) -> list[str]:
    """The Hydra overrides of ``snakemake --config ...``, checked.

    ``overrides`` is one string in Hydra's grammar, split like a shell line; ``overrides_file``
    names a file with one override per line, taken verbatim (quotes and spaces included, for
    values the command line cannot carry), applied first. Raises ConfigError for any other key
    (a typo, or a target written after --config) and for an unreadable file.
    """
    unknown = [str(key) for key in config if key not in CONFIG_KEYS]
    if unknown:
        raise ConfigError(
            f'unknown --config key(s) {unknown}: snakeml takes overrides="key=value ...", '
            'overrides_file=<file>, sweep="key=a,b ..." or <conf/sweep name> and '
            "sweep_max_points=N; targets and options go before --config, e.g. snakemake "
            '--cores 2 results/predictions/new.parquet --config overrides="..."'
        )
    lines: list[str] = []
    if config.get("overrides_file"):
        path = Path(str(config["overrides_file"]))
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"overrides_file: cannot read {path}: {exc.strerror}") from None
        lines = [
            line.strip()
            for line in text.splitlines()
            if line.strip() and not line.strip().startswith("#")
        ]
    value = config.get("overrides")
    if value is None or value == "":
        items = lines
    elif isinstance(value, list | tuple):
        items = [*lines, *(str(item) for item in value)]
    else:
        items = [*lines, *parse_overrides(str(value))]
    for item in items:
        if "=" not in item and not item.startswith("~"):
            raise ConfigError(
                f"override {item!r} is not key=value (Hydra's grammar), e.g. "
                '--config overrides="tuning.n_trials=5 model=[ridge]"'
            )
    return items


def check_installed(cfg: dict[str, Any], root: str | Path) -> None:
    """The checks of ``validate_config`` that read more than conf/ and sql/: each table's files
    exist under the project (or its package is installed), each model's package is installed.

    A configuration read back from snakeml.configuration.cache passes these again. Raises
    ConfigError.
    """
    for table, spec in cfg["data"]["tables"].items():
        table_files(table, spec, root)
    for name, spec in cfg["model"].items():
        _check_importable(f"model.{name}", spec["_target_"])


def _one_line(exc: BaseException) -> str:
    """Hydra and OmegaConf errors span several lines and causes; keep the lines that name it."""
    noise = ("full_key:", "object_type", "reference_type", "Set the", "provider=", "Config search")
    lines: list[str] = []
    cause: BaseException | None = exc
    while cause is not None:
        for line in str(cause).splitlines():
            line = line.strip()
            if line and not line.startswith(noise) and line not in lines:
                lines.append(line)
        cause = cause.__cause__
    return " | ".join(lines) if lines else type(exc).__name__


def _options_hint(exc: BaseException, config_dir: Path) -> str:
    """For an unknown option of a config group, list the options that exist."""
    match = re.search(r"Could not (?:load|find) '([\w/]+)/(\w+)'", str(exc))
    if not match or not (config_dir / match.group(1)).is_dir():
        return ""
    options = sorted(p.stem for p in (config_dir / match.group(1)).glob("*.yaml"))
    close = closest_name(match.group(2), options)
    meant = f"did you mean {match.group(1)}={close}? " if close else ""
    return f" | {meant}choose from {options} (conf/{match.group(1)}/*.yaml)"


def looks_like_path(value: str) -> bool:
    return (
        "/" in value or "\\" in value or value.startswith(".") or value.endswith((".yaml", ".yml"))
    )


def refuse_paths_for_names(items: Sequence[str], config_dir: str | Path) -> None:
    """Refuse an override that gives a config group a file path instead of an option's name.

    ``model=conf/model/ridge.yaml`` or ``task=./arr_delay`` raises ConfigError, one line, with
    the override to give instead (when the path names an option) and the options there are.
    """
    config_dir = Path(config_dir)
    for item in items:
        key, _, value = item.partition("=")
        prefix, key = key[: len(key) - len(key.lstrip("+~"))], key.lstrip("+~")
        folder = config_dir / key
        if not key or not folder.is_dir():
            continue
        listed = value.strip().removeprefix("[").removesuffix("]")
        choices = [choice.strip() for choice in listed.split(",")]
        if not any(looks_like_path(choice) for choice in choices):
            continue
        options = sorted(path.stem for path in folder.glob("*.yaml"))
        names = [Path(choice).stem if looks_like_path(choice) else choice for choice in choices]
        instead = ",".join(names)
        if value.strip().startswith("["):
            instead = f"[{instead}]"
        hint = f"give {prefix}{key}={instead}; " if all(name in options for name in names) else ""
        raise ConfigError(
            f"{item}: {key} takes the name of a file in conf/{key}/, not a path: {hint}"
            f"choose from {options}"
        )


def compose_config(
    overrides: str | Sequence[str] | None = None,
    config_dir: str | Path = DEFAULT_CONFIG_DIR,
    estimators: bool = True,
) -> dict[str, Any]:
    """Compose ``conf/config.yaml`` with Hydra overrides, type-check and validate it.

    Returns the resolved configuration as plain data. Raises ConfigError naming the bad key; a
    setting out of its range (SettingError) also says which file sets it. With ``estimators``
    false the models' params are not checked against scikit-learn's constraints (see
    ``check_estimator_settings``), which keeps scikit-learn out of the import.
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    config_dir = Path(config_dir).resolve()
    if not (config_dir / "config.yaml").is_file():
        raise ConfigError(f"no config.yaml in {config_dir}: run from the project's root")
    items = parse_overrides(overrides)
    refuse_paths_for_names(items, config_dir)
    register_schema()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
            cfg = compose(config_name="config", overrides=items)
        data = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    except (HydraException, OmegaConfBaseException) as exc:
        wrong = refused_setting(exc)
        if wrong is not None:
            raise wrong.with_hint(setting_source(wrong.key, items, config_dir)) from exc
        _explain_unknown_override(exc, items, config_dir)
        _explain_unknown_file_key(exc, config_dir)
        message, hint = _one_line(exc), _options_hint(exc, config_dir)
        if hint:  # ours lists the options once, with where they live
            message = message.split(" | Available options")[0]
        raise ConfigError(f"invalid configuration: {message}{hint}") from exc
    finally:
        GlobalHydra.instance().clear()
    assert isinstance(data, dict)
    _refuse_unknown_keys(data, items, config_dir)
    fill_metric_defaults(data)
    try:
        validate_config(
            data,
            config_dir.parent,
            estimators=estimators,
            task_file=setting_file("task.name", items, config_dir),
        )
    except SettingError as exc:
        raise exc.with_hint(setting_source(exc.key, items, config_dir)) from None
    return data


def composed_files(
    overrides: str | Sequence[str] | None = None, config_dir: str | Path = DEFAULT_CONFIG_DIR
) -> list[str]:
    """The files under ``config_dir`` that Hydra composes the configuration from.

    Hydra's own defaults list for ``config.yaml`` and the overrides: config.yaml, each chosen
    option of each group (``conf/model/hgb.yaml``) and any overlay (``conf/experiment/smoke
    .yaml``), in the order Hydra merges them, as paths relative to the folder above
    ``config_dir`` (``conf/...``). Configs that are not files (the registered schema, Hydra's
    own) are left out. Call it on overrides ``compose_config`` accepted: a bad one raises
    Hydra's error.
    """
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import RunMode

    config_dir = Path(config_dir).resolve()
    register_schema()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
            defaults = (
                GlobalHydra.instance()
                .config_loader()
                .compute_defaults_list("config", parse_overrides(overrides), RunMode.RUN)
            )
    finally:
        GlobalHydra.instance().clear()
    files = [
        config_dir / f"{item.config_path}.yaml"
        for item in defaults.defaults
        if item.config_path is not None
    ]
    return [
        str(path.relative_to(config_dir.parent)) for path in dict.fromkeys(files) if path.is_file()
    ]


def _explain_unknown_override(exc: BaseException, items: Sequence[str], config_dir: Path) -> None:
    """Hydra's refusal of an override of a key the schema lacks, as ``_refuse_unknown_keys``'s.

    Hydra says ``Could not override 'tuning.n_trails'`` and suggests appending it with ``+``,
    which the schema refuses too: compose once more with the key appended, so the line names
    the key, the closest known one and every known one. Returns when that does not apply.
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    match = re.match(r"Could not override '([^']+)'", str(exc))
    if match is None:
        return
    key = match.group(1)
    appended = [f"+{item}" if item.partition("=")[0] == key else item for item in items]
    if appended == list(items):
        return
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
            cfg = compose(config_name="config", overrides=appended)
        data = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    except (HydraException, OmegaConfBaseException):
        return
    finally:
        GlobalHydra.instance().clear()
    assert isinstance(data, dict)
    _refuse_unknown_keys(data, items, config_dir)


def _explain_unknown_file_key(exc: BaseException, config_dir: Path) -> None:
    """A conf/ file's key the schema lacks, as one line naming the file, the key and the known.

    Hydra reports it as ``In 'data/energy': ConfigKeyError raised while composing config: Key
    'not_nul' not in 'TableConfig'``; OmegaConf's error behind it has the whole key. Returns
    when ``exc`` is about anything else.
    """
    import dataclasses

    from omegaconf.errors import ConfigKeyError

    from snakeml.core import schema

    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ConfigKeyError) and getattr(cause, "full_key", None):
            break
        cause = cause.__cause__ or cause.__context__
    else:
        return
    cls = getattr(schema, str(getattr(cause, "object_type_str", "")), None)
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        return
    key = str(cause.full_key)
    known = sorted(field.name for field in dataclasses.fields(cls))
    where = re.search(r"In '([^']+)'", str(exc))
    file = f"conf/{where.group(1)}.yaml" if where else f"the files of {config_dir.name}/"
    raise ConfigError(_no_such_setting(key, known, f"fix it in {file}")) from None


def _no_such_setting(key: str, known: Sequence[str], fix: str) -> str:
    """``<key>: no such setting (did you mean <closest>? <parent> has <known>); <fix>``."""
    parent, _, name = key.rpartition(".")
    close = closest_name(name, known)
    meant = f"did you mean {parent + '.' if parent else ''}{close}? " if close else ""
    return (
        f"{key}: no such setting ({meant}{parent or 'the configuration'} has "
        f"{', '.join(known)}); {fix}"
    )


def _refuse_unknown_keys(data: dict[str, Any], items: Sequence[str], config_dir: Path) -> None:
    """A key the schema has no field for, added with ``+`` or in a conf/ file: ConfigError.

    Hydra refuses a misspelt ``tuning.n_trails=3`` and suggests ``+tuning.n_trails=3``, which
    it then accepts: the schema is checked here again, with every key however it came.
    """
    from snakeml.core.schema import unknown_keys

    found = unknown_keys(data)
    if not found:
        return
    key, known = found[0]
    added = [item for item in items if item.lstrip("+").partition("=")[0] == key]
    where = (
        f"drop the override {added[0]}"
        if added
        else f"remove it from {setting_file(key, items, config_dir)}"
    )
    raise ConfigError(_no_such_setting(key, known, where))


def check_estimator_settings(
    cfg: dict[str, Any],
    overrides: str | Sequence[str] | None = None,
    config_dir: str | Path = DEFAULT_CONFIG_DIR,
) -> None:
    """Each model's params and search bounds against its estimator's constraints.

    The part of ``compose_config``'s checks that imports scikit-learn: the workflow runs it when
    it has jobs to run (onstart, before the first), not in a dry run or a run with nothing to do.
    Raises SettingError naming the key, its value, what it must be and the file that sets it.
    """
    for name, spec in cfg["model"].items():
        _check_estimator_kind(f"model.{name}", spec["_target_"], task_kind(cfg["task"]["kind"]))
    try:
        for name, spec in cfg["model"].items():
            check_model_settings(name, spec)
    except SettingError as exc:
        items = parse_overrides(overrides)
        raise exc.with_hint(setting_source(exc.key, items, Path(config_dir).resolve())) from None


def refused_setting(exc: BaseException) -> SettingError | None:
    """The SettingError for a value a numeric field's type refused (nan for an integer, 'ten').

    ``exc`` is what Hydra or OmegaConf raised; None when it is about anything else.
    """
    from omegaconf.errors import OmegaConfBaseException

    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OmegaConfBaseException) and getattr(cause, "full_key", None):
            key = str(cause.full_key)
            bounds = schema_bounds(key)
            return None if bounds is None else SettingError(key, cause.value, bounds.describe())
        cause = cause.__cause__
    return None


def setting_source(key: str, overrides: Sequence[str], config_dir: str | Path) -> str:
    """Where a setting is set: ``set it in conf/tuning/default.yaml or drop the override``."""
    return f"set it in {setting_file(key, overrides, config_dir)} or drop the override"


def setting_file(key: str, overrides: Sequence[str], config_dir: str | Path) -> str:
    """The file under conf/ that sets ``key`` (``conf/tuning/default.yaml``), or its folder.

    The file is the chosen option of the key's config group, as conf/config.yaml's defaults and
    the overrides choose it (``tuning=fast``); a model's settings are in its own file, a data
    set's features in the data set's file.
    """
    from snakeml.core.io import read_yaml

    config_dir = Path(config_dir)
    choices: dict[str, str] = {}
    for entry in read_yaml(config_dir / "config.yaml").get("defaults") or []:
        if isinstance(entry, dict):
            choices.update({str(k): str(v) for k, v in entry.items()})
    for item in overrides:
        group, _, option = item.lstrip("+~").partition("=")
        if option and "." not in group and (config_dir / group).is_dir():
            choices[group] = option
    head, _, rest = key.partition(".")
    group = "data" if head == "features" else head
    # a model's settings are in its own file, conf/model/<name>.yaml
    option = rest.split(".")[0] if group == "model" and rest else choices.get(group, "")
    folder = config_dir.name
    if option and (config_dir / group / f"{option}.yaml").is_file():
        return f"{folder}/{group}/{option}.yaml"
    if (config_dir / group).is_dir():
        return f"{folder}/{group}/"
    return f"{folder}/config.yaml"


def _require(condition: bool, key: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"{key}: {message}")


def _check_strategy(
    split: dict[str, Any], task: dict[str, Any], declaration: Declaration, task_file: str
) -> str:
    """Check the split strategy against the task and the feature table; return its name."""
    classifier = task_kind(task["kind"]).is_classifier
    strategy = split["strategy"]
    if strategy is not None and strategy not in STRATEGIES:
        hint = closest_name(str(strategy), STRATEGIES)
        raise ConfigError(
            f"split.strategy: {strategy!r} is not a strategy"
            + (f" (did you mean {hint}?)" if hint else "")
            + f"; choose from {list(STRATEGIES)}"
        )
    name = strategy or default_strategy(classifier, task["time"])
    timeless = ", ".join(TIMELESS)
    if name == "time" and task["time"] is None:
        raise ConfigError(
            f"split.strategy time needs task.time, which {task_file} does not set: name the "
            f"task's time column there, or choose a strategy that needs no time ({timeless})"
        )
    _require(
        name != "stratified" or classifier,
        "split.strategy",
        f"stratified splits by class, but task.kind is {task['kind']}: choose random or group "
        f"for a regression target ({task_file})",
    )
    final = declaration.final_columns
    where = f"the feature table of sql/{declaration.sql_dir.name}/ ({DECLARATION})"
    needed = {"group": ["group"], "column": ["column"]}.get(name, [])
    for key in needed:
        if split[key] is None:
            raise ConfigError(
                f"split.{key}: split.strategy {name} needs the column that holds each row's "
                f"{'group' if key == 'group' else 'part'}: set split.{key}"
            )
    for key in ("group", "column", "fold_column"):
        if split[key] is None:
            continue
        if key not in needed and not (key == "fold_column" and name == "column"):
            raise ConfigError(
                f"split.{key} is set but split.strategy is {name}: set split.strategy="
                f"{'column' if key == 'fold_column' else key} or drop split.{key}"
            )
        if split[key] not in final:
            hint = closest_name(str(split[key]), final)
            raise ConfigError(
                f"split.{key}: {split[key]!r} is not a column of {where}"
                + (f" (did you mean {hint!r}?)" if hint else "")
                + f"; choose from {list(final)}"
            )
    if split["gap"] is not None:
        _require(
            name == "time",
            "split.gap",
            f"a gap embargoes the time split, but split.strategy is {name}: drop split.gap",
        )
        parse_interval(split["gap"], "split.gap", positive=True)
    if task["horizon"] is not None:
        parse_interval(task["horizon"], "task.horizon", positive=True)
    return name


def _check_split(split: dict[str, Any], strategy: str) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(split["time_zone"])
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"split.time_zone: {split['time_zone']!r} is not an IANA time zone "
            "(e.g. UTC, Europe/Paris)"
        ) from exc
    bounds = [split["train_until"], split["valid_until"]]
    if any(b is not None for b in bounds):
        _require(
            strategy == "time",
            "split",
            f"split.train_until and split.valid_until cut by time, but split.strategy is "
            f"{strategy}: set them to null and use split.train_fraction and "
            "split.valid_fraction",
        )
        _require(
            all(b is not None for b in bounds),
            "split",
            "set both split.train_until and split.valid_until (or neither, for fractions)",
        )
        parsed = []
        for key in ("train_until", "valid_until"):
            try:
                parsed.append(datetime.fromisoformat(str(split[key])))
            except ValueError:
                raise ConfigError(
                    f"split.{key}: {split[key]!r} is not a date or time such as 2013-10-01"
                ) from None
        _require(
            parsed[0] < parsed[1],
            "split.valid_until",
            f"must come after split.train_until (the time split's parts follow each other): "
            f"{split['train_until']} vs {split['valid_until']}",
        )
    elif strategy != "column":
        fractions = [split["train_fraction"], split["valid_fraction"]]
        _require(
            all(f is not None for f in fractions),
            "split",
            "set split.train_until and split.valid_until, or split.train_fraction and "
            "split.valid_fraction",
        )
        _require(
            sum(fractions) < 1,
            "split",
            f"train_fraction + valid_fraction must leave rows to test: {sum(fractions)}",
        )
    _require(split["period"] in PERIODS, "split.period", f"must be one of {list(PERIODS)}")


def _check_search_param(key: str, spec: dict[str, Any]) -> None:
    kind = spec["type"]
    _require(kind in SEARCH_TYPES, f"{key}.type", f"must be one of {SEARCH_TYPES}, got {kind!r}")
    if kind == "categorical":
        _require(bool(spec["choices"]), f"{key}.choices", "a categorical search needs choices")
        return
    low, high = spec["low"], spec["high"]
    _require(low is not None and high is not None, key, f"a {kind} search needs low and high")
    _require(low < high, key, f"empty or inverted search range: low={low} >= high={high}")
    if kind == "int":
        _require(float(low).is_integer() and float(high).is_integer(), key, "int bounds")
    if spec["log"]:
        _require(low > 0, f"{key}.low", f"a log-scaled search needs low > 0, got {low}")


def _check_models(models: dict[str, Any], kind: TaskKind, estimators: bool = True) -> None:
    _require(len(models) > 0, "model", "select at least one model, e.g. model=[ridge,hgb]")
    for name, spec in models.items():
        key = f"model.{name}"
        _require(re.fullmatch(r"[a-z][a-z0-9_]*", name) is not None, key, "lowercase name")
        target = spec["_target_"]
        _check_importable(key, target)
        if estimators:
            _check_estimator_kind(key, target, kind)
        _require(
            spec["preprocessing"] in PREPROCESSORS,
            f"{key}.preprocessing",
            f"must be one of {PREPROCESSORS}, got {spec['preprocessing']!r}",
        )
        for param, search in spec["search_space"].items():
            search_type = search["type"]
            _require(
                search_type in SEARCH_TYPES,
                f"{key}.search_space.{param}.type",
                f"must be one of {SEARCH_TYPES}, got {search_type!r}",
            )


def _check_importable(key: str, target: str) -> None:
    _require(
        bool(_TARGET_PATTERN.match(target))
        and importlib.util.find_spec(target.split(".")[0]) is not None,
        f"{key}._target_",
        f"{target!r} is not an importable 'package.module.Class' path",
    )


def _check_estimator_kind(key: str, target: str, kind: TaskKind) -> None:
    """The estimator ``target`` can do a ``kind`` task (imports it: scikit-learn, 1-4 s)."""
    from snakeml.models.estimators import estimator_class

    try:
        estimator_class(target, kind)
    except ConfigError as exc:
        raise ConfigError(f"{key}: {exc} (task.kind is {kind.name})") from None


def _check_tuning(tuning: dict[str, Any], split: dict[str, Any]) -> None:
    n_trials, n_shards, n_folds = tuning["n_trials"], tuning["n_shards"], tuning["n_folds"]
    _require(
        n_shards <= n_trials,
        "tuning.n_shards",
        f"{n_shards} shards for {n_trials} trials would leave shards with nothing to do: "
        f"lower tuning.n_shards or raise tuning.n_trials",
    )
    # Tuning folds the train and valid rows, which the caps bound when both are set.
    caps = (split["max_train_rows"], split["max_eval_rows"])
    if None not in caps and sum(caps) < 2 * (n_folds + 1):
        raise ConfigError(
            f"tuning.n_folds = {n_folds}: {n_folds} folds need at least "
            f"{2 * (n_folds + 1)} train and valid rows, but split.max_train_rows + "
            f"split.max_eval_rows keep {sum(caps)}: lower tuning.n_folds or raise the caps"
        )
    max_rows = tuning["max_rows"]
    _require(
        max_rows is None or max_rows >= 2 * (n_folds + 1),
        "tuning.max_rows",
        f"{max_rows} rows are too few for {n_folds} folds: set it to at least "
        f"{2 * (n_folds + 1)}, or null to fold every train and valid row",
    )
    _require(
        tuning["pruner"] in PRUNERS,
        "tuning.pruner",
        f"must be one of {PRUNERS}, got {tuning['pruner']!r}",
    )
    if tuning["storage"] is not None:
        from snakeml.training.storage import check_storage_url

        check_storage_url(tuning["storage"])


def _check_audit(audit: dict[str, Any], task: dict[str, Any], declaration: Declaration) -> None:
    """The cuts lie strictly inside the table's time; a task in time needs a table to cut."""
    fractions = audit["cut_fractions"]
    rule = "a list of fractions, each strictly between 0 and 1, e.g. [0.35, 0.775, 0.925]"
    if not fractions or not all(
        isinstance(f, int | float) and not isinstance(f, bool) and 0 < f < 1 for f in fractions
    ):
        raise SettingError("audit.cut_fractions", fractions, rule)
    if audit["enabled"] and task["time"] is not None and declaration.audit is None:
        steps = declaration.sql_dir / DECLARATION
        raise ConfigError(
            f"audit: task.time {task['time']!r} places rows in time, but {steps} declares no "
            "audit.known_at (each time-stamped table's column saying when a row becomes "
            "known) nor audit.time: declare them, or set audit.enabled=false"
        )


def sql_dir_of(cfg: dict[str, Any], root: str | Path) -> Path:
    """The SQL folder of the configured data set: sql/<data.name>/ under the project."""
    return Path(root) / "sql" / cfg["data"]["name"]


def declaration_of(cfg: dict[str, Any], root: str | Path) -> Declaration:
    """The checked steps.yaml of the configured data set."""
    return load_declaration(sql_dir_of(cfg, root))


def _check_features(cfg: dict[str, Any], declaration: Declaration) -> None:
    selected = selected_features(cfg["features"], declaration)
    _require(
        len(selected["numeric"]) + len(selected["categorical"]) > 0,
        "features.columns",
        "select at least one feature",
    )


def fill_metric_defaults(cfg: dict[str, Any]) -> None:
    """Set a null tuning.metric or evaluation.metric to the task kind's default, in place."""
    name = cfg["task"]["kind"]
    for group in ("tuning", "evaluation"):
        if cfg[group]["metric"] is None and name in TASK_KINDS:
            cfg[group]["metric"] = task_kind(name).default_metric


def validate_config(
    cfg: dict[str, Any],
    root: str | Path | None = None,
    declaration: Declaration | None = None,
    estimators: bool = True,
    task_file: str = "conf/task/",
) -> None:
    """Check the values the schema's types cannot express. Raises ConfigError.

    ``task_file`` is the file that sets the task (for messages: ``conf/task/<name>.yaml``).

    The data set's declared tables and SQL (under ``root``, the project; ``declaration`` is its
    steps.yaml when already loaded) are checked too: its files exist, the task's columns are
    columns of its feature table. Every numeric setting is checked against its declared range
    (snakeml.configuration.settings, SettingError) before the rules that relate settings to each
    other; the models' params against scikit-learn's constraints only with ``estimators``.
    """
    root = Path(root) if root is not None else DEFAULT_CONFIG_DIR.parent
    data = cfg["data"]
    _require(
        re.fullmatch(r"[a-z][a-z0-9_]*", data["name"]) is not None,
        "data.name",
        f"must be a lowercase name, got {data['name']!r}",
    )
    if declaration is None:
        declaration = declaration_of(cfg, root)
    check_data(data, declaration, root)
    task = cfg["task"]
    _require(task["kind"] in TASK_KINDS, "task.kind", f"must be one of {list(TASK_KINDS)}")
    kind = task_kind(task["kind"])
    check_task(task, declaration)
    _check_models(cfg["model"], kind, estimators)
    # after the models: a changed kind is named by the models it no longer fits first
    check_task_baselines(task, declaration)
    check_settings(cfg, declaration, estimators)
    _check_features(cfg, declaration)
    strategy = _check_strategy(cfg["split"], task, declaration, task_file)
    _check_split(cfg["split"], strategy)
    _check_bootstrap_blocks(cfg["evaluation"]["bootstrap_blocks"], task, strategy, task_file)
    for name, spec in cfg["model"].items():
        for param, search in spec["search_space"].items():
            _check_search_param(f"model.{name}.search_space.{param}", search)
    _check_tuning(cfg["tuning"], cfg["split"])
    _check_audit(cfg["audit"], task, declaration)
    kind.check_tuning_metric(cfg["tuning"]["metric"])
    kind.check_metric(cfg["evaluation"]["metric"])
    if cfg["tracking"]["mlflow"]:
        from snakeml.evaluation.tracking import check_tracking_uri

        check_tracking_uri(cfg["tracking"]["uri"])


def _check_bootstrap_blocks(
    setting: str, task: dict[str, Any], strategy: str, task_file: str
) -> None:
    """evaluation.bootstrap_blocks: one of verdicts.BLOCK_SETTINGS the task can have."""
    from snakeml.evaluation.verdicts import BLOCK_SETTINGS, BLOCK_UNITS

    key = "evaluation.bootstrap_blocks"
    if setting not in BLOCK_SETTINGS:
        hint = closest_name(str(setting), BLOCK_SETTINGS)
        raise ConfigError(
            f"{key}: {setting!r} is not a choice"
            + (f" (did you mean {hint}?)" if hint else "")
            + f"; choose from {list(BLOCK_SETTINGS)}"
        )
    _require(
        setting not in BLOCK_UNITS or task["time"] is not None,
        key,
        f"{setting} blocks need the task's time column, which {task_file} does not set: "
        "choose auto, rows or group",
    )
    _require(
        setting != "group" or strategy == "group",
        key,
        f"group blocks are the split's groups, but split.strategy is {strategy}: choose auto, "
        "rows or a time unit, or split.strategy=group",
    )


# The split settings that cut the tuning folds of train + valid (snakeml.validation.split): the
# tune_shard slices hold only these, so moving a boundary reruns tuning only through the split's
# files.
FOLD_KEYS: tuple[str, ...] = ("strategy", "gap", "group", "column", "fold_column", "time_zone")


def model_names(cfg: dict[str, Any]) -> list[str]:
    """The selected models, in a stable order."""
    return sorted(cfg["model"])


def rule_slices(
    cfg: dict[str, Any], root: str | Path | None = None, declaration: Declaration | None = None
) -> dict[str, dict[str, Any]]:
    """Each rule's own part of the configuration, keyed by its path under results/configs.

    A rule sees only the values it uses, so changing any other value does not rerun it. The
    feature columns and families come from the data set's declaration (sql/<data>/steps.yaml).
    """
    if declaration is None:
        root = Path(root) if root is not None else DEFAULT_CONFIG_DIR.parent
        declaration = declaration_of(cfg, root)
    task = cfg["task"]
    selected = selected_features(cfg["features"], declaration)
    columns = {"target": task["target"], **selected}
    chosen = [*selected["numeric"], *selected["categorical"]]
    key = list(declaration.key)
    kind = task["kind"]
    # The split strategy's view of the task: the split and the tuning folds cut the same way.
    validation = {
        "seed": cfg["seed"],
        "split": cfg["split"],
        "task": {name: task[name] for name in ("kind", "target", "time", "horizon")},
        "key": key,
    }
    labels = {"target": task["target"], "label": task["label"], "units": task["units"]}
    evaluation = cfg["evaluation"]
    features = {
        "data": cfg["data"],
        # the feature build reads every declared feature; features.columns selects model inputs
        "features": {k: v for k, v in cfg["features"].items() if k != "columns"},
    }
    slices: dict[str, dict[str, Any]] = {
        "ingest": {"data": cfg["data"]},
        "features": features,
        # The look-ahead audit rebuilds the features, so it reads their slice and its own.
        "audit": {**features, "audit": cfg["audit"]},
        "split": {**validation, "n_folds": cfg["tuning"]["n_folds"]},
        "leaderboard": {
            "kind": kind,
            "metric": evaluation["metric"],
            "target": task["target"],
            "groups": [group["column"] for group in task["groups"]],
            "group_names": [group["name"] for group in task["groups"]],
            "baselines": [dict(baseline) for baseline in task["baselines"]],
            "features": chosen,
            "models": model_names(cfg),
            "bootstrap": {
                "resamples": evaluation["bootstrap_resamples"],
                "random_state": evaluation["bootstrap_random_state"],
                "blocks": evaluation["bootstrap_blocks"],
                "time": task["time"],
                "time_zone": cfg["split"]["time_zone"],
                "group": cfg["split"]["group"],
            },
            "leakage": {
                "max_rows": evaluation["leakage_max_rows"],
                "threshold": evaluation["leakage_threshold"],
                "random_state": evaluation["bootstrap_random_state"],
            },
        },
        # Batch prediction runs the same feature build and feeds the champion the columns
        # every model was trained on.
        "predict": {
            **features,
            "kind": kind,
            "columns": columns,
            "id_columns": list(task["id_columns"]),
            "serving_rows": cfg["audit"]["serving_rows"],
        },
    }
    for name in model_names(cfg):
        model = {"name": name, **cfg["model"][name]}
        # the final fit's row cap: tuning folds its own sample (tuning.max_rows)
        searched = {k: v for k, v in model.items() if k != "max_train_rows"}
        slices[f"tune_shard/{name}"] = {
            "seed": cfg["seed"],
            "kind": kind,
            "columns": columns,
            **validation,
            # the folds: a boundary, fraction or cap moves them only through the split's files
            "split": {k: cfg["split"][k] for k in FOLD_KEYS},
            "model": searched,
            "tuning": cfg["tuning"],
        }
        slices[f"tune_best/{name}"] = {
            "seed": cfg["seed"],
            "model": searched,
            "tuning": {key: cfg["tuning"][key] for key in ("metric", "n_shards")},
        }
        slices[f"train/{name}"] = {
            "seed": cfg["seed"],
            "kind": kind,
            "columns": columns,
            "model": model,
        }
        slices[f"evaluate/{name}"] = {
            "seed": cfg["seed"],
            "kind": kind,
            "metric": evaluation["metric"],
            "columns": columns,
            "task": {**labels, "groups": task["groups"], "time": task["time"]},
            "key": key,
            "period": {"unit": cfg["split"]["period"], "time_zone": cfg["split"]["time_zone"]},
        }
        slices[f"importance/{name}"] = {
            "kind": kind,
            "metric": evaluation["metric"],
            "columns": columns,
            "families": declaration.families(chosen),
            "task": labels,
            "importance": {
                "repeats": evaluation["importance_repeats"],
                "max_rows": evaluation["importance_max_rows"],
                "random_state": evaluation["importance_random_state"],
            },
        }
    return slices


def rule_slice_texts(
    cfg: dict[str, Any],
    root: str | Path | None = None,
    declaration: Declaration | None = None,
) -> dict[str, str]:
    """Each rule's slice as the text of its file, ``results/configs/<key>.yaml``, by key.

    ``declaration`` (else read from ``root``) is the data set's steps.yaml, already loaded.
    """
    return {
        key: SLICE_HEADER + dump_yaml(data)
        for key, data in rule_slices(cfg, root, declaration).items()
    }


def changed_slices(texts: dict[str, str], out_dir: str | Path) -> list[Path]:
    """The existing ``out_dir/<key>.yaml`` files that hold other text than ``texts[key]``.

    What ``rewrite_changed_slices`` would write, without writing: a run checks what it must
    before any slice changes, so a refused configuration leaves the slices of the last run.
    """
    changed = []
    for key, text in texts.items():
        path = Path(out_dir) / f"{key}.yaml"
        if path.is_file() and path.read_text(encoding="utf-8") != text:
            changed.append(path)
    return changed


def rewrite_changed_slices(texts: dict[str, str], out_dir: str | Path) -> list[Path]:
    """Write ``texts[key]`` to each existing ``out_dir/<key>.yaml`` holding other text.

    Returns the rewritten paths. A missing slice is left to its rule (rules/configs.smk); an
    unchanged one keeps its modification time, so nothing that reads it reruns.
    """
    rewritten = []
    for key, text in texts.items():
        path = Path(out_dir) / f"{key}.yaml"
        if path.is_file() and write_text_if_changed(path, text):
            rewritten.append(path)
    return rewritten
