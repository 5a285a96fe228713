"""What runs around the pipeline: checks before the first job, the rule entry point, the run lock,
the report, the manifest, DVC publishing and the environment lock."""
