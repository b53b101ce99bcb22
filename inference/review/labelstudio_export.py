"""Label Studio tasks with our predictions attached, and the labeling config they need.

Formats follow Label Studio's task import JSON: a list of ``{"data": {...}, "predictions":
[{"model_version", "score", "result": [...]}]}``. Result items use the ``from_name`` /
``to_name`` of the config generated here from labels/schema.yaml, so the two always agree:

* ``choices`` (``from_name="labels"``): the clause labels, multi-select;
* ``labels`` (``from_name="entities"``): AMOUNT/AGENCY spans, ``value.start``/``value.end``
  end-exclusive character offsets into ``data.text`` plus ``value.text`` (what import checks).

Two task modes. ``clause`` (default): one task per clause, with the section and title as
context. ``document``: one task per document over the whole cleaned text; every clause is a
``clause`` region and its labels are per-region choices (same result ``id``), entities are
offset into the document text. Each result item has its own ``score``; the prediction's
``score`` is its least confident decision, so sorting by prediction score in Label Studio's
Data Manager puts the doubtful tasks first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import quoteattr

from inference.records import Clause, Document, Entity
from inference.schema import LabelSchema, default_schema

MODES = ("clause", "document")
TEXT_NAME = "text"
CHOICES_NAME = "labels"
ENTITIES_NAME = "entities"
CLAUSE_REGIONS_NAME = "clause"
CLAUSE_REGION_LABEL = "clause"

# Fixed colours per position in the schema: readable on white, distinct for five labels.
LABEL_COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#e15759", "#76b7b2", "#edc948")
ENTITY_COLOURS = ("#ffd166", "#06d6a0", "#118ab2", "#ef476f")


def text_fingerprint(text: str) -> str:
    """Stored with each task so import can tell the text it gets back is the text we sent."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def labeling_config(schema: LabelSchema | None = None, mode: str = "clause") -> str:
    """Label Studio labeling config XML for our tasks, generated from the schema."""
    schema = schema or default_schema()
    if mode not in MODES:
        raise ValueError(f"unknown task mode {mode!r}; expected one of {list(MODES)}")
    lines = ["<View>",
             '  <Header value="$title" size="5"/>']
    if mode == "clause":
        lines.append('  <Text name="section" value="$section"/>')
    lines.append(f'  <Text name="{TEXT_NAME}" value="$text" granularity="symbol"/>')
    lines.append(f'  <Labels name="{ENTITIES_NAME}" toName="{TEXT_NAME}">')
    for index, entity in enumerate(schema.entity_types):
        colour = ENTITY_COLOURS[index % len(ENTITY_COLOURS)]
        lines.append(f'    <Label value={quoteattr(entity.name)} background="{colour}" '
                     f'hint={quoteattr(f"{entity.zh}: {entity.definition}")}/>')
    if mode == "document":
        lines.append(f'    <Label value="{CLAUSE_REGION_LABEL}" background="#dddddd" '
                     'hint="a clause as the segmenter made it; its labels are the choices '
                     'shown when the region is selected"/>')
    lines.append("  </Labels>")
    per_region = ' perRegion="true"' if mode == "document" else ""
    lines.append(f'  <Choices name="{CHOICES_NAME}" toName="{TEXT_NAME}" choice="multiple" '
                 f'showInline="true"{per_region}>')
    for label in schema.clause_labels:
        lines.append(f'    <Choice value={quoteattr(label.name)} '
                     f'hint={quoteattr(f"{label.zh}: {label.definition}")}/>')
    lines.append("  </Choices>")
    lines.append("</View>")
    return "\n".join(lines) + "\n"


def _rid(*parts: Any) -> str:
    """A result id unique within the task, stable across runs (Label Studio only needs it
    unique; stable ids make exports diff-able)."""
    return "-".join(str(p) for p in parts)


def _label_confidence(name: str, p: float, decided: bool, thresholds: dict[str, float]) -> float:
    """Confidence of the decision on one label, 0.5 at the threshold and 1 at the far end."""
    t = thresholds.get(name, 0.5)
    if decided:
        return 0.5 + 0.5 * (p - t) / max(1e-9, 1 - t)
    return 0.5 + 0.5 * (t - p) / max(1e-9, t)


def clause_confidence(clause: Clause, thresholds: dict[str, float]) -> float:
    labels = set(clause.labels or [])
    values = [_label_confidence(name, float(p), name in labels, thresholds)
              for name, p in (clause.scores or {}).items()]
    values += [float(e.score) for e in clause.entities or [] if e.score is not None]
    return round(min(values), 4) if values else 1.0


