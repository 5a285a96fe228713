# The look-ahead audit: the feature SQL rebuilt from the tables cut at a few moments, compared
# with the full build (snakeml.data.audit). The split reads its record, so a feature that looks
# ahead stops the run before tuning.


rule audit:
    input:
        tables=[raw_table(table) for table in RAW_TABLES],
        features=read_from("features", "results{root}/features/features.parquet"),
        sql=FEATURE_SQL,
        cfg=job_config("audit"),
    output:
        record=report(
            "results{root}/audit/audit.json",
            caption="../report/audit.rst",
            category="Data",
            labels=experiment_labels({"table": "look-ahead audit"}),
        ),
    log:
        "logs{root}/audit/audit.log",
    benchmark:
        "benchmarks{root}/audit/audit.tsv"
    wildcard_constraints:
        root=shared_root("audit"),
    conda:
        "../environment.yml"
    threads: RESOURCES["audit"]["threads"]
    resources:
        mem_mb=RESOURCES["audit"]["mem_mb"],
        runtime=RESOURCES["audit"]["runtime"],
    script:
        "../scripts/audit.py"
