"""The one place where scores are computed: clause-label P/R/F1 (scikit-learn), entity P/R/F1
(seqeval), and P/R/F1 of matched sets (agreement spans, segmentation boundaries), as typed
records whose ``to_dict`` gives the JSON written to reports and model folders.

Conventions, the same for every score here:

* **Empty sets score 0.0** (scikit-learn's ``zero_division=0``): precision with nothing
  predicted, recall with nothing in the reference, and F1 when both are empty are 0.0, never
  1.0. "Nothing to find and nothing found" is reported as 0.0 with support 0, so a reader
  checks the support before reading the score. Evaluation, inter-annotator agreement and the
  segmentation scores all follow it.
* F1 is ``2·tp / (2·tp + fp + fn)`` (scikit-learn's form), values rounded to 4 decimals.
* Entities are scored by seqeval in strict mode over IOB2 tag sequences with one tag per
  *character* of the clause, so a span counts only with its exact type and both boundaries.
* Macro F1 is the unweighted mean of the per-label F1.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from inference.records import Entity

ZERO_DIVISION = 0.0
DIGITS = 4


def _round(value: Any) -> float:
    return round(float(value), DIGITS)


# --- typed results -------------------------------------------------------------------------


@dataclass(frozen=True)
class Scores:
    """Precision, recall and F1 of one comparison."""

    precision: float
    recall: float
    f1: float

    def to_dict(self) -> dict[str, Any]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1}


@dataclass(frozen=True)
class LabelScores(Scores):
    """One clause label: P/R/F1, gold support and its confusion counts."""

    support: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "support": self.support, "tp": self.tp, "fp": self.fp,
                "fn": self.fn, "tn": self.tn}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LabelScores:
        return cls(**{k: data[k] for k in ("precision", "recall", "f1", "support", "tp", "fp",
                                           "fn", "tn")})


@dataclass(frozen=True)
class LabelMetrics:
    """Multi-label clause scores: per label, micro, macro and exact label-set match.
    ``micro_f1_at_default_threshold`` is only set for a classifier's dev scores (micro F1 had
    every threshold been the config's default)."""

    labels: dict[str, LabelScores]
    micro_precision: float
    micro_recall: float
    micro_f1: float
    macro_f1: float
    exact_match: float
    micro_f1_at_default_threshold: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "labels": {name: row.to_dict() for name, row in self.labels.items()},
            "micro_precision": self.micro_precision, "micro_recall": self.micro_recall,
            "micro_f1": self.micro_f1, "macro_f1": self.macro_f1,
            "exact_match": self.exact_match,
        }
        if self.micro_f1_at_default_threshold is not None:
            out["micro_f1_at_default_threshold"] = self.micro_f1_at_default_threshold
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LabelMetrics:
        return cls(labels={name: LabelScores.from_dict(row)
                           for name, row in data["labels"].items()},
                   micro_precision=data["micro_precision"], micro_recall=data["micro_recall"],
                   micro_f1=data["micro_f1"], macro_f1=data["macro_f1"],
                   exact_match=data["exact_match"],
                   micro_f1_at_default_threshold=data.get("micro_f1_at_default_threshold"))


@dataclass(frozen=True)
class EntityScores(Scores):
    """One entity type (or the micro average): P/R/F1, gold support, and for a type the
    number of predicted spans (None for the micro row)."""

    support: int = 0
    predicted: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {**super().to_dict(), "support": self.support}
        if self.predicted is not None:
            out["predicted"] = self.predicted
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EntityScores:
        return cls(precision=data["precision"], recall=data["recall"], f1=data["f1"],
                   support=data["support"], predicted=data.get("predicted"))


