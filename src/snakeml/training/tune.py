"""Tune: Optuna studies per model, run as shards and gathered into the best parameters.

A shard (rule tune_shard) runs its share of the model's trial budget. Each trial scores one
parameter set on the split strategy's folds of train + valid (snakeml.validation.split) and reports
every fold to the pruner.
Trials live in a storage (journal file or RDB), so a rerun after a crash, a timeout or a
larger budget keeps every finished trial and runs only the missing ones.

Reproducibility: by default each shard is its own study, and the sampler is reseeded before
every trial from (seed, shard, finished trials so far). A shard's trials are then a function
of its own history only, identical whether shards run one after another, side by side, on a
cluster or resumed after a crash. ``pooled`` shards share one study: a better search, but the
result depends on timing.

Gathering (rule tune_best) needs only the shards' trial tables, not the storage.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from snakeml.core.errors import ConfigError, DataError
from snakeml.core.io import atomic_path, read_json, write_parquet, write_yaml
from snakeml.core.schema import SearchParam, TuningConfig
from snakeml.core.slices import TuneBestSlice, TuneShardSlice
from snakeml.models.estimators import (
    build_pipeline,
    feature_frame,
    limit_threads,
    read_model_rows,
    suggest_params,
    target_vector,
)
from snakeml.models.task_kinds import TaskKind, greater_is_better, loss, task_kind
from snakeml.training.storage import display_url, open_storage
from snakeml.validation.split import kept_rows, sample_rows, strategy_of

if TYPE_CHECKING:
    import optuna

log = logging.getLogger(__name__)

# Values that set how much is searched, for how long and where, not what a trial computes:
# changing them resumes the same studies instead of starting new ones.
BUDGET_KEYS: tuple[str, ...] = (
    "n_trials",
    "n_shards",
    "timeout_seconds",
    "storage",
    "lock_grace_seconds",
)
FINISHED_STATES: tuple[str, ...] = ("COMPLETE", "PRUNED")


def _quiet_optuna() -> None:
    """Send Optuna's records through our logging setup instead of its own handler."""
    import optuna

    optuna.logging.disable_default_handler()
    optuna.logging.enable_propagation()
    optuna.logging.set_verbosity(optuna.logging.INFO)


def shard_budget(n_trials: int, n_shards: int, shard: int) -> int:
    """Shard ``shard``'s share of ``n_trials``: equal parts, the first shards take the rest."""
    if not 0 <= shard < n_shards:
        raise ConfigError(f"shard {shard} is outside 0..{n_shards - 1} (tuning.n_shards)")
    return n_trials // n_shards + (1 if shard < n_trials % n_shards else 0)


def model_budget(cfg: TuneShardSlice) -> int:
    """Trials for the model: one when nothing is searched."""
    return cfg.tuning.n_trials if cfg.model.search_space else 1


