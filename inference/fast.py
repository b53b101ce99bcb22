"""Speed settings for inference on CPU: thread counts and the ``--fast`` paths.

``--fast int8`` swaps every ``nn.Linear`` of both models for a dynamically quantised int8
one (weights int8, activations quantised per batch). It needs no calibration data and no
extra dependency; the benchmark (benchmarks/bench_predict.py) reports its speed-up and how
far its predictions move from fp32, which is what decides whether to use it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FAST_MODES = ("none", "int8")


def available_cores() -> int:
    """Cores this process may run on (cgroup/affinity aware where the OS says so)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS/Windows
        return max(1, os.cpu_count() or 1)


def configure_threads(threads: int | None = None) -> int:
    """Intra-op threads = the cores available (or ``threads``), inter-op threads = 1: a
    forward pass is one chain of matmuls, so inter-op threads only compete with intra-op ones.
    Returns the intra-op thread count."""
    import torch

    count = threads or available_cores()
    torch.set_num_threads(count)
    # already set, or inter-op work has started: keep what is there
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(1)
    return count


def quantize_int8(model: Any) -> Any:
    """Dynamic int8 quantisation of the model's Linear layers."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's deprecation note on qint8 tensors
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def load_fast_scorer(model: str | Path | None = None, *, rules: bool = False,
                     fast: str = "none", device: str = "cpu") -> Any:
    """``load_scorer`` with a fast path applied (a no-op for the rule baseline)."""
    from inference.scorers import load_scorer

    if fast not in FAST_MODES:
        raise ValueError(f"unknown --fast mode {fast!r}; expected one of {FAST_MODES}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return load_scorer(model, rules=rules, quantize=fast == "int8", device=device)
