"""The epoch loop the classifier and tagger trainers share: batching, the optimizer, and
``fit`` (train, evaluate on dev, checkpoint, keep the best epoch).

A small own loop rather than ``transformers.Trainer``: it needs no ``accelerate``, runs on two
CPU cores, and makes resumption exact (the batch order of an epoch depends only on the seed and
the epoch number; the dropout RNG is restored from the checkpoint).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from inference.scoring.model_folder import StepPrecision
from training.fit.checkpoints import (
    check_fingerprint,
    clear_checkpoints,
    fingerprint,
    load_checkpoint,
    restore_best,
    save_best,
    save_checkpoint,
)
from training.fit.config import AnyConfig, TrainSection, checkpoint_dir
from training.fit.setup import resolve_precision, step_precision

log = logging.getLogger(__name__)


# --- batching ----------------------------------------------------------------------------


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
    """Parameters that start untrained: the pooler, the classification layer, and the tag
    head of a shared-encoder model (whose classifier sits under ``sequence_model.``)."""
    name = name.removeprefix("sequence_model.")
    return name.startswith(("classifier.", "score.", "tag_head.")) or ".pooler." in name


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
    precision: StepPrecision = "float32"  # what the steps ran in (train.precision resolved)


class DevMetrics(Protocol):
    """What a trainer's dev evaluation returns: typed metrics that turn into JSON (the
    checkpoint and the history hold the JSON form)."""

    def to_dict(self) -> dict[str, Any]: ...


StepFn = Callable[[Any, list[int]], Any]
EvalFn = Callable[[Any], tuple[float | None, DevMetrics | None]]


def fit(model: Any, *, config: AnyConfig, lengths: Sequence[int], loss_for_batch: StepFn,
        evaluate: EvalFn, resume: bool = False, stop_after_epoch: int | None = None) -> FitResult:
    """Train ``model`` for ``config.train.epochs`` epochs, evaluating on dev after each one.

    ``loss_for_batch(model, indices)`` returns the loss of one batch; ``evaluate(model)``
    returns (score to maximise or None, metrics or None). After every epoch the full training
    state goes to the checkpoint folder, so ``resume=True`` continues exactly where a run
    stopped. On return the model holds the best epoch's weights (``train.select_best``) or the
    last; ``FitResult.best_metrics`` is the best epoch's metrics as JSON (``{}`` for none).
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
    precision = resolve_precision(train)
    log.info("training steps in %s (train.precision: %s)", precision, train.precision)
    step_context = step_precision(precision, train.device)

    if resume:
        state = load_checkpoint(ckpt_dir)
        if state is None:
            log.warning("--resume: no checkpoint in %s; starting from the beginning", ckpt_dir)
        else:
            check_fingerprint(state, config, ckpt_dir)
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            torch.set_rng_state(state["rng"])
            history = list(state["history"])
            best = dict(state["best"])
            first_epoch = int(state["epoch"]) + 1
            # The run's time counts the epochs before the stop too (older checkpoints lack it).
            started -= float(state.get("seconds", 0.0))
            log.info("resumed from %s after epoch %d", ckpt_dir, first_epoch - 1)
    else:
        clear_checkpoints(ckpt_dir)

    for epoch in range(first_epoch, train.epochs + 1):
        model.train()
        total, steps = 0.0, 0
        for batch in epoch_batches(lengths, train.batch_size, train.seed, epoch,
                                   train.group_by_length):
            with step_context:
                loss = loss_for_batch(model, batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), train.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            total += float(loss.detach())
            steps += 1
        model.eval()
        score, typed = evaluate(model)
        metrics = typed.to_dict() if typed is not None else {}
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
            save_best(ckpt_dir, model)
        save_checkpoint(ckpt_dir, {
            "epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "rng": torch.get_rng_state(),
            "history": history, "best": best, "config": fingerprint(config),
            "seconds": time.monotonic() - started,
        })
        if stop_after_epoch is not None and epoch >= stop_after_epoch and epoch < train.epochs:
            return FitResult(False, epoch, best["epoch"], best["score"], best["metrics"],
                             history, time.monotonic() - started, precision)

    restore_best(ckpt_dir, model)
    model.eval()
    return FitResult(True, train.epochs, best["epoch"], best["score"], best["metrics"], history,
                     time.monotonic() - started, precision)
