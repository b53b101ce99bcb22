"""What a training run sets up before its first step: seeds, torch threads, the arithmetic
of its steps, and the backbone's config with the task's label fields."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from inference.scoring.model_folder import StepPrecision
from training.fit.config import TrainSection


def set_seed(seed: int) -> None:
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def configure_threads(train: TrainSection) -> None:
    import torch

    if train.threads is not None:
        torch.set_num_threads(train.threads)


def resolve_precision(train: TrainSection) -> StepPrecision:
    """``train.precision`` with ``auto`` decided: bf16 where ``train.device`` computes it
    natively, float32 elsewhere (emulated bf16 is slower than float32)."""
    if train.precision != "auto":
        return train.precision
    if train.device.startswith("cuda"):
        import torch

        native = torch.cuda.is_bf16_supported(including_emulation=False)
        return "bf16" if native else "float32"
    from inference.scoring.runtime import cpu_has_bf16_units

    return "bf16" if train.device == "cpu" and cpu_has_bf16_units() else "float32"


def step_precision(precision: StepPrecision, device: str) -> AbstractContextManager[Any]:
    """The context a training step's forward pass and loss run in, for a resolved
    ``precision``: bf16 autocast on ``device`` for ``bf16`` (the weights, their gradients and
    AdamW stay float32), nothing for float32. On the 2-core AMD EPYC with AVX-512 BF16 a step
    of the 6-layer encoder takes 0.57-0.72x the float32 time (benchmarks/bench_train_step.py;
    models/default/README.md, round 10)."""
    if precision == "float32":
        return nullcontext()
    import torch

    return torch.autocast(device.split(":")[0], dtype=torch.bfloat16)


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
