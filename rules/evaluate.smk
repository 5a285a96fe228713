rule evaluate:
    input:
        model="results/models/{model}.skops",
        decision="results/models/{model}.decision.json",
        test="results/split/test.parquet",
        cfg=rule_config("evaluate/{model}"),
    output:
        **evaluate_outputs(),
        predictions="results/evaluation/{model}/predictions.parquet",
        predictions_meta="results/evaluation/{model}/predictions.parquet.meta.json",
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


rule importance:
    input:
        model="results/models/{model}.skops",
        decision="results/models/{model}.decision.json",
        test="results/split/test.parquet",
        cfg=rule_config("importance/{model}"),
    output:
        **importance_outputs(),
    log:
        "logs/importance/{model}.log",
    benchmark:
        "benchmarks/importance/{model}.tsv"
    conda:
        "../environment.yml"
    threads: RESOURCES["importance"]["threads"]
    resources:
        mem_mb=RESOURCES["importance"]["mem_mb"],
        runtime=RESOURCES["importance"]["runtime"],
    script:
        "../scripts/importance.py"


rule leaderboard:
    input:
        metrics=get_model_metrics,
        models=get_models,
        decisions=get_decisions,
        train="results/split/train.parquet",
        valid="results/split/valid.parquet",
        test="results/split/test.parquet",
        cfg=rule_config("leaderboard"),
    output:
        leaderboard=report(
            "results/leaderboard.csv",
            caption="../report/leaderboard.rst",
            category="Leaderboard",
            labels={"table": "leaderboard"},
        ),
        champion=report(
            "results/champion/metrics.json",
            caption="../report/champion.rst",
            category="Leaderboard",
            labels={"table": "champion"},
        ),
        statement="results/champion/statement.txt",
        model="results/champion/model.skops",
        decision="results/champion/decision.json",
    log:
        "logs/leaderboard/leaderboard.log",
    benchmark:
        "benchmarks/leaderboard/leaderboard.tsv"
    conda:
        "../environment.yml"
    threads: RESOURCES["leaderboard"]["threads"]
    resources:
        mem_mb=RESOURCES["leaderboard"]["mem_mb"],
        runtime=RESOURCES["leaderboard"]["runtime"],
    script:
        "../scripts/leaderboard.py"
