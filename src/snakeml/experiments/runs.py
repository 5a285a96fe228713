"""Experiments: the points of a sweep, run side by side, sharing the jobs they have in common.

Each experiment is one composed configuration (the run's overrides, then the point's). Its rule
jobs do not write under ``results/<stage>`` as the plain run does but under a folder named by
the content of what they compute, ``results/shared/<rule>/<key>/``: the key is a hash of the
rule, its configuration slice (the text of ``configs/<slice>.yaml``) and the keys of the jobs
it reads. Two experiments whose job would compute the same thing therefore name the same
folder, and Snakemake runs that job once: a sweep over a model setting builds features and
split once; a sweep over the horizon builds features once per horizon. Running an experiment
again after another finds its folders up to date: switching back is free.

What belongs to one experiment (its leaderboard, champion and record of overrides) goes to
``results/experiments/<name>/``. The plain run of the data set and task conf/config.yaml
chooses keeps its own folders (``results/<stage>``). A plain run of another pair (``data=``,
``task=`` overrides) is routed as one experiment: its jobs in the shared folders, what is its
own (leaderboard, champion, manifest, report, predictions, slices) in
``results/runs/<data>/<task>/``. So each pair keeps its results, and switching between pairs
reruns and overwrites nothing.

Why not Snakemake's between-workflow output cache (``cache: True``, ``--cache``): it needs an
environment variable and a flag on every run, a folder shared by every node of a cluster, and
rules with one output (or ``multiext``); and a cached job still counts, and prints, as a job.
Content-addressed paths are plain outputs: the DAG itself holds one job per distinct
computation, on a laptop and on SLURM alike.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from snakeml.core.errors import ConfigError

# The rules an experiment can share, in DAG order, and the rules each reads from (ingest's
# tables are one per data set, data/raw/<data>/, and so shared by construction).
UPSTREAM: dict[str, tuple[str, ...]] = {
    "features": (),
    "audit": ("features",),
    "split": ("features", "audit"),
    "tune_shard": ("split",),
    "tune_best": ("tune_shard",),
    "train": ("split", "tune_best"),
    "evaluate": ("split", "train"),
    "importance": ("split", "train"),
}
PER_MODEL: frozenset[str] = frozenset(
    {"tune_shard", "tune_best", "train", "evaluate", "importance"}
)
# The data jobs an experiment reads from the configured pair's own folders (results/<stage>) when
# they computed the same thing, and the file of each that shows it ran.
PLAIN_OUTPUTS: dict[str, str] = {
    "features": "features/features.parquet",
    "audit": "audit/audit.json",
    "split": "split/test.parquet",
}
SHARED = "/shared"
EXPERIMENTS = "/experiments"
RUNS = "/runs"
# A key's length in hex digits: 48 bits, no collision among a project's experiments.
KEY_DIGITS = 12
# What an experiment may not change: the files each rule writes are fixed when the workflow is
# read (its task kind, groups and period), and the raw tables are one per data set.
FIXED_SETTINGS: dict[str, str] = {
    "ingest": "the raw data (data=...)",
    "kind": "the task's kind",
    "groups": "the task's groups",
    "period": "the split period",
}


def instance(rule: str, model: str | None = None) -> str:
    """A rule job's slice key: ``features``, or ``train/hgb`` for a per-model rule."""
    return f"{rule}/{model}" if model is not None else rule


