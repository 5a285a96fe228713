"""Rule compare: every experiment's leaderboard side by side -> results/experiments/comparison.*"""

from snakeml.evaluation.compare import run_compare
from snakeml.operations.rule import run_rule


def main(smk) -> None:
    run_compare(
        folder=smk.params.folder,
        names=list(smk.params.experiments),
        comparison_path=smk.output.comparison,
        plot_path=smk.output.plot,
    )


if __name__ == "__main__":
    run_rule(main, snakemake)  # noqa: F821
