"""Entity spans after decoding: repaired so that none is malformed, settled by the agency and
money grammars (agency_grammar.py, amount_grammar.py), then the guideline rules.

The tagger decodes tags per character, so its spans can start or end anywhere. A span is
**malformed** (``malformed_reasons``) when it

- starts or ends with punctuation or whitespace (a closing bracket whose opener is inside the
  span is part of it: 环境保护厅（局）);
- cuts a number (``289万元`` out of ``2.289万元``; for AMOUNT also Chinese numerals:
  ``九十多元`` out of ``二百九十多元``) or a Latin word;
- cuts a character run the tokenizer kept as one token (the model never saw its halves), for
  the types in ``TOKEN_CUT_TYPES``: an agency name cut inside a token is a cut word (``师支行``
  out of ``人行偃师支行``), while an AMOUNT's extent is the money grammar's (numbers, units) and
  a sentence piece such as ``元的`` or ``万元以上`` runs past the sum;
- is shorter than its type's minimum (``MIN_SPAN_LENGTH``: one character is no agency or sum);
- stops just before the closing bracket of an opener inside it (``科技厅(委、局`` + ``)``).

``repair_spans`` fixes what it can by moving boundaries (widen over a cut token, number or word;
strip edge punctuation; take in the closing bracket of an opener inside the span), merges
spans that then overlap, and drops what stays too short. ``well_formed`` then applies the
guideline rule GUIDELINES §3: an AMOUNT is a sum of money with its unit.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from inference.records import Entity
from inference.scoring.agency_grammar import apply_agency_grammar
from inference.scoring.amount_grammar import snap_amounts

MIN_SPAN_LENGTH = {"AMOUNT": 2, "AGENCY": 2}
#: Types whose spans may not cut a tokenizer token (module docstring).
TOKEN_CUT_TYPES = frozenset({"AGENCY"})
DEFAULT_MIN_SPAN_LENGTH = 2

BRACKETS = {"（": "）", "(": ")", "【": "】", "[": "]", "〔": "〕", "《": "》", "〈": "〉",
            "「": "」", "『": "』", "{": "}", "｛": "｝", "［": "］"}
CLOSERS = {close: open_ for open_, close in BRACKETS.items()}

_ASCII_DIGITS = set("0123456789０１２３４５６７８９")
_LATIN = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_CHINESE_NUMERALS = set("零〇一二三四五六七八九十百千万亿两壹贰叁肆伍陆柒捌玖拾佰仟")
_NUMBER_SEPARATORS = set(".,．，")  # inside a number only between two digits: 2.289, 1,000

# GUIDELINES §3: an AMOUNT is a sum of money with its unit; "amounts with no money unit" are
# excluded. The tagger now and then tags a fragment such as the "五" of "五倍" or the "." of
# "17.75%" AMOUNT; no such span can be right.
_MONEY_UNIT = re.compile(r"[元圆角分厘镑]|美金|卢布|法郎|比索|钱")

TokenSpans = Sequence[tuple[int, int]]


def is_edge_junk(char: str) -> bool:
    """Punctuation or whitespace: never the first or last character of a span."""
    return char.isspace() or unicodedata.category(char).startswith(("P", "Z", "C"))


def _is_digit(char: str) -> bool:
    return char in _ASCII_DIGITS


def _is_word_char(char: str) -> bool:
    return char in _LATIN or char in _ASCII_DIGITS


def _joins_number(text: str, left: int, entity_type: str) -> bool:
    """Whether the boundary between ``text[left]`` and ``text[left + 1]`` lies inside a
    number: two digits, a digit and a separator that sits between digits, or (AMOUNT) two
    Chinese numerals."""
    if left < 0 or left + 1 >= len(text):
        return False
    a, b = text[left], text[left + 1]
    if _is_digit(a) and _is_digit(b):
        return True
    if a in _NUMBER_SEPARATORS and _is_digit(b) and left > 0 and _is_digit(text[left - 1]):
        return True
    if _is_digit(a) and b in _NUMBER_SEPARATORS and left + 2 < len(text) \
            and _is_digit(text[left + 2]):
        return True
    return entity_type == "AMOUNT" and a in _CHINESE_NUMERALS and b in _CHINESE_NUMERALS


def _cuts_word(text: str, left: int) -> bool:
    if left < 0 or left + 1 >= len(text):
        return False
    return _is_word_char(text[left]) and _is_word_char(text[left + 1]) and not (
        _is_digit(text[left]) and _is_digit(text[left + 1]))


def _cut_token(tokens: TokenSpans | None, position: int, text: str,
               entity_type: str) -> tuple[int, int] | None:
    """The token that a boundary at ``position`` splits between two word characters (only
    for ``TOKEN_CUT_TYPES``)."""
    if entity_type not in TOKEN_CUT_TYPES:
        return None
    if not tokens or position <= 0 or position >= len(text):
        return None
    if is_edge_junk(text[position - 1]) or is_edge_junk(text[position]):
        return None
    for start, end in tokens:
        if start < position < end:
            return start, end
    return None


def _open_brackets(surface: str) -> list[str]:
    stack: list[str] = []
    for char in surface:
        if char in BRACKETS:
            stack.append(char)
        elif char in CLOSERS and stack and stack[-1] == CLOSERS[char]:
            stack.pop()
    return stack


def _closer_belongs(surface: str) -> bool:
    """Whether the last character is a closing bracket whose opener is inside the span."""
    closer = surface[-1]
    if closer not in CLOSERS:
        return False
    return bool(_open_brackets(surface[:-1])) and _open_brackets(surface[:-1])[-1] == \
        CLOSERS[closer]


def malformed_reasons(text: str, entity: Entity, tokens: TokenSpans | None = None) -> list[str]:
    """Why ``entity`` (a span of ``text``) is malformed; empty when it is well formed.
    ``tokens``: the tagger tokenizer's character spans of ``text``, to check token cuts."""
    start, end = entity.start, entity.end
    if not (0 <= start < end <= len(text)):
        return [f"offsets {start}:{end} outside the text (length {len(text)})"]
    surface = text[start:end]
    reasons = []
    if entity.text != surface:
        reasons.append(f"text {entity.text!r} is not text[{start}:{end}] {surface!r}")
    if len(surface) < MIN_SPAN_LENGTH.get(entity.type, DEFAULT_MIN_SPAN_LENGTH):
        reasons.append(f"shorter than {MIN_SPAN_LENGTH.get(entity.type, 2)} characters")
    if is_edge_junk(surface[0]):
        reasons.append(f"starts with punctuation or whitespace {surface[0]!r}")
    if is_edge_junk(surface[-1]) and not _closer_belongs(surface):
        reasons.append(f"ends with punctuation or whitespace {surface[-1]!r}")
    opened = _open_brackets(surface)
    if opened and end < len(text) and text[end] == BRACKETS[opened[-1]]:
        reasons.append(f"leaves {opened[-1]!r} open while its {text[end]!r} follows the span")
    for side, left in (("start", start - 1), ("end", end - 1)):
        if _joins_number(text, left, entity.type):
            reasons.append(f"cuts a number at its {side}")
        elif _cuts_word(text, left):
            reasons.append(f"cuts a Latin word at its {side}")
    for side, position in (("start", start), ("end", end)):
        token = _cut_token(tokens, position, text, entity.type)
        if token is not None:
            reasons.append(f"cuts the token {text[token[0]:token[1]]!r} at its {side}")
    return reasons


