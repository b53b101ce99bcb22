"""The review loop's input: scored documents, and which clauses are worth a reviewer's time.

Every review surface (Label Studio, doccano, the HTML page) starts from the same scored
documents, produced through ``annotate_clauses``' scoring step (``score_chunk``), so what a
reviewer corrects is exactly what ``predict`` would have output. Uncertainty sampling ranks
clauses by how close the model came to deciding the other way: the smallest margin
``|p - threshold|`` over the five labels, or a low-scoring entity, and spreads the picks across
documents so one long, odd document cannot eat the whole review budget.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference.errors import UserError
from inference.records import Clause, Document, ErrorRecord
from inference.review.uncertainty import clause_margin
from inference.schema import LabelSchema, default_schema
from inference.scoring.components import ClauseScorer


@dataclass
class ScoredInputs:
    """Scored documents plus what the review surfaces need to say about the scorer."""

    documents: list[Document]
    errors: list[ErrorRecord]
    model_version: str
    thresholds: dict[str, float]


def scorer_thresholds(scorer: ClauseScorer | None, label_names: Sequence[str]) -> dict[str, float]:
    """Per-label decision thresholds of a scorer (``ClauseScorer.thresholds``); without a
    scorer, every label is taken to decide at 0.5."""
    if scorer is not None:
        return {name: float(scorer.thresholds.get(name, 0.5)) for name in label_names}
    return dict.fromkeys(label_names, 0.5)


def scored_documents(
    paths: Iterable[str | Path] = (),
    *,
    model: str | Path | None = None,
    rules: bool = False,
    from_predictions: str | Path | None = None,
    label_names: Sequence[str] | None = None,
    chunk_documents: int = 64,
    fast: str = "none",
) -> ScoredInputs:
    """Crawl inputs scored through the shared scoring step, or an existing ``predict`` output.

    With ``from_predictions`` the scores in that file are used as they are (no model is
    loaded); the thresholds are then the schema default of 0.5 unless ``model`` names the model
    that produced them.
    """
    from inference.batch.run import chunked, iter_documents, score_chunk
    from inference.scoring.models import load_scorer

    names = list(label_names or default_schema().label_names)
    documents: list[Document] = []
    errors: list[ErrorRecord] = []
    if from_predictions is not None:
        scorer = load_scorer(model, fast=fast) if model else None
        documents, errors = read_predictions(Path(from_predictions))
        version = str(record_model_version(documents)
                      or (scorer.version if scorer else "predictions"))
        return ScoredInputs(documents, errors, version, scorer_thresholds(scorer, names))
    scorer = load_scorer(model, rules=rules, fast=fast)
    for chunk in chunked(iter_documents(paths), chunk_documents):
        docs = [item for item in chunk if isinstance(item, Document)]
        errors += [item for item in chunk if isinstance(item, ErrorRecord)]
        for result in score_chunk(scorer, docs):
            (errors if isinstance(result, ErrorRecord) else documents).append(result)
    return ScoredInputs(documents, errors, scorer.version, scorer_thresholds(scorer, names))


# The stage of a warning about a dropped field (the document itself is kept).
CHECK_STAGE = "check predictions"


def read_predictions(path: Path, schema: LabelSchema | None = None,
                     ) -> tuple[list[Document], list[ErrorRecord]]:
    """Document records of a ``predict`` output, checked against the schema before any review
    surface shows them: a clause kind, label, score name or entity type the schema does not
    know, or an entity without its offsets or type, is dropped with a warning naming the file
    and line; a line that is not JSON, or whose clauses cannot be read, is an error record and
    the rest of the file goes on."""
    schema = schema or default_schema()
    documents: list[Document] = []
    errors: list[ErrorRecord] = []
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                record = json.loads(line)
            except (ValueError, RecursionError) as exc:
                errors.append(ErrorRecord(where, "read predictions", f"not JSON ({exc})"))
                continue
            if not isinstance(record, dict) or "clauses" not in record or "doc_id" not in record:
                raise UserError(f"{where}: not a 'policy-clauses predict' document record "
                                "(expected doc_id and clauses); give crawl inputs as PATH "
                                "instead")
            doc_id = str(record["doc_id"])
            warnings: list[str] = []
            try:
                record = {**record, "clauses": [_checked_clause(clause, schema, warnings)
                                                for clause in record["clauses"]]}
                documents.append(Document.from_dict(record))
            except (KeyError, TypeError, ValueError) as exc:
                errors.append(ErrorRecord(where, "read predictions", "document skipped: "
                                          f"{type(exc).__name__}: {exc}", doc_id))
                continue
            errors += [ErrorRecord(where, CHECK_STAGE, warning, doc_id)
                       for warning in warnings]
    return documents, errors


def _checked_clause(clause: Any, schema: LabelSchema, warnings: list[str]) -> dict[str, Any]:
    """A clause record with what the schema does not know taken out, each removal noted."""
    if not isinstance(clause, dict):
        raise TypeError(f"a clause is a JSON {type(clause).__name__}, not an object")
    clause = dict(clause)
    at = f"clause {clause.get('clause_id')!r}"
    if clause.get("kind", "body") not in schema.clause_kinds:
        warnings.append(f"{at}: unknown kind {clause['kind']!r} read as 'body'")
        clause["kind"] = "body"
    labels = clause.get("labels")
    if labels is not None:
        labels = labels if isinstance(labels, list) else [labels]
        unknown = [label for label in labels if label not in schema.label_names]
        if unknown:
            warnings.append(f"{at}: unknown label(s) {unknown} dropped")
        clause["labels"] = [label for label in labels if label in schema.label_names]
    scores = clause.get("scores")
    if scores is not None:
        scores = scores if isinstance(scores, dict) else {}
        kept = {name: p for name, p in scores.items() if name in schema.label_names
                and isinstance(p, int | float) and not isinstance(p, bool)}
        if len(kept) != len(scores) or not isinstance(clause["scores"], dict):
            warnings.append(f"{at}: scores other than numbers for known labels dropped")
        clause["scores"] = kept
    entities = clause.get("entities")
    if entities is not None:
        kept_entities = []
        for index, entity in enumerate(entities if isinstance(entities, list) else [entities]):
            problem = _entity_problem(entity, schema)
            if problem:
                warnings.append(f"{at}: entity {index} skipped: {problem}")
            else:
                kept_entities.append(entity)
        clause["entities"] = kept_entities
    return clause


def _entity_problem(entity: Any, schema: LabelSchema) -> str | None:
    if not isinstance(entity, dict):
        return f"a JSON {type(entity).__name__}, not an object"
    for key in ("start", "end", "type", "text"):
        if key not in entity:
            return f"no {key!r}"
    if not all(isinstance(entity[k], int) and not isinstance(entity[k], bool)
               for k in ("start", "end")):
        return f"offsets {entity['start']!r}, {entity['end']!r} are not whole numbers"
    if entity["type"] not in schema.entity_names:
        return f"unknown type {entity['type']!r}"
    score = entity.get("score")
    if score is not None and (not isinstance(score, int | float) or isinstance(score, bool)):
        return f"score {score!r} is not a number"
    return None


def record_model_version(documents: Sequence[Document]) -> str | None:
    for document in documents:
        version = document.meta.get("model_version")
        if version:
            return str(version)
    return None


def select_uncertain(
    documents: Sequence[Document], n: int, thresholds: dict[str, float],
    per_document: int | None = None,
) -> list[tuple[Document, Clause, float]]:
    """The ``n`` most uncertain clauses, taken round-robin across documents.

    Documents are visited in order of their most uncertain clause; each turn takes a
    document's next most uncertain clause, so the picks spread over documents while the most
    doubtful clauses still come first. ``per_document`` caps how many one document may give.
    Ties break on (doc_id, clause_id) so the selection is reproducible.
    """
    if n <= 0:
        return []
    queues: dict[str, list[tuple[float, Clause, Document]]] = defaultdict(list)
    for document in documents:
        for clause in document.clauses:
            queues[document.doc_id].append((clause_margin(clause, thresholds), clause, document))
    for queue in queues.values():
        queue.sort(key=lambda item: (item[0], item[1].clause_id))
    order = sorted(queues, key=lambda doc_id: (queues[doc_id][0][0], doc_id))
    cap = per_document if per_document is not None else float("inf")
    picked: list[tuple[Document, Clause, float]] = []
    depth = 0
    while len(picked) < n:
        took = False
        for doc_id in order:
            queue = queues[doc_id]
            if depth < len(queue) and depth < cap:
                margin, clause, document = queue[depth]
                picked.append((document, clause, margin))
                took = True
                if len(picked) == n:
                    break
        if not took:
            break
        depth += 1
    return picked
