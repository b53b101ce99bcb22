"""What the classifier and tagger trainers share: data assembly, seeding, batching, the epoch
loop with checkpoints (``--resume``), and saving a model folder.

A small own loop rather than ``transformers.Trainer``: it needs no ``accelerate``, runs on two
CPU cores, and makes resumption exact (the batch order of an epoch depends only on the seed and
the epoch number; the dropout RNG is restored from the checkpoint).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inference.scoring.components import ClauseInput
from inference.scoring.model_folder import write_meta
from training.data import gold as gold_data
from training.fit.config import AnyConfig, DataSection, TrainSection, checkpoint_dir, config_to_dict

log = logging.getLogger(__name__)

CHECKPOINT_FILE = "last.pt"
BEST_FILE = "best.pt"


# --- data ----------------------------------------------------------------------------------


@dataclass
class TrainingData:
    """Gold train/dev records (plus weak training records when the config asks for them)."""

    train: list[dict[str, Any]]
    dev: list[dict[str, Any]]
    weak: list[dict[str, Any]] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)

    def train_with_weights(self, weak_weight: float) -> list[tuple[dict[str, Any], float]]:
        return [(r, 1.0) for r in self.train] + [(r, weak_weight) for r in self.weak]


def load_training_data(section: DataSection) -> TrainingData:
    """Records of the configured splits, validated; weak records only when ``weak_path`` is
    set, minus any clause of a dev/test document (those documents must stay unseen)."""
    for path in (section.gold_path, section.splits_path):
        if not Path(path).is_file():
            raise FileNotFoundError(
                f"{path} not found: build the gold data first ('policy-clauses labels build', "
                "'policy-clauses labels splits') or set data.gold_path / data.splits_path")
    records = gold_data.read_jsonl(Path(section.gold_path))
    problems = gold_data.validate_records(records, str(section.gold_path))
    if problems:
        raise ValueError(f"{section.gold_path}: {len(problems)} problem(s), first: {problems[0]} "
                         "(run 'policy-clauses labels validate')")
    splits = gold_data.load_splits(Path(section.splits_path))
    train = gold_data.records_for_split(records, section.train_split, splits)
    dev = gold_data.records_for_split(records, section.dev_split, splits)
    if not train:
        raise ValueError(f"split {section.train_split!r} of {section.splits_path} has no clauses "
                         f"in {section.gold_path}")
    weak: list[dict[str, Any]] = []
    manifest = data_manifest(section)
    manifest.update(weak_sha256=None, weak_dropped_held_out=None)
    if section.weak_path is not None:
        held_out = {d for name, ids in splits.items() if name != section.train_split for d in ids}
        raw = gold_data.read_jsonl(Path(section.weak_path))
        problems = gold_data.validate_records(raw, str(section.weak_path))
        if problems:
            raise ValueError(f"{section.weak_path}: {len(problems)} problem(s), first: "
                             f"{problems[0]}")
        weak = [r for r in raw if r["doc_id"] not in held_out]
        manifest["weak_sha256"] = gold_data.file_sha256(Path(section.weak_path))
        manifest["weak_dropped_held_out"] = len(raw) - len(weak)
    manifest.update({"train_clauses": len(train), "dev_clauses": len(dev),
                     "weak_clauses": len(weak),
                     "train_documents": len({r["doc_id"] for r in train}),
                     "dev_documents": len({r["doc_id"] for r in dev})})
    return TrainingData(train=train, dev=dev, weak=weak, manifest=manifest)


def data_manifest(section: DataSection) -> dict[str, Any]:
    """What identifies the data a model learnt from: hashes of gold.jsonl and splits.json."""
    return {
        "gold_path": str(section.gold_path),
        "gold_sha256": gold_data.file_sha256(Path(section.gold_path)),
        "splits_path": str(section.splits_path),
        "splits_sha256": gold_data.file_sha256(Path(section.splits_path)),
    }


def document_titles(documents_path: Path | None, doc_ids: set[str]) -> dict[str, str]:
    """Titles of documents as ``predict`` sees them (``meta["title"]`` after cleaning), so a
    model trained with title context gets the same string at serve time."""
    if documents_path is None or not Path(documents_path).is_file() or not doc_ids:
        return {}
    from inference.records import ErrorRecord
    from inference.text.ingest import iter_jsonl_lines
    from inference.text.pipeline import EmptyDocumentError, build_document

    titles: dict[str, str] = {}
    with Path(documents_path).open(encoding="utf-8") as handle:
        for raw in iter_jsonl_lines(handle, str(documents_path)):
            if isinstance(raw, ErrorRecord) or raw.doc_id not in doc_ids:
                continue
            try:
                titles[raw.doc_id] = str(build_document(raw).meta.get("title", "") or "")
            except EmptyDocumentError:
                continue
    return titles


def clause_inputs(records: Sequence[dict[str, Any]], titles: dict[str, str]) -> list[ClauseInput]:
    """What a scorer sees of each record: text, heading path and the document title (a
    record's own ``title`` field wins)."""
    return [ClauseInput(text=r["text"], section=r.get("section", "") or "",
                        title=str(r.get("title") or titles.get(r.get("doc_id", ""), "")))
            for r in records]


# --- seeding and batching ------------------------------------------------------------------


def set_seed(seed: int) -> None:
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def epoch_batches(lengths: Sequence[int], batch_size: int, seed: int, epoch: int,
                  group_by_length: bool) -> list[list[int]]:
    """Batches of one epoch. The order depends only on (seed, epoch), which is what makes a
    resumed run identical to an uninterrupted one. With ``group_by_length``, examples are
    shuffled, cut into mega-batches of 50 batches, sorted by length within each, and the
    batches shuffled again (the transformers ``LengthGroupedSampler`` idea)."""
    import torch

    generator = torch.Generator().manual_seed(seed * 10_007 + epoch)
    order = torch.randperm(len(lengths), generator=generator).tolist()
    if group_by_length:
        mega = batch_size * 50
        order = [i for start in range(0, len(order), mega)
                 for i in sorted(order[start:start + mega], key=lambda j: -lengths[j])]
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if group_by_length:
        perm = torch.randperm(len(batches), generator=generator).tolist()
        batches = [batches[i] for i in perm]
    return batches


# --- the epoch loop ------------------------------------------------------------------------


def is_head_parameter(name: str) -> bool:
    """Parameters that start untrained: the pooler and the classification layer."""
    return name.startswith(("classifier.", "score.")) or ".pooler." in name


def build_optimizer(model: Any, train: TrainSection) -> Any:
    """AdamW with four groups: encoder vs head learning rate, with vs without weight decay."""
    import torch

    groups: dict[tuple[bool, bool], list[Any]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        no_decay = name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name
        groups.setdefault((is_head_parameter(name), no_decay), []).append(param)
    param_groups = [
        {"params": params, "lr": train.head_lr if head else train.lr,
         "weight_decay": 0.0 if no_decay else train.weight_decay}
        for (head, no_decay), params in sorted(groups.items())
    ]
    return torch.optim.AdamW(param_groups)


@dataclass
class FitResult:
    """The outcome of ``fit``: finished or stopped early (``stop_after_epoch``)."""

    finished: bool
    epochs_done: int
    best_epoch: int
    best_score: float | None
    best_metrics: dict[str, Any]
    history: list[dict[str, Any]]
    seconds: float


StepFn = Callable[[Any, list[int]], Any]
EvalFn = Callable[[Any], tuple[float | None, dict[str, Any]]]


def _fingerprint(config: AnyConfig) -> dict[str, Any]:
    """The parts of a config a checkpoint must agree with to be resumed (not the output)."""
    resolved = config_to_dict(config)
    return {k: v for k, v in resolved.items() if k != "output"}


def fit(model: Any, *, config: AnyConfig, lengths: Sequence[int], loss_for_batch: StepFn,
        evaluate: EvalFn, resume: bool = False, stop_after_epoch: int | None = None) -> FitResult:
    """Train ``model`` for ``config.train.epochs`` epochs, evaluating on dev after each one.

    ``loss_for_batch(model, indices)`` returns the loss of one batch; ``evaluate(model)``
    returns (score to maximise or None, metrics). After every epoch the full training state
    goes to the checkpoint folder, so ``resume=True`` continues exactly where a run stopped.
    On return the model holds the best epoch's weights (``train.select_best``) or the last.
    """
    import torch
    from transformers import get_linear_schedule_with_warmup

    train = config.train
    ckpt_dir = checkpoint_dir(config)
    started = time.monotonic()
    batches_per_epoch = math.ceil(len(lengths) / train.batch_size)
    total_steps = batches_per_epoch * train.epochs
    optimizer = build_optimizer(model, train)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(train.warmup_ratio * total_steps), max(total_steps, 1))
    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"epoch": 0, "score": None, "metrics": {}}
    first_epoch = 1
    fingerprint = _fingerprint(config)

    if resume:
        state = load_checkpoint(ckpt_dir)
        if state is None:
            log.warning("--resume: no checkpoint in %s; starting from the beginning", ckpt_dir)
        else:
            if state["config"] != fingerprint:
                changed = sorted(k for k in set(state["config"]) | set(fingerprint)
                                 if state["config"].get(k) != fingerprint.get(k))
                raise ValueError(
                    f"the checkpoint in {ckpt_dir} was made with a different config (sections "
                    f"{changed} differ); resume with the same config or start without --resume")
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            torch.set_rng_state(state["rng"])
            history = list(state["history"])
            best = dict(state["best"])
            first_epoch = int(state["epoch"]) + 1
            log.info("resumed from %s after epoch %d", ckpt_dir, first_epoch - 1)
    elif ckpt_dir.exists():
        shutil.rmtree(ckpt_dir)

    for epoch in range(first_epoch, train.epochs + 1):
        model.train()
        total, steps = 0.0, 0
        for batch in epoch_batches(lengths, train.batch_size, train.seed, epoch,
                                   train.group_by_length):
            loss = loss_for_batch(model, batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), train.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            total += float(loss.detach())
            steps += 1
        model.eval()
        score, metrics = evaluate(model)
        row = {"epoch": epoch, "loss": round(total / max(steps, 1), 5), "dev_score": score,
               "dev": metrics}
        history.append(row)
        log.info("epoch %d/%d: loss %.4f, dev score %s", epoch, train.epochs, row["loss"],
                 "n/a" if score is None else f"{score:.4f}")
        # Ties go to the later epoch (more training, same dev score); an unscoreable dev
        # (None: empty, or no gold positives) keeps the last epoch.
        improved = score is None or best["score"] is None or score >= best["score"]
        if not train.select_best or improved:
            best = {"epoch": epoch, "score": score, "metrics": metrics}
            ckpt_dir.mkdir(parents=True, exist_ok=True)
            torch.save(model.state_dict(), ckpt_dir / BEST_FILE)
        save_checkpoint(ckpt_dir, {
            "epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "rng": torch.get_rng_state(),
            "history": history, "best": best, "config": fingerprint,
        })
        if stop_after_epoch is not None and epoch >= stop_after_epoch and epoch < train.epochs:
            return FitResult(False, epoch, best["epoch"], best["score"], best["metrics"],
                             history, time.monotonic() - started)

    if (ckpt_dir / BEST_FILE).is_file():
        model.load_state_dict(torch.load(ckpt_dir / BEST_FILE, weights_only=True))
    model.eval()
    return FitResult(True, train.epochs, best["epoch"], best["score"], best["metrics"], history,
                     time.monotonic() - started)


