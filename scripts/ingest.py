"""Rule ingest: the data set's declared tables, typed and checked -> data/raw/<data set>/."""

from snakeml.core.io import read_yaml
from snakeml.core.metadata import write_table_metadata
from snakeml.data.ingest import ingest_tables
from snakeml.operations.rule import run_rule


def main(smk) -> None:
    tables = read_yaml(smk.input.cfg)["data"]["tables"]
    outputs = dict(zip(tables, smk.output.tables, strict=True))
    ingest_tables(tables, outputs, rule=smk.rule)
    for path in outputs.values():
        write_table_metadata(path, smk.rule, smk.input.cfg)


if __name__ == "__main__":
    run_rule(main, snakemake)  # noqa: F821
