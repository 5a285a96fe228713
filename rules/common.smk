# Composes the Hydra configuration once, exports each rule's slice, and holds input functions.
import re
import sys
from pathlib import Path

# The library in src/ is importable by this process and by every job's script, whether the
# environment is .venv (installed) or a conda environment made per rule (not installed).
LIBRARY = str(Path(workflow.basedir) / "src")
sys.path.insert(0, LIBRARY)

from snakeml.cluster import check_fits_node, slurm_largest_node
from snakeml.config import (
    changed_slices,
    check_estimator_settings,
    load_workflow_config,
    model_names,
    rewrite_changed_slices,
)
from snakeml.config_cache import CACHE_FILE
from snakeml.command_line import check_core_counts, runs_jobs, snakemake_args
from snakeml.dataset import table_files
from snakeml.errors import ConfigError, DataError
from snakeml.experiments import (
    EXPERIMENTS as EXPERIMENTS_DIR,
    configured_pair,
    experiments_on_disk,
    job_index,
    pair_run,
)
from snakeml.io import dump_yaml
from snakeml.manifest import code_files
from snakeml.new_rows import (
    NAME_PATTERN,
    check_prediction_root,
    check_prediction_targets,
    new_rows_file,
)
from snakeml.sweep import run_name
from snakeml.outputs import (
    IMPORTANCE_FILES,
    breakdown_files,
    evaluate_files,
    evaluation_files,
    tuning_files,
)
from snakeml.rule import share_import_path, share_job_environment
from snakeml.runlock import clear_before_run, record_lock_owner
from snakeml.storage import check_storage
from snakemake.settings.types import ExecMode

share_import_path(LIBRARY)
share_job_environment()

CONF_DIR = Path(workflow.basedir) / "conf"

# Every path in the rules is relative to the project's root: running from another folder (-s,
# --directory) would look for sql/ and data/ there and write results/ there.
if Path.cwd().resolve() != Path(workflow.basedir).resolve():
    sys.exit(
        f"snakeml: run snakemake from the project's root, {workflow.basedir} "
        f"(cd there; not -s or --directory from {Path.cwd()})"
    )

# A core or job count below 1 leaves Snakemake waiting forever, and a prediction asked for by
# a path matches no rule: one line each, before anything runs.
COMMAND_LINE = snakemake_args(sys.argv)
try:
    check_core_counts(COMMAND_LINE)
    check_prediction_targets(COMMAND_LINE.targets if COMMAND_LINE else [])
except (ConfigError, DataError) as exc:
    sys.exit(f"snakeml: {exc}")

# Snakemake checks its lock once it has read this file (Workflow.execute): a lock that a killed
# run left is cleared here if its holder is provably gone, else one line names the holder and the
# unlock command. Only in the run itself: not in a job's own Snakemake (a cluster job, a run:
# rule), and runlock leaves dry runs and --nolock alone.
if workflow.exec_mode == ExecMode.DEFAULT:
    LOCK_LINE = clear_before_run(sys.argv)
    if LOCK_LINE is not None:
        print(LOCK_LINE, file=sys.stderr)

try:
    # The configuration, its rule slices and, with --config sweep="key=a,b ...", the
    # experiments, each composed and checked before any job. Kept in .snakemake/ and read back
    # while conf/, sql/, the overrides, the sweep and the code stay the same
    # (snakeml.config_cache): a run with nothing to do skips Hydra. The models' params against
    # scikit-learn's constraints cost an import of scikit-learn: checked in onstart, which a
    # run reaches before its first job, and only when it has jobs.
    LOADED = load_workflow_config(
        config, workflow.basedir, cache_file=Path(workflow.basedir) / CACHE_FILE
    )
except ConfigError as exc:
    sys.exit(f"snakeml: {exc}")
