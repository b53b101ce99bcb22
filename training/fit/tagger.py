"""Fine-tune the AMOUNT/AGENCY tagger as a standard ``AutoModelForTokenClassification``.

Gold character spans become one IOB2 tag per token through the tokenizer's offset mapping
(``inference.scoring.align.token_tags``). Clauses longer than ``max_length`` are cut into
overlapping windows by ``inference.scoring.encoding.encode_for_tagger`` — the same call serving
makes — and every window is a training example; at inference ``decode_windows`` merges the
windows back.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inference.records import Entity
from inference.schema import default_schema
from inference.scoring.align import IGNORE, decode_windows, pad_windows, token_tags
from inference.scoring.encoding import encode_for_tagger
from training.eval.metrics import EntityMetrics, entity_metrics
from training.fit.checkpoints import finish_checkpoints
from training.fit.config import TaggerConfig
from training.fit.data import entity_lists, load_training_data
from training.fit.loop import FitResult, fit
from training.fit.setup import configure_threads, load_backbone_config, set_seed
from training.fit.storage import base_meta, save_model_folder

log = logging.getLogger(__name__)


@dataclass
class TaggerResult:
    """What ``train_tagger`` produced (``folder`` is None when stopped early;
    ``dev_metrics`` is None when dev could not be scored)."""

    folder: Path | None
    fit: FitResult
    dev_metrics: EntityMetrics | None
    alignment: dict[str, Any]
    model: Any = None
    tokenizer: Any = None


def window_examples(tokenizer: Any, texts: Sequence[str], entities: Sequence[Sequence[Entity]],
                    weights: Sequence[float], tags: Sequence[str], *, max_length: int,
                    stride: int) -> list[dict[str, Any]]:
    """One example per token window: ids, IOB2 tag ids (``IGNORE`` on special tokens) and the
    loss weight of the clause it came from."""
    tag2id = {tag: i for i, tag in enumerate(tags)}
    encoded = encode_for_tagger(tokenizer, list(texts), max_length=max_length, stride=stride)
    examples = []
    for window, index in enumerate(encoded["overflow_to_sample_mapping"]):
        examples.append({
            "input_ids": list(encoded["input_ids"][window]),
            "labels": token_tags(encoded["offset_mapping"][window], list(entities[index]),
                                 tag2id),
            "weight": float(weights[index]),
        })
    return examples


def alignment_report(tokenizer: Any, texts: Sequence[str], entities: Sequence[Sequence[Entity]],
                     tags: Sequence[str], *, max_length: int, stride: int,
                     examples: int = 5) -> dict[str, Any]:
    """How many gold entities the tokenisation itself loses.

    ``boundary``: the entity's exact character span does not start at a token start or end at
    a token end, so no tagging can produce it. ``round_trip``: the gold token tags, as one-hot
    probabilities over the real windows, decoded by ``decode_windows`` do not give the span
    back (adds entities that share a token with a neighbour, and window merging). Both are
    ceilings on entity recall whatever the model learns.
    """
    tag2id = {tag: i for i, tag in enumerate(tags)}
    texts = list(texts)
    encoded = encode_for_tagger(tokenizer, texts, max_length=max_length, stride=stride)
    windows: list[list[tuple[Any, Any]]] = [[] for _ in texts]
    for window, index in enumerate(encoded["overflow_to_sample_mapping"]):
        offsets = encoded["offset_mapping"][window]
        ids = token_tags(offsets, list(entities[index]), tag2id)
        probs = np.zeros((len(ids), len(tags)))
        for row, tag in enumerate(ids):
            probs[row, tag2id["O"] if tag == IGNORE else tag] = 1.0
        windows[index].append((offsets, probs))
    total = boundary = round_trip = 0
    lost: list[dict[str, Any]] = []
    for gold, text, text_windows in zip(entities, texts, windows, strict=True):
        starts, ends = set(), set()
        for offsets, _ in text_windows:
            for start, end in offsets:
                if start < end:
                    while start < end and text[start].isspace():
                        start += 1
                    starts.add(start)
                    ends.add(end)
        decoded = {(e.start, e.end, e.type) for e in decode_windows(text, text_windows, tags)}
        for entity in gold:
            total += 1
            bad_boundary = entity.start not in starts or entity.end not in ends
            boundary += bad_boundary
            if (entity.start, entity.end, entity.type) not in decoded:
                round_trip += 1
                if len(lost) < examples:
                    lost.append({"text": entity.text, "type": entity.type,
                                 "clause": text[max(0, entity.start - 10):entity.end + 10]})
    return {
        "entities": total,
        "boundary_lost": boundary,
        "boundary_share": round(boundary / total, 4) if total else 0.0,
        "round_trip_lost": round_trip,
        "round_trip_share": round(round_trip / total, 4) if total else 0.0,
        "examples": lost,
    }


def weighted_token_loss(loss_fn: Any, logits: Any, tag_ids: Any, weights: Any) -> Any:
    """Token cross-entropy (``loss_fn`` with ``reduction="none"``) averaged over real tokens,
    each weighted by its window's example weight; ``IGNORE`` tags count for nothing."""
    per_token = loss_fn(logits.float().reshape(-1, logits.shape[-1]), tag_ids.reshape(-1))
    w = weights[:, None].expand_as(tag_ids).reshape(-1) * (tag_ids.reshape(-1) != IGNORE)
    return (per_token * w).sum() / w.sum().clamp(min=1e-8)


