"""Rule tune: an Optuna study for one model -> best_params.yaml and trials.parquet."""

from snakeml.io import read_yaml
from snakeml.metadata import write_table_metadata
from snakeml.rule import run_rule
from snakeml.tune import run_tuning


def main(smk) -> None:
    run_tuning(
        train_path=smk.input.train,
        valid_path=smk.input.valid,
        settings=read_yaml(smk.input.cfg),
        best_params_path=smk.output.best,
        trials_path=smk.output.trials,
        threads=smk.threads,
    )
    write_table_metadata(smk.output.trials, smk.rule, smk.input.cfg)


if __name__ == "__main__":
    run_rule(main, snakemake)  # noqa: F821
