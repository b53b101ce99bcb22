"""Label Studio both ways: tasks with our predictions and the labeling config they need
(export), and the tool's JSON export back into gold records and conflicts (import).

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

Import reads Label Studio's default "JSON" export (the tasks with their ``annotations``); the
shared rules for turning reviews into records and conflicts are in inference.review.reconcile.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from inference.records import Clause, Document, Entity
from inference.review.reconcile import (
    ImportSummary,
    Review,
    ReviewImportError,
    ReviewProblem,
    ReviewResult,
    clause_ids,
    conflict,
    gold_record,
    resolve_span,
    settle,
    text_fingerprint,
    whole_number,
)
from inference.review.uncertainty import clause_confidence, label_decisions
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


def _choices_item(clause: Clause, item_id: str, thresholds: dict[str, float],
                  region: tuple[int, int, str] | None = None) -> dict[str, Any] | None:
    labels = sorted(clause.labels or [])
    if not labels and region is None:
        return None
    confidences = [d.confidence for d in label_decisions(labels, clause.scores or {},
                                                         thresholds)] or [1.0]
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


# --- import --------------------------------------------------------------------------------


def _annotator(annotation: dict[str, Any]) -> str:
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        return str(who.get("email") or who.get("username") or f"ls-user-{who.get('id')}")
    return f"ls-user-{who}" if who is not None else "ls-unknown"


def _result_items(annotation: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], Any]]:
    """(type, from_name, value, id) of each result item, checked for shape."""
    items = annotation.get("result", [])
    if not isinstance(items, list):
        raise ReviewProblem("malformed_task", f"annotation result is {type(items).__name__}, "
                            "not a list")
    out = []
    for index, item in enumerate(items):
        value = item.get("value", {}) if isinstance(item, dict) else None
        if not isinstance(value, dict):
            raise ReviewProblem("malformed_task", f"result item {index} is not an object with "
                                "an object 'value'")
        out.append((item.get("type"), item.get("from_name"), value, item.get("id")))
    return out


def _names(value: dict[str, Any], key: str) -> list[str]:
    names = value.get(key, [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ReviewProblem("malformed_task", f"value.{key} is {names!r}, not a list of names")
    return names


def _span(text: str, value: dict[str, Any]) -> tuple[int, int]:
    for edge in ("start", "end"):
        if edge not in value:
            raise ReviewProblem("bad_offsets", f"span {value.get('text')!r} has no '{edge}'")
    surface = value.get("text")
    return resolve_span(text, value["start"], value["end"],
                        surface if isinstance(surface, str) else None)


def _clause_from_ls(data: dict[str, Any], annotation: dict[str, Any], schema: LabelSchema,
                    ) -> dict[str, Any]:
    doc_id, clause_id = clause_ids(data.get("doc_id"), data.get("clause_id"))
    text = str(data["text"])
    labels: list[str] = []
    entities = []
    for kind, from_name, value, _ in _result_items(annotation):
        if kind == "choices" and from_name == CHOICES_NAME:
            labels += _names(value, "choices")
        elif kind == "labels" and from_name == ENTITIES_NAME:
            names = _names(value, "labels")
            if names:
                start, end = _span(text, value)
                entities += [(start, end, name) for name in names]
    return gold_record(doc_id=doc_id, clause_id=clause_id,
                       kind=str(data.get("kind", "body")), section=str(data.get("section", "")),
                       text=text, labels=labels, entities=entities,
                       annotator=_annotator(annotation), source="labelstudio", schema=schema)


def _clauses_from_ls_document(data: dict[str, Any], annotation: dict[str, Any],
                              schema: LabelSchema) -> list[dict[str, Any]]:
    """Document-mode task: clause regions carry per-region choices; entities are placed in the
    clause that contains them."""
    doc_id, _ = clause_ids(data.get("doc_id"), 0)
    text = str(data["text"])
    if not isinstance(data["clauses"], list) or not all(
            isinstance(c, dict) for c in data["clauses"]):
        raise ReviewProblem("malformed_task", "data.clauses is not a list of clause objects")
    clauses = {}
    for clause in data["clauses"]:
        _, clause_id = clause_ids(doc_id, clause.get("clause_id"))
        bounds = (whole_number(clause.get("start"), "clause start"),
                  whole_number(clause.get("end"), "clause end"))
        clauses[bounds] = {**clause, "clause_id": clause_id}
    region_of: dict[str, tuple[int, int]] = {}
    choices_of: dict[str, list[str]] = {}
    spans: list[tuple[int, int, str]] = []
    for kind, from_name, value, item_id in _result_items(annotation):
        if kind == "labels" and from_name == ENTITIES_NAME:
            names = _names(value, "labels")
            if not names:
                continue
            start, end = _span(text, value)
            for name in names:
                if name == CLAUSE_REGION_LABEL:
                    region_of[str(item_id)] = (start, end)
                else:
                    spans.append((start, end, name))
        elif kind == "choices" and from_name == CHOICES_NAME:
            choices_of[str(item_id)] = _names(value, "choices")
    labels_at: dict[tuple[int, int], list[str]] = {bounds: [] for bounds in clauses}
    for region_id, bounds in region_of.items():
        if bounds not in clauses:
            raise ReviewProblem("clause_changed",
                                f"clause region [{bounds[0]}, {bounds[1]}) is not a clause of "
                                "the exported document (regions must not be resized)")
        labels_at[bounds] = choices_of.get(region_id, [])
    missing = sorted(set(clauses) - set(region_of.values()))
    if missing:
        raise ReviewProblem("clause_changed", f"{len(missing)} clause region(s) were deleted, "
                            f"e.g. [{missing[0][0]}, {missing[0][1]})")
    entities_at: dict[tuple[int, int], list[tuple[int, int, str]]] = defaultdict(list)
    for start, end, name in spans:
        home = next((b for b in clauses if b[0] <= start and end <= b[1]), None)
        if home is None:
            raise ReviewProblem("span_crosses_clause",
                                f"{name} span {text[start:end]!r} crosses a clause boundary")
        entities_at[home].append((start - home[0], end - home[0], name))
    out = []
    for bounds, clause in sorted(clauses.items()):
        out.append(gold_record(
            doc_id=doc_id, clause_id=clause["clause_id"],
            kind=str(clause.get("kind", "body")), section=str(clause.get("section", "")),
            text=text[bounds[0]:bounds[1]], labels=labels_at[bounds],
            entities=entities_at[bounds], annotator=_annotator(annotation),
            source="labelstudio", schema=schema))
    return out


def _task_where(path: str, index: int, task: Any) -> str:
    """The task as a reviewer finds it again: Label Studio's task id, else its position."""
    task_id = task.get("id") if isinstance(task, dict) else None
    return f"{path}#task{task_id}" if task_id is not None else f"{path}#index{index}"