def study_fingerprint(cfg: TuneShardSlice, data_hashes: list[str]) -> str:
    """A short hash of everything a trial's result depends on, the data included.

    Studies are named with it: a change of model, search space, folds or data starts new
    studies, while a change of budget, timeout or storage resumes the existing ones.
    """
    tuning = {k: v for k, v in asdict(cfg.tuning).items() if k not in BUDGET_KEYS}
    payload = {
        "seed": cfg.seed,
        "kind": cfg.task.kind,
        "columns": cfg.columns,
        "model": asdict(cfg.model),
        "tuning": tuning,
        "split": asdict(cfg.split),
        "data": data_hashes,
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def study_name(model: str, fingerprint: str, shard: int, pooled: bool) -> str:
    base = f"snakeml-{model}-{fingerprint}"
    return base if pooled else f"{base}-shard{shard}"


def trial_seed(seed: int, shard: int, finished: int) -> int:
    """The sampler's seed before a shard's next trial."""
    return int(np.random.SeedSequence([seed, shard, finished]).generate_state(1)[0])


def data_hash(path: str | Path) -> str:
    """The sha256 recorded in a table's sidecar, else of the file itself."""
    from snakeml.core.metadata import file_sha256, metadata_path

    sidecar = metadata_path(path)
    if sidecar.is_file():
        return str(read_json(sidecar)["sha256"])
    return file_sha256(path)


def tuning_frame(frames: list[pd.DataFrame], order: list[str]) -> pd.DataFrame:
    """Concatenate train and valid and sort the rows by ``order`` (the split strategy's).

    Time folds need the past before the future; every strategy's folds need an order that
    does not depend on the files' row order. Raises DataError when a column is missing.
    """
    frame = pd.concat(frames, ignore_index=True)
    missing = [c for c in order if c not in frame.columns]
    if missing:
        raise DataError(f"tuning data lacks the columns {missing} that order its rows")
    return frame.sort_values(order, kind="stable").reset_index(drop=True)


def read_tuning_rows(split_paths: list[str | Path], cfg: TuneShardSlice) -> pd.DataFrame:
    """The rows the folds are cut from: train + valid in the split strategy's order, or the
    seeded sample of ``tuning.max_rows`` of them that make_objective would take.

    Only the ordering columns are read for every row; the model's columns (and the strategy's)
    are read for the kept rows only, in compact types (snakeml.models.estimators.read_model_rows):
    the same rows, in the same order, as sorting every row and sampling it. Raises DataError when a
    column is missing.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    strategy = strategy_of(cfg)
    order = strategy.tuning_order()
    for path in split_paths:
        missing = [c for c in order if c not in pq.read_schema(path).names]
        if missing:
            raise DataError(f"tuning data lacks the columns {missing} that order its rows")
    ordering = pa.concat_tables([pq.read_table(p, columns=order) for p in split_paths])
    positions = ordering.to_pandas().sort_values(order, kind="stable").index.to_numpy()
    del ordering
    max_rows = cfg.tuning.max_rows
    keep = kept_rows(len(positions), max_rows, cfg.seed)
    if keep is not None:
        log.info("tuning folds a sample of %d of %d rows", max_rows, len(positions))
        positions = positions[keep]
    extra = [*strategy.columns(), *order]
    frame = read_model_rows(split_paths, cfg.columns, extra, keep=positions)
    return frame.reset_index(drop=True)


def make_pruner(tuning: TuningConfig) -> optuna.pruners.BasePruner:
    """The pruner ``tuning.pruner`` names: median (after ``tuning.startup_trials``) or none."""
    import optuna

    if tuning.pruner == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=tuning.startup_trials)


def fold_scores(
    pipeline: Any, x: pd.DataFrame, y: np.ndarray, kind: TaskKind, classes: np.ndarray | None
) -> dict[str, float]:
    """The kind's metrics of a fitted fold's pipeline on the fold's scored rows ``x``, ``y``.

    Classifiers are scored on probabilities with every class of the task (a fold's fit rows
    may lack one); binary accuracy and F1 are left out, as their threshold is not chosen here.
    """
    return kind.score_predictions(y, kind.predict(pipeline, x, classes), classes)


def make_objective(frame: pd.DataFrame, cfg: TuneShardSlice, shard: int, threads: int) -> Any:
    """The objective: mean loss over the folds, each fold reported for pruning.

    ``frame`` is in the split strategy's order, and the strategy (snakeml.validation.split) cuts the
    folds, as it cut the parts. With ``tuning.max_rows`` set, the folds are cut from a seeded
    sample of that many of its rows, still in that order (the same rows for every trial and
    shard): each fit costs a fraction of one on every row, and the sample spans the whole
    period. A classifier's folds must each hold two classes or more, in their fit and scored
    rows.
    """
    import optuna

    columns, model, tuning = cfg.columns, cfg.model, cfg.tuning
    if tuning.max_rows is not None and len(frame) > tuning.max_rows:
        log.info("tuning folds a sample of %d of %d rows", tuning.max_rows, len(frame))
        frame = sample_rows(frame, tuning.max_rows, cfg.seed).reset_index(drop=True)
    kind = task_kind(cfg.task.kind)
    x, y = feature_frame(frame, columns), target_vector(frame, columns, kind)
    classes = kind.check_target(y, columns["target"])
    folds = strategy_of(cfg).folds(frame, y, tuning.n_folds)
    kind.check_folds(y, folds)
    metric = tuning.metric

    def objective(trial: optuna.Trial) -> float:
        trial.set_user_attr("shard", shard)
        params = suggest_params(trial, model.search_space)
        losses: list[float] = []
        scored: list[dict[str, float]] = []
        for step, (fit_rows, score_rows) in enumerate(folds):
            pipeline = build_pipeline(model, columns, params, kind, threads, cfg.seed)
            with limit_threads(threads):
                pipeline.fit(x.iloc[fit_rows], y[fit_rows])
                scores = fold_scores(pipeline, x.iloc[score_rows], y[score_rows], kind, classes)
            scored.append(scores)
            losses.append(loss(scores, metric))
            trial.report(float(np.mean(losses)), step)
            if trial.should_prune():
                trial.set_user_attr("folds_scored", step + 1)
                raise optuna.TrialPruned(f"fold {step}: mean {metric} {np.mean(losses):.4f}")
        trial.set_user_attr("folds_scored", len(folds))
        for name in scored[0]:
            trial.set_user_attr(f"cv_{name}", float(np.mean([s[name] for s in scored])))
        return float(np.mean(losses))

    return objective


def _fail_stale_trials(study: optuna.Study, shard: int, pooled: bool) -> int:
    """Mark this shard's trials left RUNNING by a killed process as FAIL; return how many."""
    import optuna

    stale = [
        t
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
        if not pooled or t.user_attrs.get("shard") == shard
    ]
    for trial in stale:
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
    return len(stale)


def _own_trials(study: optuna.Study, shard: int, pooled: bool) -> list[optuna.trial.FrozenTrial]:
    trials = study.get_trials(deepcopy=False)
    return [t for t in trials if not pooled or t.user_attrs.get("shard") == shard]


def _finished(trials: list[optuna.trial.FrozenTrial]) -> int:
    return sum(t.state.name in FINISHED_STATES for t in trials)


def first_finished(
    trials: list[optuna.trial.FrozenTrial], budget: int
) -> list[optuna.trial.FrozenTrial]:
    """``trials`` (in study order) up to the ``budget``-th finished one: what a shard of that
    budget would have run. A study tuned before on a larger ``tuning.n_trials`` holds more; each
    trial's sampler is seeded by the trials finished before it, so the first ``budget`` are
    those a fresh run of the smaller budget runs, and its result is theirs."""
    finished = 0
    for index, trial in enumerate(trials):
        finished += trial.state.name in FINISHED_STATES
        if finished == budget:
            return trials[: index + 1]
    return trials


def run_shard(
    frame: pd.DataFrame,
    cfg: TuneShardSlice,
    shard: int,
    storage: optuna.storages.BaseStorage,
    fingerprint: str,
    threads: int = 1,
) -> pd.DataFrame:
    """Run the shard's missing trials in its study; return one row per trial of the shard."""
    import optuna

    _quiet_optuna()
    tuning, name = cfg.tuning, cfg.model.name
    pooled = bool(tuning.pooled)
    budget = shard_budget(model_budget(cfg), tuning.n_shards, shard)
    study = optuna.create_study(
        study_name=study_name(name, fingerprint, shard, pooled),
        storage=storage,
        direction="minimize",
        pruner=make_pruner(tuning),
        load_if_exists=True,
    )
    stale = _fail_stale_trials(study, shard, pooled)
    done = _finished(_own_trials(study, shard, pooled))
    log.info(
        "model %s shard %d: study %s, %d of %d trials finished before%s%s",
        name,
        shard,
        study.study_name,
        min(done, budget),
        budget,
        f" ({done} in the study, from a larger tuning.n_trials: the first {budget} are kept)"
        if done > budget
        else "",
        f", {stale} left running by a stopped run marked failed" if stale else "",
    )
    started = time.monotonic()
    objective = make_objective(frame, cfg, shard, threads) if done < budget else None
    timeout = tuning.timeout_seconds
    while done < budget:
        if timeout is not None and time.monotonic() - started >= timeout:
            log.info("model %s shard %d: timeout after %d trials", name, shard, done)
            break
        study.sampler = optuna.samplers.TPESampler(
            seed=trial_seed(cfg.seed, shard, done),
            n_startup_trials=tuning.startup_trials,
        )
        study.optimize(objective, n_trials=1, catch=())
        done = _finished(_own_trials(study, shard, pooled))
    trials = trials_frame(first_finished(_own_trials(study, shard, pooled), budget), name, shard)
    finished = trials[trials["state"].isin(FINISHED_STATES)]
    log.info(
        "model %s shard %d: %d trials finished (%d pruned)",
        name,
        shard,
        len(finished),
        int((finished["state"] == "PRUNED").sum()),
    )
    return trials


def trials_frame(trials: list[optuna.trial.FrozenTrial], model: str, shard: int) -> pd.DataFrame:
    """One row per trial: model, shard, trial number, state, value, duration, params, scores."""
    rows = []
    for index, trial in enumerate(trials):
        duration = trial.duration.total_seconds() if trial.duration is not None else None
        row: dict[str, Any] = {
            "model": model,
            "shard": shard,
            "shard_trial": index,
            "study_trial": trial.number,
            "state": trial.state.name,
            "value": trial.value,
            "duration_seconds": duration,
            "steps_reported": len(trial.intermediate_values),
        }
        row.update({f"param_{k}": v for k, v in sorted(trial.params.items())})
        row.update({k: v for k, v in sorted(trial.user_attrs.items()) if k != "shard"})
        rows.append(row)
    columns = ["model", "shard", "shard_trial", "study_trial", "state", "value"]
    return pd.DataFrame(rows, columns=None if rows else columns)


def run_tune_shard(
    split_paths: list[str | Path],
    cfg: TuneShardSlice,
    shard: int,
    tuning_dir: str | Path,
    trials_path: str | Path,
    threads: int = 1,
) -> pd.DataFrame:
    """Rule tune_shard: open the storage, run the shard, write its trials.

    ``cfg`` is the model's tune_shard slice (snakeml.core.slices.TuneShardSlice), ``split_paths``
    the train and valid parts, ``shard`` the shard's number (0-based). Returns the shard's
    trials, one row each. Raises DataError for missing columns or folds the task cannot take.
    """
    import pyarrow as pa

    from snakeml.training.storage import journal_path

    _quiet_optuna()  # before the journal's lock, whose waits Optuna logs
    url = cfg.tuning.storage
    storage = open_storage(url, journal_path(tuning_dir), cfg.tuning.lock_grace_seconds)
    log.info("storage: %s", display_url(url) if url else journal_path(tuning_dir))
    fingerprint = study_fingerprint(cfg, [data_hash(p) for p in split_paths])
    frame = read_tuning_rows(split_paths, cfg)
    trials = run_shard(frame, cfg, shard, storage, fingerprint, threads)
    write_parquet(pa.Table.from_pandas(trials, preserve_index=False), trials_path)
    return trials


# --- gathering -------------------------------------------------------------------------------


def gather_trials(shard_frames: list[pd.DataFrame]) -> pd.DataFrame:
    """All shards' trials in one table, ordered by shard, then trial."""
    frames = [f for f in shard_frames if len(f)]
    if not frames:
        raise DataError("no shard ran a trial: check the tune_shard logs")
    trials = pd.concat(frames, ignore_index=True)
    return trials.sort_values(["shard", "shard_trial"], kind="stable").reset_index(drop=True)


def best_trial(trials: pd.DataFrame) -> pd.Series:
    """The complete trial with the lowest loss; ties go to the lower shard, then trial."""
    complete = trials[trials["state"] == "COMPLETE"]
    if complete.empty:
        states = trials["state"].value_counts().to_dict()
        raise DataError(
            f"no trial of model {trials['model'].iloc[0]!r} completed (states: {states}); "
            "see the tune_shard logs"
        )
    return complete.sort_values(["value", "shard", "shard_trial"], kind="stable").iloc[0]


def typed_params(trial: pd.Series, search_space: dict[str, SearchParam]) -> dict[str, Any]:
    """A trial row's ``param_*`` values with their configured types."""
    params: dict[str, Any] = {}
    for name, spec in search_space.items():
        value = trial[f"param_{name}"]
        if spec.type == "int":
            params[name] = int(value)
        elif spec.type == "float":
            params[name] = float(value)
        else:
            params[name] = next(c for c in spec.choices or () if c == value or str(c) == str(value))
    return params


def best_params(trials: pd.DataFrame, search_space: dict[str, SearchParam]) -> dict[str, Any]:
    """The best trial's parameters with their configured types."""
    return typed_params(best_trial(trials), search_space)


def search_distributions(search_space: dict[str, SearchParam]) -> dict[str, Any]:
    """Optuna distributions equal to what suggest_params draws from."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out: dict[str, Any] = {}
    for name, spec in search_space.items():
        if spec.type == "float":
            out[name] = FloatDistribution(spec.low, spec.high, log=spec.log)
        elif spec.type == "int":
            out[name] = IntDistribution(int(spec.low), int(spec.high), log=spec.log)
        else:
            out[name] = CategoricalDistribution(list(spec.choices or ()))
    return out


def importances_withheld(trials: pd.DataFrame, search_space: dict[str, SearchParam]) -> str | None:
    """Why no fANOVA importances come from ``trials`` (tune_best's frame, column ``state`` and
    ``value``) over ``search_space``, or None if they do.

    fANOVA (Hutter, Hoos and Leyton-Brown, ICML 2014) splits the variance of the loss among the
    parameters with a random forest fitted to the trials. With no spread there is nothing to
    split; with no more trials than parameters, the trials cannot tell the parameters' effects
    apart, so the shares would be noise (a single searched parameter holds all of it and needs
    no fit).
    """
    values = trials.loc[trials["state"] == "COMPLETE", "value"]
    n_complete, n_params = len(values), len(search_space)
    if n_params == 0:
        return "nothing searched"
    if values.nunique() < 2:
        return f"{n_complete} complete trial(s) with fewer than two distinct values"
    if n_params > 1 and n_complete <= n_params:
        return (
            f"{n_complete} complete trials for {n_params} searched parameters: "
            "fANOVA needs more trials than parameters"
        )
    return None


def param_importances(
    trials: pd.DataFrame, search_space: dict[str, SearchParam], seed: int
) -> dict[str, float]:
    """fANOVA importance of each searched parameter over the complete trials (seeded): shares of
    the loss's variance that sum to 1. Empty when ``importances_withheld`` gives a reason."""
    if importances_withheld(trials, search_space):
        return {}
    if len(search_space) == 1:
        return {next(iter(search_space)): 1.0}
    import optuna  # optuna.importance imports scikit-learn: only when fANOVA runs

    _quiet_optuna()
    distributions = search_distributions(search_space)
    study = optuna.create_study(direction="minimize")
    study.add_trials(
        [
            optuna.trial.create_trial(
                params=typed_params(row, search_space),
                distributions=distributions,
                value=float(row["value"]),
            )
            for _, row in trials[trials["state"] == "COMPLETE"].iterrows()
        ]
    )
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
    importances = optuna.importance.get_param_importances(study, evaluator=evaluator)
    return {name: float(value) for name, value in importances.items()}


def _figure(height: float = 3.5) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(7, height))


