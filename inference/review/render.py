"""One self-contained HTML page per scored document, for reading what the model proposes.

No scripts, fonts or stylesheets from elsewhere: the page opens offline and can be mailed.
Each clause is a ``<span class="clause" data-clause-id=… data-labels=…>`` coloured by its
labels (a stripe per label), entities are ``<mark>`` elements, and every score is in a ``title``
attribute so it shows on hover. Headings start a new block; the metadata header and a legend
come first.

Every value from the input is escaped (text, ids, metadata, kinds, labels, entity types,
scores), and class names are made only from names the schema defines: a kind, label or entity
type it does not know gets no class, so hostile predictions cannot add markup or styling.

Page names (several documents → a folder): the doc_id with every character other than a
letter, digit, ``-`` or ``_`` replaced by ``_``, cut to 100 bytes; when that changed the id, a
hash of the full id is appended (``a/b`` → ``a_b-<8 hex>.html``, so it cannot meet ``a_b``), and a
name already taken in the folder (the same id twice, or names that differ only in case) gets
``-2``, ``-3``, … in input order.
"""

from __future__ import annotations

import hashlib
import html
from pathlib import Path

from inference.records import Clause, Document
from inference.review.labelstudio import ENTITY_COLOURS, LABEL_COLOURS
from inference.schema import LabelSchema, default_schema

META_NAMES = {"title": "标题", "issuer": "发文机关", "doc_number": "发文字号",
              "published": "发布日期", "written": "成文日期", "index_no": "索引号"}


def _style(schema: LabelSchema) -> str:
    rules = [
        "body{font-family:'Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei',sans-serif;"
        "max-width:60em;margin:2em auto;line-height:1.9;color:#222;background:#fff}",
        "header{border-bottom:1px solid #ccc;margin-bottom:1em}",
        "header dl{display:grid;grid-template-columns:max-content auto;gap:0 1em}",
        "header dt{color:#666}",
        ".legend span{display:inline-block;margin:0 .6em .3em 0;padding:0 .4em;border-radius:3px}",
        ".clause{padding:1px 2px;border-bottom:3px solid transparent;line-height:2.2}",
        ".clause.heading{display:block;font-weight:bold;margin-top:1em}",
        "mark{border-radius:3px;padding:0 1px}",
        "p.block{margin:.4em 0}",
    ]
    for index, name in enumerate(schema.label_names):
        colour = LABEL_COLOURS[index % len(LABEL_COLOURS)]
        rules.append(f".lab-{name}{{border-bottom-color:{colour};background:{colour}22}}")
        rules.append(f".legend .lab-{name}{{border-bottom:3px solid {colour}}}")
    for index, name in enumerate(schema.entity_names):
        colour = ENTITY_COLOURS[index % len(ENTITY_COLOURS)]
        rules.append(f"mark.ent-{name}{{background:{colour}}}")
    return "\n".join(rules)


def _stripes(labels: list[str], schema: LabelSchema) -> str:
    """One 3px stripe under the clause per label, stacked, so multi-label clauses show all."""
    colours = [LABEL_COLOURS[schema.label_names.index(name) % len(LABEL_COLOURS)]
               for name in labels if name in schema.label_names]
    if len(colours) < 2:
        return ""
    shadows = ",".join(f"0 {3 * (i + 1)}px 0 {c}" for i, c in enumerate(colours))
    return f' style="box-shadow:{shadows}"'


def _clause_html(clause: Clause, schema: LabelSchema) -> str:
    labels = sorted(name for name in clause.labels or [] if name in schema.label_names)
    scores = clause.scores or {}
    tip = "; ".join(f"{name} {float(p):.2f}" for name, p in sorted(scores.items()))
    classes = ["clause"] + ([clause.kind] if clause.kind in schema.clause_kinds else [])
    classes += [f"lab-{name}" for name in labels]
    pieces = []
    cursor = 0
    for entity in sorted(clause.entities or [], key=lambda e: e.start):
        if entity.start < cursor:
            continue
        pieces.append(html.escape(clause.text[cursor:entity.start]))
        score = f" {float(entity.score):.2f}" if entity.score is not None else ""
        known = entity.type in schema.entity_names
        mark_class = f' class="ent-{entity.type}"' if known else ""
        pieces.append(f'<mark{mark_class} title="{html.escape(entity.type)}{score}">'
                      f"{html.escape(clause.text[entity.start:entity.end])}</mark>")
        cursor = entity.end
    pieces.append(html.escape(clause.text[cursor:]))
    title = f"#{clause.clause_id} [{', '.join(labels) or '—'}] {tip}".strip()
    return (f'<span class="{" ".join(classes)}" '
            f'data-clause-id="{html.escape(str(clause.clause_id))}" '
            f'data-labels="{" ".join(labels)}" title="{html.escape(title)}"'
            f'{_stripes(labels, schema)}>'
            f'{"".join(pieces)}</span>')


