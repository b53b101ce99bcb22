#!/usr/bin/env bash
# Install Label Studio into its own virtual environment (.venv-ls) for the review-loop
# integration test (tests/test_labelstudio_integration.py). Separate from .venv because Label
# Studio pins Django, pydantic and friends that must not leak into the project's environment.
# Idempotent: does nothing when the pinned version is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${LS_VENV:-.venv-ls}"
LS_SPEC="${LS_SPEC:-label-studio==1.23.0}"

installed="$("$VENV/bin/python" -m pip show label-studio 2>/dev/null || true)"
if [ -x "$VENV/bin/label-studio" ] && grep -qx "Version: ${LS_SPEC##*==}" <<<"$installed"; then
  echo "label studio already installed in $VENV"
  exit 0
fi
"$PYTHON" -m venv "$VENV"
# keep the environment out of git without touching the project's .gitignore
echo '*' > "$VENV/.gitignore"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "$LS_SPEC"
"$VENV/bin/python" -m pip show label-studio | grep -i "^version"
