"""Hydra's and OmegaConf's errors reworded: one line naming the key, its file and the fix.

Why it exists: Hydra reports a misspelt key or a bad option over several lines of causes and
suggests appending an unknown key with ``+``, which the schema then refuses anyway.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from snakeml.core.errors import ConfigError, SettingError, closest_name
from snakeml.core.schema import (
    schema_bounds,
)


def one_line(exc: BaseException) -> str:
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


def options_hint(exc: BaseException, config_dir: Path) -> str:
    """For an unknown option of a config group, list the options that exist."""
    match = re.search(r"Could not (?:load|find) '([\w/]+)/(\w+)'", str(exc))
    if not match or not (config_dir / match.group(1)).is_dir():
        return ""
    options = sorted(p.stem for p in (config_dir / match.group(1)).glob("*.yaml"))
    close = closest_name(match.group(2), options)
    meant = f"did you mean {match.group(1)}={close}? " if close else ""
    return f" | {meant}choose from {options} (conf/{match.group(1)}/*.yaml)"


def explain_unknown_override(exc: BaseException, items: Sequence[str], config_dir: Path) -> None:
    """Hydra's refusal of an override of a key the schema lacks, as ``refuse_unknown_keys``'s.

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
    refuse_unknown_keys(data, items, config_dir)


def explain_several_values(exc: BaseException, config_dir: Path) -> None:
    """Hydra's refusal of ``key=a,b`` (several values) says to add ``--multirun``, which
    snakemake does not take: say how snakeml runs several values instead, a sweep (each value
    an experiment, docs/experiments.md), or a list for a key that holds one (``model=[a,b]``:
    several models in one run). The data set is never swept (a sweep's points share one data
    set): run each on its own. ``config_dir`` tells a config group (one option) from a
    setting. Returns when the error is another.
    """
    match = re.match(r"Ambiguous value for argument '(([^'=]+)=([^']*))'", str(exc))
    if match is None:
        return
    item, key, values = match.groups()
    name, parts = key.lstrip("+~"), values.split(",")
    if name == "data":
        raise ConfigError(
            f"{item}: a run reads one data set: run each on its own "
            f"({', '.join(f'data={value}' for value in parts)})"
        )
    sweep, each = item, "each value"
    if name == "model":
        sweep = f"{key}=" + ",".join(f"[{value}]" for value in parts)
        lead = f"several models in one run are a list, {key}=[{values}]"
        each = "each"
    elif (config_dir / name).is_dir():  # a config group other than model: one option
        lead, each = f"{key} takes one option in a run", "each"
    else:
        lead = f"{key} takes one value in a run (a list, if it holds one: {key}=[{values}])"
    raise ConfigError(
        f"{item}: {lead}; to run {each} as an experiment side by side, make it a sweep: "
        f'--config sweep="{sweep}" (or make sweep SWEEP="{sweep}"; docs/experiments.md)'
    )


def override_of(key: str, overrides: Sequence[str]) -> str | None:
    """The override (``key=value``, ``+key=value`` or ``~key``) of ``overrides`` that sets
    ``key``, the last one; None when none does."""
    found = [item for item in overrides if item.lstrip("+~").partition("=")[0] == key]
    return found[-1] if found else None


