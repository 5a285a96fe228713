rule train:
    input:
        train=read_from("split", "results{root}/split/train.parquet"),
        valid=read_from("split", "results{root}/split/valid.parquet"),
        best=read_from("tune_best", "results{root}/tuning/{model}/best_params.yaml"),
        cfg=job_config("train/{model}"),
    output:
        model="results{root}/models/{model}.skops",
        decision="results{root}/models/{model}.decision.json",
    log:
        "logs{root}/train/{model}.log",
    benchmark:
        "benchmarks{root}/train/{model}.tsv"
    wildcard_constraints:
        root=shared_root("train"),
    # Before the scoring jobs: on few cores every model is fitted before any is scored.
    priority: 1
    conda:
        "../environment.yml"
    threads: RESOURCES["train"]["threads"]
    resources:
        mem_mb=RESOURCES["train"]["mem_mb"],
        runtime=RESOURCES["train"]["runtime"],
    script:
        "../scripts/train.py"