@dataclass(frozen=True)
class Experiment:
    """One experiment: its name, overrides, models, and where each of its jobs writes.

    ``roots`` maps each slice key of a shared rule (``split``, ``train/hgb``) to the folder
    suffix of its job, ``/shared/<rule>/<key>``: the job writes below ``results<suffix>/``.
    ``slice_texts`` are the experiment's own slices (the plain run's ``results/configs``).
    """

    name: str
    overrides: tuple[str, ...]
    choices: tuple[tuple[str, str], ...]
    models: tuple[str, ...]
    n_shards: int
    slice_texts: Mapping[str, str]
    roots: Mapping[str, str] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    folder: str = ""

    @property
    def root(self) -> str:
        """The folder suffix of the experiment's own outputs: ``/experiments/<name>``, or
        ``folder`` when set (a plain run's, ``/runs/<data>/<task>``)."""
        return self.folder or f"{EXPERIMENTS}/{self.name}"

    def as_data(self) -> dict[str, Any]:
        """Every field as plain JSON data (snakeml.configuration.cache); ``from_data`` reads it
        back."""
        return {
            "name": self.name,
            "overrides": list(self.overrides),
            "choices": [list(choice) for choice in self.choices],
            "models": list(self.models),
            "n_shards": self.n_shards,
            "slice_texts": dict(self.slice_texts),
            "roots": dict(self.roots),
            "config": dict(self.config),
            "folder": self.folder,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Experiment:
        """The experiment ``as_data`` gave; KeyError, TypeError or ValueError if it is not one."""
        return cls(
            name=data["name"],
            overrides=tuple(data["overrides"]),
            choices=tuple((key, value) for key, value in data["choices"]),
            models=tuple(data["models"]),
            n_shards=data["n_shards"],
            slice_texts=dict(data["slice_texts"]),
            roots=dict(data["roots"]),
            config=dict(data["config"]),
            folder=data["folder"],
        )

    def record(self) -> dict[str, Any]:
        """What ``results/experiments/<name>/configs/experiment.yaml`` holds: its data set,
        task and evaluation metric (the comparison keeps experiments of different data sets or
        tasks apart), the overrides that compose it, the swept values, and the folder of each
        of its jobs."""
        return {
            "name": self.name,
            "data": self.config["data"]["name"],
            "task": self.config["task"]["name"],
            "metric": self.config["evaluation"]["metric"],
            "overrides": list(self.overrides),
            "choices": dict(self.choices),
            "models": list(self.models),
            "jobs": {key: f"results{root}" for key, root in self.roots.items()},
        }


def shared_roots(slice_texts: Mapping[str, str], models: Sequence[str]) -> dict[str, str]:
    """The folder suffix of each shared job of one configuration, keyed by slice key.

    A job's key is the first ``KEY_DIGITS`` hex digits of the SHA-256 of its slice key, its
    slice text and the keys of the jobs it reads (features: ingest's slice): equal
    computations get equal folders, and a change anywhere upstream changes every key below it.
    """
    roots: dict[str, str] = {}
    for rule, upstream in UPSTREAM.items():
        for model in models if rule in PER_MODEL else [None]:
            key = instance(rule, model)
            reads = [roots[instance(up, model if up in PER_MODEL else None)] for up in upstream]
            if rule == "features":
                reads = [slice_texts["ingest"]]
            payload = json.dumps([key, slice_texts[key], reads])
            digest = hashlib.sha256(payload.encode()).hexdigest()[:KEY_DIGITS]
            roots[key] = f"{SHARED}/{rule}/{digest}"
    return roots


def plain_roots(
    roots: Mapping[str, str], slice_texts: Mapping[str, str], results: str | Path = "results"
) -> dict[str, str]:
    """``roots`` with the configured pair's own folder (suffix ``""``) for each data job of
    PLAIN_OUTPUTS, in DAG order, that the plain run below ``results`` has computed: its slice
    (``results/configs/<rule>.yaml``) is the same text, every job it reads is the plain run's
    too, and its output is there. A sweep over the models or tuning, or a task switch, then
    builds no feature table (and no audit or split it shares). The keys of the other jobs stay
    those of the content, so a job computed either way has one folder.
    """
    plain = Path(results)
    found = dict(roots)
    for rule, output in PLAIN_OUTPUTS.items():
        slice_file = plain / "configs" / f"{rule}.yaml"
        if (
            rule in found
            and all(found.get(up) == "" for up in UPSTREAM[rule])
            and (plain / output).is_file()
            and slice_file.is_file()
            and slice_file.read_text(encoding="utf-8") == slice_texts[rule]
        ):
            found[rule] = ""
    return found


def reading_plain_jobs(
    experiments: Sequence[Experiment], results: str | Path = "results"
) -> list[Experiment]:
    """A sweep's experiments, each reading the plain run's data jobs where it may
    (plain_roots)."""
    return [replace(e, roots=plain_roots(e.roots, e.slice_texts, results)) for e in experiments]


def fixed_settings(cfg: Mapping[str, Any], slice_texts: Mapping[str, str]) -> dict[str, Any]:
    """The settings of FIXED_SETTINGS in one composed configuration."""
    task = cfg["task"]
    return {
        "ingest": slice_texts["ingest"],
        "kind": task["kind"],
        "groups": [group["name"] for group in task["groups"]],
        "period": cfg["split"]["period"],
    }


def build_experiments(
    points: Sequence[Any],
    configs: Mapping[str, dict[str, Any]],
    base: Sequence[str],
    base_cfg: dict[str, Any],
    slice_texts_of: Any,
) -> list[Experiment]:
    """The experiments of a sweep's points (snakeml.experiments.sweep.Point), checked against the
    run.

    ``configs`` are the points' composed configurations by name
    (snakeml.experiments.sweep.compose_points), ``base_cfg`` the run's own, ``slice_texts_of(cfg)``
    gives a configuration's slice texts. Raises ConfigError, one line naming the point, when a point
    changes a setting of FIXED_SETTINGS.
    """
    from snakeml.configuration.slices import model_names
    from snakeml.experiments.sweep import experiment_name

    expected = fixed_settings(base_cfg, slice_texts_of(base_cfg))
    experiments = []
    for point in points:
        cfg = configs[point.name]
        texts = slice_texts_of(cfg)
        found = fixed_settings(cfg, texts)
        for setting, what in FIXED_SETTINGS.items():
            if found[setting] != expected[setting]:
                raise ConfigError(
                    f"sweep point {point.name} changes {what}, which every experiment of a run "
                    "shares: sweep it in separate runs, one value each (overrides=...)"
                )
        models = tuple(model_names(cfg))
        experiments.append(
            Experiment(
                name=experiment_name(point, base),
                overrides=(*base, *point.overrides),
                choices=tuple(point.choices),
                models=models,
                n_shards=int(cfg["tuning"]["n_shards"]),
                slice_texts=texts,
                roots=shared_roots(texts, models),
                config=cfg,
            )
        )
    return experiments


def configured_pair(conf_dir: str | Path) -> tuple[str, str]:
    """The data set and task that ``conf_dir/config.yaml``'s defaults list chooses.

    Raises ConfigError, one line, when the defaults list names no data set or no task.
    """
    import yaml

    path = Path(conf_dir) / "config.yaml"
    defaults = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("defaults") or []
    chosen = {
        group: entry[group]
        for entry in defaults
        if isinstance(entry, dict)
        for group in ("data", "task")
        if group in entry
    }
    missing = [group for group in ("data", "task") if not isinstance(chosen.get(group), str)]
    if missing:
        raise ConfigError(
            f"{path}: the defaults list chooses no {' and no '.join(missing)}: add "
            + ", ".join(f"'- {group}: <name>'" for group in missing)
        )
    return chosen["data"], chosen["task"]


def pair_folder(data: str, task: str) -> str:
    """The folder suffix of a plain run of data set ``data`` and task ``task`` when they are
    not the configured pair: ``/runs/<data>/<task>``."""
    return f"{RUNS}/{data}/{task}"


def pair_run(
    cfg: dict[str, Any],
    slice_texts: Mapping[str, str],
    overrides: Sequence[str],
    configured: tuple[str, str],
    results: str | Path = "results",
) -> Experiment | None:
    """The plain run of a (data set, task) pair other than ``configured``, as one experiment
    rooted at ``/runs/<data>/<task>``; None for the configured pair (its folders are
    ``results/<stage>``).

    Its jobs get the shared folders an experiment's would (shared_roots), so a run of another
    task of the same data set reuses its feature table, and no pair's files are another's.
    The configured pair's data jobs are read instead of shared ones where they computed the
    same (plain_roots): a task switch on the configured data set builds no features.
    """
    from snakeml.configuration.slices import model_names

    data, task = cfg["data"]["name"], cfg["task"]["name"]
    if (data, task) == tuple(configured):
        return None
    models = tuple(model_names(cfg))
    # the feature slice holds the data set: another data set's jobs are never the plain run's
    roots = plain_roots(shared_roots(slice_texts, models), slice_texts, results)
    return Experiment(
        name=f"{data}/{task}",
        overrides=tuple(overrides),
        choices=(),
        models=models,
        n_shards=int(cfg["tuning"]["n_shards"]),
        slice_texts=dict(slice_texts),
        roots=roots,
        config=cfg,
        folder=pair_folder(data, task),
    )


@dataclass(frozen=True)
class Job:
    """What a job below ``results<root>/`` reads: the folder suffix of each upstream rule's job,
    its slice's text, and (tune_best) how many shards it gathers."""

    upstream: Mapping[str, str]
    slice_key: str
    slice_text: str
    n_shards: int = 0


def job_index(experiments: Sequence[Experiment]) -> dict[str, Job]:
    """Every shared job of the experiments by its folder suffix (each once)."""
    jobs: dict[str, Job] = {}
    for experiment in experiments:
        for key, root in experiment.roots.items():
            if not root:  # the configured pair's own job (results/<stage>), not a shared one
                continue
            rule, _, model = key.partition("/")
            upstream = {
                up: experiment.roots[instance(up, model if up in PER_MODEL else None)]
                for up in UPSTREAM[rule]
            }
            jobs.setdefault(
                root,
                Job(upstream, key, experiment.slice_texts[key], experiment.n_shards),
            )
    return jobs


def experiments_on_disk(results: str | Path = "results") -> list[str]:
    """The experiments with a record and a leaderboard under ``results/experiments/``."""
    folder = Path(results) / EXPERIMENTS.strip("/")
    return sorted(
        path.parent.parent.name
        for path in folder.glob("*/configs/experiment.yaml")
        if (path.parent.parent / "leaderboard.csv").is_file()
    )
