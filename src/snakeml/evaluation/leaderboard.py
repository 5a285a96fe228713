"""Leaderboard: every model beside naive baselines on the test rows; the champion.

Every number gets a reference. Regression: the training mean, and the training median of the
row's group (the task's group columns, falling back to coarser groups, then to the overall
median). Classifiers: the training class frequencies (the prior), and the class frequencies of
the row's group, falling back the same way to the prior. Then the naive forecasts the task
declares (``task.baselines``: a feature used as the prediction). The columns are the task
kind's metrics, then the configured metric's 95 % bootstrap interval (snakeml.evaluation.verdicts).
The champion is the best model by the configured metric in its direction; its statement says, one
plain sentence each, whether it beats, cannot be told apart from or is worse than each baseline and
the runner-up, names each other metric on which a baseline does better, and names any feature that
alone predicts the target almost perfectly.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from snakeml.core.errors import DataError
from snakeml.core.io import (
    atomic_path,
    read_json,
    read_parquet_rows,
    write_csv,
    write_json,
    write_text_atomic,
)
from snakeml.core.slices import LeaderboardSlice
from snakeml.evaluation.verdicts import (
    BEATS,
    TIED,
    Scored,
    bootstrap_blocks,
    bootstrap_metric,
    compare,
    percentile_interval,
    screen_leakage,
)
from snakeml.models.task_kinds import (
    TaskKind,
    greater_is_better,
    is_better,
    metric_label,
    task_kind,
)
from snakeml.training.train import read_decision

log = logging.getLogger(__name__)


def build_leaderboard(
    model_metrics: dict[str, dict[str, float]],
    baselines: dict[str, dict[str, float]],
    metric: str,
    kind: TaskKind,
    resampled: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """One row per model and baseline, best first by ``metric`` (ties by name).

    The columns after ``model`` and ``kind`` are the task kind's metrics; with ``resampled``
    (each row's metric on the bootstrap resamples,
    :func:`snakeml.evaluation.verdicts.bootstrap_metric`) then ``<metric>_low`` and
    ``<metric>_high``, its 95 % percentile interval.
    """
    rows = [{"model": name, "kind": "model", **m} for name, m in model_metrics.items()]
    rows += [{"model": name, "kind": "baseline", **m} for name, m in baselines.items()]
    columns = ["model", "kind", *kind.metrics]
    board = pd.DataFrame(rows)[columns]
    if resampled is not None:
        bounds = [percentile_interval(resampled[name]) for name in board["model"]]
        board[f"{metric}_low"] = [low for low, _ in bounds]
        board[f"{metric}_high"] = [high for _, high in bounds]
    ascending = not greater_is_better(metric)
    return board.sort_values([metric, "model"], ascending=[ascending, True], ignore_index=True)


def _sentence_start(text: str) -> str:
    return text[:1].upper() + text[1:]


def _comparison_sentence(metric: str, value: float, comparison: dict[str, Any]) -> str:
    who = comparison["other"]
    if comparison["role"] == "runner-up":
        who = f"the runner-up, {who}"
    return (
        f"It {comparison['verdict']} {who}: {metric_label(metric)} {value:.3f} against "
        f"{comparison['value']:.3f}, a gain of {comparison['margin']:+.3f} (95 % interval "
        f"{comparison['margin_low']:+.3f} to {comparison['margin_high']:+.3f})."
    )


def champion_statement(champion: dict[str, Any]) -> str:
    """Plain sentences: who is champion, and how it stands against each baseline.

    The first names the champion, its test metric and its 95 % interval, and whether it
    beats every baseline. Then one sentence per baseline and for the runner-up: ``beats``,
    ``cannot be told apart from`` or ``is worse than``, with the gain (positive favours the
    champion) and its paired 95 % interval. Then one per other metric on which a baseline does
    better (``worse_metrics``), and one per feature the leakage screen named.
    """
    metric = champion["metric"]
    name = metric_label(metric)
    model, value = champion["model"], champion[metric]
    interval = (
        f"(95 % interval {champion[f'{metric}_low']:.3f} to {champion[f'{metric}_high']:.3f})"
    )
    if champion["beats_baselines"]:
        sentences = [
            f"The champion is {model}: test {name} {value:.3f} {interval}; it beats every baseline."
        ]
    else:
        sentences = [
            f"No model beats every baseline: the best model, {model}, has test {name} "
            f"{value:.3f} {interval}; do not rely on it over a baseline it does not beat."
        ]
    sentences += [_comparison_sentence(metric, value, c) for c in champion["comparisons"]]
    for worse in champion["worse_metrics"]:
        label = metric_label(worse["metric"])
        side = "below" if greater_is_better(worse["metric"]) else "above"
        sentences.append(
            f"{_sentence_start(label)} {worse['value']:.3f} is {side} {worse['baseline']}'s "
            f"{worse['baseline_value']:.3f}: {worse['reason']}."
        )
    for feature, score in champion["leaking_features"].items():
        sentences.append(
            f"Feature {feature} alone predicts the target almost perfectly on the training rows "
            f"({metric_label(champion['leakage_metric'])} {score:.4f}): check that it is known "
            "when the prediction is made, or drop it."
        )
    return " ".join(sentences)


def _worse_metrics(board: pd.DataFrame, champion: pd.Series, metric: str, kind: TaskKind) -> list:
    """Each metric but ``metric`` on which a baseline beats the champion: the best such one."""
    baselines = board[board["kind"] == "baseline"]
    out = []
    for other in kind.metrics:
        if other == metric:
            continue  # stated with its interval in the comparisons
        best = baselines.sort_values(other, ascending=not greater_is_better(other)).iloc[0]
        if not is_better(other, best[other], champion[other]):
            continue
        reason = kind.worse_metric_reason(metric, other)
        out.append(
            {
                "metric": other,
                "value": float(champion[other]),
                "baseline": str(best["model"]),
                "baseline_value": float(best[other]),
                "reason": reason,
            }
        )
    return out


def pick_champion(
    board: pd.DataFrame,
    metric: str,
    kind: TaskKind,
    resampled: dict[str, np.ndarray] | None = None,
    leaking: dict[str, float] | None = None,
    claims: bool = True,
) -> dict[str, Any]:
    """The best model (never a baseline), its verdicts against each baseline and the runner-up.

    ``resampled`` holds each row's metric on the same bootstrap resamples (shape (resamples,)
    each); the champion's gain over each other row is judged by its paired interval
    (:func:`snakeml.evaluation.verdicts.compare`). ``beats_baselines`` is True when it beats every
    baseline so. ``leaking`` names the features the leakage screen flagged, with their scores.
    Without ``claims`` (too few test rows or blocks for an interval: Blocks.enough) every
    verdict is ``cannot be told apart from``. Raises KeyError when ``resampled`` lacks a row of
    the board.
    """
    if resampled is None:
        raise ValueError("the champion's verdicts need the rows' metric on the resamples")
    models = board[board["kind"] == "model"]
    baselines = board[board["kind"] == "baseline"]
    best, reference = models.iloc[0], baselines.iloc[0]
    own = (float(best[metric]), resampled[str(best["model"])])
    comparisons = [
        compare(metric, own, (float(row[metric]), resampled[str(row["model"])]), row["model"], role)
        for role, rows in (("baseline", baselines), ("runner-up", models.iloc[1:2]))
        for _, row in rows.iterrows()
    ]
    if not claims:
        comparisons = [{**c, "verdict": TIED} for c in comparisons]
    low, high = percentile_interval(own[1])
    champion: dict[str, Any] = {
        "model": str(best["model"]),
        "metric": metric,
        **{name: float(best[name]) for name in kind.metrics},
        f"{metric}_low": low,
        f"{metric}_high": high,
        "beats_baselines": all(
            c["verdict"] == BEATS for c in comparisons if c["role"] == "baseline"
        ),
        "best_baseline": str(reference["model"]),
        "best_baseline_value": float(reference[metric]),
        "comparisons": comparisons,
        "worse_metrics": _worse_metrics(board, best, metric, kind),
        "leakage_metric": kind.leakage_metric,
        "leaking_features": dict(leaking or {}),
    }
    champion["statement"] = champion_statement(champion)
    return champion


def read_model_predictions(
    path: str | Path, y_test: pd.Series, kind: TaskKind, classes: Any, model: str
) -> np.ndarray:
    """A model's test predictions from its evaluation file, in the test split's row order.

    Regression: the ``predicted`` column (rows,); classifiers: the ``proba_<class>`` columns
    (rows, classes). Raises DataError when the file's rows are not the test split's.
    """
    frame = pd.read_parquet(path)
    actual = frame["actual"].to_numpy()
    if len(frame) != len(y_test) or not (actual == y_test.to_numpy()).all():
        raise DataError(
            f"predictions of {model} ({path}) are not the test split's rows: rerun its evaluate"
        )
    return kind.prediction_values(frame, classes)


def screened_rows(
    path: str | Path, columns: list[str], max_rows: int, random_state: int
) -> pd.DataFrame:
    """The training rows the leakage screen scores, with ``columns`` only: the screen's own
    seeded sample (snakeml.evaluation.verdicts.leakage_rows) read from the file, or every row when
    there are no more than ``max_rows`` (``random_state`` seeds the sample)."""
    import pyarrow.parquet as pq

    from snakeml.evaluation.verdicts import leakage_rows

    rows = pq.ParquetFile(path).metadata.num_rows
    columns = list(dict.fromkeys(columns))
    if rows <= max_rows:
        return pq.read_table(path, columns=columns).to_pandas()
    keep = leakage_rows(rows, max_rows, random_state)
    return read_parquet_rows([path], columns, keep).to_pandas()


def sampled_training(decisions: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The models fitted on a seeded sample of their rows (model.<name>.max_train_rows), each
    with its decision file's ``training_rows`` record."""
    return {
        name: decision["training_rows"]
        for name, decision in decisions.items()
        if decision.get("training_rows", {}).get("sampled")
    }


