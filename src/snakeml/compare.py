"""Experiments side by side: results/experiments/comparison.csv and its plot (rule compare).

Each experiment folder, ``results/experiments/<name>/``, holds ``configs/experiment.yaml`` (the
overrides that compose it) and ``leaderboard.csv`` (the test metrics of its models and
baselines). The comparison has one row per experiment and leaderboard row: the experiment, then
one column per override key whose value differs between the experiments (empty where an
experiment does not set it; named ``override.<key>`` where the key is also a leaderboard
column, as ``model`` is), then the leaderboard's columns.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from snakeml.errors import ConfigError
from snakeml.io import read_yaml, write_csv

log = logging.getLogger(__name__)


def override_values(overrides: Sequence[str]) -> dict[str, str]:
    """``["+experiment=smoke", "model=[hgb]"]`` -> ``{"experiment": "smoke", "model": "[hgb]"}``.

    A later override of a key wins, as in Hydra; a deletion (``~key``) reads ``deleted``.
    """
    values: dict[str, str] = {}
    for item in overrides:
        key, _, value = item.partition("=")
        if key.startswith("~"):
            values[key[1:]] = "deleted"
        else:
            values[key.lstrip("+")] = value
    return values


def comparison_table(folder: str | Path, names: Sequence[str]) -> pd.DataFrame:
    """The comparison of the experiments ``names`` under ``folder`` (see the module's docstring).

    An experiment without a leaderboard yet (a run stopped before it) is left out with a log
    line. Raises ConfigError when no experiment has one.
    """
    folder = Path(folder)
    frames, values = [], {}
    for name in names:
        leaderboard = folder / name / "leaderboard.csv"
        record = folder / name / "configs" / "experiment.yaml"
        if not leaderboard.is_file() or not record.is_file():
            log.info("%s: no leaderboard yet, left out", name)
            continue
        values[name] = override_values(read_yaml(record)["overrides"])
        frames.append(pd.read_csv(leaderboard).assign(experiment=name))
    if not frames:
        raise ConfigError(
            f"no experiment under {folder} has a leaderboard: run a sweep first, e.g. snakemake "
            '--cores 2 --config sweep="model=[hgb],[ridge]"'
        )
    keys = list(dict.fromkeys(key for found in values.values() for key in found))
    differing = [key for key in keys if len({found.get(key, "") for found in values.values()}) > 1]
    table = pd.concat(frames, ignore_index=True)
    columns = [column for column in table.columns if column != "experiment"]
    names_of = {key: f"override.{key}" if key in table.columns else key for key in differing}
    settings = pd.DataFrame(
        [
            {"experiment": name, **{names_of[key]: found.get(key, "") for key in differing}}
            for name, found in values.items()
        ]
    )
    return settings.merge(table[["experiment", *columns]], on="experiment", how="right")


def best_per_experiment(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Each experiment's best model (not baseline) by ``metric`` in its direction.

    Raises ConfigError when the comparison has no ``metric`` column.
    """
    from snakeml.task_kinds import greater_is_better

    if metric not in table.columns:
        raise ConfigError(
            f"the experiments' leaderboards have no {metric} column: compare experiments of one "
            "task kind, or set evaluation.metric to one of their metrics"
        )
    models = table[table["kind"] == "model"] if "kind" in table.columns else table
    ascending = not greater_is_better(metric)
    ranked = models.sort_values(["experiment", metric], ascending=[True, ascending])
    return ranked.groupby("experiment", sort=False).head(1).reset_index(drop=True)


def plot_comparison(table: pd.DataFrame, metric: str, target: str | Path) -> None:
    """Horizontal bars: each experiment's best model by ``metric``, its model named on the bar,
    with every other model of the experiment as a dot."""
    from snakeml.plots import figure
    from snakeml.task_kinds import metric_label

    best = best_per_experiment(table, metric)
    models = table[table["kind"] == "model"] if "kind" in table.columns else table
    order = {name: position for position, name in enumerate(best["experiment"])}
    with figure(target, width=8.0, height=0.45 * len(best) + 1.6) as ax:
        ax.barh(list(order.values()), best[metric], color="#8fb3d9")
        for position, (model, value) in enumerate(zip(best["model"], best[metric], strict=True)):
            ax.text(value, position, f" {model}", va="center", fontsize=8)
        ax.scatter(
            models[metric],
            models["experiment"].map(order),
            color="#1f4e79",
            s=12,
            zorder=3,
            label="every model",
        )
        ax.set_yticks(list(order.values()), list(order))
        ax.invert_yaxis()
        ax.set_xlabel(f"test {metric_label(metric)} (bar: the experiment's best model)")
        ax.set_title(f"Test {metric_label(metric)} per experiment")
        ax.legend(loc="lower right", fontsize=8)


def run_compare(
    folder: str | Path,
    names: Sequence[str],
    metric: str,
    comparison_path: str | Path,
    plot_path: str | Path,
) -> None:
    """Rule compare: write the comparison CSV and its plot."""
    table = comparison_table(folder, names)
    plot_comparison(table, metric, plot_path)
    write_csv(table, comparison_path)
    log.info("compare: %d experiments, %d rows", table["experiment"].nunique(), len(table))
