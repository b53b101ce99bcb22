"""What a training run sets up before its first step: seeds, torch threads, and the
backbone's config with the task's label fields."""

from __future__ import annotations

from typing import Any

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
