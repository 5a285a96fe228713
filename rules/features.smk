rule features:
    input:
        flights="data/raw/flights.parquet",
        weather="data/raw/weather.parquet",
        planes="data/raw/planes.parquet",
        sql="sql/features.sql",
        cfg=rule_config("features"),
    output:
        features="results/features/flights.parquet",
    log:
        "logs/features/features.log",
    benchmark:
        "benchmarks/features/features.tsv"
    conda:
        "../environment.yml"
    threads: RESOURCES["features"]["threads"]
    resources:
        mem_mb=RESOURCES["features"]["mem_mb"],
    script:
        "../scripts/features.py"
