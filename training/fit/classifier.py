"""Fine-tune the multi-label clause classifier (goal, incentive, responsibility, timeline,
principle) as a standard ``AutoModelForSequenceClassification``.

What makes it work on the e5 backbone (plain lr 5e-5 / 6 epochs / threshold 0.5 reached
micro-F1 0.15): BCE with a per-label ``pos_weight``, a high learning rate for the freshly
initialised head (pooler + classifier) and a lower one for the encoder, ~10 epochs, a pooler
that starts as the identity, and per-label thresholds tuned on dev (never on test).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from inference.schema import default_schema
from inference.scoring.components import ClauseInput
from inference.scoring.encoding import TITLE_MODES, encode_for_classifier, format_context
from training.eval.metrics import LabelMetrics, label_metrics
from training.eval.thresholds import tune_thresholds
from training.fit.checkpoints import finish_checkpoints
from training.fit.config import ClassifierConfig
from training.fit.data import (
    TrainingData,
    clause_inputs_of,
    label_sets,
    label_targets,
    load_training_data,
)
from training.fit.loop import FitResult, fit
from training.fit.setup import configure_threads, load_backbone_config, set_seed
from training.fit.storage import base_meta, save_model_folder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClassifierDevMetrics:
    """Dev scores of one epoch at the thresholds chosen on dev, and those thresholds."""

    scores: LabelMetrics
    thresholds: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {**self.scores.to_dict(), "thresholds": dict(self.thresholds)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClassifierDevMetrics:
        return cls(LabelMetrics.from_dict(data), dict(data["thresholds"]))


@dataclass
class ClassifierResult:
    """What ``train_classifier`` produced (``folder`` is None when stopped early;
    ``dev_metrics`` is None when dev could not be scored)."""

    folder: Path | None
    fit: FitResult
    thresholds: dict[str, float]
    dev_metrics: LabelMetrics | None
    model: Any = None
    tokenizer: Any = None


def decide(probs: list[list[float]], labels: list[str],
           thresholds: dict[str, float]) -> list[list[str]]:
    return [[name for name, p in zip(labels, row, strict=True) if p >= thresholds[name]]
            for row in probs]


def pos_weights(targets: list[list[float]], weights: list[float], cap: float) -> list[float]:
    """negatives / positives per label over the (weighted) training examples, capped."""
    n_labels = len(targets[0]) if targets else 0
    out = []
    for j in range(n_labels):
        pos = sum(w * t[j] for t, w in zip(targets, weights, strict=True))
        neg = sum(w * (1 - t[j]) for t, w in zip(targets, weights, strict=True))
        out.append(min(cap, neg / pos) if pos > 0 else 1.0)
    return out


def label_loss_fn(kind: str, pos_weight: list[float], gamma: float, device: Any) -> Any:
    """Per-element label loss ``(logits, targets) -> loss`` (no reduction).

    ``focal`` is BCE with ``pos_weight`` times ``(1 - p_t)^gamma``, where ``p_t`` is the
    probability the model gives the true value: easy clauses (most of them are easy negatives)
    weigh less and the doubtful ones more (Lin et al. 2017). ``gamma`` 0 gives plain BCE.
    """
    import torch

    bce = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pos_weight, device=device),
                                     reduction="none")
    if kind == "bce":
        # float32 whatever the step's precision: a bf16 sigmoid keeps 3 significant digits.
        return lambda logits, targets: bce(logits.float(), targets)
    if kind != "focal":
        raise ValueError(f"unknown label loss {kind!r} (bce or focal)")

    def focal(logits: Any, targets: Any) -> Any:
        logits = logits.float()
        p = torch.sigmoid(logits)
        p_true = targets * p + (1 - targets) * (1 - p)
        return bce(logits, targets) * (1 - p_true).pow(gamma)

    return focal


def init_missing_pooler(model: Any, missing_keys: set[str], mode: str) -> str:
    """Start a pooler the backbone does not have as the identity (weight I, bias 0).

    e5 was trained with mean pooling and ships no pooler, so ``BertForSequenceClassification``
    would put a *random* dense+tanh layer between the [CLS] state and the classifier: the
    head then starts from scrambled features and, at a small learning rate, hardly learns
    (micro-F1 0.15). With the identity the head sees ``tanh(h_cls)`` of the pretrained
    encoder from step one, and the pooler is still trained (at the head's learning rate).
    """
    import torch

    base = getattr(model, getattr(model, "base_model_prefix", ""), None)
    pooler = getattr(base, "pooler", None)
    dense = getattr(pooler, "dense", None)
    if not any(".pooler." in key or key.startswith("pooler.") for key in missing_keys):
        return "pretrained"
    if mode != "identity" or dense is None:
        return "random"
    if dense.weight.shape[0] != dense.weight.shape[1]:
        return "random"
    with torch.no_grad():
        dense.weight.copy_(torch.eye(dense.weight.shape[0]))
        if dense.bias is not None:
            dense.bias.zero_()
    return "identity"


def build_model(config: ClassifierConfig) -> tuple[Any, Any, str]:
    """Tokenizer, classifier with the schema's labels, and how its pooler was initialised."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    labels = default_schema().label_names
    backbone = config.model.backbone
    hf_config = load_backbone_config(
        backbone, config.model.dropout, num_labels=len(labels),
        problem_type="multi_label_classification",
        id2label=dict(enumerate(labels)), label2id={name: i for i, name in enumerate(labels)})
    tokenizer = AutoTokenizer.from_pretrained(backbone)
    set_seed(config.train.seed)
    model, info = AutoModelForSequenceClassification.from_pretrained(
        backbone, config=hf_config, output_loading_info=True)
    pooler = init_missing_pooler(model, set(info.get("missing_keys", ())),
                                 config.model.pooler_init)
    log.info("classifier on %s: pooler %s", backbone, pooler)
    return tokenizer, model, pooler


def train_classifier(config: ClassifierConfig, *, resume: bool = False,
                     stop_after_epoch: int | None = None) -> ClassifierResult:
    """Train, tune thresholds on dev, save to ``config.output.dir / "classifier"``."""
    import torch

    configure_threads(config.train)
    schema = default_schema()
    labels = schema.label_names
    needs_title = config.model.context in TITLE_MODES
    training: TrainingData = load_training_data(config.data, with_titles=needs_title)
    train_split, dev_split = training.dataset["train"], training.dataset["dev"]
    train_inputs = clause_inputs_of(train_split)
    dev_inputs = clause_inputs_of(dev_split)
    dev_gold = label_sets(dev_split)

    tokenizer, model, pooler = build_model(config)
    model.to(config.train.device)
    encoded = _encode(tokenizer, train_inputs, config)
    targets = label_targets(train_split)
    weights = [float(w) for w in train_split["weight"]]
    pw = pos_weights(targets, weights, config.train.max_pos_weight) if config.train.pos_weight \
        else [1.0] * len(labels)
    device = config.train.device
    loss_fn = label_loss_fn(config.train.label_loss, pw, config.train.focal_gamma, device)

    def loss_for_batch(model: Any, batch: list[int]) -> Any:
        features = tokenizer.pad([encoded[i] for i in batch], return_tensors="pt")
        logits = model(**features.to(device)).logits
        y = torch.tensor([targets[i] for i in batch], device=device)
        w = torch.tensor([weights[i] for i in batch], device=device)
        per_example = loss_fn(logits, y).mean(dim=1)
        return (per_example * w).sum() / w.sum()

    def evaluate(model: Any) -> tuple[float | None, ClassifierDevMetrics | None]:
        if not any(dev_gold):
            return None, None
        probs = _probs(model, tokenizer, dev_inputs, config)
        default = {name: config.train.threshold for name in labels}
        thresholds = (tune_thresholds(probs, dev_gold, labels, config.train.threshold)
                      if config.train.tune_thresholds else default)
        at_default = label_metrics(dev_gold, decide(probs, labels, default), labels)
        scores = replace(label_metrics(dev_gold, decide(probs, labels, thresholds), labels),
                         micro_f1_at_default_threshold=at_default.micro_f1)
        return scores.micro_f1, ClassifierDevMetrics(scores, thresholds)

    result = fit(model, config=config, lengths=[len(e["input_ids"]) for e in encoded],
                 loss_for_batch=loss_for_batch, evaluate=evaluate, resume=resume,
                 stop_after_epoch=stop_after_epoch)
    best = ClassifierDevMetrics.from_dict(result.best_metrics) if result.best_metrics else None
    thresholds = dict(best.thresholds if best and best.thresholds
                      else {name: config.train.threshold for name in labels})
    dev_metrics = best.scores if best else None
    if not result.finished:
        return ClassifierResult(None, result, thresholds, dev_metrics, model, tokenizer)

    meta = base_meta(config, "classifier", training, result)
    meta.update({
        "labels": labels,
        "thresholds": thresholds,
        "threshold_source": "dev" if config.train.tune_thresholds and training.dev
        else "config",
        "context": config.model.context,
        "stride": 0,
        "pooler_init": pooler,
        "pos_weight": dict(zip(labels, [round(p, 3) for p in pw], strict=True)),
        "metrics": {"dev": dev_metrics.to_dict() if dev_metrics else {}},
    })
    folder = save_model_folder(Path(config.output.dir) / "classifier", model, tokenizer, meta,
                               weights_dtype=config.output.weights_dtype)
    finish_checkpoints(config)
    from training.fit.model_card import write_combined_card

    write_combined_card(Path(config.output.dir))
    return ClassifierResult(folder, result, thresholds, dev_metrics, model, tokenizer)


def _encode(tokenizer: Any, inputs: list[ClauseInput], config: ClassifierConfig) -> list[dict]:
    mode = config.model.context
    contexts = [format_context(i.section, i.title, mode) for i in inputs]
    batch = encode_for_classifier(tokenizer, [i.text for i in inputs], contexts,
                                  max_length=config.model.max_length, mode=mode)
    keys = [k for k in batch if k in ("input_ids", "attention_mask", "token_type_ids")]
    return [{k: batch[k][i] for k in keys} for i in range(len(inputs))]


def _probs(model: Any, tokenizer: Any, inputs: list[ClauseInput],
           config: ClassifierConfig) -> list[list[float]]:
    from inference.scoring.models import classifier_probabilities

    return classifier_probabilities(model, tokenizer, inputs, context=config.model.context,
                                    max_length=config.model.max_length,
                                    batch_size=config.train.eval_batch_size,
                                    device=config.train.device)
