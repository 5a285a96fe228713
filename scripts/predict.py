"""Rule predict: score data/new/{name} with the champion -> results/predictions/{name}.parquet."""

from pathlib import Path

from snakeml.features import RAW_INPUTS, REFERENCE_FILES
from snakeml.io import read_yaml
from snakeml.metadata import write_table_metadata
from snakeml.predict import score_new_flights
from snakeml.rule import run_rule


def main(smk) -> None:
    score_new_flights(
        new_path=smk.input.new,
        raw={table: smk.input[table] for table in RAW_INPUTS},
        reference={name: smk.input[name] for name in REFERENCE_FILES},
        sql_dir=Path(smk.input.sql[0]).parent,
        model_path=smk.input.model,
        settings=read_yaml(smk.input.cfg),
        output=smk.output.predictions,
        threads=smk.threads,
        memory_limit_mb=smk.resources.mem_mb,
        rule=smk.rule,
    )
    write_table_metadata(smk.output.predictions, smk.rule, smk.input.cfg)


if __name__ == "__main__":
    run_rule(main, snakemake)  # noqa: F821
