"""Raw document → cleaned, segmented ``Document``: the preprocessing shared by predict,
export, annotation and training, so train and serve see the same clauses."""

from __future__ import annotations

import dataclasses
import itertools

from inference.records import Clause, Document
from inference.text.clean import clean_text
from inference.text.docmeta import find_meta
from inference.text.ingest import RawDocument
from inference.text.layout import lay_out
from inference.text.segment import segment

# A clause longer than this is cut into pieces (quality.split_long_clauses counts them): text
# with no sentence ends (a 10 MB line of commas) must not become one clause that the models
# and the writers then hold whole. Real clauses stay below it: the longest of the 166,110 in
# ../shared/data/corpus is 4,546 characters (run-together text), so none of them is cut.
MAX_CLAUSE_CHARS = 5000
# Where a long clause may be cut, best first: after a clause-level mark, else after a space.
_SOFT_BREAKS = ("；", ";", "，", ",", "、", "：", " ", "\t")


class EmptyDocumentError(ValueError):
    """Cleaning left no text: the page held only boilerplate."""


def _cut_points(text: str, max_chars: int) -> list[int]:
    """Offsets that cut ``text`` into pieces of at most ``max_chars``, at a soft break in the
    second half of each window where there is one."""
    cuts: list[int] = []
    start = 0
    while len(text) - start > max_chars:
        window_end = start + max_chars
        cut = window_end
        for mark in _SOFT_BREAKS:
            found = text.rfind(mark, start + max_chars // 2, window_end)
            if found != -1:
                cut = found + 1
                break
        cuts.append(cut)
        start = cut
    return cuts


def split_long_clauses(clauses: list[Clause], max_chars: int = MAX_CLAUSE_CHARS
                       ) -> tuple[list[Clause], int]:
    """Clauses with every one over ``max_chars`` cut into pieces (same kind and section),
    renumbered; also returns how many clauses were cut."""
    if all(len(clause.text) <= max_chars for clause in clauses):
        return clauses, 0
    result: list[Clause] = []
    split = 0
    for clause in clauses:
        if len(clause.text) <= max_chars:
            result.append(dataclasses.replace(clause, clause_id=len(result)))
            continue
        split += 1
        bounds = [0, *_cut_points(clause.text, max_chars), len(clause.text)]
        for begin, end in itertools.pairwise(bounds):
            piece = clause.text[begin:end]
            stripped = piece.strip()
            if not stripped:
                continue
            offset = begin + piece.index(stripped[0])
            result.append(dataclasses.replace(
                clause, clause_id=len(result), text=stripped, start=clause.start + offset,
                end=clause.start + offset + len(stripped), extra=dict(clause.extra)))
    return result, split


def build_document(raw: RawDocument) -> Document:
    """Clean and segment one raw document. Raises EmptyDocumentError when nothing is left."""
    cleaned = clean_text(raw.content, is_html=raw.is_html, meta=raw.meta)
    if not cleaned.text.strip():
        raise EmptyDocumentError("no text left after cleaning (boilerplate only or empty page)")
    quality = dict(cleaned.quality)
    quality["encoding"] = raw.encoding
    laid_out = lay_out(cleaned.text, cleaned.source_offsets, cleaned.line_indents,
                       name=f"{raw.doc_id} ({raw.source})")
    quality["layout"] = laid_out.layout
    if laid_out.error:
        # The fallback (one clause a line) is never silent: the record says why.
        quality["layout_error"] = laid_out.error
    for reason, count in laid_out.removed.items():
        quality["removed_lines"][reason] = quality["removed_lines"].get(reason, 0) + count
    cleaned.text, cleaned.source_offsets = laid_out.text, laid_out.offsets
    clauses, split = split_long_clauses(segment(cleaned.text, laid_out.layout))
    if split:
        quality["split_long_clauses"] = split
    if not clauses:
        raise EmptyDocumentError("no clauses found after cleaning")
    for clause in clauses:
        source_start, source_end = cleaned.to_source(clause.start, clause.end)
        clause.extra["source_start"] = source_start
        clause.extra["source_end"] = source_end
    found = find_meta(cleaned.text)
    meta = dict(cleaned.meta)
    for key, value in found.items():
        meta.setdefault(key, value)
    if raw.meta:
        # The input's own fields win; what the text says goes beside them.
        meta["detected"] = found
    return Document(
        doc_id=raw.doc_id,
        source=raw.source,
        text=cleaned.text,
        meta=meta,
        quality=quality,
        clauses=clauses,
    )


def segment_text(text: str) -> tuple[list[tuple[int, int, str]], str]:
    """Clean, lay out and segment a plain text as ``build_document`` does; (start, end, kind)
    of each clause as offsets into ``text``, and the layout found."""
    cleaned = clean_text(text)
    laid_out = lay_out(cleaned.text, cleaned.source_offsets, cleaned.line_indents)
    spans = []
    for clause in segment(laid_out.text, laid_out.layout):
        start = laid_out.offsets[clause.start]
        spans.append((start, laid_out.offsets[clause.end - 1] + 1, clause.kind))
    return spans, laid_out.layout