def _repair_one(text: str, start: int, end: int, entity_type: str,
                tokens: TokenSpans | None) -> tuple[int, int]:
    """Boundaries moved until nothing cuts: widen, then strip the edges; repeat (a strip can
    expose a new cut only by moving inward, so this ends)."""
    for _ in range(len(text) + 1):
        before = (start, end)
        while start > 0 and (_joins_number(text, start - 1, entity_type)
                             or _cuts_word(text, start - 1)):
            start -= 1
        while end < len(text) and (_joins_number(text, end - 1, entity_type)
                                   or _cuts_word(text, end - 1)):
            end += 1
        token = _cut_token(tokens, start, text, entity_type)
        if token is not None:
            start = token[0]
        token = _cut_token(tokens, end, text, entity_type)
        if token is not None:
            end = token[1]
        # an opener inside the span whose closer follows right after it: take the closer in
        open_ = _open_brackets(text[start:end])
        if open_ and end < len(text) and text[end] == BRACKETS[open_[-1]]:
            end += 1
        while start < end and is_edge_junk(text[start]):
            start += 1
        while start < end and is_edge_junk(text[end - 1]) \
                and not _closer_belongs(text[start:end]):
            end -= 1
        if (start, end) == before or start >= end:
            break
    return start, end


def repair_spans(text: str, entities: Sequence[Entity],
                 tokens: TokenSpans | None = None) -> list[Entity]:
    """Entities with repaired boundaries (module docstring); spans of one type that come to
    overlap are merged, of different types the longer wins; too-short spans are dropped."""
    repaired: list[Entity] = []
    for entity in sorted(entities, key=lambda e: (e.start, e.end)):
        start, end = _repair_one(text, entity.start, entity.end, entity.type, tokens)
        if end - start < MIN_SPAN_LENGTH.get(entity.type, DEFAULT_MIN_SPAN_LENGTH):
            continue
        current = Entity(start, end, entity.type, text[start:end], score=entity.score)
        if repaired and current.start < repaired[-1].end:
            previous = repaired[-1]
            if previous.type == current.type:
                merged_start, merged_end = previous.start, max(previous.end, current.end)
                repaired[-1] = Entity(merged_start, merged_end, previous.type,
                                      text[merged_start:merged_end], score=previous.score)
            elif current.end - current.start > previous.end - previous.start:
                repaired[-1] = current
            continue
        repaired.append(current)
    return repaired


