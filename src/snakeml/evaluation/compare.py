"""Experiments side by side: results/experiments/comparison.csv and its plot (rule compare).

Each experiment folder, ``results/experiments/<name>/``, holds ``configs/experiment.yaml`` (the
overrides that compose it, its data set, task and metric) and ``leaderboard.csv`` (the test
metrics of its models and baselines). The comparison has one row per experiment and leaderboard
row: the experiment, its data set, task and metric (experiments of different data sets or tasks
are never ranked together: the plot draws one panel each, on its own metric), then one column
per override key whose value differs between the experiments (empty where an experiment does
not set it; named ``override.<key>`` where the key is also a leaderboard column, as ``model``
is), then the leaderboard's columns.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from snakeml.core.errors import ConfigError
from snakeml.core.io import read_yaml, write_csv

log = logging.getLogger(__name__)

# What keeps experiments apart in the comparison: a data set, a task and the metric they rank by.
TASK_COLUMNS: tuple[str, ...] = ("data", "task", "metric")


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
    frames, values, tasks = [], {}, {}
    for name in names:
        leaderboard = folder / name / "leaderboard.csv"
        record = folder / name / "configs" / "experiment.yaml"
        if not leaderboard.is_file() or not record.is_file():
            log.info("%s: no leaderboard yet, left out", name)
            continue
        held = read_yaml(record)
        values[name] = override_values(held["overrides"])
        tasks[name] = {key: held[key] for key in TASK_COLUMNS}
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
    differing = [key for key in differing if names_of[key] not in TASK_COLUMNS]
    settings = pd.DataFrame(
        [
            {
                "experiment": name,
                **tasks[name],
                **{names_of[key]: found.get(key, "") for key in differing},
            }
            for name, found in values.items()
        ]
    )
    return settings.merge(table[["experiment", *columns]], on="experiment", how="right")


def _models(table: pd.DataFrame) -> pd.DataFrame:
    """The comparison's model rows (baselines aside)."""
    return table[table["kind"] == "model"] if "kind" in table.columns else table


def best_per_experiment(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Each experiment's best model (not baseline) by ``metric`` in its direction.

    Raises ConfigError when the comparison has no ``metric`` column.
    """
    from snakeml.models.task_kinds import greater_is_better

    if metric not in table.columns:
        raise ConfigError(
            f"the experiments' leaderboards have no {metric} column: compare experiments of one "
            "task kind, or set evaluation.metric to one of their metrics"
        )
    models = _models(table)
    ascending = not greater_is_better(metric)
    ranked = models.sort_values(["experiment", metric], ascending=[True, ascending])
    return ranked.groupby("experiment", sort=False).head(1).reset_index(drop=True)


def _short_names(names: Sequence[str]) -> tuple[list[str], str]:
    """The names without the part before ``__`` that they all share, and that part."""
    prefixes = {name.split("__", 1)[0] for name in names if "__" in name}
    if len(prefixes) == 1 and all("__" in name for name in names):
        prefix = prefixes.pop()
        return [name.split("__", 1)[1] for name in names], prefix
    return list(names), ""


def plot_comparison(table: pd.DataFrame, target: str | Path) -> None:
    """One panel per data set and task: each experiment's models by the task's metric (one
    marker per model), its best one ringed. Experiments of different data sets or tasks never
    share an axis.

    An axis spans its values, not zero: experiments differ by little next to the metric. Raises
    ConfigError when a task's metric is not a column of its leaderboards.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from snakeml.core.io import atomic_path
    from snakeml.core.plots import DPI
    from snakeml.models.task_kinds import metric_label

    groups = list(table.groupby(list(TASK_COLUMNS), sort=True))
    heights = [0.45 * group["experiment"].nunique() + 1.4 for _, group in groups]
    fig, axes = plt.subplots(
        len(groups), 1, figsize=(9.0, sum(heights)), height_ratios=heights, squeeze=False
    )
    try:
        for ax, ((data, task, metric), group) in zip(axes[:, 0], groups, strict=True):
            _plot_task(ax, group.dropna(axis=1, how="all"), metric)
            ax.set_title(
                f"{data} / {task}: test {metric_label(metric)} per experiment", fontsize=10
            )
        fig.tight_layout()
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})
    finally:
        plt.close(fig)


def _plot_task(ax: object, table: pd.DataFrame, metric: str) -> None:
    """One task's experiments on ``ax``: a row each, its models' ``metric``, its best ringed."""
    from snakeml.models.task_kinds import metric_label

    best = best_per_experiment(table, metric)
    models = _models(table)
    labels, prefix = _short_names(list(best["experiment"]))
    order = {name: position for position, name in enumerate(best["experiment"])}
    markers = "osD^v<>ph*"
    for index, (model, rows) in enumerate(models.groupby("model", sort=True)):
        ax.scatter(
            rows[metric],
            rows["experiment"].map(order),
            marker=markers[index % len(markers)],
            s=28,
            zorder=3,
            label=model,
        )
    ax.scatter(
        best[metric],
        best["experiment"].map(order),
        s=150,
        facecolors="none",
        edgecolors="black",
        linewidths=1.0,
        zorder=2,
        label="best of the experiment",
    )
    ax.set_yticks(list(order.values()), labels, fontsize=8)
    ax.set_ylim(len(order) - 0.5, -0.5)
    ax.grid(axis="x", linewidth=0.5, alpha=0.5)
    ax.set_xlabel(f"test {metric_label(metric)}" + (f" (each after {prefix})" if prefix else ""))
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)


def run_compare(
    folder: str | Path,
    names: Sequence[str],
    comparison_path: str | Path,
    plot_path: str | Path,
) -> None:
    """Rule compare: write the comparison CSV and its plot (a panel per data set and task)."""
    table = comparison_table(folder, names)
    plot_comparison(table, plot_path)
    write_csv(table, comparison_path)
    log.info("compare: %d experiments, %d rows", table["experiment"].nunique(), len(table))
