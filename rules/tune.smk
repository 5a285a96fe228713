rule tune_shard:
    input:
        train="results/split/train.parquet",
        valid="results/split/valid.parquet",
        cfg=rule_config("tune_shard/{model}"),
    output:
        trials="results/tuning/{model}/shards/{shard}.parquet",
        trials_meta="results/tuning/{model}/shards/{shard}.parquet.meta.json",
    log:
        "logs/tune_shard/{model}/{shard}.log",
    benchmark:
        "benchmarks/tune_shard/{model}/{shard}.tsv"
    conda:
        "../environment.yml"
    threads: RESOURCES["tune_shard"]["threads"]
    resources:
        mem_mb=RESOURCES["tune_shard"]["mem_mb"],
        runtime=RESOURCES["tune_shard"]["runtime"],
    params:
        tuning_dir=lambda wildcards: f"results/tuning/{wildcards.model}",
    script:
        "../scripts/tune_shard.py"


rule tune_best:
    input:
        shards=expand("results/tuning/{{model}}/shards/{shard}.parquet", shard=SHARDS),
        cfg=rule_config("tune_best/{model}"),
    output:
        best="results/tuning/{model}/best_params.yaml",
        trials="results/tuning/{model}/trials.parquet",
        trials_meta="results/tuning/{model}/trials.parquet.meta.json",
        history=report(
            "results/tuning/{model}/history.png",
            caption="../report/tuning_history.rst",
            category="Tuning",
            subcategory="{model}",
        ),
        importances=report(
            "results/tuning/{model}/param_importances.png",
            caption="../report/tuning_importances.rst",
            category="Tuning",
            subcategory="{model}",
        ),
    log:
        "logs/tune_best/{model}.log",
    conda:
        "../environment.yml"
    threads: RESOURCES["tune_best"]["threads"]
    resources:
        mem_mb=RESOURCES["tune_best"]["mem_mb"],
        runtime=RESOURCES["tune_best"]["runtime"],
    script:
        "../scripts/tune_best.py"
