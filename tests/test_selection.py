"""Choosing the documents of an annotation round (training/data/selection.py)."""

from __future__ import annotations

from inference.scoring.rules import RuleScorer
from training.data.selection import Candidate, choose, describe


def _candidate(doc_id: str, corpus: str, layout: str, clauses: int, goal: int) -> Candidate:
    return Candidate(doc_id=doc_id, corpus=corpus, layout=layout, clauses=clauses,
                     characters=clauses * 40, rule_cues={"goal": goal})


def test_quotas_sizes_layouts_and_cue_density() -> None:
    pool = [_candidate(f"a{i}", "a", "lines", 50, i) for i in range(10)]
    pool += [_candidate(f"w{i}", "a", "wrapped", 50, 0) for i in range(3)]
    pool += [_candidate("huge", "a", "lines", 900, 900), _candidate("b0", "b", "flat", 20, 1)]
    chosen = choose(pool, {"a": 5, "b": 3}, min_clauses=12, max_clauses=350)
    ids = [c.doc_id for c in chosen]
    assert "huge" not in ids  # outside the size bounds, however dense
    a_picks = [c for c in chosen if c.corpus == "a"]
    assert len(a_picks) == 5 and sum(c.layout == "wrapped" for c in a_picks) == 2  # 30% of 5
    assert {c.doc_id for c in a_picks if c.layout == "lines"} == {"a9", "a8", "a7"}  # densest
    assert [c.doc_id for c in chosen if c.corpus == "b"] == ["b0"]  # a quota larger than the pool
    assert all(c.reason.startswith(c.corpus) for c in chosen)


def test_describe_segments_like_labels_validate_and_counts_rule_cues() -> None:
    record = {"id": "x1", "provenance": "test",
              "text": "关于印发实施方案的通知\n一、主要目标\n到2025年，力争培育10家企业。\n"
                      "对新认定的企业给予50万元奖励。"}
    candidate, document = describe("st_policies", record, RuleScorer())
    assert candidate.clauses == len(document.clauses) >= 3
    assert candidate.layout == "lines" and candidate.amount_mentions >= 1
    assert candidate.rule_cues.get("incentive", 0) >= 1


def test_amount_focus_ranks_by_money_mentions() -> None:
    pool = [Candidate(doc_id="cues", corpus="a", layout="lines", clauses=20, characters=800,
                      rule_cues={"goal": 10}, amount_mentions=0),
            Candidate(doc_id="money", corpus="a", layout="lines", clauses=20, characters=800,
                      rule_cues={}, amount_mentions=8)]
    assert [c.doc_id for c in choose(pool, {"a": 1}, min_clauses=12, max_clauses=60)] == ["cues"]
    chosen = choose(pool, {"a": 1}, min_clauses=12, max_clauses=60, focus="amount")
    assert [c.doc_id for c in chosen] == ["money"] and "amount density 0.40" in chosen[0].reason
