#!/usr/bin/env bash
# Create .venv and install vidsr into it (editable). `--dev` adds the test and lint tools.
# torch goes in first: basicsr 1.4.2 is an sdist whose build imports torch, so it is built
# against the venv's torch (--no-build-isolation) instead of downloading a second copy.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
extra=""
[ "${1:-}" = "--dev" ] && extra="[dev]"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip setuptools wheel
.venv/bin/python -m pip install -q "torch==2.14.1" "torchvision==0.29.1"
.venv/bin/python -m pip install -q --no-build-isolation -e ".${extra}"