OVERRIDES = LOADED.overrides
CFG = LOADED.cfg
EXPERIMENTS = LOADED.experiments
DATA = CFG["data"]["name"]
# The plain run of the data set and task conf/config.yaml chooses writes results/; of another
# pair, results/runs/<data>/<task>/ with its jobs in the shared folders (snakeml.experiments),
# so every pair keeps its own results and switching back reruns nothing.
try:
    PAIR = pair_run(CFG, LOADED.slice_texts, OVERRIDES, configured_pair(CONF_DIR))
    check_prediction_root(COMMAND_LINE.targets if COMMAND_LINE else [], PAIR and PAIR.root)
except (ConfigError, DataError) as exc:
    sys.exit(f"snakeml: {exc}")
PLAIN_ROOT = PAIR.root if PAIR else ""
RESULTS = f"results{PLAIN_ROOT}"
RULE_CONFIGS = f"{RESULTS}/configs"
# ingest's slice is one per data set (its tables are, data/raw/<data>/), whatever the task: a
# second copy per pair would be newer than the tables and rerun ingest and all below it.
INGEST_SLICE = f"ingest/{DATA}"

# Each rule's slice is the output of a config_slice job (rules/configs.smk) whose param is the
# slice's text, so Snakemake's params trigger plans the rules a change reaches, and a dry run
# shows them without writing anything. A run also rewrites a changed slice before it plans: its
# newer time reruns what reads it even where Snakemake has no record of the old text (results
# pulled with DVC, a .snakemake folder removed).
SLICE_TEXTS = LOADED.slice_texts
OWN_SLICES = {key: text for key, text in SLICE_TEXTS.items() if key != "ingest"}
RULE_CONFIG_FILES = [
    f"results/configs/{INGEST_SLICE}.yaml",
    *(f"{RULE_CONFIGS}/{key}.yaml" for key in OWN_SLICES),
]
# Each experiment's shared jobs by folder suffix (results<root>/), and its own outputs'; a plain
# run of another pair is routed as one more.
ROUTED = [*EXPERIMENTS, *([PAIR] if PAIR else [])]
JOBS = job_index(ROUTED)
EXPERIMENT_AT = {experiment.root: experiment for experiment in ROUTED}
EXPERIMENT_SLICES = {
    experiment.root: {
        "leaderboard": experiment.slice_texts["leaderboard"],
        "experiment": dump_yaml(experiment.record()),
    }
    for experiment in EXPERIMENTS
}
if PAIR:
    # Its slices, and its record: the folder of each of its jobs (configs/experiment.yaml).
    EXPERIMENT_SLICES[PAIR.root] = {**OWN_SLICES, "experiment": dump_yaml(PAIR.record())}


def check_estimators():
    """Each model of the run (or of each sweep point) against scikit-learn: ConfigError."""
    if not EXPERIMENTS:
        check_estimator_settings(CFG, OVERRIDES, CONF_DIR)
    for experiment in EXPERIMENTS:
        try:
            check_estimator_settings(experiment.config, experiment.overrides, CONF_DIR)
        except ConfigError as exc:
            raise ConfigError(f"sweep point {experiment.name}: {exc}") from None


# A sweep leaves the plain run's slices alone: it does not run the plain run's jobs. A slice
# changes only once the models are checked: a refused configuration leaves the last run's.
if runs_jobs(sys.argv):
    PLANNED_SLICES = {"results/configs": {INGEST_SLICE: SLICE_TEXTS["ingest"]}}
    if not EXPERIMENTS:
        PLANNED_SLICES[RULE_CONFIGS] = EXPERIMENT_SLICES.get(PLAIN_ROOT, OWN_SLICES)
    for EXPERIMENT in EXPERIMENTS:
        PLANNED_SLICES[f"results{EXPERIMENT.root}/configs"] = EXPERIMENT_SLICES[EXPERIMENT.root]
    if any(changed_slices(texts, out) for out, texts in PLANNED_SLICES.items()):
        try:
            check_estimators()
        except ConfigError as exc:
            sys.exit(f"snakeml: {exc}")
    for OUT, TEXTS in PLANNED_SLICES.items():
        rewrite_changed_slices(TEXTS, OUT)