def _save(fig: Any, target: str | Path) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)


def plot_history(trials: pd.DataFrame, metric: str, model: str, target: str | Path) -> None:
    """Each shard's trial values in order and the best so far across all shards."""
    fig, ax = _figure()
    complete = trials[trials["state"] == "COMPLETE"].sort_values(
        ["shard_trial", "shard"], kind="stable"
    )
    for shard, part in complete.groupby("shard"):
        ax.plot(part["shard_trial"], part["value"], "o", alpha=0.7, label=f"shard {shard}")
    if len(complete):
        ax.step(
            complete["shard_trial"],
            complete["value"].cummin(),
            where="post",
            color="black",
            label="best so far",
        )
    pruned = trials[trials["state"] == "PRUNED"]
    if len(pruned):
        ax.plot(pruned["shard_trial"], [ax.get_ylim()[1]] * len(pruned), "x", color="grey",
                label=f"pruned ({len(pruned)})")  # fmt: skip
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial within shard")
    # A greater-is-better metric (ROC AUC) is minimised negated (snakeml.models.task_kinds.loss).
    sign = "minus " if greater_is_better(metric) else ""
    ax.set_ylabel(f"{sign}mean {metric} over folds (lower is better)")
    ax.set_title(f"{model}: optimization history")
    ax.legend(fontsize="small")
    _save(fig, target)


