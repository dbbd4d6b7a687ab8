#!/usr/bin/env bash
# The whole test suite, from a fresh machine: setup, lint, types, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup_test.sh
bash scripts/setup_llm.sh
bash scripts/services.sh
.venv/bin/ruff check browserfn tests bench
.venv/bin/ruff format --check browserfn tests bench
.venv/bin/mypy
.venv/bin/pytest -q -p no:cacheprovider "$@"
