"""Raw document → cleaned, segmented ``Document``: the preprocessing shared by predict,
export, annotation and training, so train and serve see the same clauses."""

from __future__ import annotations

from inference.records import Document
from inference.text.clean import clean_text
from inference.text.docmeta import find_meta
from inference.text.ingest import RawDocument
from inference.text.layout import lay_out
from inference.text.segment import segment


class EmptyDocumentError(ValueError):
    """Cleaning left no text: the page held only boilerplate."""


def build_document(raw: RawDocument) -> Document:
    """Clean and segment one raw document. Raises EmptyDocumentError when nothing is left."""
    cleaned = clean_text(raw.content, is_html=raw.is_html, meta=raw.meta)
    if not cleaned.text.strip():
        raise EmptyDocumentError("no text left after cleaning (boilerplate only or empty page)")
    quality = dict(cleaned.quality)
    quality["encoding"] = raw.encoding
    laid_out = lay_out(cleaned.text, cleaned.source_offsets, cleaned.line_indents)
    quality["layout"] = laid_out.layout
    if laid_out.error:
        quality["layout_error"] = laid_out.error
    for reason, count in laid_out.removed.items():
        quality["removed_lines"][reason] = quality["removed_lines"].get(reason, 0) + count
    cleaned.text, cleaned.source_offsets = laid_out.text, laid_out.offsets
    clauses = segment(cleaned.text, laid_out.layout)
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
