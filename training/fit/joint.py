"""Fine-tune one shared encoder with a label head and a tag head (``policy-clauses train joint``).

Each clause becomes (clause piece, context) windows (``inference.scoring.encoding.encode_joint``,
the call serving makes). The label loss (binary cross-entropy with per-label ``pos_weight``)
is taken on the first window's [CLS], the tag loss (token cross-entropy over IOB2 tags) on the
clause tokens of every window; the model is ``inference.scoring.joint.JointModule``. Dev is
scored through ``joint_scores``, the serving path; the best epoch is chosen by the mean of
label micro-F1 (at thresholds tuned on dev) and entity micro-F1.

The result is saved as the two standard folders ``classifier/`` and ``tagger/`` (each opens in
``transformers.pipeline``), with the same encoder weights and ``shared_encoder`` metadata that
lets ``load_scorer`` run the encoder once per clause.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from inference.records import Entity
from inference.schema import default_schema
from inference.scoring.align import IGNORE, pad_windows, token_tags
from inference.scoring.encoding import TITLE_MODES, encode_joint, format_context
from inference.scoring.model_folder import SharedEncoderMeta
from training.eval.metrics import EntityMetrics, LabelMetrics, entity_metrics, label_metrics
from training.eval.thresholds import ThresholdChoice
from training.fit.checkpoints import finish_checkpoints
from training.fit.classifier import (
    decide,
    init_missing_pooler,
    label_loss_fn,
    pos_weights,
    tune_thresholds,
)
from training.fit.config import JointConfig
from training.fit.data import (
    clause_inputs_of,
    entity_lists,
    label_sets,
    label_targets,
    load_training_data,
)
from training.fit.loop import FitResult, fit
from training.fit.setup import configure_threads, load_backbone_config, set_seed
from training.fit.storage import base_meta, save_model_folder
from training.fit.tagger import weighted_token_loss

log = logging.getLogger(__name__)


@dataclass
class JointDevMetrics:
    """Dev scores of one epoch: labels at dev-tuned thresholds, entities, and the mean that
    picks the epoch."""

    labels: LabelMetrics
    entities: EntityMetrics
    thresholds: dict[str, float]
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"labels": self.labels.to_dict(), "entities": self.entities.to_dict(),
                "thresholds": dict(self.thresholds), "score": self.score}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JointDevMetrics:
        return cls(LabelMetrics.from_dict(data["labels"]),
                   EntityMetrics.from_dict(data["entities"]),
                   dict(data["thresholds"]), float(data["score"]))


@dataclass
class JointResult:
    """What ``train_joint`` produced (``folder`` is None when stopped early)."""

    folder: Path | None
    fit: FitResult
    dev_metrics: JointDevMetrics | None
    thresholds: dict[str, float]
    module: Any = None
    tokenizer: Any = None


def build_module(config: JointConfig) -> tuple[Any, Any, Any, str]:
    """Tokenizer, joint module (sequence classifier + tag head), the tagger's HF config, and
    how the pooler was initialised."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from inference.scoring.joint import JointModule

    schema = default_schema()
    labels, tags = schema.label_names, schema.bio_tags
    backbone = config.model.backbone
    classifier_config = load_backbone_config(
        backbone, config.model.dropout, num_labels=len(labels),
        problem_type="multi_label_classification",
        id2label=dict(enumerate(labels)), label2id={name: i for i, name in enumerate(labels)})
    tagger_config = load_backbone_config(
        backbone, config.model.dropout, num_labels=len(tags),
        id2label=dict(enumerate(tags)), label2id={tag: i for i, tag in enumerate(tags)})
    tokenizer = AutoTokenizer.from_pretrained(backbone)
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"backbone {backbone!r} has no fast tokenizer: tagging needs offset "
                         "mappings (tokenizer.json)")
    set_seed(config.train.seed)
    sequence_model, info = AutoModelForSequenceClassification.from_pretrained(
        backbone, config=classifier_config, output_loading_info=True)
    pooler = init_missing_pooler(sequence_model, set(info.get("missing_keys", ())),
                                 config.model.pooler_init)
    head = torch.nn.Linear(classifier_config.hidden_size, len(tags))
    head.weight.data.normal_(0.0, getattr(classifier_config, "initializer_range", 0.02))
    head.bias.data.zero_()
    return tokenizer, JointModule(sequence_model, head), tagger_config, pooler


def joint_examples(tokenizer: Any, texts: list[str], contexts: list[str],
                   targets: list[list[float]], entities: list[list[Entity]],
                   weights: list[float], config: JointConfig,
                   untagged: list[bool] | None = None) -> list[dict[str, Any]]:
    """One example per window: ids, tag ids (``IGNORE`` off the clause, and everywhere for a
    clause marked ``untagged``), the clause's label targets and whether this window carries
    them (the first window of its clause)."""
    tag2id = {tag: i for i, tag in enumerate(default_schema().bio_tags)}
    encoded = encode_joint(tokenizer, texts, contexts, max_length=config.model.max_length,
                           stride=config.model.stride,
                           max_context_tokens=config.model.max_context_tokens)
    examples, seen = [], set()
    for window, index in enumerate(encoded["overflow_to_sample_mapping"]):
        tags = token_tags(encoded["offset_mapping"][window], entities[index], tag2id)
        if untagged is not None and untagged[index]:
            tags = [IGNORE] * len(tags)
        examples.append({
            "input_ids": encoded["input_ids"][window],
            "tags": tags,
            "targets": targets[index],
            "labelled": index not in seen,
            "weight": weights[index],
        })
        seen.add(index)
    return examples


