# Batch prediction, on demand: `snakemake --cores 2 results/predictions/{name}.parquet` scores
# data/new/{name}.parquet (or .csv) with the champion through the same feature SQL.


rule predict:
    input:
        new=get_new_flights,
        model="results/champion/model.skops",
        flights="data/raw/flights.parquet",
        weather="data/raw/weather.parquet",
        planes="data/raw/planes.parquet",
        airports="data/raw/airports.parquet",
        holidays=REFERENCE_FILES["holidays"],
        airport_timezones=REFERENCE_FILES["airport_timezones"],
        sql=expand("sql/{step}.sql", step=FEATURE_STEPS),
        cfg=rule_config("predict"),
    output:
        predictions="results/predictions/{name}.parquet",
        meta="results/predictions/{name}.parquet.meta.json",
    log:
        "logs/predict/{name}.log",
    benchmark:
        "benchmarks/predict/{name}.tsv"
    conda:
        "../environment.yml"
    threads: RESOURCES["predict"]["threads"]
    resources:
        mem_mb=RESOURCES["predict"]["mem_mb"],
        runtime=RESOURCES["predict"]["runtime"],
    script:
        "../scripts/predict.py"
