"""Train the run-in heading boundary model (inference.text.run_in) from the gold documents.

Every gold document that the segmenter reads as one paragraph a line gives examples for free:
flatten it (remove the line breaks), find its gold clauses again in the flat text, and each
marked clause whose end the hand-written rule (segment.run_in_heading_end) cannot place is an
example: a heading followed straight by its body has its boundary at the heading's end, and any
other marked clause has none. Train documents teach, dev documents choose the regularisation
and threshold are chosen by cross-validation over the train and dev documents (folds by
document), and the final weights are fitted on all of them; test documents are not read.

    python -m training.fit.run_in                  # writes inference/text/run_in_weights.json
    python -m training.fit.run_in --out /tmp/w.json --show 20
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from inference.text import run_in
from inference.text.segment import heading_phrase_start, marker_at, run_in_heading_end
from training.eval.segment_eval import (
    Span,
    _without_page_numbers,
    parse_reference,
    render_flat,
    segment_like_pipeline,
)

LABELS_DIR = Path(__file__).resolve().parents[2] / "labels"
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
    spans, layout = segment_like_pipeline(text)
    if layout != "lines":
        return None
    lines = [f"{s.kind}\t{text[s.start:s.end]}" for s in spans]
    flat = render_flat(_without_page_numbers(text))
    try:
        return flat, parse_reference(lines, flat, Path(doc))
    except ValueError:
        return None  # a clause that flattening changed (a space inside it): skip the document


def examples_of(doc: str, text: str) -> list[Example]:
    found = _flat_reference(text, doc)
    if found is None:
        return []
    flat, spans = found
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


def load_examples(*split_names: str) -> list[Example]:
    splits = json.loads((LABELS_DIR / "splits.json").read_text(encoding="utf-8"))["splits"]
    wanted = {doc for name in split_names for doc in splits[name]}
    examples: list[Example] = []
    with (LABELS_DIR / "documents.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row["id"] in wanted:
                examples += examples_of(row["id"], row["text"])
    return examples


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
    """Per-example accuracy of the split decision: right place, or rightly no split."""
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
            "examples": len(examples),
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


def cross_validate(examples: list[Example], cs: list[float], thresholds: list[float],
                   folds: int) -> dict[tuple[float, float], list[dict[str, float]]]:
    """{(C, threshold): per-fold decision scores}, folds split by document."""
    docs = sorted({ex.doc for ex in examples})
    fold_of = {doc: index % folds for index, doc in enumerate(docs)}
    results: dict[tuple[float, float], list[dict[str, float]]] = {}
    for fold in range(folds):
        train = [ex for ex in examples if fold_of[ex.doc] != fold]
        held = [ex for ex in examples if fold_of[ex.doc] == fold]
        for c in cs:
            weights, bias = fit(train, c)
            for threshold in thresholds:
                scores = decide(run_in.RunInModel(weights, bias, threshold), held)
                results.setdefault((c, threshold), []).append(scores)
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

    examples = load_examples("train", "dev")
    print(f"examples: {len(examples)} marked clauses the rule leaves, "
          f"{sum(e.boundary is not None for e in examples)} of them run-in headings, in "
          f"{len({e.doc for e in examples})} documents", file=sys.stderr)
    results = cross_validate(examples, args.c, args.thresholds, args.folds)
    summary = {}
    for (c, threshold), folds in results.items():
        f1s = [fold["f1"] for fold in folds]
        precisions = [fold["precision"] for fold in folds]
        summary[(c, threshold)] = {
            "f1_mean": round(sum(f1s) / len(f1s), 4), "f1_min": min(f1s), "f1_max": max(f1s),
            "precision_mean": round(sum(precisions) / len(precisions), 4)}
        print(f"C={c} threshold={threshold}: {summary[(c, threshold)]}", file=sys.stderr)
    # A wrong split costs two clauses and a missed one costs one, so precision counts: the
    # chosen setting is the best mean F1 among those whose mean precision is at least 0.9.
    eligible = {key: value for key, value in summary.items() if value["precision_mean"] >= 0.9}
    (c, threshold), chosen = max((eligible or summary).items(), key=lambda kv: kv[1]["f1_mean"])
    weights, bias = fit(examples, c)
    model = run_in.RunInModel(weights, bias, threshold)
    args.out.write_text(json.dumps({
        "about": "inference.text.run_in: logistic weights of run-in heading ends, trained by "
                 "python -m training.fit.run_in on the flattened gold train and dev documents; "
                 f"C and threshold chosen by {args.folds}-fold cross-validation by document",
        "C": c, "threshold": threshold, "cross_validation": chosen,
        "fitted_on": decide(model, examples), "bias": round(bias, 4),
        "weights": dict(sorted(weights.items())),
    }, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"chosen C={c} threshold={threshold}: {chosen}; {len(weights)} weights -> {args.out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
