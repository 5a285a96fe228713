"""Rule ingest: the data set's declared tables, typed and checked -> data/raw/<data set>/."""

from snakeml.core.metadata import write_table_metadata
from snakeml.core.slices import IngestSlice, load_slice
from snakeml.data.ingest import ingest_tables
from snakeml.operations.rule import run_rule


def main(smk) -> None:
    tables = load_slice(smk.input.cfg, IngestSlice).data.tables
    outputs = dict(zip(tables, smk.output.tables, strict=True))
    ingest_tables(tables, outputs, rule=smk.rule)
    for path in outputs.values():
        write_table_metadata(path, smk.rule, smk.input.cfg)


if __name__ == "__main__":
    run_rule(main, snakemake)  # noqa: F821