MODELS = model_names(CFG)
ALL_MODELS = sorted({*MODELS, *(m for experiment in EXPERIMENTS for m in experiment.models)})
RESOURCES = CFG["resources"]
RAW_TABLES = list(CFG["data"]["tables"])
# The data set's SQL: every step file, the carry step, and the declaration itself (last: the
# scripts find the SQL folder from it).
FEATURE_SQL = LOADED.feature_sql
# The files under conf/ Hydra composed the configuration from, and snakeml's own code: with the
# SQL and the tables' files, what the manifest records (snakeml.manifest).
CONFIG_FILES = LOADED.config_files
CODE_FILES = code_files(workflow.basedir)
SHARDS = list(range(CFG["tuning"]["n_shards"]))
GROUP_NAMES = [group["name"] for group in CFG["task"]["groups"]]
KIND = CFG["task"]["kind"]
# The error-by-period breakdown: none for a task without a time column.
PERIOD = CFG["split"]["period"] if CFG["task"]["time"] is not None else None


wildcard_constraints:
    model="|".join(ALL_MODELS),
    table="|".join(RAW_TABLES),
    shard=r"\d+",
    name=NAME_PATTERN,
    slice="|".join(re.escape(key) for key in [*SLICE_TEXTS, INGEST_SLICE, "experiment"]),


def shared_root(rule):
    """The folder suffixes a shared rule's outputs may have: "" (the plain run's results/) or
    /shared/<rule>/<key> (an experiment's job, snakeml.experiments)."""
    return rf"(/shared/{rule}/[0-9a-f]{{12}})?"


# An experiment's own outputs: results/experiments/<name>/ ("" is the plain run's results/,
# /runs/<data>/<task> another pair's). Only this run's: another's files are inputs of the
# comparison, never rebuilt.
EXPERIMENT_ROOT = "({})?".format(
    "|".join(re.escape(experiment.root) for experiment in ROUTED) or "(?!)"
)


def upstream_root(wildcards, rule):
    """The folder suffix of the ``rule`` job that this job reads: the plain run reads the plain
    run's, an experiment's shared job the one its experiment names."""
    if wildcards.root == "":
        return ""
    return JOBS[wildcards.root].upstream[rule]


def read_from(rule, path):
    """An input function: ``path`` ({root}, {model}, ...) below the ``rule`` job this job reads."""
    return lambda wildcards: path.format(
        **{**dict(wildcards.items()), "root": upstream_root(wildcards, rule)}
    )


def slice_text(wildcards):
    """The text of results<root>/configs/<slice>.yaml."""
    if wildcards.root == "" and wildcards.slice == INGEST_SLICE:
        return SLICE_TEXTS["ingest"]
    if wildcards.root == "":
        # The configured pair's; another pair reads only its feature table, of the same text.
        return SLICE_TEXTS[wildcards.slice]
    if wildcards.root in EXPERIMENT_SLICES:
        return EXPERIMENT_SLICES[wildcards.root][wildcards.slice]
    job = JOBS[wildcards.root]
    if job.slice_key != wildcards.slice:
        raise ValueError(f"results{wildcards.root} holds {job.slice_key}, not {wildcards.slice}")
    return job.slice_text


def rule_config(name):
    """Path of a rule's exported configuration slice (ingest's: one per data set)."""
    if name == "ingest":
        return f"results/configs/{INGEST_SLICE}.yaml"
    return f"{RULE_CONFIGS}/{name}.yaml"


def experiment_labels(labels):
    """Report labels of an output below results<root>/: an experiment's name first, in a sweep."""

    def labelled(wildcards):
        if wildcards.root in EXPERIMENT_AT and wildcards.root != PLAIN_ROOT:
            return {"experiment": EXPERIMENT_AT[wildcards.root].name, **labels}
        return dict(labels)

    return labelled


def job_config(name):
    """Path of a job's slice below its folder: results<root>/configs/<name>.yaml."""
    return f"results{{root}}/configs/{name}.yaml"


