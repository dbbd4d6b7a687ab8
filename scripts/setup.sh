#!/usr/bin/env bash
# Installs what serving browserfn needs on a fresh Debian machine (it needs python3, python3-venv
# and apt-get): Chromium, ffmpeg, nftables, curl and libatomic1 (Debian's packages), a virtualenv
# with browserfn and its test tools. The tests' own peers are scripts/setup_test.sh's. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/apt.sh

# Debian packages: Chromium (sessions), ffmpeg (MP4 replays of sessions), nftables (the firewall
# that keeps runs off this machine's ports other than the API's), curl (serve.sh's readiness wait
# and its banner's example), libatomic1 (the Node.js inside Playwright's Python package needs it).
apt_install_missing chromium:chromium ffmpeg:ffmpeg nft:nftables curl:curl :libatomic1

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# pip's build chatter goes to a log, shown only if the install fails. browserfn is installed
# editable (code changes need no reinstall): pip runs again only when pyproject.toml changed.
installed=".venv/installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$installed" ]; then
    if ! { .venv/bin/pip install -q --upgrade pip && .venv/bin/pip install -q -e ".[test]"; } > .venv/pip.log 2>&1; then
        cat .venv/pip.log
        exit 1
    fi
    rm -f .venv/installed-*
    touch "$installed"
fi
