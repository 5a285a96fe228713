"""Rule track: log the result to MLflow -> results/.../tracking/mlflow.json (the run's id)."""

from pathlib import Path

from snakeml.core.io import write_json
from snakeml.evaluation.tracking import log_experiment
from snakeml.operations.rule import run_rule


def main(smk) -> None:
    artifacts = {
        folder: [Path(path) for path in paths] for folder, paths in smk.params.artifacts.items()
    }
    record = log_experiment(
        uri=smk.params.uri,
        experiment=smk.params.experiment,
        name=smk.params.name,
        overrides=list(smk.params.overrides),
        models=list(smk.params.models),
        leaderboard_path=smk.input.leaderboard,
        champion_path=smk.input.champion,
        artifacts=artifacts,
    )
    write_json(smk.output.record, record)


if __name__ == "__main__":
    run_rule(main, snakemake)  # noqa: F821
