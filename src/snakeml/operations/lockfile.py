"""Keep environment.yml (conda/mamba) pinned to exactly the versions of requirements.lock.

Why it exists: uv writes a pip lock file only; no tool derives a conda environment from it.

Run ``python -m snakeml.operations.lockfile`` after re-locking (``make lock`` does it).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

PIN = re.compile(
    # name[extras]==version
    r"^(?P<pin>[A-Za-z0-9][A-Za-z0-9._-]*(?:\[[A-Za-z0-9._,-]+\])?==[^\s;\\]+)"
    r"(?:\s*;\s*(?P<marker>[^\\]+?))?"  # an environment marker, if any
    r"\s*\\?$"  # the line continuation before the hashes
)

HEADER = """\
# conda/mamba users: the same pinned environment as .venv. Generated from requirements.lock by
# `python -m snakeml.operations.lockfile` (make lock); do not edit by hand.
#   conda env create -f environment.yml && conda activate snakeml
# Snakemake also uses it per rule with `--software-deployment-method conda`.
name: snakeml
channels:
  - conda-forge
  - nodefaults
dependencies:
  - python=3.11
  - pip
  - pip:
"""


def pinned_requirements(lock_text: str) -> list[str]:
    """The ``name==version`` pins of a pip lock file (with their markers), in file order."""
    pins = []
    for line in lock_text.splitlines():
        match = PIN.match(line)
        if match:
            marker = match.group("marker")
            pins.append(f"{match.group('pin')} ; {marker}" if marker else match.group("pin"))
    return pins


def conda_environment(lock_text: str) -> str:
    """The text of environment.yml for a lock file."""
    pins = pinned_requirements(lock_text)
    return HEADER + "".join(f"      - {json.dumps(pin)}\n" for pin in pins)


def main(root: str = ".") -> int:
    base = Path(root)
    text = conda_environment((base / "requirements.lock").read_text(encoding="utf-8"))
    (base / "environment.yml").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
