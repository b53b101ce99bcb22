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
    return tokenizer(list(texts), list(contexts), truncation="longest_first",
                     max_length=max_length, padding=padding, return_tensors=return_tensors)
