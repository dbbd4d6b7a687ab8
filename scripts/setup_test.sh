#!/usr/bin/env bash
# Test-only peers (scripts/test.sh runs this after setup.sh; serving browserfn needs none of it):
# the official TypeScript client under Node.js, notte-sdk 1.9.7, and wrk for the benchmarks.
# Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/apt.sh

# Debian packages, in one apt-get run: wrk (the benchmarks' HTTP load, bench/bench_runs.py), and
# Node.js with npm when the machine has no npm (for the official TypeScript client, a test peer:
# tests/node_client.py).
apt_install_missing wrk:wrk npm:nodejs npm:npm

if [ ! -d tests/node/node_modules/notte-sdk ]; then
    (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
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
