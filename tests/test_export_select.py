"""Uncertainty sampling on hand-made scores: margin ranking and the spread across documents."""

from __future__ import annotations

import pytest

from inference.records import Clause, Document, Entity
from inference.review.select import scorer_thresholds, select_uncertain
from inference.review.uncertainty import clause_margin
from inference.scoring.rules import RuleScorer
from policy_clauses.cli import main
from tests.conftest import EXAMPLES

THRESHOLDS = {"goal": 0.5, "incentive": 0.3, "responsibility": 0.5, "timeline": 0.5,
              "principle": 0.5}


def _clause(cid: int, goal: float, incentive: float = 0.0, entity: float | None = None) -> Clause:
    entities = [Entity(0, 2, "AMOUNT", "5元", score=entity)] if entity is not None else []
    return Clause(clause_id=cid, text="5元的条款", scores={
        "goal": goal, "incentive": incentive, "responsibility": 0.0, "timeline": 1.0,
        "principle": 0.0}, labels=[], entities=entities)


def test_margin_is_distance_to_each_labels_own_threshold():
    assert clause_margin(_clause(0, goal=0.45), THRESHOLDS) == pytest.approx(0.05)
    # incentive's threshold is 0.3: p=0.32 is closer to flipping than goal=0.9
    assert clause_margin(_clause(0, goal=0.9, incentive=0.32), THRESHOLDS) == pytest.approx(0.02)
    # a span the tagger barely kept counts as doubt too
    assert clause_margin(_clause(0, goal=0.0, entity=0.51), THRESHOLDS) == pytest.approx(0.01)
    assert clause_margin(Clause(clause_id=0, text="x"), THRESHOLDS) == 1.0


def test_selection_ranks_by_margin_and_round_robins_documents():
    a = Document("a", "a", "", clauses=[_clause(0, 0.49), _clause(1, 0.48), _clause(2, 0.9),
                                        _clause(3, 0.47)])
    b = Document("b", "b", "", clauses=[_clause(0, 0.1), _clause(1, 0.4)])
    c = Document("c", "c", "", clauses=[_clause(0, 0.0, entity=0.6)])
    picked = [(d.doc_id, cl.clause_id) for d, cl, _ in select_uncertain([a, b, c], 5, THRESHOLDS)]
    # a's best (0: 0.01) first, then b's best (1: 0.1), c's (0.1, the entity; b wins the tie
    # on doc_id), then the second round: a's next (1: 0.02) before b's 0 (0.4)
    assert picked == [("a", 0), ("b", 1), ("c", 0), ("a", 1), ("b", 0)]
    capped = select_uncertain([a, b, c], 10, THRESHOLDS, per_document=1)
    assert [(d.doc_id, cl.clause_id) for d, cl, _ in capped] == [("a", 0), ("b", 1), ("c", 0)]
    everything = select_uncertain([a, b, c], 100, THRESHOLDS)
    assert len(everything) == 7
    margins = [m for d, _, m in everything if d.doc_id == "a"]
    assert margins == sorted(margins)


def test_thresholds_come_from_the_scorer():
    names = list(THRESHOLDS)
    assert scorer_thresholds(RuleScorer(threshold=0.4), names) == dict.fromkeys(names, 0.4)
    assert scorer_thresholds(None, names) == dict.fromkeys(names, 0.5)


def test_select_counts_must_be_positive(tmp_path, capsys):
    base = ["export", "doccano", str(EXAMPLES / "seed_000_154b73dca2851f36.txt"), "--rules",
            "-o", str(tmp_path / "x.jsonl"), "--task", "classification"]
    with pytest.raises(SystemExit) as stop:
        main([*base, "--select", "uncertain", "5", "--per-document", "-1"])
    assert stop.value.code == 2 and "≥ 1" in capsys.readouterr().err
    assert main([*base, "--select", "uncertain", "0"]) == 1
    assert not (tmp_path / "x.jsonl").exists()
