"""Rule audit: features rebuilt from tables cut in time, compared -> results/audit/audit.json."""

from pathlib import Path

from snakeml.core.io import write_json
from snakeml.core.slices import AuditSlice, load_slice
from snakeml.data.audit import audit_features
from snakeml.operations.rule import run_rule


def main(smk) -> None:
    cfg = load_slice(smk.input.cfg, AuditSlice)
    record = audit_features(
        paths=dict(zip(cfg.data.tables, smk.input.tables, strict=True)),
        sql_dir=Path(smk.input.sql[-1]).parent,  # its steps.yaml
        features_path=smk.input.features,
        cfg=cfg,
        threads=smk.threads,
        memory_limit_mb=smk.resources.mem_mb,
    )
    write_json(smk.output.record, record)


if __name__ == "__main__":
    run_rule(main, snakemake)  # noqa: F821
