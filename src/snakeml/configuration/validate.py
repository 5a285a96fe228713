"""The checks of a composed configuration that its schema's types cannot express.

The data set's declaration, the task against the feature table, the split strategy, the models,
tuning, the audit and the bootstrap blocks; each failure one ConfigError naming the key.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

from snakeml.configuration.overrides import DEFAULT_CONFIG_DIR
from snakeml.configuration.settings import check_settings
from snakeml.core.errors import ConfigError, SettingError, closest_name
from snakeml.core.schema import (
    PERIODS,
    PREPROCESSORS,
    PRUNERS,
    SEARCH_TYPES,
    STRATEGIES,
    TASK_KINDS,
    data_config,
    default_strategy,
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

_TARGET_PATTERN = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+$")


def check_installed(cfg: dict[str, Any], root: str | Path) -> None:
    """The checks of ``validate_config`` that read more than conf/ and sql/: each table's files
    exist under the project (or its package is installed), each model's package is installed.

    A configuration read back from snakeml.configuration.cache passes these again. Raises
    ConfigError.
    """
    for table, spec in data_config(cfg["data"]).tables.items():
        table_files(table, spec, root)
    for name, spec in cfg["model"].items():
        _check_importable(f"model.{name}", spec["_target_"])


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
    from snakeml.validation.split import strategy_class

    name = strategy or default_strategy(classifier, task["time"])
    scheme = strategy_class(name)
    timeless = ", ".join(n for n in STRATEGIES if not strategy_class(n).needs_time)
    if scheme.needs_time and task["time"] is None:
        raise ConfigError(
            f"split.strategy time needs task.time, which {task_file} does not set: name the "
            f"task's time column there, or choose a strategy that needs no time ({timeless})"
        )
    _require(
        not scheme.by_class or classifier,
        "split.strategy",
        f"stratified splits by class, but task.kind is {task['kind']}: choose random or group "
        f"for a regression target ({task_file})",
    )
    final = declaration.final_columns
    where = f"the feature table of sql/{declaration.sql_dir.name}/ ({DECLARATION})"
    needed = scheme.column_settings
    for key in needed:
        if split[key] is None:
            raise ConfigError(
                f"split.{key}: split.strategy {name} needs the column that holds each row's "
                f"{'group' if key == 'group' else 'part'}: set split.{key}"
            )
    for key in ("group", "column", "fold_column"):
        if split[key] is None:
            continue
        if key not in needed and key not in scheme.optional_column_settings:
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
            scheme.needs_time,
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

    from snakeml.validation.split import strategy_class

    try:
        ZoneInfo(str(split["time_zone"]))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"split.time_zone: {split['time_zone']!r} is not an IANA time zone "
            "(e.g. UTC, Europe/Paris)"
        ) from exc
    bounds = [split["train_until"], split["valid_until"]]
    if any(b is not None for b in bounds):
        _require(
            strategy_class(strategy).needs_time,
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
    elif strategy_class(strategy).takes_fractions:
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
            # rounded: 0.95 + 0.15 is 1.0999999999999999 in binary floating point
            f"train_fraction + valid_fraction must leave rows to test: {fractions[0]} + "
            f"{fractions[1]} = {round(sum(fractions), 10)}; lower either so the sum is below 1",
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
            check_estimator_kind(key, target, kind)
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


def check_estimator_kind(key: str, target: str, kind: TaskKind) -> None:
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
    check_data(data_config(data), declaration, root)
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
    from snakeml.validation.split import strategy_class

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
        setting != "group" or strategy_class(strategy).keeps_groups,
        key,
        f"group blocks are the split's groups, but split.strategy is {strategy}: choose auto, "
        "rows or a time unit, or split.strategy=group",
    )
