# Each rule's configuration slice, results/configs/<rule>.yaml (per model for the model rules);
# an experiment's job's below its folder, results/shared/<rule>/<key>/configs/.
# The slice's text is the job's param: when a change of conf/ or of the overrides alters it,
# Snakemake's params trigger plans this job and every job that reads the slice, and a dry run
# lists them without writing anything.


rule config_slice:
    output:
        "results{root}/configs/{slice}.yaml",
    log:
        "logs{root}/configs/{slice}.log",
    wildcard_constraints:
        root=rf"(/shared/\w+/[0-9a-f]{{12}})?|{EXPERIMENT_ROOT}",
    localrule: True
    params:
        text=slice_text,
    run:
        from snakeml.io import write_text_atomic

        write_text_atomic(output[0], params.text)
        Path(log[0]).write_text(f"wrote {output[0]}\n", encoding="utf-8")
