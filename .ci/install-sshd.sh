#!/usr/bin/env bash
# Debian's OpenSSH server for the tests on an SSH remote (tests/dvc). Only installs: the tests
# start their own sshd (private config, throwaway keys, a free loopback port) and stop it by pid.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "install-sshd.sh: needs root (apt-get, /run/sshd)" >&2; exit 1; }
if [ ! -x /usr/sbin/sshd ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends openssh-server >/dev/null
fi
# sshd started as root refuses to run without its privilege separation directory, which the
# service's init script would create (there is no init system here).
install -d -m 0755 /run/sshd
