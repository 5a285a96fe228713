"""Sweeps in Hydra's own grammar: the experiments they stand for, each named and composed.

A sweep is Hydra overrides where some keys take several values, as ``--multirun`` takes them:
``features.horizon_minutes=30,60,120 model=[hgb],[rf,ridge]`` (a comma list, ``range(...)``,
``choice(...)``, ``glob(...)``), or a file ``conf/sweep/<name>.yaml`` whose ``params`` map keys
to such values, as Hydra's ``hydra.sweeper.params`` does. Each combination of the swept values
(their Cartesian product, in the order given) is a point: an experiment with a stable, readable
name built from the values it takes, e.g. ``horizon_minutes-30_model-hgb``.

Hydra parses the grammar (``OverridesParser``); snakeml only names the points and checks them.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snakeml.core.errors import ConfigError

# A point's name is a folder name and a Snakemake wildcard value: these characters only.
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


@dataclass(frozen=True)
class Point:
    """One experiment of a sweep.

    ``overrides`` compose its configuration (the sweep's fixed items, then one value of each
    swept key); ``choices`` are the swept keys and the value this point takes.
    """

    name: str
    overrides: tuple[str, ...]
    choices: tuple[tuple[str, str], ...]


def read_sweep_file(path: str | Path) -> list[str]:
    """A sweep file's overrides: ``params: {key: values}`` -> ``["key=values", ...]``.

    Raises ConfigError when the file is missing, is not a mapping with ``params`` or holds an
    empty ``params``.
    """
    from snakeml.core.io import read_yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"sweep file {path} not found")
    data = read_yaml(path)
    params = data.get("params") if isinstance(data, dict) else None
    if not isinstance(params, dict) or not params:
        raise ConfigError(
            f"{path}: a sweep file holds params: a mapping of keys to values "
            "(e.g. params: {{features.horizon_minutes: '30,60,120'}})"
        )
    return [f"{key}={_as_override_value(value)}" for key, value in params.items()]


def _as_override_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(_as_override_value(item) for item in value)
    return str(value)


def _label(text: str) -> str:
    """``[rf,ridge]`` -> ``rf+ridge``; anything outside [A-Za-z0-9._+-] becomes one ``_``."""
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = "+".join(part.strip() for part in text[1:-1].split(",") if part.strip())
    return _UNSAFE.sub("_", text).strip("_") or "empty"


def _key_labels(keys: Sequence[str]) -> dict[str, str]:
    """The last part of each dotted key, or the whole key where two keys share a last part."""
    last = [key.lstrip("+~").rsplit(".", 1)[-1] for key in keys]
    return {
        key: _label(short if last.count(short) == 1 else key.lstrip("+~"))
        for key, short in zip(keys, last, strict=True)
    }


# A folder name's length at most; a longer name keeps its start and ends in a hash of the rest.
MAX_NAME = 120


def _labelled(pairs: Sequence[tuple[str, str]]) -> str:
    """``[("tuning.n_trials", "5"), ("model", "[hgb]")]`` -> ``n_trials-5_model-hgb``."""
    labels = _key_labels([key for key, _ in pairs])
    return "_".join(f"{labels[key]}-{_label(value)}" for key, value in pairs)


def _fixed_label(items: Sequence[str]) -> str:
    """The ``key=value`` items as a name part, ``tracking.*`` left out."""
    return _labelled(
        [
            (key, value)
            for key, _, value in (item.partition("=") for item in items if "=" in item)
            if not key.lstrip("+~").startswith("tracking.")
        ]
    )


def _capped(name: str) -> str:
    """``name``, or its first MAX_NAME - 9 characters and 8 hex digits of its SHA-256."""
    if len(name) <= MAX_NAME:
        return name
    return f"{name[: MAX_NAME - 9]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def run_name(overrides: Sequence[str]) -> str:
    """The plain run's name among experiments: its overrides as labels, or ``default``."""
    return _capped(_fixed_label(overrides)) or "default"


