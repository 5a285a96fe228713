"""Every numeric setting of the composed configuration, checked against its declared range.

A setting's range is declared where its type is: the schema's fields (snakeml.core.schema.setting),
the engine's feature settings (snakeml.core.schema.FEATURE_BOUNDS), the variables of a data set's
SQL (sql/<data>/steps.yaml, see snakeml.data.dataset.sql_variables), the bounds of a table's
contract (conf/data/, see snakeml.data.dataset) and, for a model's params and search space, the
estimator's own constraints on its parameters (scikit-learn's ``_parameter_constraints``).
NaN, an infinity, a boolean or a string where a number belongs, or a number out of range,
raises SettingError: one line naming the key, the value and what it must be.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Iterator
from dataclasses import fields, is_dataclass
from typing import Any

from snakeml.core.errors import ConfigError, SettingError
from snakeml.core.schema import (
    FEATURE_BOUNDS,
    Bounds,
    Config,
    field_bounds,
    is_non_finite,
    type_hints,
)
from snakeml.data.dataset import Declaration, sql_variables

FINITE = Bounds()


def check_settings(cfg: dict[str, Any], declaration: Declaration, estimators: bool = True) -> None:
    """Check every numeric setting of a composed configuration; raise SettingError at the first.

    ``declaration`` is the configured data set's steps.yaml, which declares its SQL variables.
    With ``estimators`` false the models' params and search bounds are left to
    ``check_model_settings``: it imports scikit-learn (1-4 s), which a workflow spends only when
    it has jobs to run.
    """
    for key, value, bounds in schema_settings(cfg):
        if not bounds.admits(value):
            raise SettingError(key, value, bounds.describe())
    features = cfg["features"]
    for name, bounds in FEATURE_BOUNDS.items():
        if name in features and not bounds.admits(features[name]):
            raise SettingError(f"features.{name}", features[name], bounds.describe())
    sql_variables(features, declaration)
    if estimators:
        for name, spec in cfg["model"].items():
            check_model_settings(name, spec)


def schema_settings(cfg: dict[str, Any]) -> Iterator[tuple[str, Any, Bounds]]:
    """Each numeric field of the schema in ``cfg``: its dotted key, its value, its bounds."""
    yield from _walk(Config, cfg, "")


def _walk(cls: type, data: dict[str, Any], prefix: str) -> Iterator[tuple[str, Any, Bounds]]:
    hints = type_hints(cls)
    for item in fields(cls):
        if item.name not in data:
            continue
        key, value, hint = f"{prefix}{item.name}", data[item.name], hints[item.name]
        bounds = field_bounds(cls, item.name)
        if bounds is not None:
            yield key, value, bounds
        elif is_dataclass(hint) and isinstance(value, dict):
            yield from _walk(hint, value, f"{key}.")  # type: ignore[arg-type]
        elif typing.get_origin(hint) is dict and isinstance(value, dict):
            inner = typing.get_args(hint)[1]
            if is_dataclass(inner):
                for name, entry in value.items():
                    if isinstance(entry, dict):
                        yield from _walk(inner, entry, f"{key}.{name}.")  # type: ignore[arg-type]


class ParameterRule:
    """What an estimator accepts for one parameter: any of its declared constraints.

    A boolean passes only where a constraint takes booleans as such (not as the integers 0
    and 1), and NaN or an infinity never passes.
    """

    def __init__(self, constraints: list[Any]) -> None:
        # Private use: scikit-learn checks parameters only inside fit; nothing public checks one.
        from sklearn.utils._param_validation import make_constraint

        self.constraints = [make_constraint(c) for c in constraints]

    def admits(self, value: Any) -> bool:
        """Whether the estimator accepts ``value`` for the parameter."""
        if is_non_finite(value):
            return False
        if isinstance(value, bool):
            return any(
                c.is_satisfied_by(value) and not c.is_satisfied_by(int(value))
                for c in self.constraints
            )
        return any(c.is_satisfied_by(value) for c in self.constraints)

    def describe(self) -> str:
        """The constraints in scikit-learn's words: ``an int in the range [1, inf) or None``."""
        shown = [str(c) for c in self.constraints if not getattr(c, "hidden", False)]
        return " or ".join(shown) or "a value the estimator accepts"


@functools.cache
def parameter_rules(target: str) -> tuple[str, frozenset[str], dict[str, ParameterRule]]:
    """The estimator ``target`` names: its class name, its parameters and their rules.

    A parameter the estimator declares no constraints for has no rule: any finite number (or
    a value that is not a number) is passed on as it is.
    """
    from snakeml.models.estimators import estimator_class

    cls = estimator_class(target, kind=None)
    names = frozenset(
        p.name
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    )
    declared = getattr(cls, "_parameter_constraints", {}) or {}
    rules = {name: ParameterRule(list(c)) for name, c in declared.items() if name in names}
    return cls.__name__, names, rules


def _check_parameter(key: str, value: Any, rule: ParameterRule | None) -> None:
    if rule is None:
        if is_non_finite(value):
            raise SettingError(key, value, FINITE.describe())
    elif not rule.admits(value):
        raise SettingError(key, value, rule.describe())


def check_model_settings(name: str, spec: dict[str, Any]) -> None:
    """A model's params and search bounds, against the estimator's constraints on them.

    ``spec`` is a composed ``model.<name>`` section: the schema (snakeml.core.schema.ModelConfig)
    gives it every key.

    Every value a search may draw lies between its bounds, so both bounds must be values the
    estimator accepts (as integers for an int search). Raises SettingError, or ConfigError for a
    parameter the estimator does not have.
    """
    prefix = f"model.{name}"
    try:
        cls_name, names, rules = parameter_rules(spec["_target_"])
    except ConfigError as exc:
        raise ConfigError(f"{prefix}._target_: {exc}") from None
    for param, value in spec["params"].items():
        _known(f"{prefix}.params.{param}", param, cls_name, names)
        _check_parameter(f"{prefix}.params.{param}", value, rules.get(param))
    for param, search in spec["search_space"].items():
        key = f"{prefix}.search_space.{param}"
        _known(key, param, cls_name, names)
        if search["type"] == "categorical":
            for choice in search["choices"] or ():
                _check_parameter(f"{key}.choices", choice, rules.get(param))
            continue
        for end in ("low", "high"):
            value = search[end]
            if value is None or not FINITE.admits(value):
                continue  # the schema's check names a missing or non-finite bound
            if search["type"] == "int":
                if not float(value).is_integer():
                    raise SettingError(f"{key}.{end}", value, "a whole number: an int search")
                value = int(value)
            else:
                value = float(value)
            _check_parameter(f"{key}.{end}", value, rules.get(param))


def _known(key: str, param: str, cls_name: str, names: frozenset[str]) -> None:
    if param not in names:
        raise ConfigError(f"{key}: {cls_name} has no parameter {param!r}; it has {sorted(names)}")
