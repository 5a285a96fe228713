"""Rule manifest: git state, config hashes, checksums, versions and benchmarks -> manifest.json."""

from pathlib import Path

from snakeml.manifest import write_manifest
from snakeml.rule import run_rule


def main(smk) -> None:
    config_dir = Path(smk.params.config_dir)
    write_manifest(
        smk.output.manifest,
        raw_data=list(smk.input.raw),
        artifacts=list(smk.input.artifacts),
        configs={
            str(Path(path).relative_to(config_dir).with_suffix("")): path
            for path in smk.input.configs
        },
        benchmark_dir=smk.params.benchmark_dir,
        project_root=smk.params.project_root,
    )


if __name__ == "__main__":
    run_rule(main, snakemake)  # noqa: F821
