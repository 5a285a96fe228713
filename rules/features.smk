rule features:
    input:
        tables=[raw_table(table) for table in RAW_TABLES],
        sql=FEATURE_SQL,
        cfg=rule_config("features"),
    output:
        features="results/features/features.parquet",
        meta="results/features/features.parquet.meta.json",
    log:
        "logs/features/features.log",
    benchmark:
        "benchmarks/features/features.tsv"
    conda:
        "../environment.yml"
    threads: RESOURCES["features"]["threads"]
    resources:
        mem_mb=RESOURCES["features"]["mem_mb"],
        runtime=RESOURCES["features"]["runtime"],
    script:
        "../scripts/features.py"
