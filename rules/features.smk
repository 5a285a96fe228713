rule features:
    input:
        flights="data/raw/flights.parquet",
        weather="data/raw/weather.parquet",
        planes="data/raw/planes.parquet",
        airports="data/raw/airports.parquet",
        holidays=REFERENCE_FILES["holidays"],
        airport_timezones=REFERENCE_FILES["airport_timezones"],
        sql=expand("sql/{step}.sql", step=FEATURE_STEPS),
        cfg=rule_config("features"),
    output:
        features="results/features/flights.parquet",
        meta="results/features/flights.parquet.meta.json",
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