def save_checkpoint(folder: Path, state: dict[str, Any]) -> None:
    """Write atomically: an interrupted write never leaves a half checkpoint behind."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (CHECKPOINT_FILE + ".tmp")
    torch.save(state, tmp)
    tmp.replace(folder / CHECKPOINT_FILE)


def load_checkpoint(folder: Path) -> dict[str, Any] | None:
    import torch

    path = folder / CHECKPOINT_FILE
    if not path.is_file():
        return None
    return torch.load(path, weights_only=True)


def finish_checkpoints(config: AnyConfig) -> None:
    if not config.output.keep_checkpoints:
        shutil.rmtree(checkpoint_dir(config), ignore_errors=True)


# --- saving --------------------------------------------------------------------------------


def store_weights_half(folder: Path) -> None:
    """Store a saved model's floating-point weights as float16 while its config keeps float32
    as the compute dtype: transformers upcasts on load, so the folder is half the size and
    still runs (and opens in ``pipeline()``) in float32 on a CPU."""
    import torch
    from safetensors.torch import load_file, save_file

    path = Path(folder) / "model.safetensors"
    tensors = load_file(str(path))
    half = {k: v.to(torch.float16) if v.is_floating_point() else v for k, v in tensors.items()}
    save_file(half, str(path), metadata={"format": "pt"})
    config_path = Path(folder) / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["dtype"] = "float32"
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n",
                           encoding="utf-8")


def save_model_folder(folder: Path, model: Any, tokenizer: Any, meta: dict[str, Any],
                      weights_dtype: str = "float32") -> Path:
    """``save_pretrained`` + tokenizer + ``policy_clauses.json`` + README model card, written
    to a sibling temp folder first and swapped in, so a crash never leaves a half model."""
    from training.fit.model_card import write_model_card

    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    model.save_pretrained(tmp)
    if weights_dtype == "float16":
        store_weights_half(tmp)
    tokenizer.save_pretrained(tmp)
    _portable_tokenizer_class(tmp)
    written = write_meta(tmp, meta)  # validated: metadata that would not load is refused here
    write_model_card(tmp, json.loads(written.read_text(encoding="utf-8")))
    if folder.exists():
        shutil.rmtree(folder)
    tmp.replace(folder)
    return folder


def _portable_tokenizer_class(folder: Path) -> None:
    """transformers 5 writes its internal ``TokenizersBackend`` class name; the public
    ``PreTrainedTokenizerFast`` loads the same ``tokenizer.json`` there and under
    transformers 4 (as training/fit/backbone.py does)."""
    path = folder / "tokenizer_config.json"
    if not path.is_file():
        return
    config = json.loads(path.read_text(encoding="utf-8"))
    if config.get("tokenizer_class") == "TokenizersBackend":
        config["tokenizer_class"] = "PreTrainedTokenizerFast"
        path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load_backbone_config(backbone: str, dropout: float | None, **kwargs: Any) -> Any:
    """The backbone's config with the task's label fields; a clear error when it is missing."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(backbone, **kwargs)
    except OSError as exc:
        raise FileNotFoundError(
            f"backbone {backbone!r} not found: give a local folder (build one with "
            "'policy-clauses backbone --out models/backbone/e5-small-trim --trim-to-corpus "
            "labels/documents.jsonl') or a Hugging Face name already in the local cache "
            f"(--model.backbone PATH). ({exc})") from None
    if dropout is not None:
        if not hasattr(config, "hidden_dropout_prob"):
            raise ValueError(f"model.dropout: backbone {backbone!r} has no hidden_dropout_prob")
        config.hidden_dropout_prob = dropout
    return config


def configure_threads(train: TrainSection) -> None:
    import torch

    if train.threads is not None:
        torch.set_num_threads(train.threads)


def base_meta(config: AnyConfig, kind: str, training: TrainingData,
              result: FitResult) -> dict[str, Any]:
    from inference.schema import default_schema

    schema = default_schema()
    return {
        "kind": kind,
        "schema_version": schema.version,
        "backbone": config.model.backbone,
        "max_length": config.model.max_length,
        "config": config_to_dict(config),
        "data": training.manifest,
        "training": {
            "best_epoch": result.best_epoch,
            "epochs": result.epochs_done,
            "seconds": round(result.seconds, 1),
            "history": [{k: v for k, v in row.items() if k != "dev"} for row in result.history],
        },
    }