@dataclass(frozen=True)
class EntityMetrics:
    """Entity scores per type and micro-averaged; as JSON one key per type plus ``micro``."""

    types: dict[str, EntityScores]
    micro: EntityScores

    def rows(self) -> list[tuple[str, EntityScores]]:
        return [*self.types.items(), ("micro", self.micro)]

    def to_dict(self) -> dict[str, Any]:
        return {name: row.to_dict() for name, row in self.rows()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EntityMetrics:
        return cls(types={name: EntityScores.from_dict(row) for name, row in data.items()
                          if name != "micro"},
                   micro=EntityScores.from_dict(data["micro"]))


@dataclass(frozen=True)
class Metrics:
    """What ``evaluate`` measures of one scorer on a split."""

    labels: LabelMetrics
    entities: EntityMetrics
    clauses: int
    predicted_cooccurrence: list[list[int]] = field(default_factory=list)

    @property
    def entity_micro_f1(self) -> float:
        return self.entities.micro.f1

    def to_dict(self) -> dict[str, Any]:
        return {**self.labels.to_dict(), "entities": self.entities.to_dict(),
                "entity_micro_f1": self.entity_micro_f1, "clauses": self.clauses,
                "predicted_cooccurrence": self.predicted_cooccurrence}


@dataclass(frozen=True)
class SliceMetrics:
    """Scores on one slice of a split (the clauses of one corpus, or of one layout) and the
    support they rest on: documents, clauses and gold label assignments (``positives``); the
    per-label and per-type supports are in ``labels`` and ``entities``."""

    documents: int
    clauses: int
    positives: int
    labels: LabelMetrics
    entities: EntityMetrics

    def to_dict(self) -> dict[str, Any]:
        return {"documents": self.documents, "clauses": self.clauses,
                "positives": self.positives, "label_micro_f1": self.labels.micro_f1,
                "labels": self.labels.to_dict(), "entities": self.entities.to_dict()}


# --- computing them ------------------------------------------------------------------------


def prf(tp: int, fp: int, fn: int) -> Scores:
    """P/R/F1 from counts of matched sets, with this module's empty-set convention."""
    precision = tp / (tp + fp) if tp + fp else ZERO_DIVISION
    recall = tp / (tp + fn) if tp + fn else ZERO_DIVISION
    f1 = 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else ZERO_DIVISION
    return Scores(_round(precision), _round(recall), _round(f1))


def label_metrics(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]],
                  label_names: Sequence[str]) -> LabelMetrics:
    """Per-label P/R/F1 with confusion counts, micro and macro F1, exact-set accuracy
    (scikit-learn over multi-hot matrices)."""
    import numpy as np
    from sklearn.metrics import multilabel_confusion_matrix, precision_recall_fscore_support

    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold label sets but {len(predicted)} predicted")
    names = list(label_names)
    if not gold:
        zero = LabelScores(0.0, 0.0, 0.0)
        return LabelMetrics({name: zero for name in names}, 0.0, 0.0, 0.0, 0.0, 0.0)

    def multi_hot(rows: Sequence[Sequence[str]]) -> Any:
        return np.array([[int(name in row) for name in names] for row in rows], dtype=int)

    y_true, y_pred = multi_hot(gold), multi_hot(predicted)
    columns = list(range(len(names)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=columns, average=None, zero_division=ZERO_DIVISION)
    confusion = multilabel_confusion_matrix(y_true, y_pred, labels=columns)
    per_label = {
        name: LabelScores(_round(precision[j]), _round(recall[j]), _round(f1[j]),
                          support=int(support[j]), tp=int(confusion[j][1][1]),
                          fp=int(confusion[j][0][1]), fn=int(confusion[j][1][0]),
                          tn=int(confusion[j][0][0]))
        for j, name in enumerate(names)
    }
    micro_p, micro_r, micro_f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=columns, average="micro", zero_division=ZERO_DIVISION)
    _, _, macro_f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=columns, average="macro", zero_division=ZERO_DIVISION)
    exact = sum(set(g) == set(p) for g, p in zip(gold, predicted, strict=True))
    return LabelMetrics(per_label, _round(micro_p), _round(micro_r), _round(micro_f1),
                        _round(macro_f1), _round(exact / len(gold)))


def char_tags(length: int, entities: Sequence[Entity]) -> list[str]:
    """IOB2 tags, one per character; a later overlapping span does not overwrite an earlier."""
    tags = ["O"] * length
    for entity in sorted(entities, key=lambda e: (e.start, e.end)):
        start, end = max(entity.start, 0), min(entity.end, length)
        if start >= end or tags[start] != "O":
            continue
        tags[start] = f"B-{entity.type}"
        for i in range(start + 1, end):
            if tags[i] != "O":
                break
            tags[i] = f"I-{entity.type}"
    return tags


def entity_metrics(texts: Sequence[str], gold: Sequence[Sequence[Entity]],
                   predicted: Sequence[Sequence[Entity]],
                   entity_names: Sequence[str]) -> EntityMetrics:
    """seqeval strict-mode IOB2 P/R/F1 over character-level tag sequences, per type and
    micro-averaged."""
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    y_true = [char_tags(len(t), g) for t, g in zip(texts, gold, strict=True)]
    y_pred = [char_tags(len(t), p) for t, p in zip(texts, predicted, strict=True)]
    report: dict[str, Any] = {}
    if texts:
        with warnings.catch_warnings():
            # seqeval averages over no spans at all (a slice without entities) with numpy's
            # "Mean of empty slice"; those rows are 0.0 by this module's convention anyway
            warnings.simplefilter("ignore", RuntimeWarning)
            report = classification_report(y_true, y_pred, mode="strict", scheme=IOB2,
                                           output_dict=True, zero_division=int(ZERO_DIVISION))

    def scores(row: Mapping[str, Any], predicted_count: int | None) -> EntityScores:
        return EntityScores(_round(row.get("precision", 0.0)), _round(row.get("recall", 0.0)),
                            _round(row.get("f1-score", 0.0)), support=int(row.get("support", 0)),
                            predicted=predicted_count)

    types = {name: scores(report.get(name, {}),
                          sum(e.type == name for p in predicted for e in p))
             for name in entity_names}
    return EntityMetrics(types, scores(report.get("micro avg", {}), None))


def cooccurrence(label_sets: Sequence[Sequence[str]],
                 label_names: Sequence[str]) -> list[list[int]]:
    """Clauses carrying both label i and label j (the diagonal: clauses carrying label i)."""
    index = {name: i for i, name in enumerate(label_names)}
    matrix = [[0] * len(label_names) for _ in label_names]
    for labels in label_sets:
        present = sorted({index[name] for name in labels if name in index})
        for i in present:
            for j in present:
                matrix[i][j] += 1
    return matrix
