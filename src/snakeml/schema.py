"""Typed schema of the Hydra configuration, registered in Hydra's ConfigStore.

A misspelt key or a wrong type fails when the configuration is composed, naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

SEARCH_TYPES: tuple[str, ...] = ("float", "int", "categorical")
PREPROCESSORS: tuple[str, ...] = ("onehot", "ordinal")
PRUNERS: tuple[str, ...] = ("median", "none")
TASK_KINDS: tuple[str, ...] = ("regression", "binary", "multiclass")
PERIODS: tuple[str, ...] = ("year", "month", "week", "day")


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


@dataclass
class GroupConfig:
    """A column the error breakdowns and the group baseline group rows by."""

    column: str = MISSING
    name: str = MISSING
    label: str = MISSING


@dataclass
class TaskConfig:
    """What is predicted (conf/task/<name>.yaml): target, kind, time column, ids, groups."""

    name: str = MISSING
    kind: str = MISSING
    target: str = MISSING
    time: str = MISSING
    id_columns: list[str] = MISSING
    groups: list[GroupConfig] = field(default_factory=list)
    label: str = MISSING
    units: str = ""


@dataclass
class SplitConfig:
    """Time-based split: boundaries in time (in time_zone), else fractions of the ordered rows."""

    time_zone: str = MISSING
    train_until: str | None = MISSING
    valid_until: str | None = MISSING
    train_fraction: float | None = MISSING
    valid_fraction: float | None = MISSING
    period: str = MISSING
    max_train_rows: int | None = MISSING
    max_eval_rows: int | None = MISSING


@dataclass
class SearchParam:
    type: str = MISSING
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: list[Any] | None = None


@dataclass
class ModelConfig:
    _target_: str = MISSING
    preprocessing: str = "onehot"
    params: dict[str, Any] = field(default_factory=dict)
    search_space: dict[str, SearchParam] = field(default_factory=dict)


@dataclass
class TuningConfig:
    """Optuna per model: ``n_trials`` split across ``n_shards`` jobs (see conf/tuning/)."""

    n_trials: int = MISSING
    n_shards: int = MISSING
    timeout_seconds: float | None = MISSING
    # null: the task kind's default (snakeml.task_kinds.DEFAULT_METRIC)
    metric: str | None = MISSING
    n_folds: int = MISSING
    startup_trials: int = MISSING
    pruner: str = MISSING
    pooled: bool = MISSING
    storage: str | None = MISSING


@dataclass
class EvaluationConfig:
    # null: the task kind's default (snakeml.task_kinds.DEFAULT_METRIC)
    metric: str | None = MISSING
    importance_repeats: int = MISSING
    importance_max_rows: int = MISSING
    importance_random_state: int = MISSING


@dataclass
class RuleResources:
    """What one job of a rule asks for, locally and from a cluster scheduler."""

    threads: int = MISSING
    mem_mb: int = MISSING
    runtime: int = MISSING  # wall-time limit in minutes (Snakemake's standard resource)


@dataclass
class ResourcesConfig:
    ingest: RuleResources = field(default_factory=RuleResources)
    features: RuleResources = field(default_factory=RuleResources)
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
class Config:
    seed: int = MISSING
    data: DataConfig = field(default_factory=DataConfig)
    # The data set's feature settings: block_rows, the optional list of feature columns to use
    # (`columns`, default every declared one), and the variables its SQL reads, whose names
    # and ranges sql/<data>/steps.yaml declares (checked by snakeml.dataset).
    features: dict[str, Any] = field(default_factory=dict)
    task: TaskConfig = field(default_factory=TaskConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    model: dict[str, ModelConfig] = field(default_factory=dict)
    tuning: TuningConfig = field(default_factory=TuningConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    resources: ResourcesConfig = field(default_factory=ResourcesConfig)


def register_schema() -> None:
    """Store the schema under the name ``config_schema`` (idempotent)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="config_schema", node=Config)