def import_labelstudio(path: str | Path, *, schema: LabelSchema | None = None,
                       reference: dict[tuple[str, int], dict[str, Any]] | None = None,
                       ) -> ReviewResult:
    """A Label Studio JSON export (the default "JSON" export: a list of tasks with
    ``annotations``) → gold records and conflicts. A malformed task is a conflict naming it
    (``FILE#task<id>``, or ``FILE#index<n>`` without an id); the import goes on."""
    schema = schema or default_schema()
    where = str(path)
    try:
        tasks = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReviewImportError(f"{path}: not JSON ({exc}); export the project as 'JSON' in "
                                "Label Studio") from exc
    if not isinstance(tasks, list):
        raise ReviewImportError(f"{path}: expected a list of tasks (Label Studio's 'JSON' "
                                "export), found a JSON object")
    summary = ImportSummary()
    reviews: list[Review] = []
    conflicts: list[dict[str, Any]] = []
    ours = 0
    for index, task in enumerate(tasks):
        task_where = _task_where(where, index, task)
        data = task.get("data") if isinstance(task, dict) else None
        if not isinstance(data, dict) or "text" not in data or "doc_id" not in data:
            what = ("not an object" if not isinstance(task, dict) else
                    "task data has no text/doc_id")
            conflicts.append(conflict("malformed_task", f"{what}; was it exported with "
                                      "'policy-clauses export labelstudio'?", task_where,
                                      task_index=index))
            continue
        ours += 1
        doc_id, clause_id = data.get("doc_id"), data.get("clause_id")
        annotations = task.get("annotations", [])
        if not isinstance(annotations, list) or not all(isinstance(a, dict)
                                                        for a in annotations):
            conflicts.append(conflict("malformed_task", "annotations is not a list of objects",
                                      task_where, doc_id, clause_id, task_index=index))
            continue
        kept = [a for a in annotations if not a.get("was_cancelled")]
        if not kept:
            # a task only skipped (cancelled) by reviewers is counted as skipped, not unreviewed
            if annotations:
                summary.skipped += 1
            else:
                summary.unreviewed += 1
            continue
        if data.get("text_sha1") and text_fingerprint(str(data["text"])) != data["text_sha1"]:
            conflicts.append(conflict("text_changed", "the task text is not the text that was "
                                      "exported (fingerprint differs)", task_where, doc_id,
                                      clause_id))
            continue
        for annotation in kept:
            summary.annotations += 1
            try:
                if "clauses" in data:
                    made = _clauses_from_ls_document(data, annotation, schema)
                else:
                    made = [_clause_from_ls(data, annotation, schema)]
            except ReviewProblem as problem:
                conflicts.append(conflict(problem.reason, problem.detail, task_where, doc_id,
                                          clause_id, annotator=_annotator(annotation)))
                continue
            reviews += [Review(record, task_where) for record in made]
    if tasks and not ours:
        raise ReviewImportError(f"{path}: no task has data.text and data.doc_id; was it "
                                "exported with 'policy-clauses export labelstudio'?")
    return settle(reviews, conflicts, summary, reference)
