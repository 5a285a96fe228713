# Composes the Hydra configuration once, exports each rule's slice, and holds input functions.
import re
import sys
from pathlib import Path

# The library in src/ is importable by this process and by every job's script, whether the
# environment is .venv (installed) or a conda environment made per rule (not installed).
LIBRARY = str(Path(workflow.basedir) / "src")
sys.path.insert(0, LIBRARY)

from snakeml.configuration.slices import changed_slices, rewrite_changed_slices
from snakeml.configuration.cache import CACHE_DIR
from snakeml.operations.command_line import runs_jobs
from snakeml.data.dataset import table_files
from snakeml.core.schema import data_config
from snakeml.core.errors import ConfigError, DataError, SnakemlError
from snakeml.experiments.runs import EXPERIMENTS as EXPERIMENTS_DIR, reading_plain_jobs
from snakeml.experiments.runs import configured_pair, experiments_on_disk, pair_run
from snakeml.operations.manifest import code_files
from snakeml.prediction.new_rows import NAME_PATTERN, check_prediction_root, new_rows_file
from snakeml.core.outputs import report_figures, run_files
from snakeml.experiments.routing import Routes
from snakeml.experiments.workflow_config import load_workflow_config
from snakeml.operations.rule import share_import_path, share_job_environment
from snakeml.operations.start import (
    before_first_job,
    check_as_loaded,
    check_estimators,
    name_killed_jobs,
    repeat_job_errors,
)
from snakeml.experiments.sweep import run_name
from snakeml.models.task_kinds import task_kind
from snakemake.settings.types import ExecMode

share_import_path(LIBRARY)
share_job_environment()

CONF_DIR = Path(workflow.basedir) / "conf"

# Before anything runs (snakeml.operations.start): the project's root as the working directory,
# core and job counts of at least 1, predictions asked for by name; a lock a killed run left is
# cleared.
try:
    COMMAND_LINE = check_as_loaded(
        sys.argv, workflow.basedir, workflow.exec_mode == ExecMode.DEFAULT
    )
except SnakemlError as exc:
    sys.exit(f"snakeml: {exc}")

try:
    # The configuration, its rule slices and, with --config sweep="key=a,b ...", the
    # experiments, each composed and checked before any job. Kept in .snakemake/ and read back
    # while conf/, sql/, the overrides, the sweep and the code stay the same
    # (snakeml.configuration.cache): a run with nothing to do skips Hydra. The models' params
    # against scikit-learn's constraints cost an import of scikit-learn: checked in onstart,
    # which a run reaches before its first job, and only when it has jobs.
    LOADED = load_workflow_config(
        config, workflow.basedir, cache_dir=Path(workflow.basedir) / CACHE_DIR
    )
except ConfigError as exc:
    sys.exit(f"snakeml: {exc}")
OVERRIDES, CFG = LOADED.overrides, LOADED.cfg
EXPERIMENTS, SLICE_TEXTS = reading_plain_jobs(LOADED.experiments), LOADED.slice_texts
# Where each job writes and reads (snakeml.experiments.routing): the plain run of the data set and
# task conf/config.yaml chooses writes results/; another pair's writes results/runs/<data>/<task>/
# with its jobs in the shared folders (snakeml.experiments.runs), so each pair keeps its results;
# an experiment or pair reads the plain run's data jobs where they computed the same.
try:
    PAIR = pair_run(CFG, SLICE_TEXTS, OVERRIDES, configured_pair(CONF_DIR))
    check_prediction_root(COMMAND_LINE.targets if COMMAND_LINE else [], PAIR and PAIR.root)
except (ConfigError, DataError) as exc:
    sys.exit(f"snakeml: {exc}")
