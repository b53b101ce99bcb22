"""Character spans ↔ token IOB2 tags, through the tokenizer's offset mapping.

Training turns gold character spans into one tag per token (``token_tags``); serving turns
per-token probabilities from one or more overlapping windows back into character spans
(``decode_windows``). Both live here so their round trip can be tested as one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from inference.records import Entity

IGNORE = -100  # the loss ignores special tokens and padding


def token_tags(
    offsets: Sequence[tuple[int, int]], entities: Sequence[Entity], tag2id: dict[str, int]
) -> list[int]:
    """One IOB2 tag id per token; special tokens (empty offsets) get ``IGNORE``.

    A token overlapping an entity is ``B-`` if it holds the entity's first character, else
    ``I-``. A token that straddles an entity boundary takes the entity's tag: the decoded span
    is then the token's, which ``alignment_loss`` measures.
    """
    tags = []
    for start, end in offsets:
        if start == end:
            tags.append(IGNORE)
            continue
        tag = "O"
        for entity in entities:
            if entity.start < end and entity.end > start:
                tag = ("B-" if start <= entity.start else "I-") + entity.type
                break
        tags.append(tag2id[tag])
    return tags


def char_probabilities(
    length: int, windows: Sequence[tuple[Sequence[tuple[int, int]], Any]], tags: Sequence[str]
) -> np.ndarray:
    """Per-character tag probabilities from per-token ones, merged over windows.

    Each token's probabilities go to its characters; its later characters get the ``B-`` mass
    moved to ``I-`` (they continue what the first one began). Where windows overlap, a token's
    weight grows with its distance from its window's edge, so the window that sees the most
    context decides.
    """
    n_tags = len(tags)
    begin = [i for i, t in enumerate(tags) if t.startswith("B-")]
    inside_of_begin = [tags.index("I-" + tags[b][2:]) for b in begin]
    totals = np.zeros((length, n_tags), dtype=np.float64)
    weights = np.zeros(length, dtype=np.float64)
    for offsets, probs in windows:
        spans = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
        real = np.flatnonzero(spans[:, 0] < spans[:, 1])
        if not real.size:
            continue
        starts = spans[real, 0]
        ends = np.minimum(spans[real, 1], length)
        rank = np.arange(real.size)
        token_weight = 1.0 + np.minimum(rank, real.size - 1 - rank)
        rows = np.asarray(probs, dtype=np.float64)[real]
        inside = rows.copy()
        inside[:, inside_of_begin] += inside[:, begin]
        inside[:, begin] = 0.0
        # one entry per character a token covers: its first character takes the token's
        # row, the others the row with B- moved to I-. np.add.at, not a fancy-indexed +=:
        # two tokens can cover one character (a sentencepiece "▁" before it), and each adds.
        counts = np.maximum(ends - starts, 0)
        token_of_char = np.repeat(np.arange(real.size), counts)
        if not token_of_char.size:
            continue
        first_of_token = np.cumsum(counts) - counts
        step = np.arange(token_of_char.size) - first_of_token[token_of_char]
        chars = starts[token_of_char] + step
        values = np.where((step == 0)[:, None], rows[token_of_char], inside[token_of_char])
        np.add.at(totals, chars, token_weight[token_of_char, None] * values)
        np.add.at(weights, chars, token_weight[token_of_char])
    covered = weights > 0
    totals[covered] /= weights[covered, None]
    totals[~covered, tags.index("O")] = 1.0
    return totals


def decode_char_tags(text: str, probs: np.ndarray, tags: Sequence[str]) -> list[Entity]:
    """Character-level IOB2 decoding; an ``I-`` after ``O`` opens an entity (lenient repair)."""
    best = probs.argmax(axis=1)
    entities: list[Entity] = []
    current: tuple[int, str] | None = None

    def close(end: int) -> None:
        nonlocal current
        if current is not None:
            start, etype = current
            surface = text[start:end]
            stripped = surface.strip()
            if stripped:
                lead = len(surface) - len(surface.lstrip())
                span_probs = probs[start:end].max(axis=1)
                entities.append(Entity(start + lead, start + lead + len(stripped), etype,
                                       stripped, score=float(span_probs.mean())))
        current = None

    for char, tag_id in enumerate(best):
        tag = tags[tag_id]
        if tag == "O":
            close(char)
        elif tag.startswith("B-") or current is None or current[1] != tag[2:]:
            close(char)
            current = (char, tag[2:])
    close(len(text))
    return entities


def decode_windows(
    text: str, windows: Sequence[tuple[Sequence[tuple[int, int]], Any]], tags: Sequence[str]
) -> list[Entity]:
    """Entities of one text from the token probabilities of its windows."""
    if not text:
        return []
    return decode_char_tags(text, char_probabilities(len(text), windows, tags), tags)


# Scoring pads every batch to a few fixed shapes: width (tokens) up to a multiple of
# SCORING_WIDTH_STEP, rows up to a multiple of SCORING_ROW_STEP. The CPU kernels (oneDNN
# primitives, their scratch buffers, the allocator's free lists) are kept per input shape, so
# with exact shapes memory grew with every new (rows, width) pair that length-sorted batches
# produced: 0.4-1.7 MB per document over a crawl, never flat. With 128-token windows and
# 64-window batches there are at most 16 widths × 8 row counts, whatever the crawl size
# (23 shapes over the first 300 corpus documents). Padding tokens are masked out and padding
# rows are thrown away, so real rows' outputs move by float noise only
# (tests/test_scoring_shapes.py).
SCORING_WIDTH_STEP = 8
SCORING_ROW_STEP = 8
# ...and at most this many padded token positions per batch (64 windows of up to 32 tokens, 16
# of 128). What it buys is page faults: glibc serves an allocation over 32 MiB (its largest
# mmap threshold) with fresh pages from the OS and returns them on free, so every activation
# of a 64 × 128-window batch (the feed-forward one is 50 MB in float32) was faulted in anew,
# layer after layer: 1.9 million minor faults over 1,120 clauses. With 2,048 positions the
# largest is 12.6 MB and stays in the heap (with ``runtime.configure_allocator``). Windows
# wider than 256 tokens (a model trained with a longer max_length) go 8 to a batch.
# benchmarks/README.md, "Batches of at most 2,048 tokens".
SCORING_MAX_TOKENS = 2048


def _round_up(value: int, step: int) -> int:
    return -(-value // step) * step


def pad_windows(sequences: Sequence[Sequence[int]], pad_value: int, *, width_step: int = 1,
                row_step: int = 1, max_width: int | None = None) -> tuple[Any, Any]:
    """Token windows of one batch as a right-padded ``long`` tensor and its attention mask (1
    on real tokens): the one way serving and training batch windows. Tag sequences go through
    it too, padded with ``IGNORE``.

    ``width_step`` / ``row_step`` round the width and the row count up to a multiple (the
    scoring shapes above; training keeps exact shapes); the width never goes past
    ``max_width`` unless the longest window does. Padding rows hold only ``pad_value`` with
    the first position unmasked (a fully masked row would be a softmax over nothing); callers
    read back only the first ``len(sequences)`` rows."""
    import torch

    longest = max(len(seq) for seq in sequences)
    width = _round_up(longest, width_step)
    if max_width is not None:
        width = max(longest, min(width, max_width))
    rows = _round_up(len(sequences), row_step)
    padded = torch.full((rows, width), pad_value, dtype=torch.long)
    mask = torch.zeros((rows, width), dtype=torch.long)
    mask[len(sequences):, 0] = 1
    for row, seq in enumerate(sequences):
        padded[row, :len(seq)] = torch.tensor(list(seq), dtype=torch.long)
        mask[row, :len(seq)] = 1
    return padded, mask
