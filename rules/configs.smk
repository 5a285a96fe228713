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
    conda:
        "../environment.yml"
    params:
        text=slice_text,
    # A shell job, not run: a run: job is executed by a Snakemake that reads the whole
    # workflow again (a few seconds each, more with a sweep's points to compose).
    shell:
        "printf '%s' {params.text:q} > {output:q} && echo 'wrote {output}' > {log:q}"
