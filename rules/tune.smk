rule tune_shard:
    input:
        train=read_from("split", "results{root}/split/train.parquet"),
        valid=read_from("split", "results{root}/split/valid.parquet"),
        cfg=job_config("tune_shard/{model}"),
    output:
        trials="results{root}/tuning/{model}/shards/{shard}.parquet",
        trials_meta="results{root}/tuning/{model}/shards/{shard}.parquet.meta.json",
    log:
        "logs{root}/tune_shard/{model}/{shard}.log",
    benchmark:
        "benchmarks{root}/tune_shard/{model}/{shard}.tsv"
    wildcard_constraints:
        root=shared_root("tune_shard"),
    # Before the scoring jobs: on few cores every model is fitted before any is scored.
    priority: 1
    conda:
        "../environment.yml"
    threads: RESOURCES["tune_shard"]["threads"]
    resources:
        mem_mb=RESOURCES["tune_shard"]["mem_mb"],
        runtime=RESOURCES["tune_shard"]["runtime"],
    params:
        tuning_dir=lambda wildcards: f"results{wildcards.root}/tuning/{wildcards.model}",
    script:
        "../scripts/tune_shard.py"


rule tune_best:
    input:
        shards=get_shards,
        cfg=job_config("tune_best/{model}"),
    output:
        best="results{root}/tuning/{model}/best_params.yaml",
        trials="results{root}/tuning/{model}/trials.parquet",
        trials_meta="results{root}/tuning/{model}/trials.parquet.meta.json",
        history=report(
            "results{root}/tuning/{model}/history.png",
            caption="../report/tuning_history.rst",
            category="Tuning",
            subcategory="{model}",
        ),
        importances=report(
            "results{root}/tuning/{model}/param_importances.png",
            caption="../report/tuning_importances.rst",
            category="Tuning",
            subcategory="{model}",
        ),
    log:
        "logs{root}/tune_best/{model}.log",
    benchmark:
        "benchmarks{root}/tune_best/{model}.tsv"
    wildcard_constraints:
        root=shared_root("tune_best"),
    # Before the scoring jobs: on few cores every model is fitted before any is scored.
    priority: 1
    conda:
        "../environment.yml"
    threads: RESOURCES["tune_best"]["threads"]
    resources:
        mem_mb=RESOURCES["tune_best"]["mem_mb"],
        runtime=RESOURCES["tune_best"]["runtime"],
    script:
        "../scripts/tune_best.py"
