"""Rule train: refit one model with its best parameters -> results/models/{model}.skops.

Beside it, results/models/{model}.decision.json: the task kind, classes and decision threshold.
"""

from snakeml.core.slices import TrainSlice, load_slice
from snakeml.operations.rule import run_rule
from snakeml.training.train import run_training


def main(smk) -> None:
    run_training(
        split_paths=[smk.input.train, smk.input.valid],
        best_params_path=smk.input.best,
        cfg=load_slice(smk.input.cfg, TrainSlice),
        model_path=smk.output.model,
        threads=smk.threads,
        decision_path=smk.output.decision,
        memory_mb=smk.resources.mem_mb,
    )


if __name__ == "__main__":
    run_rule(main, snakemake)  # noqa: F821
