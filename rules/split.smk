rule split:
    input:
        features=rules.features.output.features,
        cfg=rule_config("split"),
    output:
        train="results/split/train.parquet",
        valid="results/split/valid.parquet",
        test="results/split/test.parquet",
        meta=expand("results/split/{name}.parquet.meta.json", name=["train", "valid", "test"]),
    log:
        "logs/split/split.log",
    conda:
        "../environment.yml"
    threads: RESOURCES["split"]["threads"]
    resources:
        mem_mb=RESOURCES["split"]["mem_mb"],
        runtime=RESOURCES["split"]["runtime"],
    script:
        "../scripts/split.py"
