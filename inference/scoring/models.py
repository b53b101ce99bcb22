"""Choosing and loading a clause scorer: a fine-tuned model folder, or the rule baseline.

A model folder holds two standard Hugging Face folders, ``classifier/``
(AutoModelForSequenceClassification, multi-label) and ``tagger/``
(AutoModelForTokenClassification, IOB2 over AMOUNT/AGENCY); each opens with
``transformers.pipeline`` and carries ``policy_clauses.json`` (label schema, thresholds, input
format, training config, metrics). Loading checks the labels against labels/schema.yaml.
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from inference.records import Entity
from inference.schema import LabelSchema, default_schema
from inference.scoring.components import ClauseInput, ClauseScorer, ClauseScores
from inference.scoring.encoding import encode_for_classifier, encode_for_tagger, format_context
from inference.scoring.runtime import FAST_MODES, apply_fast_path, cpu_has_bf16_units

log = logging.getLogger(__name__)

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "default"
META_FILE = "policy_clauses.json"


class ModelMismatchError(ValueError):
    """A model whose labels differ from labels/schema.yaml."""


def read_model_meta(folder: Path) -> dict[str, Any]:
    path = folder / META_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{folder} is not a policy-clauses model: {META_FILE} is missing (train one with "
            "'policy-clauses train classifier|tagger')"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def check_labels(found: list[str], expected: list[str], folder: Path, what: str) -> None:
    if list(found) != list(expected):
        raise ModelMismatchError(
            f"{folder}: the model's {what} {found} do not match labels/schema.yaml {expected}; "
            "retrain the model or use the schema it was trained with"
        )


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length: padding, not compute, is what batching
    wastes on short Chinese clauses."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


class ClassifierModel:
    """Multi-label clause classifier over a standard HF sequence-classification folder."""

    def __init__(self, folder: Path, schema: LabelSchema, device: str = "cpu",
                 fast: str = "none") -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.folder = folder
        self.meta = read_model_meta(folder)
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModelForSequenceClassification.from_pretrained(folder).eval().to(device)
        labels = [self.model.config.id2label[i] for i in range(self.model.config.num_labels)]
        check_labels(labels, schema.label_names, folder, "labels")
        self.labels = labels
        self.thresholds = [float(self.meta.get("thresholds", {}).get(name, 0.5)) for name in labels]
        self.context = self.meta.get("context", "section")
        self.max_length = int(self.meta.get("max_length", 128))
        self.device = device
        self.model = apply_fast_path(self.model, fast)

    def predict_proba(self, inputs: Sequence[ClauseInput],
                      batch_size: int = 64) -> list[list[float]]:
        return classifier_probabilities(self.model, self.tokenizer, inputs, context=self.context,
                                        max_length=self.max_length, batch_size=batch_size,
                                        device=self.device)


def classifier_probabilities(
    model: Any, tokenizer: Any, inputs: Sequence[ClauseInput], *, context: str, max_length: int,
    batch_size: int = 64, device: str = "cpu",
) -> list[list[float]]:
    """Per-label sigmoid probabilities of a sequence-classification model: the one scoring
    path of serving and of dev evaluation during training."""
    import torch

    texts = [item.text for item in inputs]
    contexts = [format_context(item.section, item.title, context) for item in inputs]
    probs: list[list[float]] = [[] for _ in inputs]
    lengths = [len(t) + len(c) for t, c in zip(texts, contexts, strict=True)]
    with torch.inference_mode():
        for batch in length_sorted_batches(lengths, batch_size):
            encoded = encode_for_classifier(
                tokenizer, [texts[i] for i in batch], [contexts[i] for i in batch],
                max_length=max_length, mode=context, padding=True, return_tensors="pt",
            )
            logits = model(**encoded.to(device)).logits
            for row, index in zip(torch.sigmoid(logits.float()).tolist(), batch,
                                  strict=True):
                probs[index] = row
    return probs


class TaggerModel:
    """AMOUNT/AGENCY tagger over a standard HF token-classification folder; clauses longer
    than the window are tagged in overlapping windows so no entity is lost at a cut."""

    def __init__(self, folder: Path, schema: LabelSchema, device: str = "cpu",
                 fast: str = "none") -> None:
        from transformers import AutoModelForTokenClassification, AutoTokenizer

        self.folder = folder
        self.meta = read_model_meta(folder)
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModelForTokenClassification.from_pretrained(folder).eval().to(device)
        tags = [self.model.config.id2label[i] for i in range(self.model.config.num_labels)]
        check_labels(tags, schema.bio_tags, folder, "tags")
        self.tags = tags
        self.max_length = int(self.meta.get("max_length", 128))
        self.stride = int(self.meta.get("stride", 32))
        self.device = device
        self.model = apply_fast_path(self.model, fast)

    def predict_entities(self, texts: Sequence[str], batch_size: int = 64) -> list[list[Entity]]:
        return tagger_entities(self.model, self.tokenizer, texts, self.tags,
                               max_length=self.max_length, stride=self.stride,
                               batch_size=batch_size, device=self.device)


def tagger_entities(
    model: Any, tokenizer: Any, texts: Sequence[str], tags: Sequence[str], *, max_length: int,
    stride: int, batch_size: int = 64, device: str = "cpu",
) -> list[list[Entity]]:
    """Entities from a token-classification model over the same overlapping windows training
    used (``encode_for_tagger``); windows of one text are merged by ``decode_windows``."""
    import torch

    from inference.scoring.align import decode_windows

    encoded = encode_for_tagger(tokenizer, texts, max_length=max_length, stride=stride)
    window_doc = encoded["overflow_to_sample_mapping"]
    n_windows = len(encoded["input_ids"])
    window_probs: list[Any] = [None] * n_windows
    lengths = [len(ids) for ids in encoded["input_ids"]]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    with torch.inference_mode():
        for batch in length_sorted_batches(lengths, batch_size):
            width = max(lengths[i] for i in batch)
            ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, index in enumerate(batch):
                seq = encoded["input_ids"][index]
                ids[row, :len(seq)] = torch.tensor(seq)
                mask[row, :len(seq)] = 1
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
            probs = torch.softmax(logits.float(), dim=-1).cpu()
            for row, index in enumerate(batch):
                window_probs[index] = probs[row, :lengths[index]].numpy()
    per_text: list[list[tuple[list[tuple[int, int]], Any]]] = [[] for _ in texts]
    for window in range(n_windows):
        per_text[window_doc[window]].append(
            (encoded["offset_mapping"][window], window_probs[window]))
    return [well_formed(decode_windows(text, windows, tags))
            for text, windows in zip(texts, per_text, strict=True)]


# GUIDELINES §3: an AMOUNT is a sum of money with its unit; "amounts with no money unit" are
# excluded. The tagger, decoding tags per character, now and then leaves a fragment such as
# the "五" of "五倍" or the "." of "17.75%" tagged AMOUNT; no such span can be right.
_MONEY_UNIT = re.compile(r"[元圆角分厘镑]|美金|卢布|法郎|比索|钱")


def well_formed(entities: list[Entity]) -> list[Entity]:
    """Entities that can be what their type says: AMOUNT spans need a money unit."""
    return [e for e in entities if e.type != "AMOUNT" or _MONEY_UNIT.search(e.text)]


class ModelScorer:
    """Fine-tuned classifier + tagger as a clause scorer."""

    def __init__(self, folder: Path, schema: LabelSchema | None = None, device: str = "cpu",
                 fast: str = "none") -> None:
        self.schema = schema or default_schema()
        self.classifier = ClassifierModel(folder / "classifier", self.schema, device, fast)
        self.tagger = TaggerModel(folder / "tagger", self.schema, device, fast)
        self.name = f"model:{folder}" + (f" ({fast})" if fast != "none" else "")

    def predict(self, inputs: Sequence[ClauseInput]) -> list[ClauseScores]:
        probs = self.classifier.predict_proba(inputs)
        entities = self.tagger.predict_entities([item.text for item in inputs])
        out = []
        for row, ents in zip(probs, entities, strict=True):
            scores = dict(zip(self.classifier.labels, row, strict=True))
            labels = [name for name, p, t in zip(self.classifier.labels, row,
                                                  self.classifier.thresholds, strict=True)
                      if p >= t]
            out.append(ClauseScores(scores=scores, labels=labels, entities=ents))
        return out


def load_scorer(model: str | Path | None = None, *, rules: bool = False,
                fast: str = "none", device: str = "cpu") -> ClauseScorer:
    """``--rules`` → the rule baseline; ``--model DIR`` → that model; neither → models/default
    when it holds a model, else the rule baseline (with a log line saying so). ``fast`` is a
    mode of ``inference.scoring.runtime.FAST_MODES`` (``none``, ``int8``, ``bf16``)."""
    from inference.scoring.rules import RuleScorer

    if fast not in FAST_MODES:
        raise ValueError(f"unknown --fast mode {fast!r}; expected one of {FAST_MODES}")
    if rules:
        return RuleScorer()
    folder = Path(model) if model else DEFAULT_MODEL_DIR
    if model is None and not (folder / "classifier" / META_FILE).is_file():
        log.info("no model in %s: using the rule baseline", folder)
        return RuleScorer()
    if not folder.is_dir():
        raise FileNotFoundError(f"model folder {folder} does not exist")
    if fast == "bf16" and device == "cpu" and not cpu_has_bf16_units():
        log.warning("--fast bf16: this CPU has no AMX/AVX-512 BF16 units; bf16 will be "
                    "emulated and may be slower than float32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return ModelScorer(folder, device=device, fast=fast)


__all__ = [
    "ClauseScorer",
    "ModelMismatchError",
    "ModelScorer",
    "classifier_probabilities",
    "length_sorted_batches",
    "load_scorer",
    "tagger_entities",
    "well_formed",
]
