"""Rule manifest: git state, configuration, checksums of what the run read and made, the
leaderboard, versions and benchmarks -> manifest.json."""

from snakeml.core.schema import data_config
from snakeml.operations.manifest import input_files, write_manifest
from snakeml.operations.rule import run_rule


def main(smk) -> None:
    root = smk.params.project_root
    settings = smk.params.settings
    write_manifest(
        smk.output.manifest,
        raw_data=list(smk.input.raw),
        artifacts=list(smk.input.artifacts),
        configs=dict(zip(smk.params.config_keys, smk.input.configs, strict=True)),
        benchmark_dir=smk.params.benchmark_dir,
        project_root=root,
        inputs=input_files(
            list(smk.input.conf),
            list(smk.input.sql),
            list(smk.input.code),
            data_config(settings["data"]).tables,
            root,
        ),
        settings=settings,
        overrides=list(smk.params.overrides),
        leaderboard=smk.input.leaderboard,
    )


if __name__ == "__main__":
    run_rule(main, snakemake)  # noqa: F821
