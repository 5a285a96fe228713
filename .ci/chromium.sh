#!/usr/bin/env bash
# Install Debian's chromium for the browser test of the report (tests/workflow/test_report.py).
# Run as root on Debian or Ubuntu; does nothing when chromium is already installed.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    chromium --version
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends chromium fonts-dejavu-core
chromium --version
