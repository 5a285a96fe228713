"""The composed configuration cut into per-rule slices, written only when their text changes.

Each rule receives the settings it reads and nothing else, so changing a setting reruns only
the rules whose slice holds it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from snakeml.configuration.overrides import DEFAULT_CONFIG_DIR
from snakeml.configuration.validate import declaration_of
from snakeml.core.io import dump_yaml, write_text_if_changed
from snakeml.data.dataset import (
    Declaration,
    selected_features,
)

SLICE_HEADER = "# Resolved by snakeml from conf/ for one rule. Do not edit: edit conf/ instead.\n"


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
