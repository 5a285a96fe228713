rule split:
    input:
        features="results/features/flights.parquet",
        cfg=rule_config("split"),
    output:
        train="results/split/train.parquet",
        valid="results/split/valid.parquet",
        test="results/split/test.parquet",
    log:
        "logs/split/split.log",
    conda:
        "../environment.yml"
    threads: RESOURCES["split"]["threads"]
    resources:
        mem_mb=RESOURCES["split"]["mem_mb"],
    script:
        "../scripts/split.py"
