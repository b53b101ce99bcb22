#!/usr/bin/env bash
# Install doccano (the server package, which carries its own data-import pipeline) into its own
# virtual environment (.venv-doccano) so tests/test_doccano_formats.py can load our JSONL files
# with doccano's own parsers and dataset loaders into a throwaway SQLite project.
# Idempotent: does nothing when the pinned version is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${DOCCANO_VENV:-.venv-doccano}"
DOCCANO_SPEC="${DOCCANO_SPEC:-doccano==1.8.4}"

installed="$("$VENV/bin/python" -m pip show doccano 2>/dev/null || true)"
if grep -qx "Version: ${DOCCANO_SPEC##*==}" <<<"$installed"; then
  echo "doccano already installed in $VENV"
  exit 0
fi
"$PYTHON" -m venv "$VENV"
echo '*' > "$VENV/.gitignore"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# environs 9.x (pinned by doccano) reads marshmallow.__version_info__, gone in marshmallow 4;
# doccano pins pandas<2, whose wheels are built against numpy 1
"$VENV/bin/python" -m pip install --quiet "$DOCCANO_SPEC" "marshmallow<3.21" "numpy<2"
"$VENV/bin/python" -m pip show doccano | grep -i '^version'
