"""Rule features: DuckDB runs sql/features.sql over the raw tables -> results/features/."""

from snakeml.features import FEATURE_INPUTS, write_features
from snakeml.io import read_yaml
from snakeml.rule import run_rule


def main(smk) -> None:
    settings = read_yaml(smk.input.cfg)
    write_features(
        raw={table: smk.input[table] for table in FEATURE_INPUTS},
        sql_file=smk.input.sql,
        output=smk.output.features,
        horizon_minutes=settings["horizon_minutes"],
        threads=smk.threads,
        memory_limit_mb=smk.resources.mem_mb,
    )


if __name__ == "__main__":
    run_rule(main, snakemake)  # noqa: F821
