"""Rule leaderboard: models and baselines ranked -> leaderboard.csv, the champion and its model."""

from snakeml.core.slices import LeaderboardSlice, load_slice
from snakeml.evaluation.leaderboard import run_leaderboard
from snakeml.operations.rule import run_rule


def main(smk) -> None:
    cfg = load_slice(smk.input.cfg, LeaderboardSlice)
    run_leaderboard(
        metrics_paths=dict(zip(cfg.models, smk.input.metrics, strict=True)),
        model_paths=dict(zip(cfg.models, smk.input.models, strict=True)),
        decision_paths=dict(zip(cfg.models, smk.input.decisions, strict=True)),
        prediction_paths=dict(zip(cfg.models, smk.input.predictions, strict=True)),
        fit_paths=[smk.input.train, smk.input.valid],
        test_path=smk.input.test,
        cfg=cfg,
        outputs=dict(smk.output.items()),
    )


if __name__ == "__main__":
    run_rule(main, snakemake)  # noqa: F821