def experiment_models(wildcards):
    """The models of the run (root "") or of the experiment at results<root>/."""
    return MODELS if wildcards.root == "" else EXPERIMENT_AT[wildcards.root].models


def experiment_file(wildcards, slice_key, path):
    """``path`` below the folder of the experiment's job ``slice_key`` ("" in the plain run)."""
    if wildcards.root == "":
        return f"results/{path}"
    return f"results{EXPERIMENT_AT[wildcards.root].roots[slice_key]}/{path}"


def get_model_metrics(wildcards):
    return [
        experiment_file(wildcards, f"evaluate/{m}", f"evaluation/{m}/metrics.json")
        for m in experiment_models(wildcards)
    ]


def get_model_predictions(wildcards):
    return [
        experiment_file(wildcards, f"evaluate/{m}", f"evaluation/{m}/predictions.parquet")
        for m in experiment_models(wildcards)
    ]


def get_models(wildcards):
    return [
        experiment_file(wildcards, f"train/{m}", f"models/{m}.skops")
        for m in experiment_models(wildcards)
    ]


def get_decisions(wildcards):
    return [
        experiment_file(wildcards, f"train/{m}", f"models/{m}.decision.json")
        for m in experiment_models(wildcards)
    ]


SPLITS = ["train", "valid", "test"]
# What the leaderboard rule writes below results/ or an experiment's folder.
LEADERBOARD_FILES = [
    "leaderboard.csv",
    "champion/metrics.json",
    "champion/statement.txt",
    "champion/model.skops",
    "champion/decision.json",
]


def get_shards(wildcards):
    """The trials of each shard of the tuning that tune_best gathers."""
    root = upstream_root(wildcards, "tune_shard")
    n_shards = len(SHARDS) if wildcards.root == "" else JOBS[wildcards.root].n_shards
    return [f"results{root}/tuning/{wildcards.model}/shards/{s}.parquet" for s in range(n_shards)]


def plain_file(slice_key, path):
    """``path`` below the folder of the plain run's job ``slice_key`` (results/ for the
    configured pair, the shared job's folder for another)."""
    return f"results{PAIR.roots[slice_key]}/{path}" if PAIR else f"results/{path}"


def get_split(name):
    """Input function: the split's ``name`` (train, valid, test) the experiment reads."""
    return lambda wildcards: experiment_file(wildcards, "split", f"split/{name}.parquet")


def raw_table(table):
    """Where ingest writes a declared table of the data set."""
    return f"data/raw/{DATA}/{table}.parquet"


def get_table_sources():
    """The project's own files the tables are read from (a package's files are not tracked)."""
    return [
        str(path)
        for table, spec in CFG["data"]["tables"].items()
        if not spec["package"]
        for path in table_files(table, spec, ".")
    ]


def get_new_rows(wildcards):
    """data/new/{name}.parquet or .csv, whichever exists; one line when neither or both do."""
    try:
        return str(new_rows_file(wildcards.name, predictions_dir=f"{RESULTS}/predictions"))
    except DataError as exc:
        sys.exit(f"snakeml: {exc}")


EVALUATION_FILES = evaluation_files(GROUP_NAMES, PERIOD, KIND)
TUNING_FILES = tuning_files()
# Each figure of the evaluate rule: its caption in report/ and its label in the report.
FIGURES = {
    "plot": ("importance.rst", "permutation importance per column"),
    "families_plot": ("family_importance.rst", "permutation importance per feature family"),
}
if KIND == "regression":
    FIGURES |= {
        "scatter_png": ("predicted_vs_actual.rst", "predicted vs actual"),
        **{
            f"by_{group['name']}_png": ("residuals_by_group.rst", f"residuals by {group['label']}")
            for group in CFG["task"]["groups"]
        },
    }
