rule ingest:
    input:
        cfg=rule_config("ingest"),
    output:
        flights="data/raw/flights.parquet",
        weather="data/raw/weather.parquet",
        planes="data/raw/planes.parquet",
        airports="data/raw/airports.parquet",
        airlines="data/raw/airlines.parquet",
        meta=expand("data/raw/{table}.parquet.meta.json", table=RAW_TABLES),
    log:
        "logs/ingest/ingest.log",
    benchmark:
        "benchmarks/ingest/ingest.tsv"
    conda:
        "../environment.yml"
    threads: RESOURCES["ingest"]["threads"]
    resources:
        mem_mb=RESOURCES["ingest"]["mem_mb"],
        runtime=RESOURCES["ingest"]["runtime"],
    script:
        "../scripts/ingest.py"
