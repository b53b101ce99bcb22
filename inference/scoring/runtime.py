"""Speed settings for inference on CPU: thread counts and the ``--fast`` paths.

``--fast bf16`` runs both models in bfloat16. On CPUs with AMX or AVX-512 BF16 (recent Xeons)
matmuls then run on the bf16 units, about 3x the float32 rate; elsewhere torch emulates bf16
and it can be slower, so it is a choice, not a default. Weights are rounded to bf16 (8 bits
of mantissa); on the shipped default scores move by up to 0.03 and the label set of 0.3% of
clauses changes.

``--fast int8`` runs the encoder's query, key, value, attention-output and feed-forward input
projections with int8 weights (one scale per output channel) and activations quantised per
batch at run time (``inference.scoring.quantize``); on a CPU with VNNI the feed-forward output
projections run in int8 too, with one activation scale per token, elsewhere float32; the
pooler and the heads stay float32. It needs no calibration data and no extra dependency. On
a CPU with AVX-512 VNNI it moves label micro-F1 / entity F1 of the round-7 default by +0.2 /
+0.2 points on the test split (−0.4 / +0.1 on dev); before the FFN outputs were int8 it moved
the round-6 default's by +0.1 / +0.2, and the round-2 model's, on which the recipe was
chosen, by +0.3 / +0.1 on dev and −0.4 / −0.7 on test (benchmarks/README.md);
without VNNI activations use 7 bits (FBGEMM's kernels there add products in saturating 16-bit
lanes) and the recipe was not measured there.

``--fast onnx`` (shared-encoder models only) runs the one encoder pass in ONNX Runtime with
int8 weights (dynamic activations by default, static calibrated on dev clauses with
``POLICY_CLAUSES_ONNX_QUANT=static``; ``inference.scoring.onnx_runtime``); the exported file
is cached per model, so only the first run pays for the export.

``--fast auto`` (the default) picks once at start-up from what the CPU has: bf16 where it has
AMX; else int8 where it has AVX-512 VNNI (FBGEMM's int8 kernels with 32-bit accumulation,
which the int8 recipe's full-range activations need; on the AMD EPYC project machine, which
also has AVX-512 BF16, int8 is 8-19% faster than bf16 since round 9); else bf16 where it has
AVX-512 BF16; else float32. ONNX is not picked automatically (an extra dependency, and no
faster than torch int8 at the required quality; benchmarks/README.md).
``$POLICY_CLAUSES_CPU_FLAGS`` (flags separated by spaces or commas) replaces the flags read
from /proc/cpuinfo, to see or test what ``auto`` does on another CPU; it decides the choice
only, not what the hardware runs.

The benchmark (benchmarks/bench_predict.py) and ``policy-clauses evaluate --fast MODE`` report
the speed-up and the test-split quality of each mode, which is what decides whether to use it.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FAST_MODES = ("auto", "none", "int8", "bf16", "onnx")
# the modes a model actually runs in: what ``auto`` resolves to is one of these
RUN_MODES = ("none", "int8", "bf16", "onnx")
BF16_FLAGS = ("amx_bf16", "avx512_bf16")
# bf16 matrix units: where a CPU has them, bf16 is its fastest path (about 2.9x float32 on the
# Intel Xeon project machine); with AVX-512 BF16 alone FBGEMM's int8 is faster (AMD EPYC
# project machine, same run: bf16 224, int8 243-260 clauses/s; benchmarks/README.md, round 9)
AMX_FLAGS = ("amx_bf16",)
# FBGEMM's int8 kernels accumulate u8 x s8 products in 32 bits only with AVX-512 VNNI (it has
# no AVX-VNNI kernels: on such CPUs it runs the AVX2 ones, with 16-bit saturating sums)
INT8_FLAGS = ("avx512_vnni",)
CPU_FLAGS_ENV = "POLICY_CLAUSES_CPU_FLAGS"
# FBGEMM's own switch for the instruction set its kernels use, and its values without VNNI
FBGEMM_ISA_ENV = "FBGEMM_ENABLE_INSTRUCTIONS"
FBGEMM_ISAS_WITHOUT_VNNI = ("AVX2", "AVX512", "AVX512_256")
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


# glibc's mallopt parameters (malloc.h) and the values inference sets (configure_allocator)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 << 20  # glibc's largest: allocations up to 32 MiB come from the heap
TRIM_THRESHOLD_BYTES = 256 << 20  # free heap kept for the next batch before it goes back
# glibc reads these at start-up; one of them set means the user tunes malloc themselves
MALLOC_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
              "MALLOC_ARENA_MAX")


def configure_allocator() -> bool:
    """Keep scoring's activations in the heap instead of fresh pages from the OS (64-bit glibc
    only; returns whether both thresholds were set; with jemalloc or tcmalloc preloaded the
    call reaches glibc's unused allocator and changes nothing).

    glibc's default serves each allocation over its dynamic mmap threshold with new pages and
    gives them back on free, and trims the heap top once 128 KiB or more is free. Scoring
    allocates and frees the same few activation sizes batch after batch, so by default most
    of them were page-faulted in again every time: 1.9 million minor faults and over a quarter
    of the int8 path's time over 1,120 clauses (benchmarks/README.md). A fixed 32 MiB mmap
    threshold (batches stay under it: ``align.SCORING_MAX_TOKENS``) and a 256 MiB trim
    threshold keep the pages; peak RSS is what the largest batch needs either way. Left alone
    when the environment already sets one of ``MALLOC_ENV`` or ``GLIBC_TUNABLES`` names
    malloc, and on other C libraries."""
    import ctypes
    import platform

    if platform.libc_ver()[0] != "glibc" or any(name in os.environ for name in MALLOC_ENV) \
            or "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", "") \
            or ctypes.sizeof(ctypes.c_void_p) < 8:  # 32-bit glibc caps the threshold lower
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    # the trim threshold only once the mmap one took: never half the change
    done = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1 \
        and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1
    log.debug("allocator: mmap threshold %d MiB, trim threshold %d MiB (%s)",
              MMAP_THRESHOLD_BYTES >> 20, TRIM_THRESHOLD_BYTES >> 20,
              "set" if done else "refused")
    return done


def apply_fast_path(model: Any, fast: str) -> Any:
    """The model as ``--fast`` runs it: unchanged, int8 (``inference.scoring.quantize``; full
    8-bit activations where the CPU has AVX-512 VNNI, 7-bit elsewhere), or cast to bfloat16."""
    if fast not in RUN_MODES or fast == "onnx":
        raise ValueError(f"--fast {fast!r} is not a torch model transform; expected one of "
                         f"{RUN_MODES[:3]} (resolve 'auto' with resolve_fast first)")
    if fast == "int8":
        from inference.scoring.quantize import quantize_int8

        return quantize_int8(model, reduce_range=not cpu_has_int8_units())
    if fast == "bf16":
        import torch

        return model.to(torch.bfloat16)
    return model


def cpu_flags() -> set[str]:
    """The CPU feature flags ``auto`` decides on: the ones ``$POLICY_CLAUSES_CPU_FLAGS`` lists
    (spaces or commas) when it is set, else ``hardware_flags()``."""
    forced = os.environ.get(CPU_FLAGS_ENV)
    if forced is not None:
        return set(forced.replace(",", " ").split())
    return hardware_flags()


def hardware_flags() -> set[str]:
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


def cpu_has_int8_units() -> bool:
    """Whether FBGEMM's int8 kernels accumulate in 32 bits on this CPU (AVX-512 VNNI). Read
    from the hardware, never from ``$POLICY_CLAUSES_CPU_FLAGS``: it decides how int8 is
    computed (full-range activations would saturate elsewhere), not only which mode runs.
    False where ``$FBGEMM_ENABLE_INSTRUCTIONS`` makes FBGEMM run its kernels without VNNI
    (``AVX2``, ``AVX512``, ``AVX512_256``: how a CPU without it is emulated), since those
    kernels add pairs of products in saturating 16-bit lanes."""
    if fbgemm_forced_without_vnni():
        return False
    return bool(hardware_flags() & set(INT8_FLAGS))


def fbgemm_forced_without_vnni() -> bool:
    """Whether ``$FBGEMM_ENABLE_INSTRUCTIONS`` tells FBGEMM to run without VNNI."""
    return os.environ.get(FBGEMM_ISA_ENV, "").strip().upper() in FBGEMM_ISAS_WITHOUT_VNNI


def resolve_fast(fast: str, *, device: str = "cpu", announce: bool = True,
                 flags: set[str] | None = None) -> str:
    """The mode a run uses: ``auto`` becomes bf16 on a CPU with AMX, else int8 on one with
    AVX-512 VNNI, else bf16 on one with AVX-512 BF16, else none (float32); any other mode is
    kept. ``flags``: the CPU's feature flags (default ``cpu_flags()``). With ``announce`` the
    choice of ``auto`` is logged at INFO once per process ("runtime: bf16 (CPU has
    amx_bf16)")."""
    if fast not in FAST_MODES:
        raise ValueError(f"unknown --fast mode {fast!r}; expected one of {FAST_MODES}")
    if fast != "auto":
        return fast
    if device != "cpu":
        chosen, reason = "none", f"device {device}"
    else:
        flags = cpu_flags() if flags is None else flags
        amx = sorted(flags & set(AMX_FLAGS))
        bf16 = sorted(flags & set(BF16_FLAGS))
        # FBGEMM told to run without VNNI computes int8 as a CPU without it would
        int8 = [] if fbgemm_forced_without_vnni() else sorted(flags & set(INT8_FLAGS))
        if amx:
            chosen, reason = "bf16", f"CPU has {', '.join(amx)}"
        elif int8:
            chosen, reason = "int8", (f"CPU has {', '.join(int8)} and no AMX"
                                      + (f"; int8 is faster than {bf16[0]} there"
                                         if bf16 else ""))
        elif bf16:
            chosen, reason = "bf16", f"CPU has {', '.join(bf16)}"
        else:
            chosen, reason = "none", "no bf16 units and no AVX-512 VNNI on this CPU; float32"
    if announce and reason not in _announced:
        _announced.add(reason)
        log.info("runtime: %s (%s)", chosen, reason)
    return chosen
