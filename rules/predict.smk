# Batch prediction, on demand: `snakemake --cores 2 results/predictions/{name}.parquet` scores
# data/new/{name}.parquet (or .csv) with the champion through the same feature build, and writes
# a summary beside it: rows read, scored and refused (by reason), and drift per model input.


rule predict:
    input:
        new=get_new_rows,
        model=f"{RESULTS}/champion/model.skops",
        decision=f"{RESULTS}/champion/decision.json",
        tables=[raw_table(table) for table in RAW_TABLES],
        sql=FEATURE_SQL,
        # the rows every model is fitted on (train + valid): the drift reference
        reference=[plain_file("split", f"split/{name}.parquet") for name in ("train", "valid")],
        # the training feature table: history rows rebuilt beside the new rows must match it
        features=plain_file("features", "features/features.parquet"),
        cfg=rule_config("predict"),
    output:
        predictions=f"{RESULTS}/predictions/{{name}}.parquet",
        meta=f"{RESULTS}/predictions/{{name}}.parquet.meta.json",
        summary=f"{RESULTS}/predictions/{{name}}.summary.json",
    log:
        f"logs{PLAIN_ROOT}/predict/{{name}}.log",
    benchmark:
        f"benchmarks{PLAIN_ROOT}/predict/{{name}}.tsv"
    conda:
        "../environment.yml"
    threads: RESOURCES["predict"]["threads"]
    resources:
        mem_mb=RESOURCES["predict"]["mem_mb"],
        runtime=RESOURCES["predict"]["runtime"],
    script:
        "../scripts/predict.py"
