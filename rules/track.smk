# MLflow tracking (tracking.mlflow=true, snakeml.evaluation.tracking): one MLflow run per result,
# the plain run's or each experiment's, with its overrides, metrics, leaderboard, champion and
# figures. It reruns only when the result changes, and logs nothing when the store already
# holds the same result.


rule track:
    input:
        leaderboard="results{root}/leaderboard.csv",
        champion="results{root}/champion/metrics.json",
        artifacts=get_tracked_files,
    output:
        record="results{root}/tracking/mlflow.json",
    log:
        "logs{root}/track/track.log",
    wildcard_constraints:
        root=EXPERIMENT_ROOT,
    localrule: True
    conda:
        "../environment.yml"
    params:
        uri=lambda wildcards: tracking_of(wildcards.root)["uri"],
        experiment=lambda wildcards: tracking_of(wildcards.root)["experiment"],
        name=lambda wildcards: result_name(wildcards.root),
        overrides=lambda wildcards: result_overrides(wildcards.root),
        models=ROUTES.models_of,
        artifacts=tracked_artifacts,
    script:
        "../scripts/track.py"