ROUTES = Routes(CFG, tuple(OVERRIDES), SLICE_TEXTS, tuple(EXPERIMENTS), PAIR, run_name(OVERRIDES))
PLAIN_ROOT, RESULTS = ROUTES.plain_root, ROUTES.results
# The report's description (report/workflow.rst) shows this run's leaderboard and statement.
config["results_folder"] = RESULTS
OWN_SLICES, RULE_CONFIG_FILES = ROUTES.own_slices, ROUTES.rule_config_files()


# Each rule's slice is the output of a config_slice job (rules/configs.smk) whose param is the
# slice's text, so Snakemake's params trigger plans the rules a change reaches, and a dry run
# shows them without writing anything. A run also rewrites a changed slice before it plans: its
# newer time reruns what reads it even where Snakemake has no record of the old text (results
# pulled with DVC, a .snakemake folder removed). A sweep leaves the plain run's slices alone. A
# slice changes only once the models are checked: a refused configuration leaves the last run's.
if runs_jobs(sys.argv):
    PLANNED_SLICES = ROUTES.planned_slices()
    if any(changed_slices(texts, out) for out, texts in PLANNED_SLICES.items()):
        try:
            check_estimators(CFG, OVERRIDES, EXPERIMENTS, CONF_DIR)
        except ConfigError as exc:
            sys.exit(f"snakeml: {exc}")
    for OUT, TEXTS in PLANNED_SLICES.items():
        rewrite_changed_slices(TEXTS, OUT)

RESOURCES = CFG["resources"]
RAW_TABLES = list(CFG["data"]["tables"])
# The data set's SQL: every step file, the carry step, and the declaration itself (last: the
# scripts find the SQL folder from it).
FEATURE_SQL = LOADED.feature_sql
# The files under conf/ Hydra composed the configuration from, and snakeml's own code: with the
# SQL and the tables' files, what the manifest records (snakeml.operations.manifest).
CONFIG_FILES = LOADED.config_files
CODE_FILES = code_files(workflow.basedir)
# What each per-model rule writes, and which of it are the report's figures
# (snakeml.core.outputs); the error-by-period breakdown only for a task with a time column.
PERIOD = CFG["split"]["period"] if CFG["task"]["time"] is not None else None
GROUPS, KIND = CFG["task"]["groups"], task_kind(CFG["task"]["kind"])
FILES = run_files([group["name"] for group in GROUPS], PERIOD, KIND)
FIGURES = report_figures(GROUPS, PERIOD, KIND)
SPLITS = ["train", "valid", "test"]


wildcard_constraints:
    model="|".join(ROUTES.all_models),
    table="|".join(RAW_TABLES),
    shard=r"\d+",
    name=NAME_PATTERN,
    slice="|".join(re.escape(key) for key in ROUTES.slice_keys()),


def shared_root(rule):
    """The folder suffixes a shared rule's outputs may have: "" (the plain run's results/) or
    /shared/<rule>/<key> (a routed run's job, snakeml.experiments.runs)."""
    return rf"(/shared/{rule}/[0-9a-f]{{12}})?"


# A routed run's own outputs (leaderboard, track): "", or this run's experiments' or pair's
# folder. Another sweep's are inputs of the comparison, never rebuilt.
EXPERIMENT_ROOT = ROUTES.own_root_pattern()
# The input functions of the rules (snakeml.experiments.routing).
read_from, slice_text, rule_config = ROUTES.read_from, ROUTES.slice_text, ROUTES.rule_config
experiment_labels, get_split, plain_file = (
    ROUTES.experiment_labels,
    ROUTES.split_of,
    ROUTES.plain_file,
)
get_shards = ROUTES.shards
get_model_metrics = ROUTES.per_model("evaluate", "evaluation/{model}/metrics.json")
get_model_predictions = ROUTES.per_model("evaluate", "evaluation/{model}/predictions.parquet")
get_models = ROUTES.per_model("train", "models/{model}.skops")
get_decisions = ROUTES.per_model("train", "models/{model}.decision.json")


def job_config(name):
    """Path of a job's slice below its folder: results<root>/configs/<name>.yaml."""
    return f"results{{root}}/configs/{name}.yaml"


