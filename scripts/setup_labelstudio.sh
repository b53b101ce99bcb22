#!/usr/bin/env bash
# Install Label Studio into its own virtual environment (.venv-ls) for the review-loop
# integration test (tests/test_labelstudio_integration.py). Separate from .venv because Label
# Studio pins Django, pydantic and friends that must not leak into the project's environment.
# Installs under scripts/constraints/labelstudio.txt, a frozen set of every package a working
# install had: label-studio 1.23 asks only for sentry-sdk>=2.16, and sentry-sdk 3.0 (Dec 2026)
# makes it exit at start ("Unknown option 'send_default_pii'"). Refresh that file with
# `.venv-ls/bin/pip freeze` after a deliberate upgrade.
# Idempotent: does nothing when the environment was built from the current constraints file.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${LS_VENV:-.venv-ls}"
LS_SPEC="${LS_SPEC:-label-studio==1.23.0}"

CONSTRAINTS="${LS_CONSTRAINTS:-scripts/constraints/labelstudio.txt}"
STAMP="$VENV/.installed-$(cat "$CONSTRAINTS" | cksum | cut -d' ' -f1)-${LS_SPEC##*==}"

if [ -x "$VENV/bin/label-studio" ] && [ -f "$STAMP" ]; then
  echo "label studio already installed in $VENV"
  exit 0
fi
"$PYTHON" -m venv "$VENV"
# keep the environment out of git without touching the project's .gitignore
echo '*' > "$VENV/.gitignore"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet --constraint "$CONSTRAINTS" "$LS_SPEC"
rm -f "$VENV"/.installed-*
touch "$STAMP"
"$VENV/bin/python" -m pip show label-studio | grep -i "^version"
