"""Rule predict: score data/new/{name} with the champion -> results/predictions/{name}.parquet.

Beside it: {name}.summary.json (rows read, scored, refused; drift against the training rows).
"""

from pathlib import Path

from snakeml.core.metadata import write_table_metadata
from snakeml.core.slices import PredictSlice, load_slice
from snakeml.operations.rule import run_rule
from snakeml.prediction.predict import score_new_rows


def main(smk) -> None:
    cfg = load_slice(smk.input.cfg, PredictSlice)
    score_new_rows(
        new_path=smk.input.new,
        paths=dict(zip(cfg.data.tables, smk.input.tables, strict=True)),
        sql_dir=Path(smk.input.sql[-1]).parent,  # its steps.yaml
        model_path=smk.input.model,
        cfg=cfg,
        output=smk.output.predictions,
        threads=smk.threads,
        memory_limit_mb=smk.resources.mem_mb,
        rule=smk.rule,
        summary_path=smk.output.summary,
        reference_paths=list(smk.input.reference),
        decision_path=smk.input.decision,
        training_features=smk.input.features,
    )
    write_table_metadata(smk.output.predictions, smk.rule, smk.input.cfg)


if __name__ == "__main__":
    run_rule(main, snakemake)  # noqa: F821
