"""The one place clause inputs become token ids: training and serving both call this, so a
model always sees at serve time exactly what it saw in training."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, get_args

from inference.records import SECTION_SEPARATOR

# What rides along with a clause as the second text of its input pair (format_context); the
# one list that training's config, the model folder's metadata and the scorers read.
ContextMode = Literal["none", "section", "section_ends", "title", "both", "section_title"]
CONTEXT_MODES: tuple[str, ...] = get_args(ContextMode)
# the modes whose context holds the document title
TITLE_MODES = ("title", "both", "section_title")


def length_sorted_batches(lengths: Sequence[int], batch_size: int, *,
                          max_tokens: int | None = None, width_step: int = 1,
                          row_step: int = 1) -> list[list[int]]:
    """Indices grouped into batches of similar length: padding, not compute, is what batching
    wastes on short Chinese clauses. A batch holds at most ``batch_size`` indices and, with
    ``max_tokens``, at most that many positions once padded (rows rounded up to ``row_step``
    times the longest length rounded up to ``width_step``, as ``pad_windows`` pads them).
    Windows so wide that one ``row_step`` of rows already exceeds ``max_tokens`` fill that one
    step of rows, which is padded anyway."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    batch: list[int] = []
    for index in order:
        # ascending order: the newest index is the batch's longest
        width = _round_up(lengths[index], width_step)
        padded = _round_up(len(batch) + 1, row_step) * width
        limit = None if max_tokens is None else max(max_tokens, row_step * width)
        if batch and (len(batch) == batch_size or (limit is not None and padded > limit)):
            batches.append(batch)
            batch = []
        batch.append(index)
    if batch:
        batches.append(batch)
    return batches


