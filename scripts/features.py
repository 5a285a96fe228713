"""Rule features: DuckDB runs the data set's SQL steps over its tables -> results/features/."""

from pathlib import Path

from snakeml.core.metadata import write_table_metadata
from snakeml.core.slices import FeaturesSlice, load_slice
from snakeml.data.features import write_features
from snakeml.operations.rule import run_rule


def main(smk) -> None:
    cfg = load_slice(smk.input.cfg, FeaturesSlice)
    counts = write_features(
        paths=dict(zip(cfg.data.tables, smk.input.tables, strict=True)),
        sql_dir=Path(smk.input.sql[-1]).parent,  # its steps.yaml
        output=smk.output.features,
        cfg=cfg,
        threads=smk.threads,
        memory_limit_mb=smk.resources.mem_mb,
        rule=smk.rule,
    )
    write_table_metadata(smk.output.features, smk.rule, smk.input.cfg, {"counts": counts})


if __name__ == "__main__":
    run_rule(main, snakemake)  # noqa: F821
