"""The overrides of `snakemake --config ...` and of the command line, read and checked before Hydra.

Also the conf/ folder they apply to by default, and the refusal of a path where a config
group takes an option's name.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from snakeml.core.errors import ConfigError

DEFAULT_CONFIG_DIR = Path(__file__).resolve().parents[3] / "conf"


def parse_overrides(overrides: str | Sequence[str] | None) -> list[str]:
    """Split a Hydra override string such as ``"tuning.n_trials=5 split.test_months=[12]"``."""
    if overrides is None:
        return []
    if isinstance(overrides, str):
        try:
            return shlex.split(overrides)
        except ValueError as exc:
            raise ConfigError(
                f"cannot parse overrides {overrides!r}: {exc}; put a value with quotes or "
                "spaces in a file, one override per line, and pass --config overrides_file=<file>"
            ) from exc
    return [str(item) for item in overrides]


# The keys `snakemake --config` may set: Hydra overrides in one string, or in a file; a sweep
# (snakeml.experiments.sweep) and the most points it may have.
CONFIG_KEYS: tuple[str, ...] = ("overrides", "overrides_file", "sweep", "sweep_max_points")


def workflow_overrides(config: dict[str, Any]) -> list[str]:
    """The Hydra overrides of ``snakemake --config ...``, checked.

    ``overrides`` is one string in Hydra's grammar, split like a shell line; ``overrides_file``
    names a file with one override per line, taken verbatim (quotes and spaces included, for
    values the command line cannot carry), applied first. Raises ConfigError for any other key
    (a typo, or a target written after --config) and for an unreadable file.
    """
    unknown = [str(key) for key in config if key not in CONFIG_KEYS]
    if unknown:
        raise ConfigError(
            f'unknown --config key(s) {unknown}: snakeml takes overrides="key=value ...", '
            'overrides_file=<file>, sweep="key=a,b ..." or <conf/sweep name> and '
            "sweep_max_points=N; targets and options go before --config, e.g. snakemake "
            '--cores 2 results/predictions/new.parquet --config overrides="..."'
        )
    lines: list[str] = []
    if config.get("overrides_file"):
        path = Path(str(config["overrides_file"]))
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"overrides_file: cannot read {path}: {exc.strerror}") from None
        lines = [
            line.strip()
            for line in text.splitlines()
            if line.strip() and not line.strip().startswith("#")
        ]
    value = config.get("overrides")
    if value is None or value == "":
        items = lines
    elif isinstance(value, list | tuple):
        items = [*lines, *(str(item) for item in value)]
    else:
        items = [*lines, *parse_overrides(str(value))]
    for item in items:
        if "=" not in item and not item.startswith("~"):
            raise ConfigError(
                f"override {item!r} is not key=value (Hydra's grammar), e.g. "
                '--config overrides="tuning.n_trials=5 model=[ridge]"'
            )
    return items


def looks_like_path(value: str) -> bool:
    return (
        "/" in value or "\\" in value or value.startswith(".") or value.endswith((".yaml", ".yml"))
    )


def refuse_yml_files(config_dir: str | Path) -> None:
    """Refuse a ``.yml`` file under conf/: Hydra reads ``<group>/<name>.yaml`` only, so such a
    file would be ignored without a word (a task written as conf/task/x.yml is not found, or
    conf/task/x.yaml beside it wins). Raises ConfigError naming the file and its new name."""
    config_dir = Path(config_dir)
    found = sorted(config_dir.rglob("*.yml"))
    if found:
        path = found[0].relative_to(config_dir)
        raise ConfigError(
            f"{config_dir.name}/{path}: Hydra reads .yaml files only, so this one is ignored; "
            f"rename it to {path.with_suffix('.yaml').name}"
        )


def refuse_paths_for_names(items: Sequence[str], config_dir: str | Path) -> None:
    """Refuse an override that gives a config group a file path instead of an option's name.

    ``model=conf/model/ridge.yaml``, ``task=./arr_delay`` or a file name (``data=mytable.csv``)
    raises ConfigError, one line, with the override to give instead (when the path names an
    option) and the options there are.
    """
    config_dir = Path(config_dir)
    for item in items:
        key, _, value = item.partition("=")
        prefix, key = key[: len(key) - len(key.lstrip("+~"))], key.lstrip("+~")
        folder = config_dir / key
        if not key or not folder.is_dir():
            continue
        listed = value.strip().removeprefix("[").removesuffix("]")
        choices = [choice.strip() for choice in listed.split(",")]
        options = sorted(path.stem for path in folder.glob("*.yaml"))
        # a path, or a file's name such as data=mytable.csv
        paths = {c for c in choices if looks_like_path(c) or (Path(c).suffix and c not in options)}
        if not paths:
            continue
        names = [Path(choice).stem if choice in paths else choice for choice in choices]
        instead = ",".join(names)
        if value.strip().startswith("["):
            instead = f"[{instead}]"
        hint = f"give {prefix}{key}={instead}; " if all(name in options for name in names) else ""
        raise ConfigError(
            f"{item}: {key} takes the name of a file in conf/{key}/, not a path: {hint}"
            f"choose from {options}"
        )
