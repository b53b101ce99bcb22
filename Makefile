# Quick start: `make demo` (set up, then run predict on examples/) and `make test`.
# Both are idempotent: the virtual environment is made once and refreshed only when
# pyproject.toml changes.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU wheel of torch lies on disk for Python 3.11 here; a bare "torch" requirement would
# pull a multi-GB CUDA build. Override with TORCH_SPEC=... where another build is wanted.
TORCH_SPEC ?= torch==2.13.0
EXTRAS ?= train,export,scale,dev
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)-$(subst $(comma),_,$(EXTRAS))
comma := ,

.PHONY: setup demo test lint bench clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/policy-clauses predict examples -o out/demo.jsonl
	$(BIN)/python -m inference.summary out/demo.jsonl

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python benchmarks/bench_predict.py

clean-venv:
	rm -rf $(VENV)
