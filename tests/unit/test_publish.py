"""snakeml.operations.publish on a tiny git + DVC project with the repository's own DVC
configuration."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from snakeml.operations.publish import (
    EXPERIMENTS_PUBLISHED,
    PAIRS_PUBLISHED,
    PUBLISHED,
    PublishError,
    dvc_file,
    file_md5,
    publish,
    pull,
)

ROOT = Path(__file__).resolve().parents[2]
DVC = [sys.executable, "-m", "dvc"]


def sh(cwd: Path, *command: str) -> str:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
    return result.stdout


def write_artifacts(project: Path, version: str = "1") -> None:
    """A few small files under every published path, as a run would leave them."""
    for path in PUBLISHED:
        target = project / path
        if Path(path).suffix:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f"{path} v{version}\n")
        else:
            (target / "sub").mkdir(parents=True, exist_ok=True)
            (target / "a.txt").write_text(f"{path}/a v{version}\n")
            (target / "sub/b.txt").write_text(f"{path}/b\n")


def files(project: Path) -> dict[str, str]:
    found = {}
    for path in PUBLISHED:
        target = project / path
        for file in [target] if target.is_file() else sorted(target.rglob("*")):
            if file.is_file():
                found[str(file.relative_to(project))] = file_md5(file)
    return found


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A committed project with published artifacts; its remote is the directory beside it."""
    project = tmp_path / "project"
    (project / ".dvc").mkdir(parents=True)
    for part in (".dvc/config", ".dvc/.gitignore", ".dvcignore", ".gitignore"):
        shutil.copy(ROOT / part, project / part)
    sh(project, "git", "init", "--quiet", "--initial-branch=main")
    write_artifacts(project)
    publish(project)
    sh(project, "git", "add", "--all")
    sh(project, "git", "commit", "--quiet", "-m", "Publish")
    return project


def clone(project: Path, name: str = "clone") -> Path:
    target = project.parent / name
    sh(project.parent, "git", "clone", "--quiet", str(project), str(target))
    return target


def test_publish_stages_one_dvc_file_per_path_and_pushes(project: Path) -> None:
    in_git = sh(project, "git", "ls-files").split()
    assert sorted(dvc_file(path) for path in PUBLISHED) == sorted(
        name for name in in_git if name.endswith(".dvc")
    )
    assert not any(name.startswith("results/models/") for name in in_git)
    assert "in sync" in sh(project, *DVC, "status", "--cloud")
    assert any((project.parent / "snakeml-dvc-remote").rglob("*.dir"))


def test_a_sweeps_experiments_are_published_beside_the_run_and_pulled_back(
    project: Path,
) -> None:
    for path in EXPERIMENTS_PUBLISHED:
        (project / path / "x").mkdir(parents=True)
        (project / path / "x/leaderboard.csv").write_text(f"{path}\n")
    dvc_files = publish(project)
    assert sorted(dvc_files) == sorted(dvc_file(p) for p in (*PUBLISHED, *EXPERIMENTS_PUBLISHED))
    sh(project, "git", "add", "--all")
    sh(project, "git", "commit", "--quiet", "-m", "Publish experiments")
    other = clone(project)
    summary = pull(other)
    for path in EXPERIMENTS_PUBLISHED:
        assert (other / path / "x/leaderboard.csv").read_text() == f"{path}\n"
        assert f"{path}/x/leaderboard.csv" in summary.restored


