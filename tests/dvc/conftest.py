"""A published smoke run to clone from, and a private sshd on loopback for the SSH remote."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.dvc.repo import git, init_repo, make

SSHD = "/usr/sbin/sshd"
SETUP = "`.ci/install-sshd.sh` (root, Debian) installs openssh-server; the test starts its own sshd"
READY_TIMEOUT = 20


# What a smoke run leaves in a project beside the files in git.
RUN_OUTPUTS = ("data/raw", "results", "logs", "benchmarks", ".snakemake")


@pytest.fixture(scope="session")
def published(smoke_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose smoke run is published (make publish) and committed.

    The run is the shared smoke run's outputs, copied with their times and Snakemake's records,
    so make publish finds the pipeline up to date, builds the report and publishes. Its default
    remote is the directory snakeml-dvc-remote beside it, shared by its clones.
    """
    project = init_repo(tmp_path_factory.mktemp("team") / "project")
    for part in RUN_OUTPUTS:
        shutil.copytree(smoke_build / part, project / part, symlinks=True)
    run = make(project, "publish")
    assert run.returncode == 0, run.output[-5000:]
    assert run.job_counts() == {}, "the copied run is not up to date"
    git(project, "commit", "--quiet", "-m", "Publish the smoke run")
    return project


def sshd_unavailable() -> str | None:
    """Why no private sshd can be started here, or None if it can."""
    if not Path(SSHD).is_file():
        return f"no OpenSSH server ({SSHD}); " + SETUP
    if shutil.which("ssh-keygen") is None:
        return "no ssh-keygen on PATH; " + SETUP
    if os.geteuid() == 0 and not Path("/run/sshd").is_dir():
        return "sshd started as root needs its directory /run/sshd; " + SETUP
    return None


@dataclass(frozen=True)
class SshServer:
    port: int
    user: str
    keyfile: Path
    storage: Path

    @property
    def url(self) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{self.storage}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"sshd exited with {process.returncode}: {log.read_text()}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"sshd did not listen on port {port} within {READY_TIMEOUT} s: {log.read_text()}")


@pytest.fixture(scope="session")
def ssh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    """A private sshd on a free loopback port with throwaway keys; skipped without OpenSSH,
    unless SNAKEML_REQUIRE_SERVICES=1 (CI): then it fails."""
    reason = sshd_unavailable()
    if reason is not None:
        if os.environ.get("SNAKEML_REQUIRE_SERVICES") == "1":
            pytest.fail(f"SNAKEML_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    home = tmp_path_factory.mktemp("sshd")
    for key in ("host_key", "client_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(home / key)], check=True
        )
    shutil.copy(home / "client_key.pub", home / "authorized_keys")
    port = free_port()
    config = home / "sshd_config"
    config.write_text(
        f"Port {port}\n"
        "ListenAddress 127.0.0.1\n"
        f"HostKey {home / 'host_key'}\n"
        f"AuthorizedKeysFile {home / 'authorized_keys'}\n"
        f"PidFile {home / 'sshd.pid'}\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "PermitRootLogin prohibit-password\n"
        # The keys live in a temporary directory, which StrictModes would refuse.
        "StrictModes no\n"
        "UsePAM no\n"
        "Subsystem sftp internal-sftp\n"
    )
    log = home / "sshd.log"
    with log.open("wb") as out:
        process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=out, stderr=out)
    try:
        wait_for_port(port, process, log)
        yield SshServer(port, getpass.getuser(), home / "client_key", home / "storage")
    finally:
        process.terminate()
        process.wait(timeout=30)
