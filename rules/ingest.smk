rule ingest:
    input:
        cfg=rule_config("ingest"),
    output:
        flights="data/raw/flights.parquet",
        weather="data/raw/weather.parquet",
        planes="data/raw/planes.parquet",
        airports="data/raw/airports.parquet",
        airlines="data/raw/airlines.parquet",
    log:
        "logs/ingest/ingest.log",
    benchmark:
        "benchmarks/ingest/ingest.tsv"
    conda:
        "../environment.yml"
    threads: RESOURCES["ingest"]["threads"]
    resources:
        mem_mb=RESOURCES["ingest"]["mem_mb"],
    script:
        "../scripts/ingest.py"
