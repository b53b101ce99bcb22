"""Label co-occurrence as a second stage, measured on dev (issue 13's lever; not shipped).

    .venv/bin/python scripts/label_cooccurrence.py --model models/default

The model scores dev through ``policy-clauses evaluate``'s code, in float32. Then, over five
document folds of dev (``training.eval.thresholds.document_folds``), three ways of turning
the five label probabilities into labels are trained on four folds and scored on the fifth:

* ``thresholds``: one threshold per label, what the model ships with;
* ``stacked``: per label, a logistic regression over all five first-stage logits, so that one
  label's score can move another's decision, with its own threshold;
* ``stacked+pairs``: the same, plus the ten pairwise products of the logits.

Thresholds come from the training folds (the same grid as training); for the stacked modes
they are tuned on the regression's own predictions for those folds, which flatters them. It
prints label micro-F1 and per-label F1 over the pooled held-out predictions, and micro-F1 per
fold. Test is never read: the script only chooses whether a second stage pays.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from inference.schema import default_schema
from inference.scoring.models import load_scorer
from training.data import gold as gold_data
from training.eval.evaluate import document_facts, score_records
from training.eval.metrics import label_metrics
from training.eval.thresholds import document_folds, tune_thresholds

MODES = ("thresholds", "stacked", "stacked+pairs")


def features(probs: np.ndarray, pairs: bool) -> np.ndarray:
    logits = np.log(probs / (1 - probs))
    if not pairs:
        return logits
    n = logits.shape[1]
    products = [logits[:, i] * logits[:, j] for i in range(n) for j in range(i + 1, n)]
    return np.column_stack([logits, *products])


def decide(train_probs: np.ndarray, train_gold: list[list[str]], probs: np.ndarray,
           labels: Sequence[str], mode: str) -> list[list[str]]:
    """Labels for ``probs`` from a decision rule fitted on the training folds."""
    if mode == "thresholds":
        second, train_second = probs, train_probs
    else:
        pairs = mode == "stacked+pairs"
        second = np.zeros_like(probs)
        train_second = np.zeros_like(train_probs)
        for j, label in enumerate(labels):
            truth = [label in g for g in train_gold]
            if len(set(truth)) < 2:  # no positives (or no negatives) to fit: first stage
                second[:, j], train_second[:, j] = probs[:, j], train_probs[:, j]
                continue
            model = LogisticRegression(max_iter=2000).fit(features(train_probs, pairs), truth)
            train_second[:, j] = model.predict_proba(features(train_probs, pairs))[:, 1]
            second[:, j] = model.predict_proba(features(probs, pairs))[:, 1]
    thresholds = tune_thresholds(train_second.tolist(), train_gold, labels, default=0.5)
    return [[label for j, label in enumerate(labels) if row[j] >= thresholds[label]]
            for row in second]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/default",
                        help="model folder to score dev with (default models/default)")
    args = parser.parse_args()

    labels = default_schema().label_names
    records = gold_data.records_for_split(gold_data.read_gold(gold_data.GOLD_PATH), "dev",
                                          gold_data.load_splits())
    facts = document_facts(gold_data.DOCUMENTS_PATH, {r.doc_id for r in records})
    titles = {doc_id: known.title for doc_id, known in facts.items() if known.title}
    clauses = score_records(load_scorer(Path(args.model), fast="none"), records, titles)
    eps = 1e-6
    probs = np.array([[min(max(c.scores[label], eps), 1 - eps) for label in labels]
                      for c in clauses])
    gold = [list(r.labels) for r in records]
    docs = [r.doc_id for r in records]
    folds = document_folds(docs)

    print(f"dev: {len(records)} clauses, {len(set(docs))} documents, {len(folds)} folds\n")
    print("| decision | label micro-F1 | " + " | ".join(labels) + " | micro-F1 per fold |")
    print("|---" * (len(labels) + 3) + "|")
    for mode in MODES:
        predicted: list[list[str]] = [[] for _ in records]
        per_fold = []
        for fold in folds:
            held = [i for i, d in enumerate(docs) if d in set(fold)]
            rest = [i for i, d in enumerate(docs) if d not in set(fold)]
            out = decide(probs[rest], [gold[i] for i in rest], probs[held], labels, mode)
            for i, row in zip(held, out, strict=True):
                predicted[i] = row
            per_fold.append(label_metrics([gold[i] for i in held], out, labels).micro_f1)
        metrics = label_metrics(gold, predicted, labels)
        cells = [f"{metrics.labels[label].f1:.3f}" for label in labels]
        folds_text = " / ".join(f"{f:.3f}" for f in per_fold)
        print(f"| {mode} | {metrics.micro_f1:.3f} | " + " | ".join(cells) + f" | {folds_text} |")


if __name__ == "__main__":
    main()
