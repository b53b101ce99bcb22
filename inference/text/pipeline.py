"""Raw document → cleaned, segmented ``Document``: the preprocessing shared by predict,
export, annotation and training, so train and serve see the same clauses."""

from __future__ import annotations

from inference.records import Document
from inference.text.clean import clean_text
from inference.text.ingest import RawDocument
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
    clauses = segment(cleaned.text)
    if not clauses:
        raise EmptyDocumentError("no clauses found after cleaning")
    for clause in clauses:
        source_start, source_end = cleaned.to_source(clause.start, clause.end)
        clause.extra["source_start"] = source_start
        clause.extra["source_end"] = source_end
    return Document(
        doc_id=raw.doc_id,
        source=raw.source,
        text=cleaned.text,
        meta=cleaned.meta,
        quality=quality,
        clauses=clauses,
    )
