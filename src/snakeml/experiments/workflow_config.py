"""The workflow's entry into the configuration: ``snakemake --config ...`` to what the rules
read (the composed configuration, its slices, the data set's SQL files, a sweep's experiments),
cached while nothing it depends on changes (snakeml.configuration.cache).

Above snakeml.configuration (compose, validate, slices), snakeml.experiments.sweep (points)
and snakeml.experiments.runs (their folders): each of those imports only downwards.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snakeml.configuration.compose import compose_config, composed_files
from snakeml.configuration.overrides import looks_like_path, workflow_overrides
from snakeml.configuration.slices import rule_slice_texts
from snakeml.configuration.validate import check_installed, declaration_of
from snakeml.core.errors import ConfigError
from snakeml.data.dataset import Declaration
from snakeml.experiments.runs import Experiment, build_experiments
from snakeml.experiments.sweep import compose_points, read_sweep_file, sweep_points

# A sweep's points beyond this many are refused unless --config sweep_max_points=N says more.
DEFAULT_MAX_POINTS = 24


def sweep_arguments(config: dict[str, Any]) -> int:
    """Check ``--config sweep=`` and ``sweep_max_points=``; return the most points allowed.

    Raises ConfigError, one line, for a sweep given empty (Snakemake reads ``sweep=`` as None)
    and for a ``sweep_max_points`` that is not a whole number of 1 or more, sweep or not.
    """
    if "sweep" in config and config["sweep"] is None:
        raise ConfigError(
            "sweep: empty: give keys with several values, e.g. "
            'sweep="model=[hgb],[ridge]", or the name of a conf/sweep file, or leave '
            "sweep out for one run"
        )
    raw_max = config.get("sweep_max_points", DEFAULT_MAX_POINTS)
    try:
        max_points = int(raw_max)
    except (TypeError, ValueError):
        max_points = 0
    if max_points < 1 or str(raw_max).strip() != str(max_points):
        raise ConfigError(f"sweep_max_points={raw_max!r}: give a whole number of points, 1 or more")
    return max_points


def sweep_experiments(
    config: dict[str, Any],
    overrides: Sequence[str],
    cfg: dict[str, Any],
    config_dir: str | Path,
    declaration: Declaration,
) -> list[Experiment]:
    """The experiments of ``--config sweep=...`` (snakeml.experiments.runs.Experiment), or [].

    ``sweep`` is Hydra's sweep grammar in one string (``"features.horizon_minutes=30,60
    model=[hgb],[rf,ridge]"``) or the name of a file ``conf/sweep/<name>.yaml``. Each point is
    composed on top of ``overrides`` and checked against ``cfg``, the run's own configuration.
    Raises ConfigError, one line, for a bad sweep, point or ``sweep_max_points``.
    """
    max_points = sweep_arguments(config)
    value = config.get("sweep")
    if value is None:
        return []
    text = str(value).strip()
    sweep_file = Path(config_dir) / "sweep" / f"{text}.yaml"
    if "=" not in text and looks_like_path(text):
        known = sorted(path.stem for path in (Path(config_dir) / "sweep").glob("*.yaml"))
        instead = f"give sweep={Path(text).stem}; " if Path(text).stem in known else ""
        raise ConfigError(
            f"sweep={text}: give the name of a file in conf/sweep/, not a path: {instead}"
            f"sweep files: {known or 'none'}"
        )
    if re.fullmatch(r"[A-Za-z0-9_-]+", text):
        if not sweep_file.is_file():
            known = sorted(path.stem for path in sweep_file.parent.glob("*.yaml"))
            raise ConfigError(
                f"sweep={text}: no file {sweep_file.relative_to(Path(config_dir).parent)}"
                f" (sweep files: {known or 'none'}); or give key=a,b ..."
            )
        items: str | list[str] = read_sweep_file(sweep_file)
    else:
        items = text
    points = sweep_points(items, max_points)
    configs = compose_points(points, config_dir, base=overrides)
    return build_experiments(
        points,
        configs,
        base=overrides,
        base_cfg=cfg,
        slice_texts_of=lambda point_cfg: rule_slice_texts(point_cfg, declaration=declaration),
    )


@dataclass(frozen=True)
class WorkflowConfig:
    """What the workflow reads from conf/ and sql/ when it loads (rules/common.smk).

    ``cfg`` is the run's composed and validated configuration, ``slice_texts`` each rule's
    slice (``rule_slice_texts``), ``feature_sql`` the data set's SQL files and steps.yaml
    relative to the project, ``config_files`` the files under conf/ Hydra composed ``cfg``
    from (``composed_files``), ``experiments`` a sweep's (snakeml.experiments.runs.Experiment).
    """

    overrides: list[str]
    cfg: dict[str, Any]
    slice_texts: dict[str, str]
    feature_sql: list[str]
    config_files: list[str]
    experiments: list[Experiment]

    def as_data(self) -> dict[str, Any]:
        """Plain JSON data, for snakeml.configuration.cache; ``from_data`` reads it back."""
        return {
            "overrides": list(self.overrides),
            "cfg": self.cfg,
            "slice_texts": dict(self.slice_texts),
            "feature_sql": list(self.feature_sql),
            "config_files": list(self.config_files),
            "experiments": [experiment.as_data() for experiment in self.experiments],
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> WorkflowConfig:
        """What ``as_data`` gave; KeyError, TypeError or ValueError when it is not that."""
        found = cls(
            overrides=list(data["overrides"]),
            cfg=dict(data["cfg"]),
            slice_texts=dict(data["slice_texts"]),
            feature_sql=list(data["feature_sql"]),
            config_files=list(data["config_files"]),
            experiments=[Experiment.from_data(item) for item in data["experiments"]],
        )
        if found.as_data() != data:
            raise ValueError("not a WorkflowConfig's data")
        return found


def load_workflow_config(
    config: dict[str, Any], root: str | Path, cache_dir: str | Path | None = None
) -> WorkflowConfig:
    """The configuration of ``snakemake --config ...`` (``config``) in the project at ``root``.

    Composes ``root/conf`` with the overrides, validates it against the data set's declaration
    in ``root/sql``, cuts the rule slices and composes a sweep's points. With ``cache_dir``
    the result is kept there (snakeml.configuration.cache), and read back instead while conf/, sql/,
    the overrides, the sweep, snakeml's code and the installed packages stay the same; the
    checks that look beyond those (check_installed) run either way. Raises ConfigError, one
    line, for a bad configuration: an error is never cached.
    """
    from snakeml.configuration.cache import cache_key, read_cache, write_cache

    root = Path(root)
    overrides = workflow_overrides(config)
    sweep_arguments(config)  # before the cache: its key cannot tell sweep= from no sweep
    key = None
    if cache_dir is not None:
        inputs = {
            "overrides": overrides,
            "sweep": config.get("sweep"),
            "sweep_max_points": config.get("sweep_max_points"),
        }
        key = cache_key(root, inputs)
    if key is not None:
        data = read_cache(cache_dir, key)
        try:
            cached = WorkflowConfig.from_data(data) if data is not None else None
        except (KeyError, TypeError, ValueError):
            cached = None
        if cached is not None:
            check_installed(cached.cfg, root)
            for experiment in cached.experiments:
                try:
                    check_installed(experiment.config, root)
                except ConfigError as exc:
                    raise ConfigError(f"sweep point {experiment.name}: {exc}") from None
            return cached
    config_dir = root / "conf"
    cfg = compose_config(overrides, config_dir, estimators=False)
    declaration = declaration_of(cfg, root)
    experiments = sweep_experiments(config, overrides, cfg, config_dir, declaration)
    loaded = WorkflowConfig(
        overrides=overrides,
        cfg=cfg,
        slice_texts=rule_slice_texts(cfg, declaration=declaration),
        feature_sql=[str(path.relative_to(root)) for path in declaration.input_files],
        config_files=composed_files(overrides, config_dir),
        experiments=experiments,
    )
    if key is not None:
        # A result naming the project's folder (an absolute path composed from conf/) would be
        # wrong in a copy of the project, which the key cannot tell apart: not stored.
        write_cache(cache_dir, key, loaded.as_data(), unless=str(root.resolve()))
    return loaded
