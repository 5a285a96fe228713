# snakeml: the stage DAG. Table of contents only; the logic lives in rules/common.smk.
from snakemake.utils import min_version

min_version("9.0")


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/configs.smk"
include: "rules/ingest.smk"
include: "rules/features.smk"
include: "rules/audit.smk"
include: "rules/split.smk"
include: "rules/tune.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"
include: "rules/compare.smk"
include: "rules/track.smk"
include: "rules/predict.smk"


rule all:
    default_target: True
    input:
        get_targets(),
