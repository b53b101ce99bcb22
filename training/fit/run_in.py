"""Train the run-in heading boundary model (inference.text.run_in) from the gold documents.

Two kinds of gold document give examples:
- every one that the segmenter reads as one paragraph a line, flattened (its line breaks
  removed) with its gold clauses found again in the flat text: training data for free;
- every one that came with no line breaks (govcn and MEE pages): its gold clauses, as the
  annotators read them, in its own text. This is the text the model is for; a flattened
  document is only a rendering of another layout, and the two disagree (in round 9,
  flattened corpus documents added as more examples raised the cross-validated gain on
  flattened text and lowered it on real flat text, so they are not used).
Each marked clause whose end the hand-written rule (segment.run_in_heading_end) cannot place is
an example: a heading followed straight by its body has its boundary at the heading's end, and
any other marked clause has none. Train and dev documents are read; the test split is not.
Regularisation and threshold are chosen by cross-validation (folds by document) for the largest
gain in clauses (``decide``), and the final weights are fitted on all the examples.

    python -m training.fit.run_in                  # writes inference/text/run_in_weights.json
    python -m training.fit.run_in --out /tmp/w.json
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from inference.gold import GoldClause
from inference.text import run_in
from inference.text.segment import heading_phrase_start, marker_at, run_in_heading_end
from training.data.gold import DOCUMENTS_PATH, GOLD_PATH, document_texts, load_splits
from training.eval.segment_eval import (
    Span,
    parse_reference,
    render_flat,
    segment_like_pipeline,
    without_page_numbers,
)

_TERMINATORS = "。；;！？!?：:，,"


@dataclass
class Example:
    """One marked clause in a flattened document: where its heading phrase could end
    (``ends``) and where it does (``boundary``, None when it is not a run-in heading)."""

    line: str
    phrase_start: int
    level: int
    ends: list[int]
    stop_at: int
    boundary: int | None
    doc: str


def _flat_reference(text: str, doc: str) -> tuple[str, list[Span]] | None:
    """The flat rendering of a one-paragraph-a-line document and its gold spans there."""
    with run_in.switched_off():
        spans, layout = segment_like_pipeline(text)
    if layout != "lines":
        return None
    lines = [f"{s.kind}\t{text[s.start:s.end]}" for s in spans]
    flat = render_flat(without_page_numbers(text))
    try:
        return flat, parse_reference(lines, flat, Path(doc))
    except ValueError:
        return None  # a clause that flattening changed (a space inside it): skip the document


def examples_of(doc: str, text: str) -> list[Example]:
    """Examples from a one-paragraph-a-line document, flattened."""
    found = _flat_reference(text, doc)
    return [] if found is None else examples_in(doc, *found)


def examples_in(doc: str, flat: str, spans: list[Span]) -> list[Example]:
    """Examples from a text with no line breaks and its clauses."""
    out: list[Example] = []
    for index, span in enumerate(spans):
        found = heading_phrase_start(flat, span.start)
        if found is None:
            continue  # no marker, or 第X条 (keeps its text)
        if run_in_heading_end(flat, span.start) is not None:
            continue  # the rule places it; the model only answers where the rule does not
        level, phrase_start = found
        ends, stop_at = run_in.candidate_ends(flat, phrase_start)
        following = spans[index + 1] if index + 1 < len(spans) else None
        run_in_heading = (
            span.kind == "heading" and following is not None
            and not flat[span.start:span.end].endswith(tuple(_TERMINATORS))
            and not flat[span.end:following.start].strip()
            and marker_at(flat, following.start) is None
        )
        boundary = span.end if run_in_heading else None
        out.append(Example(flat, phrase_start, level, ends, stop_at, boundary, doc))
    return out


def flat_gold_examples(*split_names: str) -> list[Example]:
    """Examples from the gold documents that came with no line breaks (govcn and MEE pages):
    their gold clauses, read by annotators, at the segmenter's offsets in the cleaned text
    (``labels validate`` holds the two to the same text). Real flat text, where the flattened
    documents above are a rendering of another layout."""
    from inference.gold import read_gold
    from inference.records import ErrorRecord
    from inference.text.ingest import iter_jsonl_lines
    from inference.text.pipeline import build_document

    splits = load_splits()
    wanted = {doc for name in split_names for doc in splits[name]}
    gold: dict[str, list[GoldClause]] = {}
    for record in read_gold(GOLD_PATH):
        if record.doc_id in wanted:
            gold.setdefault(record.doc_id, []).append(record)
    examples: list[Example] = []
    with DOCUMENTS_PATH.open(encoding="utf-8") as handle:
        for raw in iter_jsonl_lines(handle, str(DOCUMENTS_PATH)):
            if isinstance(raw, ErrorRecord) or raw.doc_id not in gold:
                continue
            document = build_document(raw)
            if document.quality.get("layout") != "flat":
                continue
            records = sorted(gold[raw.doc_id], key=lambda record: record.clause_id)
            if [r.text for r in records] != [c.text for c in document.clauses]:
                continue  # the gold no longer matches the segmenter (labels validate says so)
            spans = [Span(clause.start, clause.end, record.kind)
                     for record, clause in zip(records, document.clauses, strict=True)]
            examples += examples_in(raw.doc_id, document.text, spans)
    return examples


def load_examples(*split_names: str) -> list[Example]:
    """Examples from the gold documents with one paragraph a line, flattened."""
    splits = load_splits()
    wanted = {doc for name in split_names for doc in splits[name]}
    return [example for doc, text in document_texts().items() if doc in wanted
            for example in examples_of(doc, text)]


def candidate_rows(examples: list[Example]) -> tuple[list[dict[str, int]], list[int]]:
    rows: list[dict[str, int]] = []
    targets: list[int] = []
    for ex in examples:
        for end in ex.ends:
            rows.append(dict.fromkeys(run_in.features(ex.line, ex.phrase_start, end, ex.stop_at,
                                                      ex.level), 1))
            targets.append(int(end == ex.boundary))
    return rows, targets


def decide(model: run_in.RunInModel, examples: list[Example]) -> dict[str, float]:
    """Per-example scores of the split decision (right place, or rightly no split), and its
    ``gain`` in clauses: a split in the right place makes two clauses right where the merged
    clause was wrong (+2), a split where there is none makes a right clause wrong (-1), and one
    in the wrong place leaves two wrong clauses for one (-1)."""
    tp = fp = fn = 0
    for ex in examples:
        got = model.best_end(ex.line, ex.phrase_start, ex.level)
        if got is not None and got == ex.boundary:
            tp += 1
        else:
            fp += got is not None
            fn += ex.boundary is not None
    precision = tp / max(1, tp + fp)
    recall = tp / max(1, tp + fn)
    return {"precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(2 * precision * recall / max(1e-9, precision + recall), 4),
            "gain": 2 * tp - fp, "examples": len(examples),
            "run_in": sum(ex.boundary is not None for ex in examples)}


def fit(train: list[Example], c: float) -> tuple[dict[str, float], float]:
    """L1-regularised logistic weights (a few hundred of the ~70,000 features survive, so the
    shipped file is small and each weight can be read) and the bias."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    rows, targets = candidate_rows(train)
    vectorizer = DictVectorizer()
    matrix = vectorizer.fit_transform(rows).tocsr()
    # liblinear takes 32-bit sparse indices only
    matrix.indices = matrix.indices.astype("int32")
    matrix.indptr = matrix.indptr.astype("int32")
    # L1: scikit-learn 1.8 spells it l1_ratio=1 and deprecates penalty=; older ones need penalty=
    l1 = {"l1_ratio": 1.0} if _sklearn_version() >= (1, 8) else {"penalty": "l1"}
    classifier = LogisticRegression(C=c, max_iter=2000, solver="liblinear", random_state=0, **l1)
    classifier.fit(matrix, targets)
    weights = {name: round(float(w), 4)
               for name, w in zip(vectorizer.get_feature_names_out(), classifier.coef_[0],
                                  strict=True) if abs(w) >= 1e-3}
    return weights, float(classifier.intercept_[0])


