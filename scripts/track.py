"""Rule track: log the result to MLflow -> results/.../tracking/mlflow.json (the run's id)."""

from pathlib import Path

from snakeml.io import write_json
from snakeml.rule import run_rule
from snakeml.tracking import log_experiment


def main(smk) -> None:
    # Every named input but the leaderboard and champion is an artifact folder of the run.
    artifacts = {
        "" if key == "root" else key.replace("__", "/"): [Path(p) for p in paths]
        for key, paths in smk.input.items()
        if key not in ("leaderboard", "champion")
    }
    artifacts["champion"] = artifacts.pop("champion_files")
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
