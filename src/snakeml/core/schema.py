"""Typed schema of the Hydra configuration, registered in Hydra's ConfigStore.

A misspelt key or a wrong type fails when the configuration is composed, naming the key. Every
numeric field declares the values it may take (``setting(low=..., high=...)``, see Bounds):
values live in conf/, types and ranges here. snakeml.configuration.settings checks them all.
"""

from __future__ import annotations

import functools
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

# OmegaConf's mark of a value that must be set (omegaconf.MISSING), spelt out here: a workflow
# that reads its configuration back from snakeml.configuration.cache never imports OmegaConf.
MISSING: Any = "???"

SEARCH_TYPES: tuple[str, ...] = ("float", "int", "categorical")
PREPROCESSORS: tuple[str, ...] = ("onehot", "ordinal")
PRUNERS: tuple[str, ...] = ("median", "none")
TASK_KINDS: tuple[str, ...] = ("regression", "binary", "multiclass")
PERIODS: tuple[str, ...] = ("year", "month", "week", "day")
# The validation schemes of split.strategy (snakeml.validation.split, whose classes say what each
# needs).
STRATEGIES: tuple[str, ...] = ("time", "random", "stratified", "group", "column")
# numpy's and scikit-learn's seeds are unsigned 32-bit integers.
MAX_SEED = 2**32 - 1


def default_strategy(classifier: bool, time: str | None) -> str:
    """The strategy of ``split.strategy: null``: time when the task has a time column, else
    stratified for a classification and random for a regression."""
    if time is not None:
        return "time"
    return "stratified" if classifier else "random"


