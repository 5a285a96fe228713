"""Compose the Hydra configuration once (conf/config.yaml and the overrides), then validate it.

The workflow reaches it through snakeml.experiments.workflow_config (with a sweep's points and
the cache). Only the workflow and the tests call it: scripts read the YAML slice their rule was
given and never call Hydra.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from snakeml.configuration.hydra_errors import (
    explain_several_values,
    explain_unknown_file_key,
    explain_unknown_override,
    explain_wrong_type,
    one_line,
    options_hint,
    refuse_unknown_keys,
    refused_setting,
    setting_file,
    setting_source,
)
from snakeml.configuration.overrides import (
    DEFAULT_CONFIG_DIR,
    parse_overrides,
    refuse_paths_for_names,
    refuse_yml_files,
)
from snakeml.configuration.settings import check_model_settings
from snakeml.configuration.validate import (
    check_estimator_kind,
    fill_metric_defaults,
    validate_config,
)
from snakeml.core.errors import ConfigError, SettingError
from snakeml.core.io import yaml_syntax_error
from snakeml.core.schema import (
    register_schema,
)
from snakeml.models.task_kinds import task_kind


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
    from yaml import MarkedYAMLError

    config_dir = Path(config_dir).resolve()
    if not (config_dir / "config.yaml").is_file():
        raise ConfigError(f"no config.yaml in {config_dir}: run from the project's root")
    refuse_yml_files(config_dir)
    items = parse_overrides(overrides)
    refuse_paths_for_names(items, config_dir)
    register_schema()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
            cfg = compose(config_name="config", overrides=items)
        data = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    except MarkedYAMLError as exc:  # a file under conf/ that is not YAML
        raise yaml_syntax_error(exc, config_dir.parent) from None
    except (HydraException, OmegaConfBaseException) as exc:
        wrong = refused_setting(exc)
        if wrong is not None:
            raise wrong.with_hint(setting_source(wrong.key, items, config_dir)) from exc
        explain_unknown_override(exc, items, config_dir)
        explain_several_values(exc, config_dir)
        explain_unknown_file_key(exc, config_dir)
        explain_wrong_type(exc, items, config_dir)
        message, hint = one_line(exc), options_hint(exc, config_dir)
        if hint:  # ours lists the options once, with where they live
            message = message.split(" | Available options")[0]
        raise ConfigError(f"invalid configuration: {message}{hint}") from exc
    finally:
        GlobalHydra.instance().clear()
    assert isinstance(data, dict)
    refuse_unknown_keys(data, items, config_dir)
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
        check_estimator_kind(f"model.{name}", spec["_target_"], task_kind(cfg["task"]["kind"]))
    try:
        for name, spec in cfg["model"].items():
            check_model_settings(name, spec)
    except SettingError as exc:
        items = parse_overrides(overrides)
        raise exc.with_hint(setting_source(exc.key, items, Path(config_dir).resolve())) from None