else:
    FIGURES |= {
        "confusion_png": ("confusion_matrix.rst", "confusion matrix"),
        "roc_png": ("roc_curve.rst", "ROC curve"),
        "pr_png": ("precision_recall_curve.rst", "precision-recall curve"),
        "calibration_png": ("calibration_curve.rst", "calibration curve"),
        **{
            f"by_{group['name']}_png": ("metrics_by_group.rst", f"metrics by {group['label']}")
            for group in CFG["task"]["groups"]
        },
    }


if PERIOD is not None:
    FIGURES["by_period_png"] = (
        ("error_by_period.rst" if KIND == "regression" else "metrics_by_period.rst"),
        f"{'error' if KIND == 'regression' else 'metrics'} by {PERIOD}",
    )


def evaluate_outputs_files():
    """The evaluate rule's files by output name (snakeml.outputs)."""
    return {**evaluate_files(KIND), **breakdown_files(GROUP_NAMES, PERIOD, KIND)}


def evaluate_outputs():
    """The evaluate rule's named outputs (snakeml.outputs), figures marked for the report."""
    return model_outputs(evaluate_outputs_files())


def importance_outputs():
    """The importance rule's named outputs (snakeml.outputs), figures marked for the report."""
    return model_outputs(IMPORTANCE_FILES)


def model_outputs(files):
    """results/evaluation/{model}/<file> per output name; figures go into the report."""
    outputs = {}
    for key, name in files.items():
        path = f"results{{root}}/evaluation/{{model}}/{name}"
        if key in FIGURES:
            caption, label = FIGURES[key]
            path = report(
                path,
                caption=f"../report/{caption}",
                category="Evaluation",
                subcategory="{model}",
                labels={"model": "{model}", "figure": label},
            )
        outputs[key] = path
    return outputs


def get_final_artifacts():
    """What a run is for; the manifest records each one's checksum."""
    if PAIR:
        return run_outputs(PAIR)
    return [
        "results/leaderboard.csv",
        "results/champion/metrics.json",
        "results/champion/statement.txt",
        "results/champion/model.skops",
        "results/champion/decision.json",
        *expand("results/evaluation/{model}/{file}", model=MODELS, file=EVALUATION_FILES),
        *expand("results/tuning/{model}/{file}", model=MODELS, file=TUNING_FILES),
    ]


def get_final_outputs():
    record = [f"{RULE_CONFIGS}/experiment.yaml"] if PAIR else []
    return [*get_final_artifacts(), f"{RESULTS}/manifest.json", *record]


def get_experiment_outputs(experiment):
    """What one experiment is for: its run's outputs (run_outputs) and its record."""
    return [*run_outputs(experiment), f"results{experiment.root}/configs/experiment.yaml"]


def run_outputs(experiment):
    """The leaderboard and champion of a routed run, and each model's evaluation and tuning
    files in the folders of the jobs that write them."""
    own = f"results{experiment.root}"
    evaluate = evaluate_outputs_files().values()
    roots = experiment.roots
    return [
        *(f"{own}/{name}" for name in LEADERBOARD_FILES),
        *(
            f"results{roots[f'{rule}/{m}']}/{folder}/{m}/{name}"
            for m in experiment.models
            for rule, folder, names in (
                ("evaluate", "evaluation", evaluate),
                ("importance", "evaluation", IMPORTANCE_FILES.values()),
                ("tune_best", "tuning", TUNING_FILES),
            )
            for name in names
        ),
    ]


def get_targets():
    """The plain run's outputs; with a sweep, each experiment's and their comparison. With
    tracking.mlflow, each result's MLflow record."""
    tracked = [f"results{root}/tracking/mlflow.json" for root in TRACKED]
    if not EXPERIMENTS:
        return [*get_final_outputs(), *tracked]
    return [
        *(path for experiment in EXPERIMENTS for path in get_experiment_outputs(experiment)),
        *COMPARISON_FILES.values(),
        *tracked,
    ]


def tracking_of(root):
    """The tracking settings of the plain run (PLAIN_ROOT) or of the experiment at ``root``."""
    return (CFG if root == PLAIN_ROOT else EXPERIMENT_AT[root].config)["tracking"]


