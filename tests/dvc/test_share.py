"""Publish a smoke run with DVC, pull it into fresh clones, compare versions, refuse bad remotes.

Everything goes through the Makefile, git and DVC as a team would, on real remotes: a local
directory and an SSH server on loopback. Nothing is mocked.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from snakeml.operations.publish import PUBLISHED, dvc_file
from tests.dvc.conftest import SshServer
from tests.dvc.repo import DVC, clone, dvc, git, make, mtimes, ok, published_files
from tests.workflow.project import SMOKE, snakemake

# One worker builds the published project and runs every test that reads it.
pytestmark = [pytest.mark.workflow, pytest.mark.dvc]

CLEAN = "Data and pipelines are up to date."


def assert_nothing_to_do(workdir: Path) -> None:
    """Snakemake plans no job, and a real run neither runs one nor rewrites a file."""
    dry = snakemake(workdir, SMOKE, "--dry-run")
    assert dry.returncode == 0 and "Nothing to be done" in dry.output, dry.output[-3000:]
    before = mtimes(workdir)
    run = make(workdir, "run")
    assert run.returncode == 0, run.output[-3000:]
    assert run.job_counts() == {}, run.output[-3000:]
    assert mtimes(workdir) == before


def snakeml_errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("snakeml:")]


def test_publish_tracks_raw_data_and_artifacts_in_git(published: Path) -> None:
    in_git = set(git(published, "ls-files").output.split())
    assert {dvc_file(path) for path in PUBLISHED} <= in_git
    assert "data/raw.dvc" in in_git
    assert not any(name.startswith(("results/models/", "data/raw/")) for name in in_git)
    assert git(published, "status", "--porcelain").output == ""

    status = dvc(published, "status")
    assert status.returncode == 0 and CLEAN in status.output, status.output
    cloud = dvc(published, "status", "--cloud")
    assert cloud.returncode == 0 and "in sync" in cloud.output, cloud.output


def test_no_op_run_after_publish_leaves_dvc_clean(published: Path) -> None:
    run = make(published, "publish")
    assert run.returncode == 0, run.output[-3000:]
    assert run.job_counts() == {}
    assert git(published, "status", "--porcelain").output == ""
    assert CLEAN in dvc(published, "status").output


def test_dvc_reads_metrics_params_and_plots(published: Path, tmp_path: Path) -> None:
    shown = dvc(published, "metrics", "show", "--json")
    assert shown.returncode == 0, shown.output
    metrics = json.loads(shown.output)[""]["data"]
    champion = json.loads((published / "results/champion/metrics.json").read_text())
    shown_champion = metrics["results/champion/metrics.json"]["data"]
    # DVC shows a metrics file's numbers and words; lists (the champion's comparisons) it leaves out
    scalars = {k: v for k, v in champion.items() if not isinstance(v, list | dict)}
    assert scalars and {k: shown_champion[k] for k in scalars} == scalars
    assert metrics["results/evaluation/ridge/metrics.json"]["data"]["model"] == "ridge"

    params = dvc(published, "params", "diff", "--all", "--json")
    assert params.returncode == 0, params.output
    assert "results/configs/tune_shard/ridge.yaml" in json.loads(params.output)

    plots = dvc(published, "plots", "show", "--json", "-o", str(tmp_path / "plots"))
    assert plots.returncode == 0, plots.output
    assert "results/leaderboard.csv" in plots.output
    assert "errors" not in json.loads(plots.output)


def test_fresh_clone_pulls_the_same_files_and_has_nothing_to_do(
    published: Path, tmp_path: Path
) -> None:
    workdir = clone(published, published.parent / f"clone-{tmp_path.name}")
    assert not (workdir / "results/leaderboard.csv").exists()
    assert not (workdir / ".snakemake").exists()

    pull = make(workdir, "pull")
    assert pull.returncode == 0, pull.output[-3000:]
    assert published_files(workdir) == published_files(published)
    assert_nothing_to_do(workdir)
    assert CLEAN in dvc(workdir, "status").output


def test_plain_dvc_pull_restores_the_same_bytes(published: Path, tmp_path: Path) -> None:
    workdir = clone(published, published.parent / f"clone-{tmp_path.name}")
    ok([*DVC, "pull"], workdir)
    assert published_files(workdir) == published_files(published)


def test_versions_metrics_diff_and_checkout_of_the_first(published: Path, tmp_path: Path) -> None:
    # A copy of the published workspace: its intermediate outputs let only ridge rerun.
    workdir = tmp_path / "project"
    shutil.copytree(published, workdir, symlinks=True)
    first = published_files(workdir)
    first_commit = git(workdir, "rev-parse", "HEAD").output.strip()

    changed = f"{SMOKE} model.ridge.search_space.alpha.low=100"
    run = make(workdir, "publish", changed)
    assert run.returncode == 0, run.output[-3000:]
    jobs = run.job_counts()
    assert (jobs.get("train"), jobs.get("evaluate"), jobs.get("leaderboard")) == (1, 1, 1), jobs
    assert not {"ingest", "features", "split"} & set(jobs), jobs
    git(workdir, "commit", "--quiet", "-m", "Publish with ridge's alpha >= 100")
    second = published_files(workdir)
    assert second["results/models/ridge.skops"] != first["results/models/ridge.skops"]
    assert second["results/models/hgb.skops"] == first["results/models/hgb.skops"]

    diff = dvc(workdir, "metrics", "diff", first_commit, "--json")
    assert diff.returncode == 0, diff.output
    ridge = json.loads(diff.output)["results/evaluation/ridge/metrics.json"]["rmse"]
    old = json.loads((published / "results/evaluation/ridge/metrics.json").read_text())
    new = json.loads((workdir / "results/evaluation/ridge/metrics.json").read_text())
    assert (ridge["old"], ridge["new"]) == (old["rmse"], new["rmse"])
    assert ridge["old"] != ridge["new"]
    params = json.loads(dvc(workdir, "params", "diff", first_commit, "--json").output)
    low = params["results/configs/tune_shard/ridge.yaml"]["model.search_space.alpha.low"]
    assert (low["old"], low["new"]) == (0.001, 100)

    git(workdir, "checkout", "--quiet", first_commit)
    ok([*DVC, "checkout"], workdir)
    assert published_files(workdir) == first
    assert CLEAN in dvc(workdir, "status").output


def test_ssh_remote_publish_and_pull(
    published: Path, ssh_server: SshServer, tmp_path: Path
) -> None:
    def add_ssh_remote(workdir: Path) -> None:
        ok([*DVC, "remote", "add", "--local", "ssh", ssh_server.url], workdir)
        ok(
            [*DVC, "remote", "modify", "--local", "ssh", "keyfile", str(ssh_server.keyfile)],
            workdir,
        )

    team = clone(published, published.parent / f"ssh-a-{tmp_path.name}")
    assert make(team, "pull").returncode == 0
    add_ssh_remote(team)
    pushed = make(team, "publish", SMOKE, "REMOTE=ssh")
    assert pushed.returncode == 0, pushed.output[-3000:]
    assert pushed.job_counts() == {}
    assert any(ssh_server.storage.rglob("*.dir"))

    workdir = clone(published, published.parent / f"ssh-b-{tmp_path.name}")
    add_ssh_remote(workdir)
    pull = make(workdir, "pull", SMOKE, "REMOTE=ssh")
    assert pull.returncode == 0, pull.output[-3000:]
    assert published_files(workdir) == published_files(published)
    assert_nothing_to_do(workdir)


def assert_failed_and_nothing_restored(workdir: Path, output: str, *words: str) -> None:
    errors = snakeml_errors(output)
    assert len(errors) == 1, output[-3000:]
    for word in words:
        assert word in errors[0], errors[0]
    assert published_files(workdir) == {}, "a failed pull left restored files behind"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("missing-dir", ("does not exist", "dvc remote modify")),
        ("ssh://nobody@127.0.0.1:1/storage", ("dvc pull failed", "Connect call failed")),
    ],
)
def test_pull_from_missing_or_unreachable_remote_fails_clearly(
    published: Path, tmp_path: Path, url: str, words: tuple[str, ...]
) -> None:
    workdir = clone(published, published.parent / f"bad-remote-{tmp_path.name}")
    if "://" not in url:
        url = str(tmp_path / url)
    ok([*DVC, "remote", "modify", "--local", "local", "url", url], workdir)
    pull = make(workdir, "pull")
    assert pull.returncode != 0
    assert_failed_and_nothing_restored(workdir, pull.output, *words)


def object_of(workdir: Path, store: Path, path: str) -> Path:
    """The file in a DVC object store (cache or local remote) holding ``path``'s bytes."""
    listing = dvc(workdir, "ls", ".", path, "--show-hash", "--json")
    md5 = json.loads(listing.output)[0]["md5"]
    return store / "files" / "md5" / md5[:2] / md5[2:]


