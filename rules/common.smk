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
    check_estimator_settings,
    compose_config,
    declaration_of,
    model_names,
    rewrite_changed_slices,
    rule_slice_texts,
    workflow_overrides,
)
from snakeml.command_line import runs_jobs
from snakeml.dataset import table_files
from snakeml.errors import ConfigError
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
RULE_CONFIGS = "results/configs"

# Every path in the rules is relative to the project's root: running from another folder (-s,
# --directory) would look for sql/ and data/ there and write results/ there.
if Path.cwd().resolve() != Path(workflow.basedir).resolve():
    sys.exit(
        f"snakeml: run snakemake from the project's root, {workflow.basedir} "
        f"(cd there; not -s or --directory from {Path.cwd()})"
    )

# Snakemake checks its lock once it has read this file (Workflow.execute): a lock that a killed
# run left is cleared here if its holder is provably gone, else one line names the holder and the
# unlock command. Only in the run itself: not in a job's own Snakemake (a cluster job, a run:
# rule), and runlock leaves dry runs and --nolock alone.
if workflow.exec_mode == ExecMode.DEFAULT:
    LOCK_LINE = clear_before_run(sys.argv)
    if LOCK_LINE is not None:
        print(LOCK_LINE, file=sys.stderr)

try:
    # The models' params against scikit-learn's constraints cost an import of scikit-learn:
    # checked in onstart, which a run reaches before its first job, and only when it has jobs.
    OVERRIDES = workflow_overrides(config)
    CFG = compose_config(OVERRIDES, CONF_DIR, estimators=False)
    DECLARATION = declaration_of(CFG, workflow.basedir)
except ConfigError as exc:
    sys.exit(f"snakeml: {exc}")

# Each rule's slice is the output of a config_slice job (rules/configs.smk) whose param is the
# slice's text, so Snakemake's params trigger plans the rules a change reaches, and a dry run
# shows them without writing anything. A run also rewrites a changed slice before it plans: its
# newer time reruns what reads it even where Snakemake has no record of the old text (results
# pulled with DVC, a .snakemake folder removed).
SLICE_TEXTS = rule_slice_texts(CFG, declaration=DECLARATION)
RULE_CONFIG_FILES = [f"{RULE_CONFIGS}/{key}.yaml" for key in SLICE_TEXTS]
if runs_jobs(sys.argv):
    rewrite_changed_slices(SLICE_TEXTS, RULE_CONFIGS)

MODELS = model_names(CFG)
RESOURCES = CFG["resources"]
DATA = CFG["data"]["name"]
RAW_TABLES = list(CFG["data"]["tables"])
# The data set's SQL: every step file, the carry step, and the declaration itself (last: the
# scripts find the SQL folder from it).
FEATURE_SQL = [str(path.relative_to(workflow.basedir)) for path in DECLARATION.input_files]
SHARDS = list(range(CFG["tuning"]["n_shards"]))
GROUP_NAMES = [group["name"] for group in CFG["task"]["groups"]]
KIND = CFG["task"]["kind"]
PERIOD = CFG["split"]["period"]


wildcard_constraints:
    model="|".join(MODELS),
    table="|".join(RAW_TABLES),
    shard=r"\d+",
    name=r"[A-Za-z0-9][\w.-]*",
    slice="|".join(re.escape(key) for key in SLICE_TEXTS),


def rule_config(name):
    """Path of a rule's exported configuration slice."""
    return f"{RULE_CONFIGS}/{name}.yaml"


def get_model_metrics(wildcards):
    return expand("results/evaluation/{model}/metrics.json", model=MODELS)


def get_models(wildcards):
    return expand("results/models/{model}.skops", model=MODELS)


def get_decisions(wildcards):
    return expand("results/models/{model}.decision.json", model=MODELS)


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
    """data/new/{name}.parquet, or .csv when only that exists."""
    parquet, csv = f"data/new/{wildcards.name}.parquet", f"data/new/{wildcards.name}.csv"
    return csv if Path(csv).is_file() and not Path(parquet).is_file() else parquet


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
        "by_period_png": ("error_by_period.rst", f"error by {PERIOD}"),
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
        "by_period_png": ("metrics_by_period.rst", f"metrics by {PERIOD}"),
    }


def evaluate_outputs():
    """The evaluate rule's named outputs (snakeml.outputs), figures marked for the report."""
    return model_outputs({**evaluate_files(KIND), **breakdown_files(GROUP_NAMES, PERIOD, KIND)})


def importance_outputs():
    """The importance rule's named outputs (snakeml.outputs), figures marked for the report."""
    return model_outputs(IMPORTANCE_FILES)


def model_outputs(files):
    """results/evaluation/{model}/<file> per output name; figures go into the report."""
    outputs = {}
    for key, name in files.items():
        path = f"results/evaluation/{{model}}/{name}"
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
    return [*get_final_artifacts(), "results/manifest.json"]


# Before any job starts: an RDB for the trials must be reachable (and gets Optuna's tables
# once, not from two shards at a time); on SLURM, a job no node can run would be refused at
# submission, so name the key to change before anything is submitted (the executor is known
# only once the run starts).
onstart:
    # Which process holds the lock Snakemake has just taken, for a later run to tell whether a
    # kill left it (snakeml.runlock).
    if workflow.exec_mode == ExecMode.DEFAULT:
        record_lock_owner(
            getattr(workflow.persistence, "_lockfile", {}).values(),
            getattr(workflow.executor_plugin, "name", "local"),
        )
    # Temporaries left by writers a kill stopped; none is live unless another run holds a lock.
    from snakeml.io import remove_stale_temporaries

    STALE_FILES = remove_stale_temporaries(
        ["results", "data"],
        own_locks=list(getattr(workflow.persistence, "_lockfile", {}).values()),
    )
    if STALE_FILES:
        print(
            f"snakeml: removed {len(STALE_FILES)} temporary files of a stopped run",
            file=sys.stderr,
        )
    try:
        check_estimator_settings(CFG, OVERRIDES, CONF_DIR)
        check_storage(CFG["tuning"]["storage"])
    except ConfigError as exc:
        sys.exit(f"snakeml: {exc}")
    if getattr(workflow.executor_plugin, "name", None) == "slurm":
        LARGEST_NODE = slurm_largest_node()
        if LARGEST_NODE is not None:
            try:
                check_fits_node(RESOURCES, *LARGEST_NODE)
            except ConfigError as exc:
                sys.exit(f"snakeml: {exc}")
