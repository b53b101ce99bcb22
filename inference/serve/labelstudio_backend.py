"""Label Studio's ML backend protocol on top of our Label Studio format.

Label Studio (1.23) calls an ML backend at ``GET /health``, ``POST /setup`` (with the
project's labeling config as ``schema``), ``POST /predict`` (``tasks`` plus ``label_config``;
the answer is ``{"results": [one prediction per task], "model_version"}``) and ``POST
/webhook`` (every project event, since it registers that URL as a webhook when the backend is
connected). This module holds the protocol's logic without HTTP:

* ``ProjectConfig.parse``: which ``<Choices>``/``<Labels>`` of a project's config carry our
  five labels and AMOUNT/AGENCY, and under which ``from_name``/``to_name``; a config whose label
  names differ from labels/schema.yaml is refused with the names that differ;
* ``task_prediction``: one task → the prediction ``export labelstudio`` would attach (built by
  ``inference.review.labelstudio``, renamed to the project's names);
* ``ReviewStore``: annotations from ``ANNOTATION_CREATED``/``UPDATED`` webhooks, kept as a Label
  Studio JSON export and run through ``import_labelstudio`` into a reviewed-annotations file
  (never labels/gold.jsonl: a person merges it with ``import labelstudio --merge-into``).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference.records import Document
from inference.review.labelstudio import (
    CHOICES_NAME,
    CLAUSE_REGION_LABEL,
    ENTITIES_NAME,
    TEXT_NAME,
    clause_task,
    document_task,
    import_labelstudio,
)
from inference.review.reconcile import write_result
from inference.schema import LabelSchema
from inference.text.segment import segment

ANNOTATION_ACTIONS = ("ANNOTATION_CREATED", "ANNOTATION_UPDATED")
DELETE_ACTION = "ANNOTATIONS_DELETED"
# Tags that show a task field a result can point at (to_name).
OBJECT_TAGS = ("Text", "HyperText", "Paragraphs")


class ConfigMismatchError(ValueError):
    """A labeling config this backend cannot fill: the message names what differs."""


class TaskError(ValueError):
    """One task this backend cannot predict; the other tasks of the request go on."""


def _diff(found: set[str], expected: set[str]) -> str:
    parts = []
    if found - expected:
        parts.append(f"not in labels/schema.yaml: {sorted(found - expected)}")
    if expected - found:
        parts.append(f"missing from the config: {sorted(expected - found)}")
    return "; ".join(parts)


@dataclass(frozen=True)
class ProjectConfig:
    """Where our predictions go in one project's labeling config."""

    choices_name: str
    entities_name: str
    to_name: str
    text_field: str
    mode: str  # "clause" or "document" (clause regions with per-region choices)

    @classmethod
    def parse(cls, config: str, schema: LabelSchema) -> ProjectConfig:
        """Read a labeling config; ``ConfigMismatchError`` names what differs from the schema."""
        if not isinstance(config, str) or not config.strip():
            raise ConfigMismatchError("the project has no labeling config; create it with "
                                      "'policy-clauses export labelstudio-config'")
        try:
            root = ET.fromstring(config)
        except ET.ParseError as exc:
            raise ConfigMismatchError(f"the labeling config is not valid XML: {exc}") from exc
        labels = set(schema.label_names)
        entities = set(schema.entity_names)
        choices = [tag for tag in root.iter("Choices")]
        spans = [tag for tag in root.iter("Labels")]
        if len(choices) != 1 or len(spans) != 1:
            raise ConfigMismatchError(
                f"expected one <Choices> (the clause labels {sorted(labels)}) and one <Labels> "
                f"(the entity types {sorted(entities)}); the config has {len(choices)} "
                f"<Choices> and {len(spans)} <Labels>")
        choice_tag, span_tag = choices[0], spans[0]
        choice_values = {c.get("value", "") for c in choice_tag.iter("Choice")}
        span_values = {c.get("value", "") for c in span_tag.iter("Label")}
        mode = "document" if CLAUSE_REGION_LABEL in span_values else "clause"
        span_values.discard(CLAUSE_REGION_LABEL)
        problems = []
        if choice_values != labels:
            problems.append(f"<Choices name={choice_tag.get('name')!r}> labels differ from the "
                            f"schema ({_diff(choice_values, labels)})")
        if span_values != entities:
            problems.append(f"<Labels name={span_tag.get('name')!r}> entity types differ from "
                            f"the schema ({_diff(span_values, entities)})")
        to_names = {choice_tag.get("toName"), span_tag.get("toName")}
        if len(to_names) != 1 or None in to_names:
            problems.append(f"<Choices> and <Labels> must point at the same text (toName), "
                            f"found {sorted(str(n) for n in to_names)}")
        if problems:
            raise ConfigMismatchError("the labeling config does not match labels/schema.yaml: "
                                      + "; ".join(problems))
        to_name = str(choice_tag.get("toName"))
        target = next((tag for tag in root.iter() if tag.tag in OBJECT_TAGS
                       and tag.get("name") == to_name), None)
        if target is None or not str(target.get("value", "")).startswith("$"):
            raise ConfigMismatchError(f"toName {to_name!r} names no <Text value=\"$field\"> tag "
                                      "in the config")
        return cls(choices_name=str(choice_tag.get("name")),
                   entities_name=str(span_tag.get("name")), to_name=to_name,
                   text_field=str(target.get("value"))[1:], mode=mode)

    def rename(self, result: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Our fixed names (inference.review.labelstudio) → this project's names."""
        names = {CHOICES_NAME: self.choices_name, ENTITIES_NAME: self.entities_name}
        out = []
        for item in result:
            item = dict(item)
            item["from_name"] = names[item["from_name"]]
            if item["to_name"] == TEXT_NAME:
                item["to_name"] = self.to_name
            out.append(item)
        return out


def config_key(config: str) -> str:
    return hashlib.sha1(config.encode("utf-8")).hexdigest()


def task_document(task: Any, config: ProjectConfig, index: int) -> Document:
    """The document a task stands for: one clause (clause mode), or the task text split into
    clauses (document mode; offsets stay offsets into the task text). ``TaskError`` when the
    task has no text in the field the config shows."""
    from inference.records import Clause

    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        raise TaskError(f"task {index}: expected an object with a 'data' object")
    data = task["data"]
    text = data.get(config.text_field)
    if not isinstance(text, str) or not text.strip():
        raise TaskError(f"task {task.get('id', index)}: data.{config.text_field} is missing or "
                        "not a non-empty string")
    doc_id = str(data.get("doc_id") or f"ls-task-{task.get('id', index)}")
    meta = {"title": str(data.get("title") or "")}
    if config.mode == "document":
        clauses = segment(text)
        if not clauses:
            raise TaskError(f"task {task.get('id', index)}: no clauses found in the text")
        return Document(doc_id=doc_id, source=f"labelstudio:task{task.get('id', index)}",
                        text=text, meta=meta, clauses=clauses)
    clause_id = data.get("clause_id", 0)
    clause = Clause(clause_id=int(clause_id) if str(clause_id).isdigit() else 0, text=text,
                    start=0, end=len(text), kind=str(data.get("kind") or "body"),
                    section=str(data.get("section") or ""))
    return Document(doc_id=doc_id, source=f"labelstudio:task{task.get('id', index)}",
                    text=text, meta=meta, clauses=[clause])


def task_prediction(document: Document, config: ProjectConfig, *, model_version: str,
                    thresholds: dict[str, float]) -> dict[str, Any]:
    """The prediction ``export labelstudio`` attaches to the same task, in the project's names."""
    if config.mode == "document":
        task = document_task(document, model_version=model_version, thresholds=thresholds)
    else:
        task = clause_task(document, document.clauses[0], model_version=model_version,
                           thresholds=thresholds)
    (prediction,) = task["predictions"]
    return {"model_version": model_version, "score": prediction["score"],
            "result": config.rename(prediction["result"])}


# ----------------------------------------------------------------------------- webhook


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class ReviewStore:
    """Reviewed annotations from webhooks → ``OUT`` (gold-record JSONL) via the import path.

    The annotated tasks are kept beside it as ``OUT.tasks.json`` in Label Studio's JSON export
    shape, so ``policy-clauses import labelstudio OUT.tasks.json`` gives the same records; an
    updated annotation replaces the earlier version of itself (same annotation id).
    """

    def __init__(self, out: str | Path, gold_path: str | Path | None = None) -> None:
        self.out = Path(out)
        if gold_path is not None and self.out.resolve() == Path(gold_path).resolve():
            raise ValueError(f"{self.out} is the gold file; reviewed annotations go to their own "
                             "file and a person merges them (import labelstudio --merge-into)")
        self.tasks_path = self.out.with_name(self.out.name.removesuffix(".jsonl") + ".tasks.json")
        self._lock = threading.Lock()
        self._tasks: dict[str, dict[str, Any]] = {}
        if self.tasks_path.is_file():
            try:
                tasks = json.loads(self.tasks_path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ValueError(f"{self.tasks_path}: not a JSON list of annotated tasks ({exc}); "
                                 "move it away or give another --reviewed-out") from exc
            if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
                raise ValueError(f"{self.tasks_path}: expected a JSON list of annotated tasks; "
                                 "move it away or give another --reviewed-out")
            for task in tasks:
                self._tasks[str(task.get("id"))] = task

    def apply(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Store one webhook event; returns what the file now holds. ``TaskError`` for an
        event that carries no usable task or annotation."""
        action = payload.get("action")
        if action == DELETE_ACTION:
            return self._delete(payload)
        task, annotation = payload.get("task"), payload.get("annotation")
        if not isinstance(task, dict) or not isinstance(annotation, dict):
            raise TaskError(f"{action} event without a 'task' and an 'annotation' object")
        data = task.get("data")
        if not isinstance(data, dict) or "text" not in data or "doc_id" not in data:
            raise TaskError(f"task {task.get('id')} has no data.text/data.doc_id: it was not "
                            "exported by 'policy-clauses export labelstudio', so it cannot "
                            "become a gold record")
        if not isinstance(annotation.get("result", []), list):
            raise TaskError(f"annotation {annotation.get('id')}: 'result' is not a list")
        with self._lock:
            key = str(task.get("id"))
            stored = self._tasks.setdefault(key, {"id": task.get("id"), "annotations": []})
            stored["data"] = data
            kept = [a for a in stored["annotations"] if a.get("id") != annotation.get("id")
                    or annotation.get("id") is None]
            stored["annotations"] = [*kept, annotation]
            return self._write()

    def _delete(self, payload: dict[str, Any]) -> dict[str, Any]:
        gone = {str(a.get("id")) for a in payload.get("annotations", []) if isinstance(a, dict)}
        with self._lock:
            for task in self._tasks.values():
                task["annotations"] = [a for a in task["annotations"]
                                       if str(a.get("id")) not in gone]
            return self._write()

    def _write(self) -> dict[str, Any]:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        tasks = [task for task in self._tasks.values() if task["annotations"]]
        _write_atomically(self.tasks_path, json.dumps(tasks, ensure_ascii=False, indent=1))
        result = import_labelstudio(self.tasks_path)
        conflicts = write_result(result, self.out)
        return {"records": len(result.records), "conflicts": len(result.conflicts),
                "reviewed_file": self.out.name, "conflicts_file": conflicts.name,
                "summary": result.summary.line()}
