"""Clause segmentation scored against a hand-segmented reference (GUIDELINES §1).

The gold clauses in labels/gold.jsonl are the segmenter's own output (train and serve must
agree), so they cannot measure the segmenter. labels/segmentation/ holds documents segmented
by hand instead: ``texts/DOC.txt`` is the cleaned text as the annotator saw it, and
``gold/DOC.txt`` one clause per line as ``KIND<TAB>CLAUSE`` (KIND ``heading`` or ``body``),
each clause copied from the text, in order.

Two scores, micro-averaged over documents:

* **boundary F1**: over the set of clause boundaries, a boundary being the character offset
  where a clause ends (whitespace and punctuation-only gaps between clauses do not move it);
* **clause F1**: over whole clauses, a clause counting only when both its ends match.

Kind accuracy (heading vs body) is reported over the clauses that match.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.data import gold as data
from training.eval.metrics import prf

SEGMENTATION_DIR = data.LABELS_DIR / "segmentation"
KINDS = ("heading", "body")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str


def read_reference(gold_file: Path, text: str) -> list[Span]:
    """The hand-made clauses of one document as spans of ``text``; a line that is not found
    in order is an error naming the file and the line."""
    spans: list[Span] = []
    cursor = 0
    for lineno, line in enumerate(gold_file.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        kind, sep, clause = line.partition("\t")
        if not sep or kind not in KINDS or not clause.strip():
            raise ValueError(f"{gold_file}:{lineno}: expected 'heading|body<TAB>clause text'")
        clause = clause.strip()
        start = text.find(clause, cursor)
        if start < 0:
            raise ValueError(f"{gold_file}:{lineno}: clause not found in the text after "
                             f"offset {cursor}: {clause[:40]!r}")
        spans.append(Span(start, start + len(clause), kind))
        cursor = start + len(clause)
    return spans


def predicted_spans(text: str) -> list[Span]:
    from inference.text.segment import segment

    return [Span(c.start, c.end, c.kind) for c in segment(text)]


def _prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    return prf(tp, n_pred - tp, n_gold - tp).to_dict()


def load_document(folder: Path, doc: str) -> tuple[str, list[Span], list[Span]]:
    """Text, reference spans and the segmenter's spans of one hand-segmented document."""
    gold_file = folder / "gold" / f"{doc}.txt"
    text_file = folder / "texts" / f"{doc}.txt"
    if not text_file.is_file():
        raise FileNotFoundError(f"{gold_file}: no text {text_file} to score it against")
    text = text_file.read_text(encoding="utf-8")
    return text, read_reference(gold_file, text), predicted_spans(text)


def compare(gold: list[Span], predicted: list[Span]) -> dict[str, Any]:
    """Counts for one document (add them up across documents for micro scores)."""
    gold_ends, pred_ends = {s.end for s in gold}, {s.end for s in predicted}
    gold_by_span = {(s.start, s.end): s.kind for s in gold}
    matched = [(gold_by_span[(s.start, s.end)], s.kind) for s in predicted
               if (s.start, s.end) in gold_by_span]
    return {"gold": len(gold), "predicted": len(predicted),
            "boundary_tp": len(gold_ends & pred_ends), "gold_boundaries": len(gold_ends),
            "predicted_boundaries": len(pred_ends), "clause_tp": len(matched),
            "kind_correct": sum(g == p for g, p in matched)}


def score_directory(folder: Path = SEGMENTATION_DIR) -> dict[str, Any]:
    """Per-document counts and micro boundary / clause F1 over every ``gold/*.txt``."""
    per_doc: dict[str, dict[str, Any]] = {}
    for gold_file in sorted((folder / "gold").glob("*.txt")):
        _, gold, predicted = load_document(folder, gold_file.stem)
        per_doc[gold_file.stem] = compare(gold, predicted)
    if not per_doc:
        raise FileNotFoundError(f"no hand-segmented documents in {folder / 'gold'}")
    total = {key: sum(doc[key] for doc in per_doc.values())
             for key in next(iter(per_doc.values()))}
    return {
        "documents": len(per_doc),
        "clauses": total["gold"],
        "boundary": _prf(total["boundary_tp"], total["predicted_boundaries"],
                         total["gold_boundaries"]),
        "clause": _prf(total["clause_tp"], total["predicted"], total["gold"]),
        "kind_accuracy": round(total["kind_correct"] / max(1, total["clause_tp"]), 4),
        "per_document": {doc: {
            "boundary_f1": _prf(c["boundary_tp"], c["predicted_boundaries"],
                                c["gold_boundaries"])["f1"],
            "clause_f1": _prf(c["clause_tp"], c["predicted"], c["gold"])["f1"],
            "gold": c["gold"], "predicted": c["predicted"]} for doc, c in per_doc.items()},
    }


def differences(folder: Path, doc: str, limit: int = 20) -> list[str]:
    """Clauses of one document that only the reference or only the segmenter has."""
    text, gold_spans, predicted = load_document(folder, doc)
    gold = {(s.start, s.end) for s in gold_spans}
    pred = {(s.start, s.end) for s in predicted}
    rows = [f"reference only: {text[a:b]}" for a, b in sorted(gold - pred)]
    rows += [f"segmenter only: {text[a:b]}" for a, b in sorted(pred - gold)]
    return rows[:limit]


def cmd_segmentation(args: argparse.Namespace) -> int:
    import json

    result = score_directory(Path(args.dir))
    print(f"segmentation vs hand reference: {result['documents']} documents, "
          f"{result['clauses']} clauses; boundary F1 {result['boundary']['f1']:.3f} "
          f"(P {result['boundary']['precision']:.3f} / R {result['boundary']['recall']:.3f}), "
          f"clause F1 {result['clause']['f1']:.3f}, kind accuracy {result['kind_accuracy']:.3f}")
    for doc, row in result["per_document"].items():
        print(f"  {doc}: boundary F1 {row['boundary_f1']:.3f}, clause F1 {row['clause_f1']:.3f}"
              f" ({row['gold']} reference / {row['predicted']} predicted clauses)")
        if args.show:
            for line in differences(Path(args.dir), doc):
                print(f"    {line}")
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


def add_cli(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "segmentation", help="score the segmenter against the hand-segmented documents",
        description="Boundary F1 and clause F1 of the segmenter against labels/segmentation "
        "(documents segmented by hand to GUIDELINES §1).")
    parser.add_argument("--dir", default=str(SEGMENTATION_DIR),
                        help="folder with texts/ and gold/ (default labels/segmentation)")
    parser.add_argument("--show", action="store_true", help="print the clauses that differ")
    parser.add_argument("--json", action="store_true", help="also print the scores as JSON")
    parser.set_defaults(func=cmd_segmentation)