def _keyed_cause(exc: BaseException, kind: type[BaseException]) -> Any:
    """The first error of ``kind`` in ``exc``'s chain of causes that names its whole key
    (OmegaConf's ``full_key``), or None."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, kind) and getattr(cause, "full_key", None):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None


def explain_unknown_file_key(exc: BaseException, config_dir: Path) -> None:
    """A conf/ file's key the schema lacks, as one line naming the file, the key and the known.

    Hydra reports it as ``In 'data/energy': ConfigKeyError raised while composing config: Key
    'not_nul' not in 'TableConfig'``; OmegaConf's error behind it has the whole key. Returns
    when ``exc`` is about anything else.
    """
    import dataclasses

    from omegaconf.errors import ConfigKeyError

    from snakeml.core import schema

    cause = _keyed_cause(exc, ConfigKeyError)
    if cause is None:
        return
    cls = getattr(schema, str(getattr(cause, "object_type_str", "")), None)
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        return
    key = str(cause.full_key)
    known = sorted(field.name for field in dataclasses.fields(cls))
    where = re.search(r"In '([^']+)'", str(exc))
    file = f"conf/{where.group(1)}.yaml" if where else f"the files of {config_dir.name}/"
    raise ConfigError(_no_such_setting(key, known, f"fix it in {file}")) from None


# OmegaConf's words for a value of the wrong shape, and ours: (pattern, what it must be).
WRONG_SHAPES = (
    (r"is not a ListConfig, list or tuple|type hint 'typing\.List", "must be a list, e.g. [a, b]"),
    (r"is not a DictConfig|type hint 'typing\.Dict", "must be a mapping, e.g. {key: value}"),
)


def explain_wrong_type(exc: BaseException, items: Sequence[str], config_dir: Path) -> None:
    """A conf/ file's value of the wrong shape (``not_null: date`` for a list, ``wind: 40`` for
    ``[low, high]``) as one line naming the file, the whole key and the shape it must have.

    Hydra reports it as ``In 'data/x': ValidationError raised while composing config: Invalid
    value assigned: AnyNode is not a ListConfig, list or tuple``; OmegaConf's error behind it
    has the whole key; an override (of ``items``) that sets it is named instead of a file.
    Returns when ``exc`` is about anything else.
    """
    from omegaconf.errors import ValidationError

    cause = _keyed_cause(exc, ValidationError)
    if cause is None:
        return
    message = str(cause).splitlines()[0]
    shape = next((must for pattern, must in WRONG_SHAPES if re.search(pattern, message)), None)
    if shape is None:
        return
    key = str(cause.full_key)
    override = override_of(key, items)
    where = re.search(r"In '([^']+)'", str(exc))
    if override is not None:
        fix = f"fix the override {override}"
    elif where:
        fix = f"fix it in conf/{where.group(1)}.yaml"
    else:
        fix = f"fix it under {config_dir.name}/"
    raise ConfigError(f"{key}: {shape}; {fix}") from None


def _no_such_setting(key: str, known: Sequence[str], fix: str) -> str:
    """``<key>: no such setting (did you mean <closest>? <parent> has <known>); <fix>``."""
    parent, _, name = key.rpartition(".")
    close = closest_name(name, known)
    meant = f"did you mean {parent + '.' if parent else ''}{close}? " if close else ""
    return (
        f"{key}: no such setting ({meant}{parent or 'the configuration'} has "
        f"{', '.join(known)}); {fix}"
    )


def refuse_unknown_keys(data: dict[str, Any], items: Sequence[str], config_dir: Path) -> None:
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
    """Where a setting is set: ``set it in conf/tuning/default.yaml or drop the override`` when
    an override gives it; else ``fix it in conf/task/x.yaml, which sets it`` naming the chosen
    file that does (a task's or an experiment's file may set any key)."""
    if override_of(key, overrides) is None:
        found = file_setting(key, overrides, config_dir)
        if found is not None:
            return f"fix it in {found}, which sets it"
    return f"set it in {setting_file(key, overrides, config_dir)} or drop the override"


_UNSET = object()


def file_setting(key: str, overrides: Sequence[str], config_dir: str | Path) -> str | None:
    """The last chosen file under conf/ whose text sets ``key`` (``split.train_fraction``), in
    the defaults list's order, then ``+group=option`` files, then conf/config.yaml; None when
    none does. A ``# @package _global_`` file sets full keys; any other, keys below its group
    (conf/split/default.yaml's ``train_fraction``; conf/model/rf.yaml's ``rf.params``)."""
    from snakeml.core.io import read_yaml

    config_dir = Path(config_dir)
    files = [
        config_dir / group / f"{option}.yaml"
        for group, options in _choices(overrides, config_dir).items()
        for option in options
    ]
    head, _, below = key.partition(".")
    found = None
    for path in [*files, config_dir / "config.yaml"]:
        if not path.is_file():
            continue
        if "@package _global_" in path.read_text().split("\n", 1)[0] or path.parent == config_dir:
            own = key
        elif path.parent.name == head:
            own = below
        else:
            continue
        node: Any = read_yaml(path)
        for part in own.split("."):
            node = node.get(part, _UNSET) if isinstance(node, dict) else _UNSET
        if node is not _UNSET:
            found = f"{config_dir.name}/{path.relative_to(config_dir)}"
    return found


def _choices(overrides: Sequence[str], config_dir: Path) -> dict[str, list[str]]:
    """Each config group's chosen options, in the defaults list's order (conf/config.yaml's,
    then the overrides': ``task=x`` replaces, ``+experiment=smoke`` adds)."""
    from snakeml.core.io import read_yaml

    chosen: dict[str, list[str]] = {}
    for entry in read_yaml(config_dir / "config.yaml").get("defaults") or []:
        if isinstance(entry, dict):
            for group, option in entry.items():
                chosen[str(group)] = (
                    [str(o) for o in option] if isinstance(option, list) else [str(option)]
                )
    for item in overrides:
        group, _, option = item.lstrip("+~").partition("=")
        if option and "." not in group and (config_dir / group).is_dir():
            names = option.strip("[]").split(",") if option.startswith("[") else [option]
            chosen[group] = [name.strip() for name in names if name.strip()]  # keeps its place
    return chosen


def setting_file(key: str, overrides: Sequence[str], config_dir: str | Path) -> str:
    """The file under conf/ that sets ``key`` (``conf/tuning/default.yaml``), or its folder.

    The file is the chosen option of the key's config group, as conf/config.yaml's defaults and
    the overrides choose it (``tuning=fast``); a model's settings are in its own file, a data
    set's features in the data set's file.
    """
    config_dir = Path(config_dir)
    choices = {group: opts[-1] for group, opts in _choices(overrides, config_dir).items() if opts}
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
