"""Speed settings for inference on CPU: thread counts and the ``--fast`` paths.

``--fast bf16`` runs both models in bfloat16. On CPUs with AMX or AVX-512 BF16 (recent Xeons)
matmuls then run on the bf16 units, about 3x the float32 rate; elsewhere torch emulates bf16
and it can be slower, so it is a choice, not a default. Weights are rounded to bf16 (8 bits
of mantissa); on the shipped default scores move by up to 0.03 and the label set of 0.3% of
clauses changes.

``--fast int8`` swaps every ``nn.Linear`` of both models for a dynamically quantised int8
one (weights int8, activations quantised per batch). It needs no calibration data and no
extra dependency, but on the shipped default it costs 2-3 points of micro-F1.

``--fast onnx`` (shared-encoder models only) runs the one encoder pass in ONNX Runtime with
int8 weights (dynamic activations by default, static calibrated on dev clauses with
``POLICY_CLAUSES_ONNX_QUANT=static``; ``inference.scoring.onnx_runtime``); the exported file
is cached per model, so only the first run pays for the export.

``--fast auto`` (the default) picks once at start-up from what the CPU has: bf16 where it has
bf16 units (AMX or AVX-512 BF16), else float32. ONNX is not picked automatically: it has not
been measured to win on a CPU without bf16 units at the required quality (benchmarks/README.md).

The benchmark (benchmarks/bench_predict.py) and ``policy-clauses evaluate --fast MODE`` report
the speed-up and the test-split quality of each mode, which is what decides whether to use it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FAST_MODES = ("auto", "none", "int8", "bf16", "onnx")
# the modes a model actually runs in: what ``auto`` resolves to is one of these
RUN_MODES = ("none", "int8", "bf16", "onnx")
BF16_FLAGS = ("amx_bf16", "avx512_bf16")
_announced: set[str] = set()


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


def apply_fast_path(model: Any, fast: str) -> Any:
    """The model as ``--fast`` runs it: unchanged, int8-quantised, or cast to bfloat16."""
    if fast not in RUN_MODES or fast == "onnx":
        raise ValueError(f"--fast {fast!r} is not a torch model transform; expected one of "
                         f"{RUN_MODES[:3]} (resolve 'auto' with resolve_fast first)")
    if fast == "int8":
        return quantize_int8(model)
    if fast == "bf16":
        import torch

        return model.to(torch.bfloat16)
    return model


def cpu_flags() -> set[str]:
    """The CPU feature flags the OS reports (Linux /proc/cpuinfo; empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="ignore")
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def cpu_has_bf16_units() -> bool:
    """Whether this CPU computes bf16 natively (AMX or AVX-512 BF16)."""
    return bool(cpu_flags() & set(BF16_FLAGS))


def resolve_fast(fast: str, *, device: str = "cpu", announce: bool = True) -> str:
    """The mode a run uses: ``auto`` becomes bf16 on a CPU with bf16 units, else none
    (float32); any other mode is kept. With ``announce`` the choice of ``auto`` is logged at
    INFO once per process ("runtime: bf16 (CPU has avx512_bf16)")."""
    if fast not in FAST_MODES:
        raise ValueError(f"unknown --fast mode {fast!r}; expected one of {FAST_MODES}")
    if fast != "auto":
        return fast
    if device != "cpu":
        chosen, reason = "none", f"device {device}"
    else:
        found = sorted(cpu_flags() & set(BF16_FLAGS))
        if found:
            chosen, reason = "bf16", f"CPU has {', '.join(found)}"
        else:
            chosen, reason = "none", "no AMX/AVX-512 BF16 units on this CPU; float32"
    if announce and reason not in _announced:
        _announced.add(reason)
        log.info("runtime: %s (%s)", chosen, reason)
    return chosen
