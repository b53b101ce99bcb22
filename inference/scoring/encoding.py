"""The one place clause inputs become token ids: training and serving both call this, so a
model always sees at serve time exactly what it saw in training."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

CONTEXT_MODES = ("none", "section", "title", "both")


def format_context(section: str, title: str, mode: str) -> str:
    """The second text of the classifier's input pair: heading path and/or title ("" if none)."""
    if mode not in CONTEXT_MODES:
        raise ValueError(f"context mode {mode!r}; expected one of {CONTEXT_MODES}")
    parts: list[str] = []
    if mode in ("title", "both") and title:
        parts.append(title)
    if mode in ("section", "both") and section:
        parts.append(section)
    return " > ".join(parts)


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
