"""Where each job of a run reads and writes: the input functions of rules/*.smk, in Python.

A run is one of three shapes (snakeml.experiments.runs):

- the plain run of the data set and task conf/config.yaml chooses: every job under
  ``results/<stage>/`` (folder suffix ``""``);
- the plain run of another pair: its own files under ``results/runs/<data>/<task>/``, its jobs
  under ``results/shared/<rule>/<key>/``;
- a sweep: each experiment's own files under ``results/experiments/<name>/``, the jobs under
  ``results/shared/``.

A rule's paths carry the folder suffix as the ``{root}`` wildcard; ``Routes`` answers, for a
job at a given root, which folders the jobs it reads write to, which slice text its
``configs/`` holds, and what a run or an experiment is for (its targets). Light on purpose: the
workflow builds it while it loads.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from snakeml.core.io import dump_yaml
from snakeml.core.outputs import RunFiles
from snakeml.experiments.runs import Experiment, Job, job_index

RESULTS = "results"
# What the leaderboard rule writes below a run's or an experiment's own folder.
LEADERBOARD_FILES: tuple[str, ...] = (
    "leaderboard.csv",
    "champion/metrics.json",
    "champion/statement.txt",
    "champion/model.skops",
    "champion/decision.json",
)
# An experiment's (or another pair's) record: its overrides and the folder of each of its jobs.
RECORD_SLICE = "experiment"


class Wildcards(Protocol):
    """What a rule's input function receives: the job's wildcards by name (Snakemake's)."""

    root: str

    def items(self) -> Any: ...


@dataclass(frozen=True)
class Routes:
    """The folders of one run's jobs and the input functions that read them.

    ``cfg`` and ``slice_texts`` are the run's composed configuration and rule slices,
    ``experiments`` a sweep's points (empty for a plain run), ``pair`` the plain run of a pair
    other than the configured one (snakeml.experiments.runs.pair_run), None for the configured pair.
    """

    cfg: Mapping[str, Any]
    overrides: tuple[str, ...]
    slice_texts: Mapping[str, str]
    experiments: tuple[Experiment, ...] = ()
    pair: Experiment | None = None
    run_name: str = ""
    jobs: Mapping[str, Job] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "jobs", job_index(self.routed))

    # -- the run's folders -------------------------------------------------------------------

    @property
    def data(self) -> str:
        return str(self.cfg["data"]["name"])

    @property
    def routed(self) -> list[Experiment]:
        """Every run routed through the shared folders: a sweep's points, another pair's run."""
        return [*self.experiments, *([self.pair] if self.pair else [])]

    @property
    def plain_root(self) -> str:
        """The plain run's folder suffix: "" (results/) or /runs/<data>/<task>."""
        return self.pair.root if self.pair else ""

    @property
    def results(self) -> str:
        """The plain run's own folder: ``results`` or ``results/runs/<data>/<task>``."""
        return f"{RESULTS}{self.plain_root}"

    @property
    def rule_configs(self) -> str:
        return f"{self.results}/configs"

    @property
    def ingest_slice(self) -> str:
        """ingest's slice key below results/configs/: one per data set (its raw tables are),
        whatever the task, so a run of another task never makes them look out of date."""
        return f"ingest/{self.data}"

    @property
    def models(self) -> list[str]:
        return sorted(self.cfg["model"])

    @property
    def all_models(self) -> list[str]:
        """The models of the run and of every experiment: the {model} wildcard's values."""
        return sorted({*self.models, *(m for e in self.experiments for m in e.models)})

    @property
    def own_slices(self) -> dict[str, str]:
        """The plain run's slices below its own configs/ (ingest's is one per data set)."""
        return {key: text for key, text in self.slice_texts.items() if key != "ingest"}

    @property
    def experiment_at(self) -> dict[str, Experiment]:
        return {experiment.root: experiment for experiment in self.routed}

    @property
    def experiment_slices(self) -> dict[str, dict[str, str]]:
        """The slices below each routed run's own configs/: an experiment's leaderboard slice
        and record; another pair's every slice and record."""
        slices = {
            e.root: {
                "leaderboard": e.slice_texts["leaderboard"],
                RECORD_SLICE: dump_yaml(e.record()),
            }
            for e in self.experiments
        }
        if self.pair:
            slices[self.pair.root] = {
                **self.own_slices,
                RECORD_SLICE: dump_yaml(self.pair.record()),
            }
        return slices

    def planned_slices(self) -> dict[str, dict[str, str]]:
        """The slice files a run writes before it plans, by folder: ingest's, then the plain
        run's own (none in a sweep: it leaves the plain run's alone), then each experiment's."""
        planned = {f"{RESULTS}/configs": {self.ingest_slice: self.slice_texts["ingest"]}}
        if not self.experiments:
            own = self.experiment_slices.get(self.plain_root, self.own_slices)
            planned[self.rule_configs] = {**planned.get(self.rule_configs, {}), **own}
        for experiment in self.experiments:
            planned[f"{RESULTS}{experiment.root}/configs"] = self.experiment_slices[experiment.root]
        return planned

    def rule_config_files(self) -> list[str]:
        """Every slice file of the plain run, ingest's first (the manifest's inputs)."""
        return [self.rule_config("ingest"), *(self.rule_config(k) for k in self.own_slices)]

    def rule_config(self, name: str) -> str:
        """The path of the plain run's slice ``name`` (ingest's: one per data set)."""
        if name == "ingest":
            return f"{RESULTS}/configs/{self.ingest_slice}.yaml"
        return f"{self.rule_configs}/{name}.yaml"

    def slice_keys(self) -> list[str]:
        """The values of the {slice} wildcard."""
        return [*self.slice_texts, self.ingest_slice, RECORD_SLICE]

    def own_root_pattern(self) -> str:
        """The {root} wildcard of a rule that writes a run's own files (leaderboard, track):
        "" or one of this run's routed roots. Another sweep's are never rebuilt."""
        roots = "|".join(re.escape(experiment.root) for experiment in self.routed)
        return f"({roots or '(?!)'})?"

    # -- input functions ---------------------------------------------------------------------

    def upstream_root(self, wildcards: Wildcards, rule: str) -> str:
        """The folder suffix of the ``rule`` job that the job at ``wildcards.root`` reads."""
        if wildcards.root == "":
            return ""
        return self.jobs[wildcards.root].upstream[rule]

    def read_from(self, rule: str, path: str) -> Callable[[Wildcards], str]:
        """An input function: ``path`` ({root}, {model}, ...) below the ``rule`` job read."""
        return lambda wildcards: path.format(
            **{**dict(wildcards.items()), "root": self.upstream_root(wildcards, rule)}
        )

    def slice_text(self, wildcards: Any) -> str:
        """The text of ``results<root>/configs/<slice>.yaml``; ValueError for a slice the
        folder's job does not hold."""
        root, key = wildcards.root, wildcards.slice
        if root == "":
            # The configured pair's; another pair reads only its feature table, same text.
            return self.slice_texts["ingest" if key == self.ingest_slice else key]
        slices = self.experiment_slices
        if root in slices:
            return slices[root][key]
        job = self.jobs[root]
        if job.slice_key != key:
            raise ValueError(f"results{root} holds {job.slice_key}, not {key}")
        return job.slice_text

    def experiment_labels(self, labels: Mapping[str, str]) -> Callable[[Wildcards], dict]:
        """Report labels of a run's own output: an experiment's name first, in a sweep."""

        def labelled(wildcards: Wildcards) -> dict[str, str]:
            experiment = self.experiment_at.get(wildcards.root)
            if experiment is not None and wildcards.root != self.plain_root:
                return {"experiment": experiment.name, **labels}
            return dict(labels)

        return labelled

    def models_of(self, wildcards: Wildcards) -> list[str]:
        """The models of the plain run (root "") or of the routed run at ``wildcards.root``."""
        if wildcards.root == "":
            return self.models
        return list(self.experiment_at[wildcards.root].models)

    def file_of(self, wildcards: Wildcards, slice_key: str, path: str) -> str:
        """``path`` below the folder of job ``slice_key`` of the run at ``wildcards.root``."""
        if wildcards.root == "":
            return f"{RESULTS}/{path}"
        return f"{RESULTS}{self.experiment_at[wildcards.root].roots[slice_key]}/{path}"

    def per_model(self, rule: str, path: str) -> Callable[[Wildcards], list[str]]:
        """An input function: ``path`` ({model}) of each model's ``rule`` job of the run."""
        return lambda wildcards: [
            self.file_of(wildcards, f"{rule}/{m}", path.format(model=m))
            for m in self.models_of(wildcards)
        ]

    def split_of(self, name: str) -> Callable[[Wildcards], str]:
        """An input function: the split's part ``name`` (train, valid, test) the run reads."""
        return lambda wildcards: self.file_of(wildcards, "split", f"split/{name}.parquet")

    def shards(self, wildcards: Any) -> list[str]:
        """The trials of each shard of the tuning that a tune_best job gathers."""
        root = self.upstream_root(wildcards, "tune_shard")
        if wildcards.root == "":
            n_shards = int(self.cfg["tuning"]["n_shards"])
        else:
            n_shards = self.jobs[wildcards.root].n_shards
        folder = f"{RESULTS}{root}/tuning/{wildcards.model}/shards"
        return [f"{folder}/{shard}.parquet" for shard in range(n_shards)]

    def plain_file(self, slice_key: str, path: str) -> str:
        """``path`` below the folder of the plain run's job ``slice_key``."""
        if self.pair:
            return f"{RESULTS}{self.pair.roots[slice_key]}/{path}"
        return f"{RESULTS}/{path}"

    # -- what a run is for -------------------------------------------------------------------

    def run_outputs(self, experiment: Experiment, files: RunFiles) -> list[str]:
        """A routed run's leaderboard and champion, and each model's evaluation and tuning
        files in the folders of the jobs that write them."""
        own = f"{RESULTS}{experiment.root}"
        roots = experiment.roots
        return [
            *(f"{own}/{name}" for name in LEADERBOARD_FILES),
            *(
                f"{RESULTS}{roots[f'{rule}/{m}']}/{folder}/{m}/{name}"
                for m in experiment.models
                for rule, folder, names in (
                    ("evaluate", "evaluation", files.evaluate.values()),
                    ("importance", "evaluation", files.importance.values()),
                    ("tune_best", "tuning", files.tuning),
                )
                for name in names
            ),
        ]

    def final_artifacts(self, files: RunFiles) -> list[str]:
        """What the plain run is for; its manifest records each one's checksum."""
        if self.pair:
            return self.run_outputs(self.pair, files)
        evaluation = [*files.evaluate.values(), *files.importance.values()]
        return [
            *(f"{RESULTS}/{name}" for name in LEADERBOARD_FILES),
            *(f"{RESULTS}/evaluation/{m}/{name}" for m in self.models for name in evaluation),
            *(f"{RESULTS}/tuning/{m}/{name}" for m in self.models for name in files.tuning),
        ]

    def final_outputs(self, files: RunFiles) -> list[str]:
        """The plain run's artifacts, its manifest, and (another pair's) its record."""
        record = [f"{self.rule_configs}/{RECORD_SLICE}.yaml"] if self.pair else []
        return [*self.final_artifacts(files), f"{self.results}/manifest.json", *record]

    def experiment_outputs(self, experiment: Experiment, files: RunFiles) -> list[str]:
        """What one experiment is for: its run's outputs and its record."""
        record = f"{RESULTS}{experiment.root}/configs/{RECORD_SLICE}.yaml"
        return [*self.run_outputs(experiment, files), record]

    # -- tracking ----------------------------------------------------------------------------

    def config_of(self, root: str) -> Mapping[str, Any]:
        """The configuration of the plain run (its root) or of the experiment at ``root``."""
        return self.cfg if root == self.plain_root else self.experiment_at[root].config

    def result_name(self, root: str) -> str:
        """The MLflow run name of a result: the experiment's name, or the plain run's."""
        return self.run_name if root == self.plain_root else self.experiment_at[root].name

    def result_overrides(self, root: str) -> list[str]:
        if root == self.plain_root:
            return list(self.overrides)
        return list(self.experiment_at[root].overrides)

    def tracked_roots(self) -> list[str]:
        """The results an MLflow run is logged for: the plain run's, or each experiment's."""
        roots = [e.root for e in self.experiments] if self.experiments else [self.plain_root]
        return [root for root in roots if self.config_of(root)["tracking"]["mlflow"]]

    def tracked_artifacts(
        self, wildcards: Wildcards, files: RunFiles, figures: Mapping[str, Any]
    ) -> dict[str, list[str]]:
        """What a result's MLflow run holds, by artifact folder ("" is the run's root): the
        leaderboard, the champion's files, each model's figures (<model>/evaluation, /tuning).
        ``figures`` are the output names of the figures (snakeml.core.outputs.report_figures)."""
        own = f"{RESULTS}{wildcards.root}"
        artifacts = {
            "": [f"{own}/leaderboard.csv"],
            "champion": [f"{own}/{name}" for name in LEADERBOARD_FILES if "champion/" in name],
        }
        for m in self.models_of(wildcards):
            artifacts[f"{m}/evaluation"] = [
                self.file_of(wildcards, f"{rule}/{m}", f"evaluation/{m}/{name}")
                for rule, names in (("evaluate", files.evaluate), ("importance", files.importance))
                for key, name in names.items()
                if key in figures
            ]
            artifacts[f"{m}/tuning"] = [
                self.file_of(wildcards, f"tune_best/{m}", f"tuning/{m}/{name}")
                for name in files.tuning
                if name.endswith(".png")
            ]
        return artifacts