def _choices_item(clause: Clause, item_id: str, thresholds: dict[str, float],
                  region: tuple[int, int, str] | None = None) -> dict[str, Any] | None:
    labels = sorted(clause.labels or [])
    if not labels and region is None:
        return None
    scores = clause.scores or {}
    confidences = [_label_confidence(name, float(scores.get(name, 0.0)), name in labels,
                                     thresholds) for name in scores] or [1.0]
    value: dict[str, Any] = {"choices": labels}
    if region is not None:
        value = {"start": region[0], "end": region[1], "text": region[2], "choices": labels}
    return {"id": item_id, "from_name": CHOICES_NAME, "to_name": TEXT_NAME, "type": "choices",
            "value": value, "score": round(min(confidences), 4)}


def _span_item(entity: Entity, item_id: str, offset: int = 0,
               label: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": item_id, "from_name": ENTITIES_NAME, "to_name": TEXT_NAME, "type": "labels",
        "value": {"start": entity.start + offset, "end": entity.end + offset,
                  "text": entity.text, "labels": [label or entity.type]},
    }
    if entity.score is not None:
        item["score"] = round(float(entity.score), 4)
    return item


def clause_task(document: Document, clause: Clause, *, model_version: str,
                thresholds: dict[str, float], margin: float | None = None) -> dict[str, Any]:
    """One Label Studio task for one clause, with the model's proposal as a prediction."""
    data: dict[str, Any] = {
        "text": clause.text,
        "doc_id": document.doc_id,
        "clause_id": clause.clause_id,
        "section": clause.section,
        "title": str(document.meta.get("title", "")),
        "kind": clause.kind,
        "source": document.source,
        "text_sha1": text_fingerprint(clause.text),
    }
    if clause.scores is not None:
        data["model_scores"] = {k: round(float(v), 4) for k, v in clause.scores.items()}
    if margin is not None:
        data["uncertainty_margin"] = round(margin, 4)
    task: dict[str, Any] = {"data": data}
    if clause.scores is None and clause.entities is None:
        return task
    result = []
    choices = _choices_item(clause, _rid("c", clause.clause_id), thresholds)
    if choices:
        result.append(choices)
    for index, entity in enumerate(clause.entities or []):
        result.append(_span_item(entity, _rid("e", clause.clause_id, index)))
    task["predictions"] = [{"model_version": model_version,
                            "score": clause_confidence(clause, thresholds),
                            "result": result}]
    return task


def document_task(document: Document, *, model_version: str,
                  thresholds: dict[str, float]) -> dict[str, Any]:
    """One task for a whole document: clauses as regions, their labels as per-region choices."""
    data: dict[str, Any] = {
        "text": document.text,
        "doc_id": document.doc_id,
        "title": str(document.meta.get("title", "")),
        "source": document.source,
        "text_sha1": text_fingerprint(document.text),
        "clauses": [{"clause_id": c.clause_id, "start": c.start, "end": c.end, "kind": c.kind,
                     "section": c.section} for c in document.clauses],
    }
    result: list[dict[str, Any]] = []
    confidences = []
    for clause in document.clauses:
        region_id = _rid("r", clause.clause_id)
        result.append({
            "id": region_id, "from_name": ENTITIES_NAME, "to_name": TEXT_NAME,
            "type": "labels",
            "value": {"start": clause.start, "end": clause.end, "text": clause.text,
                      "labels": [CLAUSE_REGION_LABEL]},
        })
        choices = _choices_item(clause, region_id, thresholds,
                                region=(clause.start, clause.end, clause.text))
        if choices:
            result.append(choices)
        for index, entity in enumerate(clause.entities or []):
            result.append(_span_item(entity, _rid("e", clause.clause_id, index),
                                     offset=clause.start))
        confidences.append(clause_confidence(clause, thresholds))
    return {"data": data, "predictions": [{"model_version": model_version,
                                            "score": min(confidences) if confidences else 1.0,
                                            "result": result}]}


def build_tasks(documents: Sequence[Document], *, model_version: str,
                thresholds: dict[str, float], mode: str = "clause",
                selected: Sequence[tuple[Document, Clause, float]] | None = None,
                ) -> list[dict[str, Any]]:
    """Tasks for every clause (or the ``selected`` ones, in their rank order), or one task per
    document in document mode (a selection then picks the documents its clauses come from)."""
    if mode not in MODES:
        raise ValueError(f"unknown task mode {mode!r}; expected one of {list(MODES)}")
    if mode == "document":
        if selected is not None:
            wanted = {doc.doc_id for doc, _, _ in selected}
            documents = [doc for doc in documents if doc.doc_id in wanted]
        return [document_task(doc, model_version=model_version, thresholds=thresholds)
                for doc in documents]
    if selected is not None:
        return [clause_task(doc, clause, model_version=model_version, thresholds=thresholds,
                            margin=margin) for doc, clause, margin in selected]
    return [clause_task(doc, clause, model_version=model_version, thresholds=thresholds)
            for doc in documents for clause in doc.clauses]
