"""Which file batch prediction scores: ``results/predictions/<name>.parquet`` reads the one file
``data/new/<name>.parquet`` or ``data/new/<name>.csv``.

A name is a file name without its suffix, never a path; two files answering one name are refused
rather than one picked. Light on purpose: the workflow calls it while it loads.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from snakeml.core.errors import DataError

NEW_ROWS_DIR = "data/new"
PREDICTIONS_DIR = "results/predictions"
# A prediction target: below results/ (the configured data set and task's run) or below
# results/runs/<data>/<task>/ (another pair's, snakeml.experiments.runs).
PREDICTION_TARGET = re.compile(r"results(?P<root>/runs/[^/]+/[^/]+)?/predictions/(?P<rest>.+)")
SUFFIXES: tuple[str, ...] = (".parquet", ".csv")
# A prediction's name, as the predict rule's {name} wildcard accepts it: no folder, no path.
NAME_PATTERN = r"[A-Za-z0-9][\w.-]*"


def prediction_names(new_dir: str | Path = NEW_ROWS_DIR) -> list[str]:
    """The names of the new-row files in ``new_dir``, each scored by its own prediction."""
    directory = Path(new_dir)
    if not directory.is_dir():
        return []
    return sorted({p.stem for p in directory.iterdir() if p.suffix in SUFFIXES and p.is_file()})


def _names_hint(new_dir: str | Path) -> str:
    names = prediction_names(new_dir)
    return f"names that exist: {names}" if names else f"no rows to score in {new_dir}/ yet"


def new_rows_file(
    name: str, new_dir: str | Path = NEW_ROWS_DIR, predictions_dir: str = PREDICTIONS_DIR
) -> Path:
    """The one file holding the rows prediction ``predictions_dir/<name>.parquet`` scores.

    Raises DataError, one line, when neither ``<name>.parquet`` nor ``<name>.csv`` is in
    ``new_dir`` (listing the names that are) and when both are (naming both).
    """
    found = [Path(new_dir) / f"{name}{suffix}" for suffix in SUFFIXES]
    present = [path for path in found if path.is_file()]
    if not present:
        raise DataError(
            f"no new rows to score for {predictions_dir}/{name}.parquet: put them in "
            f"{found[0]} or {found[1]} ({_names_hint(new_dir)})"
        )
    if len(present) > 1:
        raise DataError(
            f"{present[0]} and {present[1]} both answer the name {name}: remove or rename one, "
            "so that the rows scored are not a guess"
        )
    return present[0]


def check_prediction_targets(targets: Sequence[str], new_dir: str | Path = NEW_ROWS_DIR) -> None:
    """Refuse a target that asks for a prediction by a path instead of a name.

    ``results/predictions/data/new/x.parquet`` or ``data/new/x.csv`` given as a target matches
    no rule; DataError says so in one line, with the target to ask for and the names that exist.
    """
    for target in targets:
        path = os.path.normpath(target)
        if path.startswith(f"{NEW_ROWS_DIR}/"):
            name = Path(path).stem if Path(path).suffix in SUFFIXES else Path(path).name
            raise DataError(
                f"{target} holds rows to score, it is not a target: ask for "
                f"{PREDICTIONS_DIR}/{name}.parquet ({_names_hint(new_dir)})"
            )
        found = PREDICTION_TARGET.fullmatch(path)
        if found and "/" in found["rest"]:
            folder = f"results{found['root'] or ''}/predictions"
            raise DataError(
                f"{target}: a prediction is named, not given a path: "
                f"{folder}/<name>.parquet scores {NEW_ROWS_DIR}/<name>.parquet or .csv "
                f"({_names_hint(new_dir)})"
            )


def check_prediction_root(targets: Sequence[str], root: str | None) -> None:
    """Refuse a prediction target in another run's folder than this run's.

    ``root`` is the run's folder suffix: None (or "") for the configured data set and task,
    whose predictions are ``results/predictions/``, ``/runs/<data>/<task>`` for another pair's.
    A target below the other folder matches no rule: DataError says so in one line, with the
    target this run makes.
    """
    folder = f"results{root or ''}/predictions"
    for target in targets:
        found = PREDICTION_TARGET.fullmatch(os.path.normpath(target))
        if found and (found["root"] or "") != (root or ""):
            raise DataError(
                f"{target}: this run's data set and task score into {folder}/: ask for "
                f"{folder}/{found['rest']} (or give the overrides of the run whose folder "
                "the target names)"
            )
