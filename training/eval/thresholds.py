"""Per-label decision thresholds chosen on dev, and how far that choice can be trusted.

``tune_thresholds`` is the rule training has always used: per label, the grid threshold with
the best F1 on all of dev (ties: the threshold nearest 0.5, then the higher one); a label
without dev positives keeps the default. ``choose_thresholds`` applies the same rule, and also
tunes it again on k document folds of dev (each time without one fold) to show the spread of
the chosen thresholds and the F1 each gets on the fold it never saw. A threshold that moves a
lot between folds, or a held-out F1 far below the all-dev F1, is a threshold fitted to a few
dev documents rather than one that generalises.

Folds are by document (all clauses of a document in one fold, as the splits are), assigned
deterministically: documents by size, largest first (ties: a hash of the id), each to the
fold with the fewest clauses so far.
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from training.eval.metrics import DIGITS

THRESHOLD_GRID = [round(0.05 * i, 2) for i in range(1, 20)]
FOLDS = 5


@dataclass(frozen=True)
class LabelThreshold:
    """One label's threshold chosen on a set of clauses: its F1 there and the positives it
    saw; ``tuned`` is False when there were none and the default was kept."""

    threshold: float
    f1: float
    support: int
    tuned: bool

    def to_dict(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "f1": self.f1, "support": self.support,
                "tuned": self.tuned}


@dataclass(frozen=True)
class FoldThreshold:
    """One label on one fold: the threshold tuned on the other folds and the F1 it gets on
    this held-out fold, beside the F1 the all-dev threshold gets there."""

    fold: int
    threshold: float
    tuned: bool
    held_out_f1: float
    held_out_f1_at_dev_threshold: float
    held_out_support: int

    def to_dict(self) -> dict[str, Any]:
        return {"fold": self.fold, "threshold": self.threshold, "tuned": self.tuned,
                "held_out_f1": self.held_out_f1,
                "held_out_f1_at_dev_threshold": self.held_out_f1_at_dev_threshold,
                "held_out_support": self.held_out_support}


@dataclass(frozen=True)
class ThresholdSpread:
    """One label across the folds: min/median/max of the thresholds tuned on folds that had
    positives to tune on (None when none had), and of the held-out F1."""

    folds: list[FoldThreshold]
    threshold_min: float | None
    threshold_median: float | None
    threshold_max: float | None
    held_out_f1_min: float | None
    held_out_f1_median: float | None
    held_out_f1_max: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"threshold": {"min": self.threshold_min, "median": self.threshold_median,
                              "max": self.threshold_max},
                "held_out_f1": {"min": self.held_out_f1_min,
                                "median": self.held_out_f1_median,
                                "max": self.held_out_f1_max},
                "folds": [fold.to_dict() for fold in self.folds]}


@dataclass(frozen=True)
class ThresholdChoice:
    """What ``choose_thresholds`` found: the thresholds to use (tuned on all of dev), per
    label how they were chosen, and their spread over document folds of dev
    (``fold_documents[i]`` are the documents of fold i; no folds with fewer than 2 documents)."""

    thresholds: dict[str, float]
    labels: dict[str, LabelThreshold]
    default: float
    grid: list[float]
    fold_documents: list[list[str]] = field(default_factory=list)
    spread: dict[str, ThresholdSpread] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"thresholds": dict(self.thresholds), "default": self.default,
                "grid": list(self.grid),
                "labels": {name: row.to_dict() for name, row in self.labels.items()},
                "folds": len(self.fold_documents),
                "fold_documents": [list(docs) for docs in self.fold_documents],
                "spread": {name: row.to_dict() for name, row in self.spread.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ThresholdChoice:
        """Back from ``to_dict`` (a model card or metrics file)."""
        spread = {}
        for name, row in data.get("spread", {}).items():
            spread[name] = ThresholdSpread(
                folds=[FoldThreshold(**fold) for fold in row["folds"]],
                threshold_min=row["threshold"]["min"],
                threshold_median=row["threshold"]["median"],
                threshold_max=row["threshold"]["max"],
                held_out_f1_min=row["held_out_f1"]["min"],
                held_out_f1_median=row["held_out_f1"]["median"],
                held_out_f1_max=row["held_out_f1"]["max"])
        return cls(thresholds=dict(data["thresholds"]),
                   labels={name: LabelThreshold(**row) for name, row in data["labels"].items()},
                   default=data["default"], grid=list(data["grid"]),
                   fold_documents=[list(docs) for docs in data.get("fold_documents", [])],
                   spread=spread)


def _f1(predicted: Sequence[bool], truth: Sequence[bool]) -> float:
    """Unrounded F1 with the metrics convention (0.0 when nothing is right)."""
    tp = sum(p and g for p, g in zip(predicted, truth, strict=True))
    fp = sum(p and not g for p, g in zip(predicted, truth, strict=True))
    fn = sum(g and not p for p, g in zip(predicted, truth, strict=True))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def f1_at(scores: Sequence[float], truth: Sequence[bool], threshold: float) -> float:
    """F1 of deciding ``score >= threshold`` against ``truth``."""
    return _f1([s >= threshold for s in scores], truth)


def best_threshold(scores: Sequence[float], truth: Sequence[bool], default: float,
                   grid: Sequence[float] = THRESHOLD_GRID) -> LabelThreshold:
    """The grid threshold with the best F1 (ties: nearest 0.5, then the higher); ``default``
    when ``truth`` has no positives."""
    support = sum(bool(t) for t in truth)
    if not support:
        return LabelThreshold(default, round(f1_at(scores, truth, default), DIGITS), 0, False)
    best = (-1.0, 0.0, default)
    for threshold in grid:
        key = (f1_at(scores, truth, threshold), -abs(threshold - 0.5), threshold)
        if key > best:
            best = key
    return LabelThreshold(best[2], round(best[0], DIGITS), support, True)


def tune_thresholds(probs: Sequence[Sequence[float]], gold: Sequence[Sequence[str]],
                    labels: Sequence[str], default: float,
                    grid: Sequence[float] = THRESHOLD_GRID) -> dict[str, float]:
    """Per label, the grid threshold with the best F1 on dev (ties: the one nearest 0.5);
    a label without dev positives keeps ``default``."""
    return {label: best_threshold([row[j] for row in probs], [label in g for g in gold],
                                  default, grid).threshold
            for j, label in enumerate(labels)}


def document_folds(doc_ids: Sequence[str], k: int = FOLDS) -> list[list[str]]:
    """``min(k, documents)`` folds of whole documents with about equal clause counts; the
    same ids give the same folds. Fewer than 2 documents give no folds."""
    sizes: dict[str, int] = {}
    for doc_id in doc_ids:
        sizes[doc_id] = sizes.get(doc_id, 0) + 1
    n_folds = min(k, len(sizes))
    if n_folds < 2:
        return []

    def stable(doc_id: str) -> str:
        return hashlib.sha1(doc_id.encode("utf-8")).hexdigest()

    folds: list[list[str]] = [[] for _ in range(n_folds)]
    loads = [0] * n_folds
    for doc_id in sorted(sizes, key=lambda d: (-sizes[d], stable(d))):
        target = min(range(n_folds), key=lambda i: (loads[i], i))
        folds[target].append(doc_id)
        loads[target] += sizes[doc_id]
    return [sorted(fold) for fold in folds]


def _spread(values: Sequence[float]) -> tuple[float | None, float | None, float | None]:
    if not values:
        return None, None, None
    return (round(min(values), DIGITS), round(statistics.median(values), DIGITS),
            round(max(values), DIGITS))


def choose_thresholds(probs: Sequence[Sequence[float]], gold: Sequence[Sequence[str]],
                      doc_ids: Sequence[str], labels: Sequence[str], *, default: float = 0.5,
                      folds: int = FOLDS,
                      grid: Sequence[float] = THRESHOLD_GRID) -> ThresholdChoice:
    """Per-label thresholds tuned on all of dev (``probs[i][j]``: clause i, label j; ``gold[i]``
    its gold labels; ``doc_ids[i]`` its document), and their spread over ``folds`` document
    folds: for each fold, thresholds tuned on the other folds and scored on it."""
    if not len(probs) == len(gold) == len(doc_ids):
        raise ValueError(f"{len(probs)} score rows, {len(gold)} gold label sets and "
                         f"{len(doc_ids)} document ids: one each per clause")
    for i, row in enumerate(probs):
        if len(row) != len(labels):
            raise ValueError(f"score row {i} has {len(row)} values for {len(labels)} labels")
    columns = {label: [float(row[j]) for row in probs] for j, label in enumerate(labels)}
    truths = {label: [label in g for g in gold] for label in labels}
    chosen = {label: best_threshold(columns[label], truths[label], default, grid)
              for label in labels}
    fold_documents = document_folds(doc_ids, folds)
    fold_of = {doc_id: i for i, docs in enumerate(fold_documents) for doc_id in docs}
    spread: dict[str, ThresholdSpread] = {}
    if fold_documents:
        for label in labels:
            rows: list[FoldThreshold] = []
            for fold in range(len(fold_documents)):
                inside = [fold_of[d] != fold for d in doc_ids]
                tune_scores = [s for s, keep in zip(columns[label], inside, strict=True) if keep]
                tune_truth = [t for t, keep in zip(truths[label], inside, strict=True) if keep]
                held_scores = [s for s, keep in zip(columns[label], inside, strict=True)
                               if not keep]
                held_truth = [t for t, keep in zip(truths[label], inside, strict=True)
                              if not keep]
                fold_choice = best_threshold(tune_scores, tune_truth, default, grid)
                rows.append(FoldThreshold(
                    fold=fold, threshold=fold_choice.threshold, tuned=fold_choice.tuned,
                    held_out_f1=round(f1_at(held_scores, held_truth, fold_choice.threshold),
                                      DIGITS),
                    held_out_f1_at_dev_threshold=round(
                        f1_at(held_scores, held_truth, chosen[label].threshold), DIGITS),
                    held_out_support=sum(held_truth)))
            thresholds = _spread([r.threshold for r in rows if r.tuned])
            held_out = _spread([r.held_out_f1 for r in rows])
            spread[label] = ThresholdSpread(rows, *thresholds, *held_out)
    return ThresholdChoice(thresholds={label: row.threshold for label, row in chosen.items()},
                           labels=chosen, default=default, grid=list(grid),
                           fold_documents=fold_documents, spread=spread)
