"""PNG figures of the evaluation. Every figure is drawn from a table the rule also writes as CSV."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from snakeml.io import atomic_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 100


@contextlib.contextmanager
def figure(target: str | Path, width: float = 7.0, height: float = 4.5) -> Iterator[Any]:
    """Yield the axes of a new figure; save it to ``target`` as PNG, atomically, then close it.

    PNG metadata is left empty, so the same data gives the same bytes.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig: Figure
    fig, ax = plt.subplots(figsize=(width, height))
    try:
        yield ax
        fig.tight_layout()
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})
    finally:
        plt.close(fig)


def _units(units: str) -> str:
    return f" ({units})" if units else ""


def plot_importances(
    importances: pd.DataFrame,
    title: str,
    target: str | Path,
    key: str = "feature",
    units: str = "",
) -> None:
    """Box plot of every repeat per ``key`` (feature or family), most important on top."""
    order = importances.groupby(key)["importance"].mean().sort_values().index.tolist()
    data = [importances.loc[importances[key] == name, "importance"].to_numpy() for name in order]
    with figure(target, height=0.3 * len(order) + 1.5) as ax:
        ax.boxplot(data, orientation="horizontal", tick_labels=order)
        ax.axvline(0.0, color="grey", linewidth=0.8)
        ax.set_xlabel(f"increase in test RMSE when permuted{_units(units)}")
        ax.set_title(title)


def plot_predicted_vs_actual(
    points: pd.DataFrame, title: str, target: str | Path, task: dict[str, Any]
) -> None:
    """Scatter of predicted against actual target, with the line where they agree.

    ``task`` gives the axis labels: the target's ``label`` and ``units``.
    """
    with figure(target, width=5.5, height=5.5) as ax:
        ax.scatter(points["actual"], points["predicted"], s=6, alpha=0.3, linewidths=0)
        low = float(min(points["actual"].min(), points["predicted"].min()))
        high = float(max(points["actual"].max(), points["predicted"].max()))
        ax.plot([low, high], [low, high], color="black", linewidth=0.8)
        ax.set_xlabel(f"actual {task['label']}{_units(task['units'])}")
        ax.set_ylabel(f"predicted {task['label']}{_units(task['units'])}")
        ax.set_title(title)


def plot_residuals_by(
    table: pd.DataFrame, key: str, label: str, title: str, target: str | Path, units: str = ""
) -> None:
    """Median and interquartile range of the residual (predicted - actual) per group."""
    positions = range(len(table))
    with figure(target, width=max(7.0, 0.35 * len(table) + 2)) as ax:
        ax.vlines(positions, table["q25"], table["q75"], linewidth=6, alpha=0.4)
        ax.plot(positions, table["median"], "o", markersize=4, label="median")
        ax.plot(positions, table["mean"], "x", markersize=5, label="mean")
        ax.axhline(0.0, color="grey", linewidth=0.8)
        ax.set_xticks(list(positions), [str(v) for v in table[key]])
        ax.set_xlabel(label)
        ax.set_ylabel(f"residual: predicted - actual{_units(units)}")
        ax.legend(loc="best")
        ax.set_title(title)


def plot_error_by_period(
    table: pd.DataFrame, unit: str, title: str, target: str | Path, units: str = ""
) -> None:
    """RMSE and MAE per test period (the ``unit`` column: month, week, ...)."""
    positions = list(range(len(table)))
    with figure(target, width=max(5.0, 0.8 * len(table) + 3)) as ax:
        ax.bar([p - 0.2 for p in positions], table["rmse"], width=0.4, label="RMSE")
        ax.bar([p + 0.2 for p in positions], table["mae"], width=0.4, label="MAE")
        ax.set_xticks(positions, [str(m) for m in table[unit]])
        ax.set_xlabel(unit)
        ax.set_ylabel(f"error{_units(units)}")
        ax.legend(loc="best")
        ax.set_title(title)