def _round_up(value: int, step: int) -> int:
    return -(-value // step) * step


def format_context(section: str, title: str, mode: str) -> str:
    """The second text of the classifier's input pair: heading path and/or title ("" if none).
    ``both`` puts the title first, ``section_title`` the heading path first (the context is
    cut from its end when the pair is too long, so what comes first is what survives)."""
    if mode not in CONTEXT_MODES:
        raise ValueError(f"context mode {mode!r}; expected one of {CONTEXT_MODES}")
    if mode == "section_title":
        return SECTION_SEPARATOR.join(part for part in (section, title) if part)
    if mode == "section_ends":
        return section_ends(section)
    parts: list[str] = []
    if mode in ("title", "both") and title:
        parts.append(title)
    if mode in ("section", "both") and section:
        parts.append(section)
    return SECTION_SEPARATOR.join(parts)


def section_ends(section: str) -> str:
    """A heading path of three or more levels as its outermost and innermost heading: a
    budget of ``max_context_tokens`` cuts a path from its end, and a deep path lost the title
    right above the clause (8% of gold clauses at 24 tokens), which says most about it
    (``（二）建设原则``), while its top level says what part of the document it is in."""
    levels = section.split(SECTION_SEPARATOR)
    if len(levels) <= 2:
        return section
    return SECTION_SEPARATOR.join((levels[0], levels[-1]))


def encode_for_classifier(
    tokenizer: Any, texts: Sequence[str], contexts: Sequence[str], *, max_length: int,
    mode: str, padding: bool | str = False, return_tensors: str | None = None,
) -> Any:
    """Clause text first, context second; truncation cuts the context before the clause."""
    if mode == "none":
        return tokenizer(list(texts), truncation=True, max_length=max_length, padding=padding,
                         return_tensors=return_tensors)
    contexts = fit_contexts(tokenizer, texts, contexts, max_length)
    return tokenizer(list(texts), list(contexts), truncation="longest_first",
                     max_length=max_length, padding=padding, return_tensors=return_tensors)


def fit_contexts(tokenizer: Any, texts: Sequence[str], contexts: Sequence[str],
                 max_length: int) -> list[str]:
    """Contexts cut (at a token end) to the room the clause leaves, so the clause keeps its
    tokens and only what does not fit of the context is lost. ``longest_first`` alone would
    cut a long clause to make room for its heading path."""
    if not getattr(tokenizer, "is_fast", False):
        return list(contexts)
    special = tokenizer.num_special_tokens_to_add(pair=True)
    text_ids = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    encoded = tokenizer(list(contexts), add_special_tokens=False, return_offsets_mapping=True)
    out = []
    for ids, context_ids, offsets, context in zip(
            text_ids, encoded["input_ids"], encoded["offset_mapping"], contexts, strict=True):
        room = max_length - special - len(ids)
        if len(context_ids) <= room:
            out.append(context)
        elif room <= 0:
            out.append("")
        else:
            out.append(context[:offsets[room - 1][1]])
    return out


def encode_for_tagger(
    tokenizer: Any, texts: Sequence[str], *, max_length: int, stride: int,
) -> Any:
    """Clause texts as token windows for the tagger, with character offsets.

    A clause longer than ``max_length`` tokens becomes several windows that share ``stride``
    tokens, so an entity cut by one window is whole in the next; ``overflow_to_sample_mapping``
    says which clause each window belongs to. No padding: callers batch windows themselves.
    """
    return tokenizer(
        list(texts), truncation=True, max_length=max_length, stride=stride,
        return_overflowing_tokens=True, return_offsets_mapping=True,
    )


def cap_contexts(tokenizer: Any, contexts: Sequence[str], max_tokens: int) -> list[str]:
    """Contexts cut (at a token end) to at most ``max_tokens`` tokens: in a shared-encoder
    window the context rides along with every window of the clause, so it gets a fixed
    budget instead of whatever room the clause leaves."""
    if max_tokens <= 0:
        return ["" for _ in contexts]
    encoded = tokenizer(list(contexts), add_special_tokens=False, return_offsets_mapping=True)
    out = []
    for context, offsets in zip(contexts, encoded["offset_mapping"], strict=True):
        out.append(context if len(offsets) <= max_tokens else context[:offsets[max_tokens - 1][1]])
    return out


def encode_joint(
    tokenizer: Any, texts: Sequence[str], contexts: Sequence[str], *, max_length: int,
    stride: int, max_context_tokens: int,
) -> dict[str, Any]:
    """Clause windows for a shared-encoder model: each window is (clause piece, context), so
    one encoder pass feeds both the label head (the first window's [CLS]) and the tag head
    (the clause tokens of every window).

    Returns ``input_ids``, ``offset_mapping`` (context and special tokens as ``(0, 0)``, so
    only clause characters are tagged) and ``overflow_to_sample_mapping`` as lists. A clause
    longer than one window continues in windows that share ``stride`` tokens, as
    ``encode_for_tagger`` does; with no context at all (mode ``none``) windows are single
    sequences."""
    capped = cap_contexts(tokenizer, contexts, max_context_tokens)
    if not any(capped):
        encoded = tokenizer(list(texts), truncation=True, max_length=max_length, stride=stride,
                            return_overflowing_tokens=True, return_offsets_mapping=True)
        return {"input_ids": [list(ids) for ids in encoded["input_ids"]],
                "offset_mapping": [[tuple(o) for o in offsets]
                                   for offsets in encoded["offset_mapping"]],
                "overflow_to_sample_mapping": list(encoded["overflow_to_sample_mapping"])}
    encoded = tokenizer(list(texts), capped, truncation="only_first", max_length=max_length,
                        stride=stride, return_overflowing_tokens=True,
                        return_offsets_mapping=True)
    offsets_out = []
    for window, offsets in enumerate(encoded["offset_mapping"]):
        sequence = encoded.sequence_ids(window)
        offsets_out.append([tuple(o) if seq == 0 else (0, 0)
                            for o, seq in zip(offsets, sequence, strict=True)])
    return {"input_ids": [list(ids) for ids in encoded["input_ids"]],
            "offset_mapping": offsets_out,
            "overflow_to_sample_mapping": list(encoded["overflow_to_sample_mapping"])}
