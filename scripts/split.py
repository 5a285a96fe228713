"""Rule split: the task's split strategy cuts train / valid / test -> results/split/."""

from snakeml.core.metadata import write_table_metadata
from snakeml.core.slices import SplitSlice, load_slice
from snakeml.operations.rule import run_rule
from snakeml.validation.split import SPLITS, write_splits


def main(smk) -> None:
    outputs = {name: smk.output[name] for name in SPLITS}
    counts = write_splits(
        smk.input.features, outputs, load_slice(smk.input.cfg, SplitSlice), smk.resources.mem_mb
    )
    for name in SPLITS:
        write_table_metadata(smk.output[name], smk.rule, smk.input.cfg, {"counts": counts})


if __name__ == "__main__":
    run_rule(main, snakemake)  # noqa: F821
