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

from inference.records import Clause, Document, ErrorRecord
from inference.scoring.components import ClauseScorer

# Entity scores are mean token probabilities of the decoded span (inference.scoring.align); a
# span the tagger barely kept sits near this value.
ENTITY_THRESHOLD = 0.5


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
    from inference.schema import default_schema
    from inference.scoring.models import load_scorer

    names = list(label_names or default_schema().label_names)
    documents: list[Document] = []
    errors: list[ErrorRecord] = []
    if from_predictions is not None:
        scorer = load_scorer(model, fast=fast) if model else None
        path = Path(from_predictions)
        with path.open(encoding="utf-8") as handle:
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                record = json.loads(line)
                if "clauses" not in record or "doc_id" not in record:
                    raise ValueError(
                        f"{path}:{lineno}: not a 'policy-clauses predict' document record "
                        "(expected doc_id and clauses); give crawl inputs as PATH instead")
                documents.append(Document.from_dict(record))
        version = str(record_model_version(documents) or (scorer.name if scorer else "predictions"))
        return ScoredInputs(documents, errors, version, scorer_thresholds(scorer, names))
    scorer = load_scorer(model, rules=rules, fast=fast)
    for chunk in chunked(iter_documents(paths), chunk_documents):
        docs = [item for item in chunk if isinstance(item, Document)]
        errors += [item for item in chunk if isinstance(item, ErrorRecord)]
        for result in score_chunk(scorer, docs):
            (errors if isinstance(result, ErrorRecord) else documents).append(result)
    return ScoredInputs(documents, errors, scorer.name, scorer_thresholds(scorer, names))


def record_model_version(documents: Sequence[Document]) -> str | None:
    for document in documents:
        version = document.meta.get("model_version")
        if version:
            return str(version)
    return None


def clause_margin(clause: Clause, thresholds: dict[str, float],
                  entity_threshold: float = ENTITY_THRESHOLD) -> float:
    """How far the scorer was from changing its mind about this clause; smaller means less
    sure. The minimum of ``|p - threshold|`` over labels and ``score - entity_threshold`` over
    entities (a span kept at 0.52 is as doubtful as a label at threshold ± 0.02)."""
    margins = [abs(float(p) - thresholds.get(name, 0.5))
               for name, p in (clause.scores or {}).items()]
    margins += [max(0.0, float(e.score) - entity_threshold)
                for e in clause.entities or [] if e.score is not None]
    return min(margins) if margins else 1.0


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