def build_model(config: TaggerConfig) -> tuple[Any, Any]:
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    tags = default_schema().bio_tags
    hf_config = load_backbone_config(
        config.model.backbone, config.model.dropout, num_labels=len(tags),
        id2label=dict(enumerate(tags)), label2id={tag: i for i, tag in enumerate(tags)})
    tokenizer = AutoTokenizer.from_pretrained(config.model.backbone)
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"backbone {config.model.backbone!r} has no fast tokenizer: the tagger "
                         "needs offset mappings (tokenizer.json)")
    set_seed(config.train.seed)
    model = AutoModelForTokenClassification.from_pretrained(config.model.backbone,
                                                            config=hf_config)
    return tokenizer, model


def train_tagger(config: TaggerConfig, *, resume: bool = False,
                 stop_after_epoch: int | None = None) -> TaggerResult:
    """Train on windows, select the epoch by dev entity F1, save to ``output.dir/tagger``."""
    import torch

    from inference.scoring.models import tagger_entities

    configure_threads(config.train)
    schema = default_schema()
    tags = schema.bio_tags
    training = load_training_data(config.data)
    train_split, dev_split = training.dataset["train"], training.dataset["dev"]
    tokenizer, model = build_model(config)
    device = config.train.device
    model.to(device)
    train_texts, train_entities = list(train_split["text"]), entity_lists(train_split)
    examples = window_examples(tokenizer, train_texts, train_entities,
                               [float(w) for w in train_split["weight"]], tags,
                               max_length=config.model.max_length, stride=config.model.stride)
    dev_texts, dev_gold = list(dev_split["text"]), entity_lists(dev_split)
    gold_train = len(training.train)  # the train split's gold rows come before the weak ones
    alignment = {
        "train": alignment_report(tokenizer, train_texts[:gold_train],
                                  train_entities[:gold_train], tags,
                                  max_length=config.model.max_length, stride=config.model.stride),
        "dev": alignment_report(tokenizer, dev_texts, dev_gold, tags,
                                max_length=config.model.max_length, stride=config.model.stride),
    }
    log.info("tagger: %d windows from %d clauses; alignment loss (train) %.2f%%",
             len(examples), len(train_texts), 100 * alignment["train"]["round_trip_share"])
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=IGNORE, reduction="none")

    def loss_for_batch(model: Any, batch: list[int]) -> Any:
        ids, mask = pad_windows([examples[i]["input_ids"] for i in batch], pad_id)
        labels, _ = pad_windows([examples[i]["labels"] for i in batch], IGNORE)
        logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
        w = torch.tensor([examples[i]["weight"] for i in batch], device=device)
        return weighted_token_loss(loss_fn, logits, labels.to(device), w)

    def evaluate(model: Any) -> tuple[float | None, EntityMetrics | None]:
        if not any(dev_gold):
            return None, None
        predicted = tagger_entities(model, tokenizer, dev_texts, tags,
                                    max_length=config.model.max_length,
                                    stride=config.model.stride,
                                    batch_size=config.train.eval_batch_size, device=device)
        metrics = entity_metrics(dev_texts, dev_gold, predicted, schema.entity_names)
        return metrics.micro.f1, metrics

    result = fit(model, config=config, lengths=[len(e["input_ids"]) for e in examples],
                 loss_for_batch=loss_for_batch, evaluate=evaluate, resume=resume,
                 stop_after_epoch=stop_after_epoch)
    dev_metrics = EntityMetrics.from_dict(result.best_metrics) if result.best_metrics else None
    if not result.finished:
        return TaggerResult(None, result, dev_metrics, alignment, model, tokenizer)

    meta = base_meta(config, "tagger", training, result)
    meta.update({
        "labels": tags,
        "tags": tags,
        "entity_types": schema.entity_names,
        "context": "none",
        "stride": config.model.stride,
        "entity_scoring": "seqeval strict, IOB2, character-level tag sequences",
        "alignment_loss": alignment,
        "metrics": {"dev": result.best_metrics},
    })
    folder = save_model_folder(Path(config.output.dir) / "tagger", model, tokenizer, meta,
                               weights_dtype=config.output.weights_dtype)
    finish_checkpoints(config)
    from training.fit.model_card import write_combined_card

    write_combined_card(Path(config.output.dir))
    return TaggerResult(folder, result, dev_metrics, alignment, model, tokenizer)
