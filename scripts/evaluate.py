"""Rule evaluate: test metrics, predictions and error breakdowns (CSV and PNG) of one model."""

from snakeml.core.metadata import write_table_metadata
from snakeml.core.slices import EvaluateSlice, load_slice
from snakeml.evaluation.evaluate import evaluate_model
from snakeml.operations.rule import run_rule


def main(smk) -> None:
    evaluate_model(
        model_path=smk.input.model,
        test_path=smk.input.test,
        cfg=load_slice(smk.input.cfg, EvaluateSlice),
        model_name=smk.wildcards.model,
        outputs=dict(smk.output.items()),
        threads=smk.threads,
        decision_path=smk.input.decision,
    )
    write_table_metadata(smk.output.predictions, smk.rule, smk.input.cfg)


if __name__ == "__main__":
    run_rule(main, snakemake)  # noqa: F821
