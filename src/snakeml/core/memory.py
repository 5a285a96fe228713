"""Memory a rule's rows will take, known before they are read: stop a job that cannot fit.

A rule that reads rows counts them from the parquet footers, multiplies by the model input
columns and by the bytes its peak holds per value, and compares the estimate with the job's
memory request (``resources.<rule>.mem_mb``). Above it, the job stops with one line naming the
rule, the estimate and the settings to change, before anything is read or written.
"""

from __future__ import annotations

from snakeml.core.errors import ConfigError

# What a job holds before it reads a row: the interpreter with pandas, pyarrow and
# scikit-learn imported (measured: 300 to 340 MB of peak RSS on the default data set's small rules).
BASE_MB = 400
# Bytes a job's peak holds per row and model input column, by what the rule does with them:
# the float32 and category inputs, the preprocessed copy and what the estimator makes of it.
# Measured on the default data set (44 model inputs, one thread): peak RSS minus BASE_MB over
# rows x inputs, rounded up (docs/scaling.md).
BYTES_PER_VALUE: dict[str, float] = {
    # sparse one-hot for a linear model: float32 inputs, the imputer's sorted copy for its
    # medians, imputed and scaled numerics, and scipy's hstack of them with the one-hot
    # columns, which goes through COO (row, column and value per stored value) before the CSR
    # matrix the solver gets: 82 bytes measured at x30 (1.4 M of 9.79 M rows, 5.46 GB peak)
    "onehot": 85.0,
    # ordinal codes beside float32 numerics, dense; HistGradientBoosting converts them to
    # float64 and copies its training and early-stopping rows (34 bytes measured at x10,
    # 3.24 M rows, 5.0 GB peak), a random forest keeps float32 (17)
    "ordinal": 36.0,
}

# The split holds only the columns its strategy reads (the key, the time or group, the target),
# with the pandas copy that places the rows, beside DuckDB's sort (snakeml.validation.split's
# DUCKDB_MEMORY_MB, its fixed part): 36 bytes per row and column read measured at x30
# (10.1 M rows x 3 columns, 2.99 GB peak RSS with DuckDB at 1536 MB).
SPLIT_BYTES_PER_VALUE = 40.0


def estimate_mb(rows: int, columns: int, bytes_per_value: float, fixed_mb: int = 0) -> int:
    """A job's peak memory in MB (2**20 bytes) for ``rows`` x ``columns`` values read:
    BASE_MB, plus ``fixed_mb`` that does not grow with the rows, plus the values' bytes."""
    return BASE_MB + fixed_mb + int(rows * columns * bytes_per_value / 2**20 + 0.5)


def check_memory(
    rule: str,
    rows: int,
    columns: int,
    bytes_per_value: float,
    mem_mb: int | None,
    cap: str = "",
    fixed_mb: int = 0,
) -> int:
    """The job's estimated peak in MB; ConfigError in one line when it exceeds ``mem_mb``.

    ``rule`` names the job (``train ridge``), ``mem_mb`` is its request (None: no request, no
    check), ``cap`` the setting that bounds its rows, if it has one (named in the error),
    ``fixed_mb`` what the job holds whatever its rows (estimate_mb).
    """
    estimate = estimate_mb(rows, columns, bytes_per_value, fixed_mb)
    if mem_mb is not None and estimate > mem_mb:
        key = f"resources.{rule.split()[0]}.mem_mb"
        fix = f"raise {key} to {estimate} or more"
        if cap:
            fix += f", or set {cap} to train on a seeded sample"
        else:
            fix += " (docs/scaling.md)"
        raise ConfigError(
            f"rule {rule}: {rows:,} rows x {columns} {'model inputs' if cap else 'columns'} need "
            f"about {estimate} MB, "
            f"more than its memory request {key} = {mem_mb}: {fix}"
        )
    return estimate
