"""Rule tune_shard: one shard of a model's Optuna trials -> its trial table."""

from snakeml.core.metadata import write_table_metadata
from snakeml.core.slices import TuneShardSlice, load_slice
from snakeml.operations.rule import run_rule
from snakeml.training.tune import run_tune_shard


def main(smk) -> None:
    run_tune_shard(
        split_paths=[smk.input.train, smk.input.valid],
        cfg=load_slice(smk.input.cfg, TuneShardSlice),
        shard=int(smk.wildcards.shard),
        tuning_dir=smk.params.tuning_dir,
        trials_path=smk.output.trials,
        threads=smk.threads,
    )
    write_table_metadata(smk.output.trials, smk.rule, smk.input.cfg)


if __name__ == "__main__":
    run_rule(main, snakemake)  # noqa: F821