def test_a_checkout_that_ran_only_other_pairs_publishes_them(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".dvc").mkdir(parents=True)
    for part in (".dvc/config", ".dvc/.gitignore", ".dvcignore", ".gitignore"):
        shutil.copy(ROOT / part, project / part)
    sh(project, "git", "init", "--quiet", "--initial-branch=main")
    for path in ("data/raw/cars/cars.parquet", "results/configs/ingest/cars.yaml"):
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(f"{path}\n")
    with pytest.raises(PublishError, match=r"^results/models does not exist: run the pipeline"):
        publish(project)  # no run's leaderboard yet: nothing to publish
    run = project / "results/runs/cars/cars_mpg"
    run.mkdir(parents=True)
    (run / "leaderboard.csv").write_text("model,rmse\n")
    (project / "results/shared/split/0123456789ab").mkdir(parents=True)
    (project / "results/shared/split/0123456789ab/train.parquet").write_text("rows\n")
    dvc_files = publish(project)
    assert sorted(dvc_files) == sorted(
        dvc_file(path) for path in (*PAIRS_PUBLISHED, "results/shared", "results/runs")
    )


def test_publish_names_a_missing_artifact(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write_artifacts(project)
    shutil.rmtree(project / "results/models")
    with pytest.raises(PublishError, match=r"results/models does not exist: run the pipeline"):
        publish(project)


def test_pull_restores_identical_files_with_one_time(project: Path) -> None:
    workdir = clone(project)
    summary = pull(workdir)
    assert files(workdir) == files(project)
    assert sorted(summary.restored) == sorted(files(project))
    times = {(workdir / path).stat().st_mtime_ns for path in summary.restored}
    assert len(times) == 1


def test_pull_after_a_plain_dvc_pull_gives_every_file_one_time(project: Path) -> None:
    workdir = clone(project)
    sh(workdir, *DVC, "pull")
    for age, path in enumerate(files(project)):
        os.utime(workdir / path, ns=(age * 10**9, age * 10**9))  # an order DVC might leave
    summary = pull(workdir)
    assert summary.restored == []
    assert len({(workdir / path).stat().st_mtime_ns for path in files(project)}) == 1


def test_pull_keeps_the_time_of_files_whose_bytes_did_not_change(project: Path) -> None:
    workdir = clone(project)
    pull(workdir)
    local_output = workdir / "results/split/train.parquet"  # made here, not published
    local_output.parent.mkdir(parents=True)
    local_output.write_text("split\n")
    first = {path: (workdir / path).stat().st_mtime_ns for path in files(workdir)}

    write_artifacts(project, version="2")
    publish(project)
    sh(project, "git", "commit", "--quiet", "-m", "Publish v2")
    sh(workdir, "git", "pull", "--quiet")
    summary = pull(workdir)

    assert files(workdir) == files(project)
    assert summary.unchanged and all(path.endswith("sub/b.txt") for path in summary.unchanged)
    for path in summary.unchanged:
        assert (workdir / path).stat().st_mtime_ns == first[path]
    for path in summary.restored:
        assert (workdir / path).stat().st_mtime_ns > first[path]


def test_pull_without_dvc_files_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(PublishError, match=r"nothing to pull: .* \(make publish\)"):
        pull(tmp_path)


def test_pull_from_a_missing_remote_directory_restores_nothing(project: Path) -> None:
    workdir = clone(project)
    missing = project.parent / "nowhere"
    sh(workdir, *DVC, "remote", "modify", "--local", "local", "url", str(missing))
    with pytest.raises(PublishError, match=r"'local' is the directory .*nowhere, which does not"):
        pull(workdir)
    assert files(workdir) == {}


def test_pull_with_a_damaged_cache_object_removes_what_it_restored(project: Path) -> None:
    workdir = clone(project)
    sh(workdir, *DVC, "fetch")
    md5 = file_md5(project / "results/leaderboard.csv")
    cached = workdir / ".dvc/cache/files/md5" / md5[:2] / md5[2:]
    stat = cached.stat()
    cached.chmod(0o644)
    cached.write_text("results/leaderboard.csv v9\n")  # same size, different bytes
    os.utime(cached, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    with pytest.raises(PublishError, match=r"results/leaderboard.csv did not match the md5"):
        pull(workdir)
    assert files(workdir) == {}
    assert not cached.exists()
    pull(workdir)
    assert files(workdir) == files(project)
