"""Rule tune_best: gather a model's shards -> best_params.yaml, trials.parquet and plots."""

from snakeml.core.metadata import write_table_metadata
from snakeml.core.slices import TuneBestSlice, load_slice
from snakeml.operations.rule import run_rule
from snakeml.training.tune import run_tune_best


def main(smk) -> None:
    run_tune_best(
        shard_paths=list(smk.input.shards),
        cfg=load_slice(smk.input.cfg, TuneBestSlice),
        best_params_path=smk.output.best,
        trials_path=smk.output.trials,
        history_path=smk.output.history,
        importances_path=smk.output.importances,
    )
    write_table_metadata(smk.output.trials, smk.rule, smk.input.cfg)


if __name__ == "__main__":
    run_rule(main, snakemake)  # noqa: F821
