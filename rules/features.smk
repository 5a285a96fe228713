rule features:
    input:
        tables=[raw_table(table) for table in RAW_TABLES],
        sql=FEATURE_SQL,
        cfg=job_config("features"),
    output:
        features="results{root}/features/features.parquet",
        meta="results{root}/features/features.parquet.meta.json",
    log:
        "logs{root}/features/features.log",
    benchmark:
        "benchmarks{root}/features/features.tsv"
    wildcard_constraints:
        root=shared_root("features"),
    conda:
        "../environment.yml"
    threads: RESOURCES["features"]["threads"]
    resources:
        mem_mb=RESOURCES["features"]["mem_mb"],
        runtime=RESOURCES["features"]["runtime"],
    script:
        "../scripts/features.py"
