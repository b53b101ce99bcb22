"""Command-line arguments several commands share, defined once so their names, checks and
help stay the same everywhere: whole-number counts, and which scorer runs (``--model``,
``--rules``, ``--fast``) for predict, the review exports and serve."""

from __future__ import annotations

import argparse

from inference.scoring.runtime import FAST_MODES

MODEL_HELP = ("model folder (classifier/ and tagger/); default $POLICY_CLAUSES_MODEL, else "
              "models/default of a source checkout")
FAST_HELP = ("auto (default): bf16 where the CPU has AMX, else int8 where it has AVX-512 VNNI, "
             "else bf16 where it has AVX-512 BF16, else float32, chosen once at start-up and "
             "logged ($POLICY_CLAUSES_CPU_FLAGS overrides the flags it reads); none: float32; "
             "bf16: bfloat16 (about 3x faster on CPUs with bf16 units, test micro-F1 within 0.5 "
             "point); int8: the encoder's matmuls in int8 with per-channel weights (feed-forward "
             "outputs with per-token activation scales, where the CPU has VNNI), heads in "
             "float32 (test on the shipped default: micro-F1 as float32, entity F1 +0.3); onnx: "
             "ONNX Runtime with int8 weights (shared-encoder models; needs the 'fast' extra; "
             "exported once per model and cached). See benchmarks/README.md")


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1 (a count, a number of threads)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (≥ 1), not {value}")
    return value


def add_scorer_arguments(parser: argparse.ArgumentParser) -> None:
    """``--model DIR`` | ``--rules``, and ``--fast MODE``: resolved by
    ``inference.scoring.models.load_scorer``."""
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--model", metavar="DIR", default=None, help=MODEL_HELP)
    which.add_argument("--rules", action="store_true", help="use the rule baseline")
    add_fast_argument(parser)


def add_fast_argument(parser: argparse.ArgumentParser, help: str = FAST_HELP,
                      default: str = "auto") -> None:
    """``--fast MODE`` (default ``auto``): the one definition every command shares, resolved
    by ``inference.scoring.runtime.resolve_fast`` when the scorer loads."""
    parser.add_argument("--fast", choices=FAST_MODES, default=default, help=help)