def well_formed(entities: list[Entity]) -> list[Entity]:
    """Entities that can be what their type says: AMOUNT spans need a money unit."""
    return [e for e in entities if e.type != "AMOUNT" or _MONEY_UNIT.search(e.text)]


def postprocess_entities(text: str, entities: Sequence[Entity],
                         tokens: TokenSpans | None = None) -> list[Entity]:
    """What the tagger's decoded spans become in the output: repaired, AGENCY edges and
    splits settled by the agency grammar (agency_grammar.py), AMOUNT extents by the money
    grammar (amount_grammar.py), repaired again (a moved edge must not expose punctuation),
    then guideline-checked."""
    repaired = repair_spans(text, entities, tokens)
    settled = snap_amounts(text, apply_agency_grammar(text, repaired))
    return well_formed(repair_spans(text, settled, tokens))


def entities_from_windows(texts: Sequence[str], window_doc: Sequence[int],
                          offsets: Sequence[Sequence[tuple[int, int]]],
                          window_probs: Sequence[Any], tags: Sequence[str]) -> list[list[Entity]]:
    """Each text's entities from the tag probabilities of its windows (``window_doc[w]`` is
    the text of window ``w``): windows merged by ``decode_windows``, then span repair against
    the text's token boundaries."""
    from inference.scoring.align import decode_windows

    per_text: list[list[tuple[Sequence[tuple[int, int]], Any]]] = [[] for _ in texts]
    for window, doc in enumerate(window_doc):
        per_text[doc].append((offsets[window], window_probs[window]))
    return [postprocess_entities(text, decode_windows(text, windows, tags),
                                 sorted({(s, e) for window_offsets, _ in windows
                                         for s, e in window_offsets if s < e}))
            for text, windows in zip(texts, per_text, strict=True)]
