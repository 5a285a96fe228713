"""The typed slices: what each rule reads of the composed configuration, with Hydra's key names.

snakeml.configuration.slices cuts the composed configuration into one slice per rule (and per
model), written to ``results/configs/<rule>[/<model>].yaml``; each rule's script loads its file
back into its class here (``load_slice``) and hands the object to the library. A slice holds
the sections of the configuration a rule reads under their own names (``evaluation``, ``task``,
``split`` ...), whole as the schema's classes (snakeml.core.schema) when the rule reads the whole
section, else as a narrower class with the schema's field names: a rule sees only the settings it
uses, so changing any other setting does not rerun it. Values the configuration does not hold
as such but derives (``columns``, ``families``, ``key``, ``models`` ...) are fields of their own.

Every field is required (the schema's MISSING or a schema class): a slice file missing a key or
holding a wrong type fails on loading, naming the file and the key. Defaults live in conf/ and
in the schema, never here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from snakeml.core.errors import ConfigError
from snakeml.core.schema import (
    MISSING,
    AuditConfig,
    BaselineConfig,
    DataConfig,
    GroupConfig,
    SearchParam,
    SplitConfig,
    TuningConfig,
)

# A derived value of several slices: the model's target and its input columns, numeric and
# categorical, in the data set's declared order ({"target": str, "numeric": [...],
# "categorical": [...]}), as the estimators, the drift check and the new-rows path take it. Its
# values are a string and lists, which OmegaConf cannot type as one union: hence Any.
Columns = dict[str, Any]


# --- sections narrower than the schema's: the schema's field names, only what a rule reads ---


@dataclass
class ValidationTask:
    """The task as the split strategy sees it (snakeml.validation.split): the split and the
    tuning folds cut the same way from these four settings."""

    kind: str = MISSING
    target: str = MISSING
    time: str | None = MISSING
    horizon: str | None = MISSING


@dataclass
class FoldSplit:
    """The split settings that cut the tuning folds of train + valid: a boundary, fraction or
    cap moves the folds only through the split's files, so it is not here."""

    strategy: str | None = MISSING
    gap: str | None = MISSING
    group: str | None = MISSING
    column: str | None = MISSING
    fold_column: str | None = MISSING
    # null for a task without time (task.time): unused, so a change of it reruns nothing
    time_zone: str | None = MISSING


@dataclass
class FoldCount:
    """``tuning.n_folds``: the split checks that train + valid can be cut into that many folds."""

    n_folds: int = MISSING


@dataclass
class SearchedModel:
    """A model as tuning reads it: its name, estimator, preprocessing, fixed parameters and
    search space, without the final fit's row cap (``max_train_rows``, train's alone)."""

    name: str = MISSING
    _target_: str = MISSING
    preprocessing: str = MISSING
    params: dict[str, Any] = MISSING
    search_space: dict[str, SearchParam] = MISSING


@dataclass
class TrainedModel(SearchedModel):
    """A model as the final fit reads it: the searched model and its row cap."""

    max_train_rows: int | None = MISSING


@dataclass
class TuneBestTuning:
    """The tuning settings the gathering of a model's shards reads: the metric its trials were
    scored with and how many shards there are."""

    metric: str | None = MISSING
    n_shards: int = MISSING


@dataclass
class KindOnlyTask:
    """The task's kind alone: how a model is fitted and its decision made."""

    kind: str = MISSING


@dataclass
class ImportanceTask:
    """The task as permutation importance reads it: the kind, target and its label and units."""

    kind: str = MISSING
    target: str = MISSING
    label: str = MISSING
    units: str = MISSING


@dataclass
class EvaluateTask(ImportanceTask):
    """The task as the test-set evaluation reads it: importance's view (the kind, target, its
    label and units for the plots), the groups of the error breakdowns and the time column of
    the period one."""

    groups: list[GroupConfig] = MISSING
    time: str | None = MISSING


@dataclass
class MetricEvaluation:
    """``evaluation.metric`` alone: the test metric a model is scored with."""

    metric: str | None = MISSING


@dataclass
class PeriodSplit:
    """The split settings of the error-by-period breakdown: its period and the time zone its
    calendar is read in; both null for a task without time (task.time), which has no such
    breakdown."""

    period: str | None = MISSING
    time_zone: str | None = MISSING


@dataclass
class ImportanceEvaluation:
    """The evaluation settings of permutation importance: the metric, repeats, rows and seed."""

    metric: str | None = MISSING
    importance_repeats: int = MISSING
    importance_max_rows: int = MISSING
    importance_random_state: int = MISSING


@dataclass
class LeaderboardGroup:
    """A group of the task as the leaderboard reads it: its column and name (not its label)."""

    column: str = MISSING
    name: str = MISSING


@dataclass
class LeaderboardTask:
    """The task as the leaderboard reads it: the kind, target, time column (bootstrap blocks),
    the groups (the group baseline) and the declared baselines."""

    kind: str = MISSING
    target: str = MISSING
    time: str | None = MISSING
    groups: list[LeaderboardGroup] = MISSING
    baselines: list[BaselineConfig] = MISSING


@dataclass
class LeaderboardEvaluation:
    """The evaluation settings of the leaderboard: the metric, the bootstrap intervals and the
    leakage screen (seeded by ``bootstrap_random_state`` too); not those of importance."""

    metric: str | None = MISSING
    bootstrap_resamples: int = MISSING
    bootstrap_random_state: int = MISSING
    bootstrap_blocks: str = MISSING
    leakage_max_rows: int = MISSING
    leakage_threshold: float = MISSING


@dataclass
class LeaderboardSplit:
    """The split settings of the bootstrap blocks: the calendar's time zone and the group column
    of the group strategy; the time zone null for a task without time (task.time)."""

    time_zone: str | None = MISSING
    group: str | None = MISSING


