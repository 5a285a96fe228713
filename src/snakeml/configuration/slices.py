"""The composed configuration cut into per-rule slices, written only when their text changes.

Each rule receives the settings it reads and nothing else, so changing a setting reruns only
the rules whose slice holds it.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from snakeml.configuration.overrides import DEFAULT_CONFIG_DIR
from snakeml.configuration.validate import declaration_of
from snakeml.core.io import dump_yaml, write_text_if_changed
from snakeml.core.schema import (
    AuditConfig,
    BaselineConfig,
    GroupConfig,
    SearchParam,
    SplitConfig,
    TuningConfig,
    data_config,
)
from snakeml.core.slices import (
    AuditSlice,
    EvaluateSlice,
    EvaluateTask,
    FeaturesSlice,
    FoldCount,
    FoldSplit,
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
    SearchedModel,
    ServingAudit,
    SplitSlice,
    TrainedModel,
    TrainSlice,
    TuneBestSlice,
    TuneBestTuning,
    TuneShardSlice,
    ValidationTask,
)
from snakeml.data.dataset import (
    Declaration,
    selected_features,
)

SLICE_HEADER = "# Resolved by snakeml from conf/ for one rule. Do not edit: edit conf/ instead.\n"


def model_names(cfg: dict[str, Any]) -> list[str]:
    """The selected models, in a stable order."""
    return sorted(cfg["model"])


def searched_model(name: str, model: dict[str, Any]) -> SearchedModel:
    """Model ``name`` of the composed ``model`` section as tuning reads it."""
    space = {param: SearchParam(**spec) for param, spec in model["search_space"].items()}
    return SearchedModel(
        name=name,
        _target_=model["_target_"],
        preprocessing=model["preprocessing"],
        params=dict(model["params"]),
        search_space=space,
    )


def rule_slices(
    cfg: dict[str, Any], root: str | Path | None = None, declaration: Declaration | None = None
) -> dict[str, Any]:
    """Each rule's own part of the configuration (a snakeml.core.slices object), keyed by its
    path under results/configs.

    A rule sees only the values it uses, so changing any other value does not rerun it. The
    feature columns and families come from the data set's declaration (sql/<data>/steps.yaml).
    """
    if declaration is None:
        root = Path(root) if root is not None else DEFAULT_CONFIG_DIR.parent
        declaration = declaration_of(cfg, root)
    task, evaluation = cfg["task"], cfg["evaluation"]
    split = dict(cfg["split"])
    if task["time"] is None:
        # The calendar's settings read only with a time column: a change of them reruns nothing.
        split.update(time_zone=None, period=None)
    selected = selected_features(cfg["features"], declaration)
    chosen = [*selected["numeric"], *selected["categorical"]]
    key = list(declaration.key)
    seed = cfg["seed"]

    def columns() -> dict[str, Any]:
        return {"target": task["target"], **selected}

    def validation_task() -> ValidationTask:
        # The split strategy's view of the task: the split and the tuning folds cut the same way.
        return ValidationTask(
            **{name: task[name] for name in ("kind", "target", "time", "horizon")}
        )

    def features() -> dict[str, Any]:
        # the feature build reads every declared feature; features.columns selects model inputs
        return {k: v for k, v in cfg["features"].items() if k != "columns"}

    slices: dict[str, Any] = {
        "ingest": IngestSlice(data=data_config(cfg["data"])),
        "features": FeaturesSlice(data=data_config(cfg["data"]), features=features()),
        # The look-ahead audit rebuilds the features, so it reads their slice and its own.
        "audit": AuditSlice(
            data=data_config(cfg["data"]), features=features(), audit=AuditConfig(**cfg["audit"])
        ),
        "split": SplitSlice(
            seed=seed,
            # the evaluation's period is not the split's: a change of it does not move the parts
            split=SplitConfig(**{**split, "period": None}),
            task=validation_task(),
            key=list(key),
            tuning=FoldCount(n_folds=cfg["tuning"]["n_folds"]),
        ),
        "leaderboard": LeaderboardSlice(
            task=LeaderboardTask(
                kind=task["kind"],
                target=task["target"],
                time=task["time"],
                groups=[LeaderboardGroup(g["column"], g["name"]) for g in task["groups"]],
                baselines=[BaselineConfig(**baseline) for baseline in task["baselines"]],
            ),
            evaluation=LeaderboardEvaluation(
                metric=evaluation["metric"],
                bootstrap_resamples=evaluation["bootstrap_resamples"],
                bootstrap_random_state=evaluation["bootstrap_random_state"],
                bootstrap_blocks=evaluation["bootstrap_blocks"],
                leakage_max_rows=evaluation["leakage_max_rows"],
                leakage_threshold=evaluation["leakage_threshold"],
            ),
            split=LeaderboardSplit(time_zone=split["time_zone"], group=split["group"]),
            feature_columns=list(chosen),
            models=model_names(cfg),
        ),
        # Batch prediction runs the same feature build and feeds the champion the columns
        # every model was trained on.
        "predict": PredictSlice(
            data=data_config(cfg["data"]),
            features=features(),
            task=PredictTask(kind=task["kind"], id_columns=list(task["id_columns"])),
            audit=ServingAudit(serving_rows=cfg["audit"]["serving_rows"]),
            columns=columns(),
        ),
    }
    for name in model_names(cfg):
        model = cfg["model"][name]
        # the final fit's row cap is train's alone: tuning folds its own sample (tuning.max_rows)
        slices[f"tune_shard/{name}"] = TuneShardSlice(
            seed=seed,
            task=validation_task(),
            key=list(key),
            # the folds: a boundary, fraction or cap moves them only through the split's files
            split=FoldSplit(**{k: split[k] for k in FoldSplit.__dataclass_fields__}),
            columns=columns(),
            model=searched_model(name, model),
            tuning=TuningConfig(**cfg["tuning"]),
        )
        slices[f"tune_best/{name}"] = TuneBestSlice(
            seed=seed,
            model=searched_model(name, model),
            tuning=TuneBestTuning(
                metric=cfg["tuning"]["metric"], n_shards=cfg["tuning"]["n_shards"]
            ),
        )
        slices[f"train/{name}"] = TrainSlice(
            seed=seed,
            task=KindOnlyTask(kind=task["kind"]),
            columns=columns(),
            model=TrainedModel(
                **vars(searched_model(name, model)), max_train_rows=model["max_train_rows"]
            ),
        )
        slices[f"evaluate/{name}"] = EvaluateSlice(
            seed=seed,
            task=EvaluateTask(
                kind=task["kind"],
                target=task["target"],
                label=task["label"],
                units=task["units"],
                groups=[GroupConfig(**group) for group in task["groups"]],
                time=task["time"],
            ),
            evaluation=MetricEvaluation(metric=evaluation["metric"]),
            split=PeriodSplit(period=split["period"], time_zone=split["time_zone"]),
            columns=columns(),
            key=list(key),
        )
        slices[f"importance/{name}"] = ImportanceSlice(
            task=ImportanceTask(
                kind=task["kind"], target=task["target"], label=task["label"], units=task["units"]
            ),
            evaluation=ImportanceEvaluation(
                metric=evaluation["metric"],
                importance_repeats=evaluation["importance_repeats"],
                importance_max_rows=evaluation["importance_max_rows"],
                importance_random_state=evaluation["importance_random_state"],
            ),
            columns=columns(),
            families=declaration.families(chosen),
        )
    return slices


def rule_slice_texts(
    cfg: dict[str, Any],
    root: str | Path | None = None,
    declaration: Declaration | None = None,
) -> dict[str, str]:
    """Each rule's slice as the text of its file, ``results/configs/<key>.yaml``, by key: the
    slice's fields under Hydra's key names, in the order of its class.

    ``declaration`` (else read from ``root``) is the data set's steps.yaml, already loaded.
    """
    return {
        key: SLICE_HEADER + dump_yaml(asdict(data))
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
