# The run manifest. The HTML report itself is `snakemake --report results/report.html`, which
# `make run` calls after the run (python -m snakeml.report): a report cannot be a job of the run
# it describes.


rule manifest:
    input:
        raw=[raw_table(table) for table in RAW_TABLES],
        artifacts=get_final_artifacts(),
        configs=RULE_CONFIG_FILES,
    output:
        manifest=report(
            "results/manifest.json",
            caption="../report/manifest.rst",
            category="Data",
            labels={"table": "run manifest"},
        ),
    log:
        "logs/manifest/manifest.log",
    conda:
        "../environment.yml"
    threads: RESOURCES["manifest"]["threads"]
    resources:
        mem_mb=RESOURCES["manifest"]["mem_mb"],
        runtime=RESOURCES["manifest"]["runtime"],
    params:
        benchmark_dir="benchmarks",
        project_root=".",
    script:
        "../scripts/manifest.py"
