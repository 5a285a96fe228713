"""Rule manifest: git state, config hashes, checksums, versions and benchmarks -> manifest.json."""

from snakeml.manifest import rule_config_keys, write_manifest
from snakeml.rule import run_rule


def main(smk) -> None:
    write_manifest(
        smk.output.manifest,
        raw_data=list(smk.input.raw),
        artifacts=list(smk.input.artifacts),
        configs=rule_config_keys(list(smk.input.configs)),
        benchmark_dir=smk.params.benchmark_dir,
        project_root=smk.params.project_root,
    )


if __name__ == "__main__":
    run_rule(main, snakemake)  # noqa: F821