def train_joint(config: JointConfig, *, resume: bool = False,
                stop_after_epoch: int | None = None) -> JointResult:
    """Train, choose the epoch and thresholds on dev, save ``classifier/`` and ``tagger/``."""
    import torch

    from inference.scoring.joint import encoder_sha256, joint_scores, tagger_from_joint

    configure_threads(config.train)
    schema = default_schema()
    labels, tags = schema.label_names, schema.bio_tags
    mode = config.model.context
    training = load_training_data(config.data, with_titles=mode in TITLE_MODES)
    train_split, dev_split = training.dataset["train"], training.dataset["dev"]
    train_inputs, dev_inputs = clause_inputs_of(train_split), clause_inputs_of(dev_split)
    tokenizer, module, tagger_config, pooler = build_module(config)
    device = config.train.device
    module.to(device)

    # Context dropout is drawn once (seeded), so a resumed run sees the same examples.
    rng = random.Random(config.train.seed)
    contexts = [format_context(i.section, i.title, mode)
                if rng.random() >= config.model.context_dropout else ""
                for i in train_inputs]
    targets = label_targets(train_split)
    weights = [float(w) for w in train_split["weight"]]
    untagged = None if config.data.weak_entities else list(train_split["weak"])
    examples = joint_examples(tokenizer, [i.text for i in train_inputs], contexts, targets,
                              entity_lists(train_split), weights, config, untagged)
    pw = pos_weights(targets, weights, config.train.max_pos_weight) if config.train.pos_weight \
        else [1.0] * len(labels)
    log.info("joint: %d windows from %d clauses", len(examples), len(train_inputs))
    label_loss = label_loss_fn(config.train.label_loss, pw, config.train.focal_gamma, device)
    tag_loss = torch.nn.CrossEntropyLoss(ignore_index=IGNORE, reduction="none")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    settings = SharedEncoderMeta(encoder_sha256="", context=mode,
                                 max_context_tokens=config.model.max_context_tokens,
                                 max_length=config.model.max_length, stride=config.model.stride)

    def loss_for_batch(model: Any, batch: list[int]) -> Any:
        ids, mask = pad_windows([examples[i]["input_ids"] for i in batch], pad_id)
        tag_ids, _ = pad_windows([examples[i]["tags"] for i in batch], IGNORE)
        label_logits, tag_logits = model(ids.to(device), mask.to(device))
        w = torch.tensor([examples[i]["weight"] for i in batch], device=device)
        carries = torch.tensor([float(examples[i]["labelled"]) for i in batch], device=device)
        y = torch.tensor([examples[i]["targets"] for i in batch], device=device)
        per_example = label_loss(label_logits, y).mean(dim=1)
        label_part = (per_example * w * carries).sum() / (w * carries).sum().clamp(min=1e-8)
        tag_part = weighted_token_loss(tag_loss, tag_logits, tag_ids.to(device), w)
        return label_part + config.train.tag_loss_weight * tag_part

    dev_texts = [i.text for i in dev_inputs]
    dev_contexts = [format_context(i.section, i.title, mode) for i in dev_inputs]
    dev_labels, dev_entities = label_sets(dev_split), entity_lists(dev_split)

    def evaluate(model: Any) -> tuple[float | None, JointDevMetrics | None]:
        if not dev_texts:
            return None, None
        probs, predicted = joint_scores(model, tokenizer, dev_texts, dev_contexts, tags,
                                        settings, batch_size=config.train.eval_batch_size,
                                        device=device)
        default = {name: config.train.threshold for name in labels}
        thresholds = (tune_thresholds(probs, dev_labels, labels, config.train.threshold)
                      if config.train.tune_thresholds else default)
        at_default = label_metrics(dev_labels, decide(probs, labels, default), labels)
        label_scores = replace(label_metrics(dev_labels, decide(probs, labels, thresholds),
                                             labels),
                               micro_f1_at_default_threshold=at_default.micro_f1)
        entity_scores = entity_metrics(dev_texts, dev_entities, predicted, schema.entity_names)
        score = {"labels": label_scores.micro_f1, "entities": entity_scores.micro.f1,
                 "mean": (label_scores.micro_f1 + entity_scores.micro.f1) / 2
                 }[config.train.select_by]
        return score, JointDevMetrics(label_scores, entity_scores, thresholds, round(score, 4))

    result = fit(module, config=config, lengths=[len(e["input_ids"]) for e in examples],
                 loss_for_batch=loss_for_batch, evaluate=evaluate, resume=resume,
                 stop_after_epoch=stop_after_epoch)
    best = JointDevMetrics.from_dict(result.best_metrics) if result.best_metrics else None
    thresholds = dict(best.thresholds if best else
                      {name: config.train.threshold for name in labels})
    if not result.finished:
        return JointResult(None, result, best, thresholds, module, tokenizer)

    module.eval().cpu()
    stored = torch.float16 if config.output.weights_dtype == "float16" else None
    shared = settings.model_copy(update={
        "encoder_sha256": encoder_sha256(module.sequence_model, stored)})
    out = Path(config.output.dir)
    common = {"shared_encoder": shared.model_dump(mode="json")}
    classifier_meta = base_meta(config, "classifier", training, result)
    classifier_meta.update({
        **common,
        "labels": labels,
        "thresholds": thresholds,
        "threshold_source": "dev" if config.train.tune_thresholds and training.dev
        else "config",
        "context": mode,
        "stride": 0,
        "pooler_init": pooler,
        "pos_weight": dict(zip(labels, [round(p, 3) for p in pw], strict=True)),
        "metrics": {"dev": best.labels.to_dict() if best else {}},
    })
    save_model_folder(out / "classifier", module.sequence_model, tokenizer, classifier_meta,
                      weights_dtype=config.output.weights_dtype)
    tagger_meta = base_meta(config, "tagger", training, result)
    tagger_meta.update({
        **common,
        "labels": tags,
        "tags": tags,
        "entity_types": schema.entity_names,
        "context": "none",
        "stride": config.model.stride,
        "entity_scoring": "seqeval strict, IOB2, character-level tag sequences",
        "alignment_loss": {},
        "metrics": {"dev": best.entities.to_dict() if best else {}},
    })
    save_model_folder(out / "tagger", tagger_from_joint(module, tagger_config), tokenizer,
                      tagger_meta, weights_dtype=config.output.weights_dtype)
    finish_checkpoints(config)
    if training.dev and config.train.tune_thresholds:
        thresholds = record_threshold_choice(out, config).thresholds
    from training.fit.model_card import write_combined_card

    write_combined_card(out)
    return JointResult(out, result, best, thresholds, module, tokenizer)


