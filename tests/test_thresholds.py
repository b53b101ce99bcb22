"""Per-label thresholds chosen on dev (training/eval/thresholds.py): the rule training uses,
document folds, and the spread of the choice over folds."""

from __future__ import annotations

import json
import random

import pytest

from training.eval.thresholds import (
    THRESHOLD_GRID,
    ThresholdChoice,
    best_threshold,
    choose_thresholds,
    document_folds,
    tune_thresholds,
)
from training.fit.classifier import tune_thresholds as classifier_tune_thresholds


def reference_tune(probs: list[list[float]], gold: list[list[str]], labels: list[str],
                   default: float) -> dict[str, float]:
    """The rule as training/fit/classifier.py had it before it moved here, verbatim."""
    thresholds: dict[str, float] = {}
    for j, label in enumerate(labels):
        truth = [label in g for g in gold]
        if not any(truth):
            thresholds[label] = default
            continue
        best = (-1.0, 0.0, default)
        for t in THRESHOLD_GRID:
            pred = [row[j] >= t for row in probs]
            tp = sum(p and g for p, g in zip(pred, truth, strict=True))
            fp = sum(p and not g for p, g in zip(pred, truth, strict=True))
            fn = sum(g and not p for p, g in zip(pred, truth, strict=True))
            f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
            key = (f1, -abs(t - 0.5), t)
            if key > best:
                best = key
        thresholds[label] = best[2]
    return thresholds


def test_the_rule_is_the_one_training_used() -> None:
    rng = random.Random(7)
    labels = ["goal", "incentive", "timeline"]
    for _ in range(40):
        n = rng.randint(1, 25)
        # scores on a 0.05 grid make many ties, which is where the rules could differ
        probs = [[round(rng.randint(0, 20) * 0.05, 2) for _ in labels] for _ in range(n)]
        gold = [[name for name in labels if rng.random() < 0.3] for _ in range(n)]
        expected = reference_tune(probs, gold, labels, 0.4)
        assert tune_thresholds(probs, gold, labels, 0.4) == expected
        assert classifier_tune_thresholds(probs, gold, labels, 0.4) == expected


def test_ties_go_to_the_threshold_nearest_half() -> None:
    # every threshold in (0.1, 0.9] separates perfectly: 0.5 is chosen
    assert best_threshold([0.9, 0.1], [True, False], 0.3).threshold == 0.5
    # only (0.1, 0.3] separates: the grid point nearest 0.5 in it
    chosen = best_threshold([0.3, 0.1, 0.8], [True, False, True], 0.5)
    assert (chosen.threshold, chosen.f1, chosen.support, chosen.tuned) == (0.3, 1.0, 2, True)
    # no positives: the default, not tuned
    kept = best_threshold([0.9, 0.1], [False, False], 0.35)
    assert (kept.threshold, kept.tuned, kept.support) == (0.35, False, 0)


def test_folds_are_whole_documents_balanced_and_deterministic() -> None:
    doc_ids = [f"d{i}" for i in range(12) for _ in range(1 + i % 3)]  # 1-3 clauses each
    folds = document_folds(doc_ids, 5)
    assert len(folds) == 5
    assert sorted(d for fold in folds for d in fold) == sorted(set(doc_ids))
    sizes = [sum(doc_ids.count(d) for d in fold) for fold in folds]
    assert max(sizes) - min(sizes) <= 1
    assert document_folds(list(reversed(doc_ids)), 5) == folds  # order of clauses is no input
    assert document_folds(["a", "a", "b"], 5) == [["a"], ["b"]]  # no more folds than documents
    assert document_folds(["a", "a"], 5) == []


def test_spread_over_folds_shows_a_threshold_fitted_to_one_document() -> None:
    """d4's positive scores 0.25; the others' 0.8. All of dev picks 0.25 (to catch d4); tuned
    without d4 the threshold is 0.5, which then misses d4's positive on its held-out fold."""
    labels = ["goal", "incentive"]
    probs, gold, doc_ids = [], [], []
    for i in range(5):
        positive = 0.25 if i == 4 else 0.8
        probs += [[positive, 0.2], [0.1, 0.3]]
        gold += [["goal"], []]
        doc_ids += [f"d{i}", f"d{i}"]
    choice = choose_thresholds(probs, gold, doc_ids, labels, default=0.5, folds=5)
    assert choice.thresholds == {"goal": 0.25, "incentive": 0.5}
    assert choice.labels["goal"].f1 == 1.0 and choice.labels["goal"].support == 5
    assert not choice.labels["incentive"].tuned
    assert len(choice.fold_documents) == 5
    goal = choice.spread["goal"]
    (held_out_d4,) = [f for f in goal.folds if choice.fold_documents[f.fold] == ["d4"]]
    assert held_out_d4.threshold == 0.5
    assert held_out_d4.held_out_f1 == 0.0 and held_out_d4.held_out_f1_at_dev_threshold == 1.0
    assert all(f.threshold == 0.25 and f.held_out_f1 == 1.0 for f in goal.folds
               if f is not held_out_d4)
    assert (goal.threshold_min, goal.threshold_median, goal.threshold_max) == (0.25, 0.25, 0.5)
    assert (goal.held_out_f1_min, goal.held_out_f1_median, goal.held_out_f1_max) == (0.0, 1.0,
                                                                                     1.0)
    incentive = choice.spread["incentive"]
    assert incentive.threshold_median is None and not any(f.tuned for f in incentive.folds)
    written = json.loads(json.dumps(choice.to_dict()))
    assert written["thresholds"] == {"goal": 0.25, "incentive": 0.5}
    assert written["spread"]["goal"]["threshold"] == {"min": 0.25, "median": 0.25, "max": 0.5}
    assert written["folds"] == 5
    assert ThresholdChoice.from_dict(written) == choice


def test_one_document_gives_no_folds_and_bad_shapes_are_errors() -> None:
    choice = choose_thresholds([[0.9], [0.1]], [["goal"], []], ["d", "d"], ["goal"])
    assert choice.thresholds == {"goal": 0.5} and choice.spread == {}
    with pytest.raises(ValueError, match="document ids"):
        choose_thresholds([[0.9], [0.1]], [["goal"], []], ["d"], ["goal"])
    with pytest.raises(ValueError, match="score row 1"):
        choose_thresholds([[0.9], [0.1, 0.2]], [["goal"], []], ["d", "e"], ["goal"])
