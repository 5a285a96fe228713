"""Rule split: time-based train / valid / test by month -> results/split/."""

from snakeml.io import read_yaml
from snakeml.rule import run_rule
from snakeml.split import write_splits


def main(smk) -> None:
    settings = read_yaml(smk.input.cfg)
    write_splits(smk.input.features, dict(smk.output.items()), settings["split"], settings["seed"])


if __name__ == "__main__":
    run_rule(main, snakemake)  # noqa: F821
