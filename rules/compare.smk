# The experiments side by side: one row per experiment and model (the overrides that differ
# between experiments, then the test metrics), and the chosen metric per experiment. It lists
# every experiment with a record under results/experiments/, this run's and earlier runs', so
# running an earlier sweep again finds it up to date. `make compare` refreshes it.


rule compare:
    input:
        leaderboards=get_compared("leaderboard.csv"),
        records=get_compared("configs/experiment.yaml"),
    output:
        comparison=report(
            COMPARISON_FILES["comparison"],
            caption="../report/comparison.rst",
            category="Experiments",
            labels={"table": "comparison"},
        ),
        plot=report(
            COMPARISON_FILES["plot"],
            caption="../report/comparison.rst",
            category="Experiments",
            labels={"figure": "metric per experiment"},
        ),
    log:
        "logs/experiments/compare.log",
    localrule: True
    conda:
        "../environment.yml"
    params:
        experiments=COMPARED,
        folder=lambda wildcards, output: str(Path(output.comparison).parent),
    script:
        "../scripts/compare.py"