def sampled_sentence(sampled: dict[str, dict[str, Any]]) -> str:
    """One sentence naming each model fitted on a sample, its rows and the setting."""
    parts = [
        f"{name} on a seeded sample of {record['fitted']:,} of its {record['available']:,} "
        f"train + valid rows (model.{name}.max_train_rows)"
        for name, record in sampled.items()
    ]
    return "Fitted on a sample, not every row: " + "; ".join(parts) + "."


def run_leaderboard(
    metrics_paths: dict[str, str | Path],
    model_paths: dict[str, str | Path],
    fit_paths: list[str | Path],
    test_path: str | Path,
    cfg: LeaderboardSlice,
    outputs: dict[str, str | Path],
    decision_paths: dict[str, str | Path] | None = None,
    prediction_paths: dict[str, str | Path] | None = None,
) -> dict[str, Any]:
    """Rank models and baselines; write the board, the champion, its statement and its model.

    ``cfg`` is the leaderboard rule's slice (snakeml.core.slices.LeaderboardSlice): the task's
    kind, target, time, groups and declared baselines, the metric, bootstrap and leakage
    settings of ``evaluation``, the split's time zone and group, the model inputs
    (``feature_columns``, screened for leakage) and the models. ``fit_paths`` are
    train, then valid; ``decision_paths`` each model's decision file (its classes and
    threshold), the champion's copied beside its model; ``prediction_paths`` each model's test
    predictions (evaluation/<model>/predictions.parquet), resampled for the intervals.
    """
    task, evaluation = cfg.task, cfg.evaluation
    target, metric = task.target, evaluation.metric
    keys = [group.column for group in task.groups]
    kind = task_kind(task.kind)
    declared = [asdict(baseline) for baseline in task.baselines]
    if prediction_paths is None:
        raise ValueError("the leaderboard's intervals need each model's test predictions")
    model_metrics = {}
    for name, path in metrics_paths.items():
        data = read_json(path)
        model_metrics[name] = {k: float(data[k]) for k in kind.metrics}
    classes, thresholds = None, dict.fromkeys(metrics_paths)
    if decision_paths:
        decisions = {name: read_decision(path) for name, path in decision_paths.items()}
        classes = next(iter(decisions.values()))["classes"]
        thresholds = {name: d["threshold"] for name, d in decisions.items()}
    wanted = list(dict.fromkeys([*keys, target, *(b["column"] for b in declared)]))
    # The models are refitted on train + valid: the baselines learn from the same rows (a
    # binary baseline's threshold is chosen as a model's: learnt on train, scored on valid).
    frames = [pd.read_parquet(p, columns=wanted) for p in fit_paths]
    train = frames[0]
    valid = pd.concat(frames[1:], ignore_index=True) if len(frames) > 1 else train.iloc[:0]
    dependent = [
        column
        for column in (task.time, cfg.split.group)
        if column is not None and evaluation.bootstrap_blocks != "rows"
    ]
    test = pd.read_parquet(test_path, columns=list(dict.fromkeys([*wanted, *dependent])))
    blocks = bootstrap_blocks(
        evaluation.bootstrap_blocks, test, task.time, cfg.split.time_zone, cfg.split.group
    )
    group_names = [group.name for group in task.groups]
    predicted = kind.baseline_outputs(
        train, valid, test, target, keys, group_names, classes, declared
    )
    baselines = {
        name: kind.score_predictions(test[target], values, classes, threshold)
        for name, (values, threshold) in predicted.items()
    }
    scored = {name: Scored(values, threshold) for name, (values, threshold) in predicted.items()}
    for name, path in prediction_paths.items():
        values = read_model_predictions(path, test[target], kind, classes, name)
        scored[name] = Scored(values, thresholds.get(name))
    resampled = bootstrap_metric(
        kind,
        metric,
        test[target],
        scored,
        classes,
        evaluation.bootstrap_resamples,
        evaluation.bootstrap_random_state,
        blocks.labels,
    )
    # The leakage screen draws its sample with the bootstrap's seed.
    features = list(cfg.feature_columns)
    screened = screened_rows(
        fit_paths[0],
        [*features, target],
        evaluation.leakage_max_rows,
        evaluation.bootstrap_random_state,
    )
    leaking = screen_leakage(
        kind,
        screened,
        features,
        target,
        classes,
        evaluation.leakage_max_rows,
        evaluation.leakage_threshold,
        evaluation.bootstrap_random_state,
    )
    board = build_leaderboard(model_metrics, baselines, metric, kind, resampled)
    champion = pick_champion(board, metric, kind, resampled, leaking, claims=blocks.enough)
    champion["interval_blocks"] = {"unit": blocks.unit, "blocks": blocks.count}
    champion["statement"] += " " + blocks.describe()
    if not blocks.enough:
        champion["statement"] += " " + blocks.too_few()
        log.warning(blocks.too_few())
    sampled = sampled_training(decisions if decision_paths else {})
    if sampled:
        champion["sampled_training"] = sampled
        champion["statement"] += " " + sampled_sentence(sampled)
    write_csv(board, outputs["leaderboard"])
    write_json(outputs["champion"], champion)
    write_text_atomic(outputs["statement"], champion["statement"] + "\n")
    with atomic_path(outputs["model"]) as tmp:
        shutil.copyfile(model_paths[champion["model"]], tmp)
    if "decision" in outputs and decision_paths:
        with atomic_path(outputs["decision"]) as tmp:
            shutil.copyfile(decision_paths[champion["model"]], tmp)
    if champion["beats_baselines"] and not leaking:
        log.info("%s", champion["statement"])
    else:
        log.warning("%s", champion["statement"])
    return champion