def plot_param_importances(
    importances: dict[str, float], model: str, target: str | Path, withheld: str | None = None
) -> None:
    """Horizontal bars of fANOVA importances, most important on top; or, when there are none,
    the reason ``withheld`` (importances_withheld)."""
    fig, ax = _figure(0.4 * max(len(importances), 1) + 1.5)
    if importances:
        names = sorted(importances, key=importances.get)
        ax.barh(names, [importances[n] for n in names], color="tab:blue")
        ax.set_xlabel("fANOVA importance (share of the loss's variance)")
    else:
        ax.text(0.5, 0.5, f"no importances: {withheld or 'nothing to split'}", wrap=True,
                ha="center", va="center", transform=ax.transAxes)  # fmt: skip
        ax.set_axis_off()
    ax.set_title(f"{model}: parameter importances")
    _save(fig, target)


def run_tune_best(
    shard_paths: list[str | Path],
    cfg: TuneBestSlice,
    best_params_path: str | Path,
    trials_path: str | Path,
    history_path: str | Path,
    importances_path: str | Path,
) -> dict[str, Any]:
    """Rule tune_best: gather the shards, write best_params.yaml, trials and both plots.

    ``cfg`` is the model's tune_best slice (snakeml.core.slices.TuneBestSlice). Returns the best
    parameters, typed by the search space. Raises DataError when no trial completed.
    """
    import pyarrow as pa

    model = cfg.model
    trials = gather_trials([pd.read_parquet(p) for p in shard_paths])
    params = best_params(trials, model.search_space)
    best = best_trial(trials)
    importances = param_importances(trials, model.search_space, cfg.seed)
    withheld = importances_withheld(trials, model.search_space)
    metric = cfg.tuning.metric
    value = float(best["value"])
    states = trials["state"].value_counts().sort_index()
    write_parquet(pa.Table.from_pandas(trials, preserve_index=False), trials_path)
    write_yaml(
        best_params_path,
        {
            "model": model.name,
            "params": params,
            "trial": {"shard": int(best["shard"]), "shard_trial": int(best["shard_trial"])},
            "cv_loss": value if math.isfinite(value) else None,
            "metric": metric,
            "trials": {str(k): int(v) for k, v in states.items()},
            "param_importances": importances,
        },
    )
    plot_history(trials, metric, model.name, history_path)
    plot_param_importances(importances, model.name, importances_path, withheld)
    log.info("model %s: best mean %s %.4f with %s", model.name, metric, value, params)
    if withheld:
        log.info("model %s: no parameter importances: %s", model.name, withheld)
    return params
