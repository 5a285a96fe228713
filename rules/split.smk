rule split:
    input:
        features=read_from("features", "results{root}/features/features.parquet"),
        # the look-ahead audit's record: a feature that looks ahead stops the run here
        audit=read_from("audit", "results{root}/audit/audit.json"),
        cfg=job_config("split"),
    output:
        train="results{root}/split/train.parquet",
        valid="results{root}/split/valid.parquet",
        test="results{root}/split/test.parquet",
        meta=[f"results{{root}}/split/{name}.parquet.meta.json" for name in SPLITS],
    log:
        "logs{root}/split/split.log",
    benchmark:
        "benchmarks{root}/split/split.tsv"
    wildcard_constraints:
        root=shared_root("split"),
    conda:
        "../environment.yml"
    threads: RESOURCES["split"]["threads"]
    resources:
        mem_mb=RESOURCES["split"]["mem_mb"],
        runtime=RESOURCES["split"]["runtime"],
    script:
        "../scripts/split.py"