def render_document(document: Document, schema: LabelSchema | None = None,
                    model_version: str = "") -> str:
    schema = schema or default_schema()
    title = str(document.meta.get("title") or document.doc_id)
    meta_rows = "".join(
        f"<dt>{html.escape(label)}</dt><dd>{html.escape(str(document.meta[key]))}</dd>"
        for key, label in META_NAMES.items() if document.meta.get(key))
    meta_rows += (f"<dt>doc_id</dt><dd>{html.escape(document.doc_id)}</dd>"
                  f"<dt>来源</dt><dd>{html.escape(document.source)}</dd>")
    if model_version:
        meta_rows += f"<dt>model</dt><dd>{html.escape(model_version)}</dd>"
    legend = "".join(
        f'<span class="lab-{d.name}" title="{html.escape(d.definition)}">{d.name} {d.zh}</span>'
        for d in schema.clause_labels)
    legend += "".join(
        f'<span><mark class="ent-{d.name}" title="{html.escape(d.definition)}">{d.name} {d.zh}'
        f"</mark></span>" for d in schema.entity_types)
    blocks: list[list[str]] = [[]]
    for clause in document.clauses:
        if clause.kind == "heading" and blocks[-1]:
            blocks.append([])
        blocks[-1].append(_clause_html(clause, schema))
        # a line break in the cleaned text ends a paragraph
        if document.text[clause.end:clause.end + 1] == "\n" and clause.kind != "heading":
            blocks.append([])
    body = "\n".join(f'<p class="block">{"".join(b)}</p>' for b in blocks if b)
    return (
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{_style(schema)}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1><dl>{meta_rows}</dl>"
        f'<div class="legend">{legend}</div></header>'
        f'<main data-clauses="{len(document.clauses)}">{body}</main></body></html>\n'
    )


PAGE_STEM_BYTES = 100


def page_stem(doc_id: str) -> str:
    """A file-name stem for a document, at most ~110 bytes: the doc_id made safe, with a hash
    of the real id when making it safe changed it (see the module docstring)."""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in doc_id)
    cut = safe.encode("utf-8")[:PAGE_STEM_BYTES].decode("utf-8", errors="ignore")
    if cut and cut == doc_id:
        return cut
    return f"{cut}-{hashlib.sha1(doc_id.encode('utf-8')).hexdigest()[:8]}"


def page_names(documents: list[Document]) -> list[str]:
    """One distinct ``.html`` name per document, in input order."""
    taken: set[str] = set()
    names = []
    for document in documents:
        stem = name = page_stem(document.doc_id)
        copy = 1
        while name.casefold() in taken:  # case-insensitive file systems see A and a as one
            copy += 1
            name = f"{stem}-{copy}"
        taken.add(name.casefold())
        names.append(f"{name}.html")
    return names


def write_pages(documents: list[Document], out: str | Path, *, model_version: str = "",
                schema: LabelSchema | None = None) -> list[Path]:
    """One document → ``out`` is the page; several → ``out`` is a folder of pages."""
    out = Path(out)
    if len(documents) == 1 and out.suffix.lower() in (".html", ".htm"):
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_document(documents[0], schema, model_version), encoding="utf-8")
        return [out]
    if out.suffix.lower() in (".html", ".htm"):
        raise ValueError(f"{len(documents)} documents cannot go into one page {out}; give a "
                         "folder as -o")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for document, name in zip(documents, page_names(documents), strict=True):
        path = out / name
        path.write_text(render_document(document, schema, model_version), encoding="utf-8")
        written.append(path)
    return written