@dataclass(frozen=True)
class Bounds:
    """The values a numeric setting may take.

    A finite number (never a boolean or a string; an integer when ``integer``) between ``low``
    and ``high`` (each included unless ``low_open``/``high_open``; None for an open end), or
    null when ``nullable``.
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False
    nullable: bool = False

    def admits(self, value: Any) -> bool:
        """Whether ``value`` is one of the values these bounds allow."""
        if value is None:
            return self.nullable
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.integer and not isinstance(value, int):
            return False
        if not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)

    def describe(self) -> str:
        """What the bounds allow, to follow "must be": ``an integer >= 1``."""
        parts = ["an integer" if self.integer else "a finite number"]
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {_number(self.low)}")
        if self.high is not None:
            parts.append(
                ("and " if self.low is not None else "")
                + f"{'<' if self.high_open else '<='} {_number(self.high)}"
            )
        text = " ".join(parts)
        return f"null or {text}" if self.nullable else text


def is_non_finite(value: Any) -> bool:
    """Whether ``value`` is a number that is NaN or an infinity (booleans are not numbers)."""
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and not math.isfinite(value)
    )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def setting(
    default: Any = MISSING,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> Any:
    """A numeric field of the schema with the range its values may take.

    The field's type says the rest: ``int`` fields take integers only, ``... | None`` fields
    may be null (see field_bounds).
    """
    bounds = Bounds(low=low, high=high, low_open=low_open, high_open=high_open)
    return field(default=default, metadata={"bounds": bounds})


@dataclass
class TableConfig:
    """One table of a data set: where it is, its columns and types, and its checks on entry."""

    path: str = MISSING
    package: str | None = None
    null_values: list[str] = field(default_factory=lambda: ["", "NA"])
    row_id: str | None = None
    columns: dict[str, str] = MISSING
    # strptime formats of DATE or TIMESTAMP columns written otherwise than ISO 8601 in a CSV
    formats: dict[str, str] = field(default_factory=dict)
    not_null: list[str] = field(default_factory=list)
    unique: list[list[str]] = field(default_factory=list)
    ranges: dict[str, list[Any]] = field(default_factory=dict)
    accepted_values: dict[str, list[Any]] = field(default_factory=dict)
    # Rules across columns: a name, and a DuckDB boolean expression every row must satisfy
    expressions: dict[str, str] = field(default_factory=dict)


@dataclass
class DataConfig:
    """A data set (conf/data/<name>.yaml); its feature SQL is sql/<name>/."""

    name: str = MISSING
    tables: dict[str, TableConfig] = MISSING


def data_config(data: Mapping[str, Any]) -> DataConfig:
    """The composed configuration's ``data`` section (plain mappings, every key of the schema
    present) as a DataConfig, its tables in declared order. Raises TypeError when a table has
    a key the schema does not."""
    tables = {name: TableConfig(**spec) for name, spec in data["tables"].items()}
    return DataConfig(name=data["name"], tables=tables)


@dataclass
class GroupConfig:
    """A column the error breakdowns and the group baseline group rows by."""

    column: str = MISSING
    name: str = MISSING
    label: str = MISSING


@dataclass
class BaselineConfig:
    """A naive baseline the task declares: a feature column used as the prediction itself."""

    name: str = MISSING
    column: str = MISSING


@dataclass
class TaskConfig:
    """What is predicted (conf/task/<name>.yaml): target, kind, time column, ids, groups."""

    name: str = MISSING
    kind: str = MISSING
    target: str = MISSING
    # null: the table has no time column (the split and the breakdowns need none)
    time: str | None = None
    # How long after a row's time its target is known (a DuckDB interval such as '1 day'):
    # the time split's default gap. null: at the row's time.
    horizon: str | None = None
    id_columns: list[str] = MISSING
    groups: list[GroupConfig] = field(default_factory=list)
    # Naive forecasts scored beside the built-in baselines (snakeml.models.task_kinds): regression a
    # numeric feature in the target's units, classification a categorical feature holding a class
    baselines: list[BaselineConfig] = field(default_factory=list)
    label: str = MISSING
    units: str = ""


@dataclass
class SplitConfig:
    """The validation scheme (snakeml.validation.split): a strategy, its columns, boundaries or
    fractions."""

    # null: time when the task has a time column, else stratified (classification) or random
    strategy: str | None = MISSING
    # The time strategy's embargo (a DuckDB interval); null: the task's horizon
    gap: str | None = MISSING
    # The group strategy's column: no value of it lies in two parts
    group: str | None = MISSING
    # The column strategy's column naming each row's part, and an optional fold number column
    column: str | None = MISSING
    fold_column: str | None = MISSING
    # read only with a time column (task.time): the rule slices of a task without one hold null
    time_zone: str | None = MISSING
    train_until: str | None = MISSING
    valid_until: str | None = MISSING
    train_fraction: float | None = setting(low=0, high=1, low_open=True, high_open=True)
    valid_fraction: float | None = setting(low=0, high=1, low_open=True, high_open=True)
    period: str | None = MISSING
    max_train_rows: int | None = setting(low=1)
    max_eval_rows: int | None = setting(low=1)


@dataclass
class SearchParam:
    type: str = MISSING
    # Any finite number here; the estimator's own constraints on the parameter decide the rest.
    low: float | None = setting(None)
    high: float | None = setting(None)
    log: bool = False
    choices: list[Any] | None = None


@dataclass
class ModelConfig:
    _target_: str = MISSING
    preprocessing: str = "onehot"
    params: dict[str, Any] = field(default_factory=dict)
    search_space: dict[str, SearchParam] = field(default_factory=dict)
    # null: the final fit takes every train + valid row; else a seeded sample of this many
    max_train_rows: int | None = setting(None, low=1)


@dataclass
class TuningConfig:
    """Optuna per model: ``n_trials`` split across ``n_shards`` jobs (see conf/tuning/)."""

    n_trials: int = setting(low=1)
    n_shards: int = setting(low=1)
    timeout_seconds: float | None = setting(low=0, low_open=True)
    # null: the task kind's default (snakeml.models.task_kinds.TaskKind.default_metric)
    metric: str | None = MISSING
    n_folds: int = setting(low=2)
    # null: every train and valid row; else a seeded sample of this many, in the split's order
    max_rows: int | None = setting(low=1)
    startup_trials: int = setting(low=0)
    pruner: str = MISSING
    pooled: bool = MISSING
    storage: str | None = MISSING
    # a journal lock unchanged this long is broken (Optuna warns below 3)
    lock_grace_seconds: int = setting(low=3)


@dataclass
class EvaluationConfig:
    # null: the task kind's default (snakeml.models.task_kinds.TaskKind.default_metric)
    metric: str | None = MISSING
    importance_repeats: int = setting(low=1)
    importance_max_rows: int = setting(low=1)
    importance_random_state: int = setting(low=0, high=MAX_SEED)
    bootstrap_resamples: int = setting(low=100, high=100_000)
    bootstrap_random_state: int = setting(low=0, high=MAX_SEED)
    # What a resample draws: auto, rows, day, week, month or group (snakeml.evaluation.verdicts)
    bootstrap_blocks: str = MISSING
    leakage_max_rows: int = setting(low=100)
    leakage_threshold: float = setting(low=0.5, high=1.0, low_open=True, high_open=True)


@dataclass
class AuditConfig:
    """The look-ahead audit (snakeml.data.audit): the feature SQL rebuilt from tables cut in
    time."""

    # false: no audit; the audit's record and the report say so
    enabled: bool = MISSING
    # The feature rows compared per cut: those placed last before it
    rows_per_cut: int = setting(low=1)
    # Where the cuts fall, as fractions of the feature table's rows in time order
    cut_fractions: list[float] = MISSING
    # Batch prediction rebuilds this many history rows, those placed last, beside the new rows
    # and refuses the batch when their features differ from training (0: no check)
    serving_rows: int = setting(low=0)


@dataclass
class RuleResources:
    """What one job of a rule asks for, locally and from a cluster scheduler."""

    threads: int = setting(low=1)
    mem_mb: int = setting(low=1)
    runtime: int = setting(low=1)  # wall-time limit in minutes (Snakemake's standard resource)


@dataclass
class ResourcesConfig:
    ingest: RuleResources = field(default_factory=RuleResources)
    features: RuleResources = field(default_factory=RuleResources)
    audit: RuleResources = field(default_factory=RuleResources)
    split: RuleResources = field(default_factory=RuleResources)
    tune_shard: RuleResources = field(default_factory=RuleResources)
    tune_best: RuleResources = field(default_factory=RuleResources)
    train: RuleResources = field(default_factory=RuleResources)
    evaluate: RuleResources = field(default_factory=RuleResources)
    importance: RuleResources = field(default_factory=RuleResources)
    leaderboard: RuleResources = field(default_factory=RuleResources)
    manifest: RuleResources = field(default_factory=RuleResources)
    predict: RuleResources = field(default_factory=RuleResources)


@dataclass
class TrackingConfig:
    """MLflow tracking of each experiment's result (snakeml.evaluation.tracking)."""

    mlflow: bool = MISSING
    uri: str = MISSING
    experiment: str = MISSING