def result_name(root):
    """The MLflow run name of a result: the experiment's name, or the plain run's."""
    return run_name(OVERRIDES) if root == PLAIN_ROOT else EXPERIMENT_AT[root].name


def result_overrides(root):
    return list(OVERRIDES) if root == PLAIN_ROOT else list(EXPERIMENT_AT[root].overrides)


def tracked_artifacts(wildcards):
    """What a result's MLflow run holds, by artifact folder ("" is the run's root): the
    leaderboard, the champion's files, each model's figures (<model>/evaluation, /tuning)."""
    own = f"results{wildcards.root}"
    artifacts = {
        "": [f"{own}/leaderboard.csv"],
        "champion": [f"{own}/{name}" for name in LEADERBOARD_FILES if name.startswith("champion/")],
    }
    figures = {key: name for key, name in evaluate_outputs_files().items() if key in FIGURES}
    for m in experiment_models(wildcards):
        artifacts[f"{m}/evaluation"] = [
            experiment_file(wildcards, f"{rule}/{m}", f"evaluation/{m}/{name}")
            for rule, names in (("evaluate", figures), ("importance", IMPORTANCE_FILES))
            for key, name in names.items()
            if key in FIGURES
        ]
        artifacts[f"{m}/tuning"] = [
            experiment_file(wildcards, f"tune_best/{m}", f"tuning/{m}/{name}")
            for name in TUNING_FILES
            if name.endswith(".png")
        ]
    return artifacts


def get_tracked_files(wildcards):
    """Every file of tracked_artifacts, as the track rule's inputs."""
    return [path for paths in tracked_artifacts(wildcards).values() for path in paths]


# The results an MLflow run is logged for: the plain run's, or each experiment's.
TRACKED = [
    root
    for root in ([e.root for e in EXPERIMENTS] if EXPERIMENTS else [PLAIN_ROOT])
    if tracking_of(root)["mlflow"]
]


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


# Before any job starts: an RDB for the trials must be reachable (and gets Optuna's tables
# once, not from two shards at a time); on SLURM, a job no node can run would be refused at
# submission, so name the key to change before anything is submitted (the executor is known
# only once the run starts).
onstart:
    # Private use: no public API names the lock files this run holds (none if that changes).
    OWN_LOCKS = list(getattr(workflow.persistence, "_lockfile", {}).values())
    # Which process holds the lock Snakemake has just taken, for a later run to tell whether a
    # kill left it (snakeml.runlock).
    if workflow.exec_mode == ExecMode.DEFAULT:
        record_lock_owner(OWN_LOCKS, getattr(workflow.executor_plugin, "name", "local"))
    # Temporaries left by writers a kill stopped; none is live unless another run holds a lock.
    from snakeml.io import remove_stale_temporaries

    STALE_FILES = remove_stale_temporaries(["results", "data"], own_locks=OWN_LOCKS)
    if STALE_FILES:
        print(
            f"snakeml: removed {len(STALE_FILES)} temporary files of a stopped run",
            file=sys.stderr,
        )
    try:
        check_estimators()
        check_storage(CFG["tuning"]["storage"])
    except ConfigError as exc:
        sys.exit(f"snakeml: {exc}")
    # The MLflow store, once, before the first job (imports the MLflow client).
    if TRACKED:
        from snakeml.tracking import check_tracking

        try:
            for URI in sorted({tracking_of(root)["uri"] for root in TRACKED}):
                check_tracking(URI)
        except ConfigError as exc:
            sys.exit(f"snakeml: {exc}")
    if getattr(workflow.executor_plugin, "name", None) == "slurm":
        LARGEST_NODE = slurm_largest_node()
        if LARGEST_NODE is not None:
            try:
                check_fits_node(RESOURCES, *LARGEST_NODE)
            except ConfigError as exc:
                sys.exit(f"snakeml: {exc}")
