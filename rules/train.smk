rule train:
    input:
        train="results/split/train.parquet",
        valid="results/split/valid.parquet",
        best="results/tuning/{model}/best_params.yaml",
        cfg=rule_config("train/{model}"),
    output:
        model="results/models/{model}.skops",
        decision="results/models/{model}.decision.json",
    log:
        "logs/train/{model}.log",
    benchmark:
        "benchmarks/train/{model}.tsv"
    conda:
        "../environment.yml"
    threads: RESOURCES["train"]["threads"]
    resources:
        mem_mb=RESOURCES["train"]["mem_mb"],
        runtime=RESOURCES["train"]["runtime"],
    script:
        "../scripts/train.py"
