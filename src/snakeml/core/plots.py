"""PNG figures of the evaluation. Every figure is drawn from a table the rule also writes as CSV."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from snakeml.core.io import atomic_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from snakeml.core.slices import EvaluateTask

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
    measure: str = "increase in test RMSE",
) -> None:
    """Box plot of every repeat per ``key`` (feature or family), most important on top.

    ``measure`` names what an importance is (``"increase in test log loss"``).
    """
    order = importances.groupby(key)["importance"].mean().sort_values().index.tolist()
    data = [importances.loc[importances[key] == name, "importance"].to_numpy() for name in order]
    with figure(target, height=0.3 * len(order) + 1.5) as ax:
        ax.boxplot(data, orientation="horizontal", tick_labels=order)
        ax.axvline(0.0, color="grey", linewidth=0.8)
        ax.set_xlabel(f"{measure} when permuted{_units(units)}")
        ax.set_title(title)


def plot_predicted_vs_actual(
    points: pd.DataFrame, title: str, target: str | Path, task: EvaluateTask
) -> None:
    """Scatter of predicted against actual target, with the line where they agree.

    ``task`` gives the axis labels: the target's ``label`` and ``units``.
    """
    with figure(target, width=5.5, height=5.5) as ax:
        ax.scatter(points["actual"], points["predicted"], s=6, alpha=0.3, linewidths=0)
        low = float(min(points["actual"].min(), points["predicted"].min()))
        high = float(max(points["actual"].max(), points["predicted"].max()))
        ax.plot([low, high], [low, high], color="black", linewidth=0.8)
        ax.set_xlabel(f"actual {task.label}{_units(task.units)}")
        ax.set_ylabel(f"predicted {task.label}{_units(task.units)}")
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


def plot_curve(
    table: pd.DataFrame, x: str, y: str, labels: tuple[str, str], title: str, target: str | Path
) -> None:
    """A line of ``y`` against ``x`` (a ROC or precision-recall curve), axes from 0 to 1.

    A ``class`` column draws one line per class, with a legend when there are several.

    A ``diagonal`` column marks the reference line (chance for ROC, perfect calibration).
    """
    with figure(target, width=5.5, height=5.5) as ax:
        groups = table.groupby("class", sort=False) if "class" in table else [(None, table)]
        for label, curve in groups:
            ax.plot(curve[x], curve[y], marker="." if len(curve) < 30 else None, label=label)
        if "class" in table and table["class"].nunique() > 1:
            ax.legend(title="class (one vs rest)", fontsize=8)
        if x in ("false_positive_rate", "mean_predicted"):
            ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle="--")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel(labels[0])
        ax.set_ylabel(labels[1])
        ax.set_title(title)


def plot_confusion(table: pd.DataFrame, title: str, target: str | Path) -> None:
    """The confusion matrix (``actual`` x ``predicted`` rows with a ``rows`` count) as a grid."""
    grid = table.pivot(index="actual", columns="predicted", values="rows").fillna(0)
    size = max(4.0, 0.6 * len(grid) + 2.5)
    with figure(target, width=size + 1, height=size) as ax:
        image = ax.imshow(grid.to_numpy(), cmap="Blues")
        ax.figure.colorbar(image, ax=ax, label="test rows")
        ax.set_xticks(range(len(grid.columns)), [str(c) for c in grid.columns])
        ax.set_yticks(range(len(grid.index)), [str(c) for c in grid.index])
        for (row, col), value in pd.DataFrame(grid.to_numpy()).stack().items():
            ax.text(col, row, f"{int(value)}", ha="center", va="center", fontsize=8)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("actual class")
        ax.set_title(title)


def plot_metric_by(
    table: pd.DataFrame,
    key: str,
    label: str,
    metric: str,
    metric_label: str,
    title: str,
    target: str | Path,
) -> None:
    """The task's metric per group or period (bars), with the group's test rows in the label."""
    positions = list(range(len(table)))
    with figure(target, width=max(6.0, 0.35 * len(table) + 2)) as ax:
        ax.bar(positions, table[metric].fillna(0.0), width=0.6)
        ax.set_xticks(positions, [str(v) for v in table[key]])
        ax.set_xlabel(label)
        ax.set_ylabel(f"test {metric_label}")
        ax.set_title(title)
