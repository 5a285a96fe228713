"""Rule leaderboard: every model and the baseline ranked -> leaderboard.csv and the champion."""

from snakeml.evaluate import run_leaderboard
from snakeml.io import read_yaml
from snakeml.rule import run_rule


def main(smk) -> None:
    settings = read_yaml(smk.input.cfg)
    run_leaderboard(
        metrics_paths=dict(zip(settings["models"], smk.input.metrics, strict=True)),
        fit_paths=[smk.input.train, smk.input.valid],
        test_path=smk.input.test,
        target=settings["target"],
        metric=settings["metric"],
        outputs=dict(smk.output.items()),
    )


if __name__ == "__main__":
    run_rule(main, snakemake)  # noqa: F821
