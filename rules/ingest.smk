rule ingest:
    input:
        sources=get_table_sources(),
        cfg=rule_config("ingest"),
    output:
        tables=[raw_table(table) for table in RAW_TABLES],
        meta=[f"{raw_table(table)}.meta.json" for table in RAW_TABLES],
    log:
        f"logs/ingest/{ROUTES.data}.log",
    benchmark:
        f"benchmarks/ingest/{ROUTES.data}.tsv"
    conda:
        "../environment.yml"
    threads: RESOURCES["ingest"]["threads"]
    resources:
        mem_mb=RESOURCES["ingest"]["mem_mb"],
        runtime=RESOURCES["ingest"]["runtime"],
    script:
        "../scripts/ingest.py"