def raw_table(table):
    """Where ingest writes a declared table of the data set."""
    return f"data/raw/{CFG['data']['name']}/{table}.parquet"


def get_table_sources():
    """The project's own files the tables are read from (a package's files are not tracked)."""
    tables = data_config(CFG["data"]).tables.items()
    return [str(p) for t, spec in tables if not spec.package for p in table_files(t, spec, ".")]


def get_new_rows(wildcards):
    """data/new/{name}.parquet or .csv, whichever exists; one line when neither or both do."""
    try:
        return str(new_rows_file(wildcards.name, predictions_dir=f"{RESULTS}/predictions"))
    except DataError as exc:
        sys.exit(f"snakeml: {exc}")


def model_outputs(files):
    """results/evaluation/{model}/<file> per output name of a per-model rule's files
    (FILES.evaluate, FILES.importance: snakeml.core.outputs); figures go into the report."""
    outputs = {}
    for key, name in files.items():
        path = f"results{{root}}/evaluation/{{model}}/{name}"
        if key in FIGURES:
            caption, label = FIGURES[key]
            labels = {"model": "{model}", "figure": label}
            path = report(
                path,
                caption=f"../report/{caption}",
                category="Evaluation",
                subcategory="{model}",
                labels=labels,
            )
        outputs[key] = path
    return outputs


def get_final_artifacts():
    """What a run is for; the manifest records each one's checksum."""
    return ROUTES.final_artifacts(FILES)


def get_targets():
    """The plain run's outputs; with a sweep, each experiment's and their comparison. With
    tracking.mlflow, each result's MLflow record."""
    tracked = [f"results{root}/tracking/mlflow.json" for root in ROUTES.tracked_roots()]
    if not EXPERIMENTS:
        return [*ROUTES.final_outputs(FILES), *tracked]
    outputs = [path for e in EXPERIMENTS for path in ROUTES.experiment_outputs(e, FILES)]
    return [*outputs, *COMPARISON_FILES.values(), *tracked]


def tracking_of(root):
    """The tracking settings of the plain run or of the experiment at ``root``."""
    return ROUTES.config_of(root)["tracking"]


result_name, result_overrides = ROUTES.result_name, ROUTES.result_overrides


def tracked_artifacts(wildcards):
    """What a result's MLflow run holds, by artifact folder (snakeml.experiments.routing)."""
    return ROUTES.tracked_artifacts(wildcards, FILES, FIGURES)


def get_tracked_files(wildcards):
    """Every file of tracked_artifacts, as the track rule's inputs."""
    return [path for paths in tracked_artifacts(wildcards).values() for path in paths]


def get_compared(name):
    """Every compared experiment's ``name`` file (leaderboard.csv, configs/experiment.yaml)."""
    return [f"results{EXPERIMENTS_DIR}/{experiment}/{name}" for experiment in COMPARED]


# results/experiments/: one row per experiment and model, and the chosen metric per experiment.
COMPARISON_FILES = {
    "comparison": f"results{EXPERIMENTS_DIR}/comparison.csv",
    "plot": f"results{EXPERIMENTS_DIR}/comparison.png",
}
# Every experiment with a record, this run's and earlier runs': the comparison lists them all.
COMPARED = sorted({*experiments_on_disk(), *(experiment.name for experiment in EXPERIMENTS)})


# Once a run has jobs, before the first (snakeml.operations.start): the lock's holder, temporaries
# of a stopped run, the models against scikit-learn, the trials' storage, MLflow, SLURM's nodes.
onstart:
    try:
        before_first_job(workflow, ROUTES, CONF_DIR)
    except SnakemlError as exc:
        sys.exit(f"snakeml: {exc}")


# A job killed for memory is named as such, with its request and how to raise it; a failed job's
# own error line comes last.
onerror:
    name_killed_jobs(log, RESOURCES)
    repeat_job_errors(log)