def experiment_name(point: Point, base: Sequence[str] = ()) -> str:
    """A point's experiment name: its swept values, after the fixed overrides it runs with.

    ``base`` (the run's overrides) and the sweep's unswept items are part of the name, so two
    sweeps that differ only there never share a folder: ``n_trials-5__model-hgb``; ``tracking.*``
    settings are not (they change where a result is logged, not the result). A name over
    MAX_NAME characters is cut and ends in 8 hex digits of its SHA-256.
    """
    swept = {f"{key}={value}" for key, value in point.choices}
    prefix = _fixed_label([item for item in (*base, *point.overrides) if item not in swept])
    return _capped(f"{prefix}__{point.name}" if prefix else point.name)


def sweep_points(items: str | Sequence[str], max_points: int) -> list[Point]:
    """The experiments of a sweep, in the order of Hydra's ``--multirun``.

    ``items`` is the sweep as one string (split like a shell) or a list of overrides. Raises
    ConfigError, one line, when the sweep is empty, does not parse (Hydra's message), sweeps
    nothing (no key takes two values), has more than ``max_points`` points, or two points get
    the same name.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    from snakeml.configuration.overrides import parse_overrides

    listed = parse_overrides(items)
    if not listed:
        raise ConfigError(
            "sweep: empty: give keys with several values, e.g. "
            'sweep="features.horizon_minutes=30,60 model=[hgb],[ridge]"'
        )
    try:
        parsed = OverridesParser.create().parse_overrides(listed)
    except HydraException as exc:
        raise ConfigError(f"sweep: {' '.join(str(exc).split())}") from exc
    fixed = [
        item
        for item, override in zip(listed, parsed, strict=True)
        if not override.is_sweep_override()
    ]
    swept = [
        (item.split("=", 1)[0], list(override.sweep_string_iterator()))
        for item, override in zip(listed, parsed, strict=True)
        if override.is_sweep_override()
    ]
    if not swept:
        raise ConfigError(
            f"sweep: {' '.join(listed)} gives each key one value: a sweep needs a key with "
            "several (key=a,b), or pass these as overrides"
        )
    size = 1
    for _, values in swept:
        size *= len(values)
    if size > max_points:
        raise ConfigError(
            f"sweep: {size} points, more than the maximum of {max_points} "
            f"({' x '.join(str(len(values)) for _, values in swept)}); sweep fewer values "
            "or raise the maximum (--config sweep_max_points=N)"
        )
    points = []
    for combination in itertools.product(*(values for _, values in swept)):
        choices = tuple((key, value) for (key, _), value in zip(swept, combination, strict=True))
        name = _labelled(choices)
        overrides = (*fixed, *(f"{key}={value}" for key, value in choices))
        points.append(Point(name=name, overrides=overrides, choices=choices))
    names = [point.name for point in points]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ConfigError(
            f"sweep: two points would share the name {twice[0]}: give values that differ in "
            "letters or digits"
        )
    return points


def compose_points(
    points: Sequence[Point], config_dir: str | Path, base: Sequence[str] = ()
) -> dict[str, dict[str, Any]]:
    """Each point's composed and validated configuration, by name.

    ``base`` overrides apply to every point first. Raises ConfigError naming the point for its
    first bad value, and naming both points when two resolve to the same configuration.
    """
    from snakeml.configuration.compose import compose_config
    from snakeml.core.io import dump_yaml

    configs: dict[str, dict[str, Any]] = {}
    seen: dict[str, str] = {}
    for point in points:
        try:
            cfg = compose_config([*base, *point.overrides], config_dir, estimators=False)
        except ConfigError as exc:
            raise ConfigError(f"sweep point {point.name}: {exc}") from None
        digest = hashlib.sha256(dump_yaml(cfg).encode()).hexdigest()
        if digest in seen:
            raise ConfigError(
                f"sweep points {seen[digest]} and {point.name} resolve to the same "
                "configuration: drop one of the values"
            )
        seen[digest] = point.name
        configs[point.name] = cfg
    return configs
