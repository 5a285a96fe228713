"""Rule importance: permutation importance of one model per column and per feature family."""

from snakeml.core.slices import ImportanceSlice, load_slice
from snakeml.evaluation.importance import run_importance
from snakeml.operations.rule import run_rule


def main(smk) -> None:
    run_importance(
        model_path=smk.input.model,
        test_path=smk.input.test,
        cfg=load_slice(smk.input.cfg, ImportanceSlice),
        model_name=smk.wildcards.model,
        outputs=dict(smk.output.items()),
        threads=smk.threads,
        decision_path=smk.input.decision,
    )


if __name__ == "__main__":
    run_rule(main, snakemake)  # noqa: F821
