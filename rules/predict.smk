# Batch prediction, on demand: `snakemake --cores 2 results/predictions/{name}.parquet` scores
# data/new/{name}.parquet (or .csv) with the champion through the same feature build, and writes
# a summary beside it: rows read, scored and refused (by reason), and drift per model input.


rule predict:
    input:
        new=get_new_rows,
        model="results/champion/model.skops",
        decision="results/champion/decision.json",
        tables=[raw_table(table) for table in RAW_TABLES],
        sql=FEATURE_SQL,
        # the rows every model is fitted on (train + valid): the drift reference
        reference=["results/split/train.parquet", "results/split/valid.parquet"],
        # the training feature table: history rows rebuilt beside the new rows must match it
        features="results/features/features.parquet",
        cfg=rule_config("predict"),
    output:
        predictions="results/predictions/{name}.parquet",
        meta="results/predictions/{name}.parquet.meta.json",
        summary="results/predictions/{name}.summary.json",
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
