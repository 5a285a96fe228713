rule evaluate:
    input:
        model=read_from("train", "results{root}/models/{model}.skops"),
        decision=read_from("train", "results{root}/models/{model}.decision.json"),
        test=read_from("split", "results{root}/split/test.parquet"),
        cfg=job_config("evaluate/{model}"),
    output:
        **model_outputs(FILES.evaluate),
        predictions="results{root}/evaluation/{model}/predictions.parquet",
        predictions_meta="results{root}/evaluation/{model}/predictions.parquet.meta.json",
    log:
        "logs{root}/evaluate/{model}.log",
    benchmark:
        "benchmarks{root}/evaluate/{model}.tsv"
    wildcard_constraints:
        root=shared_root("evaluate"),
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
        model=read_from("train", "results{root}/models/{model}.skops"),
        decision=read_from("train", "results{root}/models/{model}.decision.json"),
        test=read_from("split", "results{root}/split/test.parquet"),
        cfg=job_config("importance/{model}"),
    output:
        **model_outputs(FILES.importance),
    log:
        "logs{root}/importance/{model}.log",
    benchmark:
        "benchmarks{root}/importance/{model}.tsv"
    wildcard_constraints:
        root=shared_root("importance"),
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
        predictions=get_model_predictions,
        models=get_models,
        decisions=get_decisions,
        train=get_split("train"),
        valid=get_split("valid"),
        test=get_split("test"),
        cfg=job_config("leaderboard"),
    output:
        leaderboard=report(
            "results{root}/leaderboard.csv",
            caption="../report/leaderboard.rst",
            category="Leaderboard",
            labels=experiment_labels({"table": "leaderboard"}),
        ),
        champion=report(
            "results{root}/champion/metrics.json",
            caption="../report/champion.rst",
            category="Leaderboard",
            labels=experiment_labels({"table": "champion"}),
        ),
        statement="results{root}/champion/statement.txt",
        model="results{root}/champion/model.skops",
        decision="results{root}/champion/decision.json",
    log:
        "logs{root}/leaderboard/leaderboard.log",
    benchmark:
        "benchmarks{root}/leaderboard/leaderboard.tsv"
    wildcard_constraints:
        root=EXPERIMENT_ROOT,
    conda:
        "../environment.yml"
    threads: RESOURCES["leaderboard"]["threads"]
    resources:
        mem_mb=RESOURCES["leaderboard"]["mem_mb"],
        runtime=RESOURCES["leaderboard"]["runtime"],
    script:
        "../scripts/leaderboard.py"
