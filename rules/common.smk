# Composes the Hydra configuration once, exports each rule's slice, and holds input functions.
import sys
from pathlib import Path

# The library in src/ is importable by this process and by every job's script, whether the
# environment is .venv (installed) or a conda environment made per rule (not installed).
LIBRARY = str(Path(workflow.basedir) / "src")
sys.path.insert(0, LIBRARY)

from snakeml.cluster import check_fits_node, slurm_largest_node
from snakeml.config import compose_config, export_rule_configs, model_names
from snakeml.errors import ConfigError
from snakeml.features import FEATURE_STEPS, REFERENCE_FILES
from snakeml.rule import share_import_path
from snakeml.storage import check_storage

share_import_path(LIBRARY)

CONF_DIR = Path(workflow.basedir) / "conf"
RULE_CONFIGS = "results/configs"

try:
    CFG = compose_config(config.get("overrides", ""), CONF_DIR)
except ConfigError as exc:
    sys.exit(f"snakeml: {exc}")

RULE_CONFIG_FILES = [str(path) for path in export_rule_configs(CFG, RULE_CONFIGS).values()]

MODELS = model_names(CFG)
RESOURCES = CFG["resources"]
RAW_TABLES = CFG["data"]["tables"]
SHARDS = list(range(CFG["tuning"]["n_shards"]))


wildcard_constraints:
    model="|".join(MODELS),
    shard=r"\d+",
    name=r"[A-Za-z0-9][\w.-]*",


def rule_config(name):
    """Path of a rule's exported configuration slice."""
    return f"{RULE_CONFIGS}/{name}.yaml"


def get_model_metrics(wildcards):
    return expand("results/evaluation/{model}/metrics.json", model=MODELS)


def get_models(wildcards):
    return expand("results/models/{model}.skops", model=MODELS)


def get_new_flights(wildcards):
    """data/new/{name}.parquet, or .csv when only that exists."""
    parquet, csv = f"data/new/{wildcards.name}.parquet", f"data/new/{wildcards.name}.csv"
    return csv if Path(csv).is_file() and not Path(parquet).is_file() else parquet


EVALUATION_FILES = (
    "metrics.json",
    "predicted_vs_actual.csv",
    "predicted_vs_actual.png",
    "residuals_by_hour.csv",
    "residuals_by_hour.png",
    "residuals_by_carrier.csv",
    "residuals_by_carrier.png",
    "error_by_month.csv",
    "error_by_month.png",
    "importance.csv",
    "importance_summary.csv",
    "importance.png",
    "family_importance.csv",
    "family_importance_summary.csv",
    "family_importance.png",
)


TUNING_FILES = ("best_params.yaml", "history.png", "param_importances.png")


def get_final_artifacts():
    """What a run is for; the manifest records each one's checksum."""
    return [
        "results/leaderboard.csv",
        "results/champion/metrics.json",
        "results/champion/statement.txt",
        "results/champion/model.skops",
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