def record_threshold_choice(model_dir: Path, config: JointConfig, *,
                            refresh_dev_metrics: bool = False) -> ThresholdChoice:
    """Score dev with the saved model (the serving path), choose each label's threshold on
    all of dev, and measure how far it moves over 5 document folds of dev
    (``training.eval.thresholds.choose_thresholds``). The thresholds and the spread go into
    classifier/policy_clauses.json (``metrics.threshold_choice``), which the model card shows."""
    from inference.errors import UserError
    from inference.scoring.components import ClauseInput
    from inference.scoring.model_folder import read_meta, write_meta
    from inference.scoring.models import load_scorer
    from training.data.gold import file_sha256
    from training.eval.thresholds import choose_thresholds
    from training.fit.model_card import write_model_card

    labels = default_schema().label_names
    training = load_training_data(config.data,
                                  with_titles=config.model.context in TITLE_MODES)
    dev = training.dataset["dev"]
    if len(dev) == 0:
        raise UserError(f"{config.data.gold_path}: split {config.data.dev_split!r} has no "
                        f"clauses, so there is nothing to choose thresholds on for {model_dir}")
    scorer = load_scorer(model_dir)
    inputs: list[ClauseInput] = clause_inputs_of(dev)
    predictions = scorer.predict(inputs)
    probs = [[p.scores[name] for name in labels] for p in predictions]
    gold = label_sets(dev)
    choice = choose_thresholds(probs, gold, list(dev["doc_id"]), labels,
                               default=config.train.threshold)
    folder = Path(model_dir) / "classifier"
    meta = read_meta(folder, "classifier")
    metrics = dict(meta.metrics)
    # which dev the thresholds were chosen on: after `train thresholds`, not the training run's
    metrics["threshold_choice"] = {**choice.to_dict(), "dev_data": {
        "gold_sha256": file_sha256(Path(config.data.gold_path)),
        "splits_sha256": file_sha256(Path(config.data.splits_path)),
        "clauses": len(dev), "documents": len(set(dev["doc_id"]))}}
    if refresh_dev_metrics:
        # `train thresholds` on a model whose dev gold or sections changed since training:
        # the card's dev table is then today's dev at the new thresholds, not the training
        # run's figures beside thresholds they were not measured with.
        default = {name: config.train.threshold for name in labels}
        at_default = label_metrics(gold, decide(probs, labels, default), labels)
        metrics["dev"] = replace(
            label_metrics(gold, decide(probs, labels, choice.thresholds), labels),
            micro_f1_at_default_threshold=at_default.micro_f1).to_dict()
    updated = meta.model_copy(update={"thresholds": dict(choice.thresholds),
                                      "threshold_source": "dev (all of it; spread over 5 "
                                      "document folds in metrics)",
                                      "metrics": metrics})
    write_meta(folder, updated)
    # the part's own card was written with the folder, before this choice
    write_model_card(folder, updated.model_dump(mode="json"))
    return choice