def cross_validate(examples: list[Example], real_flat: set[str], cs: list[float],
                   thresholds: list[float], folds: int
                   ) -> dict[tuple[float, float], list[dict[str, dict[str, float]]]]:
    """{(C, threshold): per fold, the decision scores of its held-out documents, all of them
    (``all``) and those with no line breaks of their own (``flat``)}; folds split by document."""
    docs = sorted({ex.doc for ex in examples})
    fold_of = {doc: index % folds for index, doc in enumerate(docs)}
    results: dict[tuple[float, float], list[dict[str, dict[str, float]]]] = {}
    for fold in range(folds):
        train = [ex for ex in examples if fold_of[ex.doc] != fold]
        held = [ex for ex in examples if fold_of[ex.doc] == fold]
        for c in cs:
            weights, bias = fit(train, c)
            for threshold in thresholds:
                model = run_in.RunInModel(weights, bias, threshold)
                results.setdefault((c, threshold), []).append({
                    "all": decide(model, held),
                    "flat": decide(model, [ex for ex in held if ex.doc in real_flat])})
    return results


def _sklearn_version() -> tuple[int, int]:
    import sklearn

    major, minor = sklearn.__version__.split(".")[:2]
    return int(major), int(minor)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=run_in.WEIGHTS_FILE,
                        help="weights JSON to write (default: the one the segmenter reads)")
    parser.add_argument("--c", type=float, nargs="+", default=[3.0, 10.0, 30.0],
                        help="inverse L1 strengths to try (default 3 10 30)")
    parser.add_argument("--thresholds", type=float, nargs="+",
                        default=[0.5, 0.6, 0.7, 0.8, 0.9],
                        help="decision thresholds to try (default 0.5 to 0.9)")
    parser.add_argument("--folds", type=int, default=5,
                        help="cross-validation folds, split by document (default 5)")
    args = parser.parse_args(argv)

    flattened = load_examples("train", "dev")
    real = flat_gold_examples("train", "dev")
    for name, group in (("flattened", flattened), ("flat", real)):
        print(f"{name} documents: {len(group)} marked clauses the rule leaves, "
              f"{sum(e.boundary is not None for e in group)} of them run-in headings, in "
              f"{len({e.doc for e in group})} documents", file=sys.stderr)
    examples = flattened + real
    results = cross_validate(examples, {e.doc for e in real}, args.c, args.thresholds,
                             args.folds)
    summary = {}
    for (c, threshold), folds in results.items():
        f1s = [fold["all"]["f1"] for fold in folds]
        summary[(c, threshold)] = {
            "gain": sum(fold["all"]["gain"] for fold in folds),
            "gain_flat": sum(fold["flat"]["gain"] for fold in folds),
            "f1_mean": round(sum(f1s) / len(f1s), 4), "f1_min": min(f1s), "f1_max": max(f1s),
            "precision_mean": round(sum(f["all"]["precision"] for f in folds) / len(folds), 4)}
        print(f"C={c} threshold={threshold}: {summary[(c, threshold)]}", file=sys.stderr)
    # A wrong split costs a right clause and a right one wins two (decide), so the chosen
    # setting is the one with the largest gain in clauses over the held-out folds.
    (c, threshold), chosen = max(summary.items(), key=lambda kv: kv[1]["gain"])
    weights, bias = fit(examples, c)
    model = run_in.RunInModel(weights, bias, threshold)
    args.out.write_text(json.dumps({
        "about": "inference.text.run_in: logistic weights of run-in heading ends, trained by "
                 "python -m training.fit.run_in on the gold train and dev documents, flattened "
                 "and flat; C and threshold chosen by the gain in clauses of "
                 f"{args.folds}-fold cross-validation by document",
        "C": c, "threshold": threshold, "cross_validation": chosen,
        "fitted_on": decide(model, examples), "bias": round(bias, 4),
        "weights": dict(sorted(weights.items())),
    }, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"chosen C={c} threshold={threshold}: {chosen}; {len(weights)} weights -> {args.out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
