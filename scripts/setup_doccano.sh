#!/usr/bin/env bash
# Install doccano (the server package, which carries its own data-import pipeline) into its own
# virtual environment (.venv-doccano) so tests/test_doccano_formats.py can load our JSONL files
# with doccano's own parsers and dataset loaders into a throwaway SQLite project.
# Installs under scripts/constraints/doccano.txt, a frozen set of every package a working install
# had, so a new release of some loosely pinned dependency cannot break the format tests (as
# sentry-sdk 3.0 broke Label Studio). Refresh it with `.venv-doccano/bin/pip freeze`.
# Idempotent: does nothing when the environment was built from the current constraints file.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${DOCCANO_VENV:-.venv-doccano}"
DOCCANO_SPEC="${DOCCANO_SPEC:-doccano==1.8.4}"

CONSTRAINTS="${DOCCANO_CONSTRAINTS:-scripts/constraints/doccano.txt}"
STAMP="$VENV/.installed-$(cat "$CONSTRAINTS" | cksum | cut -d' ' -f1)-${DOCCANO_SPEC##*==}"

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ]; then
  echo "doccano already installed in $VENV"
  exit 0
fi
"$PYTHON" -m venv "$VENV"
echo '*' > "$VENV/.gitignore"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# environs 9.x (pinned by doccano) reads marshmallow.__version_info__, gone in marshmallow 4;
# doccano pins pandas<2, whose wheels are built against numpy 1
"$VENV/bin/python" -m pip install --quiet --constraint "$CONSTRAINTS" "$DOCCANO_SPEC" \
  "marshmallow<3.21" "numpy<2"
rm -f "$VENV"/.installed-*
touch "$STAMP"
"$VENV/bin/python" -m pip show doccano | grep -i '^version'