def damage(path: Path) -> None:
    """Overwrite a file with bytes of the same size, keeping its inode and times."""
    stat = path.stat()
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF
    with path.open("r+b") as handle:
        handle.write(data)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_pull_of_a_damaged_remote_object_fails_and_restores_nothing(
    published: Path, tmp_path: Path
) -> None:
    remote = tmp_path / "remote"
    shutil.copytree(published.parent / "snakeml-dvc-remote", remote)
    workdir = clone(published, published.parent / f"bad-object-{tmp_path.name}")
    ok([*DVC, "remote", "modify", "--local", "local", "url", str(remote)], workdir)
    damage(object_of(published, remote, "results/champion/metrics.json"))

    pull = make(workdir, "pull")
    assert pull.returncode != 0
    assert_failed_and_nothing_restored(workdir, pull.output, "dvc pull failed", "results/champion")


def test_pull_with_a_damaged_cache_object_fails_then_recovers(
    published: Path, tmp_path: Path
) -> None:
    workdir = clone(published, published.parent / f"bad-cache-{tmp_path.name}")
    ok([*DVC, "fetch"], workdir)
    cached = object_of(workdir, workdir / ".dvc/cache", "results/models/ridge.skops")
    damage(cached)

    pull = make(workdir, "pull")
    assert pull.returncode != 0
    assert_failed_and_nothing_restored(
        workdir, pull.output, "results/models/ridge.skops", "damaged", "make pull again"
    )
    assert not cached.exists(), "the damaged cache copy should be dropped"

    again = make(workdir, "pull")
    assert again.returncode == 0, again.output[-3000:]
    assert published_files(workdir) == published_files(published)
