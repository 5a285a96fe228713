"""Rule features: DuckDB runs the SQL steps in sql/ over the raw tables -> results/features/."""

from pathlib import Path

from snakeml.features import RAW_INPUTS, REFERENCE_FILES, write_features
from snakeml.io import read_yaml
from snakeml.metadata import write_table_metadata
from snakeml.rule import run_rule


def main(smk) -> None:
    counts = write_features(
        raw={table: smk.input[table] for table in RAW_INPUTS},
        reference={name: smk.input[name] for name in REFERENCE_FILES},
        sql_dir=Path(smk.input.sql[0]).parent,
        output=smk.output.features,
        settings=read_yaml(smk.input.cfg),
        threads=smk.threads,
        memory_limit_mb=smk.resources.mem_mb,
        rule=smk.rule,
    )
    write_table_metadata(smk.output.features, smk.rule, smk.input.cfg, {"counts": counts})


if __name__ == "__main__":
    run_rule(main, snakemake)  # noqa: F821
