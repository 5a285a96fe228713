rule evaluate:
    input:
        model="results/models/{model}.skops",
        test="results/split/test.parquet",
        cfg=rule_config("evaluate/{model}"),
    output:
        metrics="results/evaluation/{model}/metrics.json",
        predictions="results/evaluation/{model}/predictions.parquet",
        predictions_meta="results/evaluation/{model}/predictions.parquet.meta.json",
        scatter_csv="results/evaluation/{model}/predicted_vs_actual.csv",
        scatter_png=report(
            "results/evaluation/{model}/predicted_vs_actual.png",
            caption="../report/predicted_vs_actual.rst",
            category="Evaluation",
            subcategory="{model}",
            labels={"model": "{model}", "figure": "predicted vs actual"},
        ),
        by_hour_csv="results/evaluation/{model}/residuals_by_hour.csv",
        by_hour_png=report(
            "results/evaluation/{model}/residuals_by_hour.png",
            caption="../report/residuals_by_hour.rst",
            category="Evaluation",
            subcategory="{model}",
            labels={"model": "{model}", "figure": "residuals by departure hour"},
        ),
        by_carrier_csv="results/evaluation/{model}/residuals_by_carrier.csv",
        by_carrier_png=report(
            "results/evaluation/{model}/residuals_by_carrier.png",
            caption="../report/residuals_by_carrier.rst",
            category="Evaluation",
            subcategory="{model}",
            labels={"model": "{model}", "figure": "residuals by carrier"},
        ),
        by_month_csv="results/evaluation/{model}/error_by_month.csv",
        by_month_png=report(
            "results/evaluation/{model}/error_by_month.png",
            caption="../report/error_by_month.rst",
            category="Evaluation",
            subcategory="{model}",
            labels={"model": "{model}", "figure": "error by month"},
        ),
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
        test="results/split/test.parquet",
        cfg=rule_config("importance/{model}"),
    output:
        importance="results/evaluation/{model}/importance.csv",
        summary="results/evaluation/{model}/importance_summary.csv",
        plot=report(
            "results/evaluation/{model}/importance.png",
            caption="../report/importance.rst",
            category="Evaluation",
            subcategory="{model}",
            labels={"model": "{model}", "figure": "permutation importance per column"},
        ),
        families="results/evaluation/{model}/family_importance.csv",
        families_summary="results/evaluation/{model}/family_importance_summary.csv",
        families_plot=report(
            "results/evaluation/{model}/family_importance.png",
            caption="../report/family_importance.rst",
            category="Evaluation",
            subcategory="{model}",
            labels={"model": "{model}", "figure": "permutation importance per feature family"},
        ),
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
