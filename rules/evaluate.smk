rule evaluate:
    input:
        model="results/models/{model}.skops",
        test="results/split/test.parquet",
        cfg=rule_config("evaluate/{model}"),
    output:
        metrics="results/evaluation/{model}/metrics.json",
        predictions="results/evaluation/{model}/predictions.parquet",
        predictions_meta="results/evaluation/{model}/predictions.parquet.meta.json",
        importance="results/evaluation/{model}/importance.csv",
        plot="results/evaluation/{model}/importance.png",
    log:
        "logs/evaluate/{model}.log",
    benchmark:
        "benchmarks/evaluate/{model}.tsv"
    conda:
        "../environment.yml"
    threads: RESOURCES["evaluate"]["threads"]
    resources:
        mem_mb=RESOURCES["evaluate"]["mem_mb"],
        runtime=RESOURCES["evaluate"]["runtime"],
    script:
        "../scripts/evaluate.py"


rule leaderboard:
    input:
        metrics=get_model_metrics,
        train="results/split/train.parquet",
        valid="results/split/valid.parquet",
        test="results/split/test.parquet",
        cfg=rule_config("leaderboard"),
    output:
        leaderboard="results/leaderboard.csv",
        champion="results/champion/metrics.json",
    log:
        "logs/leaderboard/leaderboard.log",
    conda:
        "../environment.yml"
    threads: RESOURCES["leaderboard"]["threads"]
    resources:
        mem_mb=RESOURCES["leaderboard"]["mem_mb"],
        runtime=RESOURCES["leaderboard"]["runtime"],
    script:
        "../scripts/leaderboard.py"