@dataclass
class Config:
    seed: int = setting(low=0, high=MAX_SEED)
    data: DataConfig = field(default_factory=DataConfig)
    # The data set's feature settings: block_rows, the optional list of feature columns to use
    # (`columns`, default every declared one), and the variables its SQL reads, whose names
    # and ranges sql/<data>/steps.yaml declares (checked by snakeml.data.dataset). block_rows
    # null (its default): each materialized step is built in one statement.
    features: dict[str, Any] = field(default_factory=lambda: {"block_rows": None})
    task: TaskConfig = field(default_factory=TaskConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    model: dict[str, ModelConfig] = field(default_factory=dict)
    tuning: TuningConfig = field(default_factory=TuningConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    resources: ResourcesConfig = field(default_factory=ResourcesConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)


# The features.* settings the engine itself reads (the others are the SQL's variables, whose ranges
# sql/<data>/steps.yaml declares).
FEATURE_BOUNDS: dict[str, Bounds] = {"block_rows": Bounds(low=1, integer=True, nullable=True)}


def _numeric_leaf(hint: Any) -> tuple[bool, bool] | None:
    """(integer, nullable) when a field's type is a number or a number or None, else None."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    numbers = [o for o in options if o is not type(None)]
    if len(numbers) != 1 or numbers[0] not in (int, float):
        return None
    return numbers[0] is int, len(options) > len(numbers)


@functools.cache
def type_hints(cls: type) -> dict[str, Any]:
    """The resolved field types of a schema class (typing.get_type_hints, once per class)."""
    return typing.get_type_hints(cls)


@functools.cache
def field_bounds(cls: type, name: str) -> Bounds | None:
    """The declared bounds of numeric field ``name`` of schema class ``cls``, or None.

    The field's type completes them: an ``int`` takes integers, ``... | None`` may be null.
    Raises TypeError for a numeric field that declares no range (a schema bug).
    """
    hint = type_hints(cls)[name]
    leaf = _numeric_leaf(hint)
    if leaf is None:
        return None
    declared = {f.name: f for f in fields(cls)}[name].metadata.get("bounds")
    if declared is None:
        raise TypeError(f"{cls.__name__}.{name} is numeric but declares no range: use setting()")
    integer, nullable = leaf
    return Bounds(**{**declared.__dict__, "integer": integer, "nullable": nullable})


def schema_bounds(key: str) -> Bounds | None:
    """The declared bounds of a dotted key of the schema (``resources.train.threads``), or None.

    None for a key that is not a numeric field of the schema (features.* and model params have
    their ranges elsewhere: see snakeml.configuration.settings).
    """
    cls: Any = Config
    parts = key.split(".")
    index = 0
    while index < len(parts):
        if not (isinstance(cls, type) and is_dataclass(cls)):
            return None
        hints = type_hints(cls)
        name = parts[index]
        if name not in hints:
            return None
        if index == len(parts) - 1:
            return field_bounds(cls, name)
        hint = hints[name]
        if typing.get_origin(hint) is dict:
            cls = typing.get_args(hint)[1]
            index += 2  # the next part is a key of the mapping
            if index == len(parts):
                return None
            continue
        cls = hint
        index += 1
    return None


def _without_none(hint: Any) -> Any:
    """``X`` of ``X | None``; any other hint as it is."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


def unknown_keys(data: Any, cls: Any = Config, prefix: str = "") -> list[tuple[str, list[str]]]:
    """Keys of ``data`` that the schema ``cls`` has no field for, with the fields it has.

    Returns (dotted key, sorted known names) pairs, in the order met. Mappings typed
    ``dict[str, Any]`` (model params, features) take any key: their keys are checked where they
    are used (snakeml.configuration.settings, the data set's declaration).
    """
    cls = _without_none(cls)
    found: list[tuple[str, list[str]]] = []
    if isinstance(cls, type) and is_dataclass(cls) and isinstance(data, dict):
        hints = type_hints(cls)
        for key, value in data.items():
            if key not in hints:
                found.append((f"{prefix}{key}", sorted(hints)))
            else:
                found += unknown_keys(value, hints[key], f"{prefix}{key}.")
    elif typing.get_origin(cls) is dict and isinstance(data, dict):
        value_type = typing.get_args(cls)[1]
        for key, value in data.items():
            found += unknown_keys(value, value_type, f"{prefix}{key}.")
    elif typing.get_origin(cls) is list and isinstance(data, list):
        (item_type,) = typing.get_args(cls)
        for index, value in enumerate(data):
            found += unknown_keys(value, item_type, f"{prefix}{index}.")
    return found


def register_schema() -> None:
    """Store the schema under the name ``config_schema`` (idempotent)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="config_schema", node=Config)
