"""A project copy that is a git and DVC repository, driven through the Makefile as a team would."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from snakeml.operations.publish import PUBLISHED
from tests.workflow.project import ROOT, SMOKE, Run, copy_project

# The files of a clone that the DVC workflow needs on top of the pipeline's own.
REPO_PARTS = (".dvc/config", ".dvc/.gitignore", ".dvcignore", ".gitignore", "dvc.yaml", "Makefile")
VENV = Path(sys.executable).parent.parent
# The copies use this checkout's .venv; `make -o` keeps make from rebuilding it.
MAKE = ["make", f"VENV={VENV}", "-o", f"{VENV}/.installed", "CORES=2"]
DVC = [sys.executable, "-m", "dvc"]


def run(command: list[str], cwd: Path, timeout: int = 900) -> Run:
    """Run a command in ``cwd``; never raises on failure."""
    result = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    return Run(result.returncode, result.stdout + result.stderr)


def ok(command: list[str], cwd: Path) -> Run:
    result = run(command, cwd)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.output[-4000:]}"
    return result


def make(workdir: Path, target: str, overrides: str = SMOKE, *extra: str) -> Run:
    return run([*MAKE, target, f"OVERRIDES={overrides}", *extra], workdir)


def dvc(workdir: Path, *args: str) -> Run:
    return run([*DVC, *args], workdir)


def git(workdir: Path, *args: str) -> Run:
    return ok(["git", *args], workdir)


def init_repo(target: Path) -> Path:
    """A fresh project copy with the DVC configuration, committed to a new git repository."""
    copy_project(target)
    for part in REPO_PARTS:
        (target / part).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / part, target / part)
    git(target, "init", "--quiet", "--initial-branch=main")
    git(target, "add", "--all")
    git(target, "commit", "--quiet", "-m", "Project")
    return target


def clone(source: Path, target: Path) -> Path:
    git(source.parent, "clone", "--quiet", str(source), str(target))
    return target


def mtimes(root: Path) -> dict[str, int]:
    """Modification time of every file the pipeline made or DVC restored."""
    return {
        str(path.relative_to(root)): path.stat().st_mtime_ns
        for folder in ("data/raw", "results")
        for path in sorted((root / folder).rglob("*"))
        if path.is_file()
    }


def published_files(root: Path) -> dict[str, str]:
    """md5 of every file under the published paths."""
    found: dict[str, str] = {}
    for path in PUBLISHED:
        target = root / path
        files = [target] if target.is_file() else sorted(target.rglob("*"))
        for file in files:
            if file.is_file():
                found[str(file.relative_to(root))] = hashlib.md5(file.read_bytes()).hexdigest()
    return found
