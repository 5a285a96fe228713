# The run manifest. The HTML report itself is `snakemake --report results/report.html`, which
# `make run` calls after the run (python -m snakeml.operations.report): a report cannot be a job
# of the run it describes.
# What the manifest hashes is its input, so a changed conf/, SQL, table or code file rewrites
# it; the composed configuration and the overrides are params, so a new value does too. The git
# state is recorded as the manifest is written, not a trigger: a commit alone does not rewrite
# it (a published manifest would otherwise chase the commit of its own .dvc file).


rule manifest:
    input:
        raw=[raw_table(table) for table in RAW_TABLES],
        artifacts=get_final_artifacts(),
        configs=RULE_CONFIG_FILES,
        leaderboard=f"{RESULTS}/leaderboard.csv",
        conf=CONFIG_FILES,
        sql=FEATURE_SQL,
        sources=get_table_sources(),
        code=CODE_FILES,
    output:
        manifest=report(
            f"{RESULTS}/manifest.json",
            caption="../report/manifest.rst",
            category="Data",
            labels={"table": "run manifest"},
        ),
    log:
        f"logs{PLAIN_ROOT}/manifest/manifest.log",
    conda:
        "../environment.yml"
    threads: RESOURCES["manifest"]["threads"]
    resources:
        mem_mb=RESOURCES["manifest"]["mem_mb"],
        runtime=RESOURCES["manifest"]["runtime"],
    params:
        benchmark_dir=f"benchmarks{PLAIN_ROOT}",
        config_keys=["ingest", *OWN_SLICES],
        project_root=".",
        settings=CFG,
        overrides=OVERRIDES,
    script:
        "../scripts/manifest.py"
