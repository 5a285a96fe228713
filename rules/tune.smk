rule tune:
    input:
        train="results/split/train.parquet",
        valid="results/split/valid.parquet",
        cfg=rule_config("tune/{model}"),
    output:
        best="results/tuning/{model}/best_params.yaml",
        trials="results/tuning/{model}/trials.parquet",
        trials_meta="results/tuning/{model}/trials.parquet.meta.json",
    log:
        "logs/tune/{model}.log",
    benchmark:
        "benchmarks/tune/{model}.tsv"
    conda:
        "../environment.yml"
    threads: RESOURCES["tune"]["threads"]
    resources:
        mem_mb=RESOURCES["tune"]["mem_mb"],
        runtime=RESOURCES["tune"]["runtime"],
    script:
        "../scripts/tune.py"
