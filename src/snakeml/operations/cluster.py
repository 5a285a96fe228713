"""Cluster checks that run before any job is submitted.

Why it exists: the SLURM executor refuses a job no node can run only at submission, mid-run.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

from snakeml.core.errors import ConfigError


def slurm_largest_node() -> tuple[int, int] | None:
    """CPUs and memory (MB) of the largest SLURM node, or None if ``sinfo`` cannot tell."""
    sinfo = shutil.which("sinfo")
    if sinfo is None:
        return None
    try:
        shown = subprocess.run(
            [sinfo, "--noheader", "--format=%c %m"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    nodes = re.findall(r"^\s*(\d+)\+?\s+(\d+)\+?\s*$", shown.stdout, flags=re.MULTILINE)
    if not nodes:
        return None
    return max(int(c) for c, _ in nodes), max(int(m) for _, m in nodes)


def check_fits_node(resources: dict[str, Any], cpus: int, mem_mb: int) -> None:
    """Refuse a rule whose threads or memory exceed the largest node, naming the key to change."""
    for rule, wanted in resources.items():
        for key, limit, unit in (("threads", cpus, "CPUs"), ("mem_mb", mem_mb, "MB")):
            if wanted[key] > limit:
                raise ConfigError(
                    f"resources.{rule}.{key}={wanted[key]} is more than the largest cluster "
                    f"node has ({limit} {unit}): lower it in conf/resources/ or override "
                    f"resources.{rule}.{key}={limit}"
                )
