#!/usr/bin/env bash
# Installs everything browserfn needs on a fresh Debian machine: Chromium, ffmpeg, nftables and wrk
# (Debian's packages), a virtualenv with browserfn and its test tools. Idempotent; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/apt.sh

# Debian packages: Chromium (sessions), ffmpeg (MP4 replays of sessions), nftables (the firewall
# that keeps runs off this machine's ports other than the API's), wrk (the benchmarks' HTTP load).
missing=()
for pair in chromium:chromium ffmpeg:ffmpeg nft:nftables wrk:wrk; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    apt_install "${missing[@]}"
fi

# The official TypeScript client, a test peer (tests/node_client.py), under Debian's Node.js when
# the machine has none.
if ! command -v npm >/dev/null 2>&1; then
    apt_install nodejs npm
fi
if [ ! -d tests/node/node_modules/notte-sdk ]; then
    (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
fi

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

# notte-sdk 1.9.7, the last Python client with agents (client.Agent, AgentFallback), in a virtualenv
# of its own (the main one pins 1.10.0): the agents' tests drive it (tests/sdk197_client.py).
if [ ! -x .venv-sdk197/bin/python ]; then
    python3 -m venv .venv-sdk197
fi
if ! .venv-sdk197/bin/python -c 'import notte_sdk' >/dev/null 2>&1; then
    if ! .venv-sdk197/bin/pip install -q "notte-sdk==1.9.7" > .venv-sdk197/pip.log 2>&1; then
        cat .venv-sdk197/pip.log
        exit 1
    fi
fi