@dataclass
class PredictTask:
    """The task as batch prediction reads it: the kind and the columns kept beside each
    prediction."""

    kind: str = MISSING
    id_columns: list[str] = MISSING


@dataclass
class ServingAudit:
    """``audit.serving_rows``: the history rows batch prediction rebuilds to check its features
    against training's (0: no check)."""

    serving_rows: int = MISSING


# --- the slices, one per rule ------------------------------------------------------------------


@dataclass
class IngestSlice:
    """Rule ingest: the data set's tables (paths, columns, types, checks on entry), and only
    those, so a model or split setting never re-reads the raw data."""

    data: DataConfig = field(default_factory=DataConfig)


@dataclass
class FeaturesSlice:
    """Rule features: the tables and the data set's feature settings (the SQL's variables and
    ``block_rows``), without ``features.columns``: the build makes every declared feature, the
    selection only chooses model inputs."""

    data: DataConfig = field(default_factory=DataConfig)
    features: dict[str, Any] = MISSING


@dataclass
class AuditSlice(FeaturesSlice):
    """Rule audit: the look-ahead audit rebuilds the features, so it reads the feature build's
    settings and its own section."""

    audit: AuditConfig = field(default_factory=AuditConfig)


@dataclass
class SplitSlice:
    """Rule split: the whole split section, the seed (hashed placements), the task as the
    strategy sees it, the data set's row key and the tuning folds the parts must allow."""

    seed: int = MISSING
    split: SplitConfig = field(default_factory=SplitConfig)
    task: ValidationTask = field(default_factory=ValidationTask)
    key: list[str] = MISSING
    tuning: FoldCount = field(default_factory=FoldCount)


@dataclass
class TuneShardSlice:
    """Rule tune_shard (one per model): the folds' split settings and the task as the strategy
    sees it, the model inputs, the searched model and the whole tuning section."""

    seed: int = MISSING
    task: ValidationTask = field(default_factory=ValidationTask)
    key: list[str] = MISSING
    split: FoldSplit = field(default_factory=FoldSplit)
    columns: Columns = MISSING
    model: SearchedModel = field(default_factory=SearchedModel)
    tuning: TuningConfig = field(default_factory=TuningConfig)


@dataclass
class TuneBestSlice:
    """Rule tune_best (one per model): the searched model (its space types the best parameters),
    the seed of the parameter importances, and the tuning metric and shard count."""

    seed: int = MISSING
    model: SearchedModel = field(default_factory=SearchedModel)
    tuning: TuneBestTuning = field(default_factory=TuneBestTuning)


@dataclass
class TrainSlice:
    """Rule train (one per model): the final fit's model with its row cap, the task's kind, the
    model inputs and the seed."""

    seed: int = MISSING
    task: KindOnlyTask = field(default_factory=KindOnlyTask)
    columns: Columns = MISSING
    model: TrainedModel = field(default_factory=TrainedModel)


@dataclass
class EvaluateSlice:
    """Rule evaluate (one per model): the test metric, the task's plots and breakdowns, the
    period breakdown's split settings, the model inputs, the row key and the seed of the
    scatter plot's sample."""

    seed: int = MISSING
    task: EvaluateTask = field(default_factory=EvaluateTask)
    evaluation: MetricEvaluation = field(default_factory=MetricEvaluation)
    split: PeriodSplit = field(default_factory=PeriodSplit)
    columns: Columns = MISSING
    key: list[str] = MISSING


@dataclass
class ImportanceSlice:
    """Rule importance (one per model): the importance settings and metric, the task's labels,
    the model inputs and each feature family's columns."""

    task: ImportanceTask = field(default_factory=ImportanceTask)
    evaluation: ImportanceEvaluation = field(default_factory=ImportanceEvaluation)
    columns: Columns = MISSING
    families: dict[str, list[str]] = MISSING


@dataclass
class LeaderboardSlice:
    """Rule leaderboard: the ranking's metric, bootstrap and leakage settings, the baselines and
    groups of the task, the selected models and the model inputs (``feature_columns``, the
    leakage screen's candidates)."""

    task: LeaderboardTask = field(default_factory=LeaderboardTask)
    evaluation: LeaderboardEvaluation = field(default_factory=LeaderboardEvaluation)
    split: LeaderboardSplit = field(default_factory=LeaderboardSplit)
    feature_columns: list[str] = MISSING
    models: list[str] = MISSING


@dataclass
class PredictSlice:
    """Rule predict: batch prediction runs the feature build's settings over the new rows, feeds
    the champion the model inputs, keeps the task's id columns and checks the serving rows."""

    data: DataConfig = field(default_factory=DataConfig)
    features: dict[str, Any] = MISSING
    task: PredictTask = field(default_factory=PredictTask)
    audit: ServingAudit = field(default_factory=ServingAudit)
    columns: Columns = MISSING


Slice = TypeVar("Slice")


def load_slice(path: str | Path, cls: type[Slice]) -> Slice:
    """Read a rule's slice file (``results/configs/<rule>[/<model>].yaml``) into ``cls``.

    The file's YAML is merged onto the class's structured config and checked by OmegaConf.
    Raises ConfigError, in one line naming the file and the key, when a key is missing, unknown
    or holds a value of the wrong type (a slice written by another version): the workflow
    rewrites the slice from conf/ on its next run.
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        merged = OmegaConf.merge(OmegaConf.structured(cls), OmegaConf.load(path))
        return OmegaConf.to_object(merged)  # type: ignore[return-value]
    except OmegaConfBaseException as error:
        key = error.full_key or "?"
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ConfigError(
            f"{path}: {key}: {reason}; rerun the workflow so the slice is rewritten from conf/"
        ) from None
