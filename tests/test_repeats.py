"""A clause input the model has read before is answered from memory: each distinct input is
encoded once, the answers are the model's own, copies are independent, and the memory is
bounded. No timing is asserted."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.errors import UserError
from inference.records import Entity
from inference.scoring.components import ClauseInput, ClauseScores
from inference.scoring.models import load_scorer
from inference.scoring.repeats import RepeatedInputs
from tests.fixtures.tiny_training import fixture_records
from tests.test_train_joint import _trained


def _scores_of(text: str) -> ClauseScores:
    return ClauseScores(scores={"goal": len(text) / 100}, labels=["goal"] if "目标" in text else [],
                        entities=[Entity(0, 2, "AGENCY", text[:2])])


class CountingScorer:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, items: list[str]) -> list[ClauseScores]:
        self.calls.append(list(items))
        return [_scores_of(item) for item in items]


def test_each_distinct_input_is_scored_once_in_order_and_across_calls() -> None:
    repeats, score = RepeatedInputs(), CountingScorer()
    first = repeats.predict(["甲目标", "乙", "甲目标", "丙"], str, score)
    assert score.calls == [["甲目标", "乙", "丙"]]
    assert [r.labels for r in first] == [["goal"], [], ["goal"], []]
    assert [r.entities[0].text for r in first] == ["甲目", "乙", "甲目", "丙"]
    second = repeats.predict(["丙", "丁", "乙"], str, score)
    assert score.calls[1] == ["丁"]  # 丙 and 乙 are remembered
    assert [r.scores for r in second] == [_scores_of(t).scores for t in ("丙", "丁", "乙")]
    assert repeats.reused == 1 + 2
    assert repeats.predict(["乙", "乙"], str, score)[0].labels == []
    assert len(score.calls) == 2  # nothing new: the model is not called at all


def test_answers_are_independent_copies() -> None:
    repeats = RepeatedInputs()
    a, b = repeats.predict(["甲目标", "甲目标"], str, CountingScorer())
    a.entities[0].yuan = [1.0]  # enrichment writes onto entities in place
    a.labels.append("incentive")
    a.scores["goal"] = 0.0
    assert b.entities[0].yuan is None and b.labels == ["goal"] and b.scores["goal"] > 0
    (c,) = repeats.predict(["甲目标"], str, CountingScorer())
    assert c.entities[0].yuan is None and c.labels == ["goal"] and c.scores["goal"] > 0


def test_memory_is_bounded_and_forgets_the_least_recently_used() -> None:
    repeats, score = RepeatedInputs(capacity=2), CountingScorer()
    repeats.predict(["a", "b"], str, score)
    repeats.predict(["a"], str, score)  # a is now the most recent
    repeats.predict(["c"], str, score)  # b goes
    repeats.predict(["a", "b"], str, score)
    assert score.calls[-1] == ["b"]
    assert len(repeats._memory) == 2


@pytest.fixture(scope="module")
def joint_model(tmp_path_factory) -> Path:
    folder, _ = _trained(str(tmp_path_factory.mktemp("joint_repeats")))
    return folder


def test_the_model_scorer_encodes_a_repeated_clause_once_and_answers_as_it_would(
        joint_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = [ClauseInput(r["text"], r.get("section", "")) for r in fixture_records()]
    # the same clause in another section is another input: the model reads its section
    moved = ClauseInput(inputs[0].text, "另一节")
    # what the model answers for the distinct inputs, scored together as one batch
    plain = load_scorer(joint_model, fast="none")
    plain.repeats = RepeatedInputs(capacity=0)
    expected = plain.predict([*inputs, moved])
    scorer = load_scorer(joint_model, fast="none")
    encoded: list[int] = []
    real_score = scorer._score
    monkeypatch.setattr(scorer, "_score", lambda items: encoded.append(len(items))
                        or real_score(items))
    twice = scorer.predict([*inputs, *inputs, moved])
    again = scorer.predict(inputs)
    assert encoded == [len(inputs) + 1]  # once each, and nothing the second time
    assert scorer.repeats.reused == 2 * len(inputs)
    want = expected[:-1] * 3 + [expected[-1]]
    got = twice[:len(inputs)] + twice[len(inputs):-1] + again + [twice[-1]]
    for answer, model in zip(got, want, strict=True):
        assert (answer.labels, answer.scores) == (model.labels, model.scores)
        assert [e.to_dict() for e in answer.entities] == [e.to_dict() for e in model.entities]


def test_no_memory_scores_every_input_and_a_bad_setting_names_the_variable(monkeypatch) -> None:
    monkeypatch.setenv("POLICY_CLAUSES_REPEAT_MEMORY", "0")
    repeats, score = RepeatedInputs(), CountingScorer()
    repeats.predict(["甲", "甲"], str, score)
    repeats.predict(["甲"], str, score)
    assert score.calls == [["甲", "甲"], ["甲"]] and repeats.reused == 0
    monkeypatch.setenv("POLICY_CLAUSES_REPEAT_MEMORY", "lots")
    with pytest.raises(UserError, match="POLICY_CLAUSES_REPEAT_MEMORY"):
        RepeatedInputs()


def test_a_run_counts_its_repeats_in_the_summary(joint_model: Path, tmp_path: Path) -> None:
    import json

    from inference.batch.run import run_clauses, run_documents

    scorer = load_scorer(joint_model, fast="none")
    letter = "各地要加强组织领导。请于2024年6月底前报送工作总结。联系人：张三。"
    crawl = tmp_path / "crawl.jsonl"
    crawl.write_text("".join(json.dumps({"id": f"d{i}", "text": letter}, ensure_ascii=False)
                             + "\n" for i in range(3)), encoding="utf-8")
    summary = run_documents([str(crawl)], str(tmp_path / "out.jsonl"), scorer, progress=False)
    per_document = summary.clauses // 3
    assert summary.reused == 2 * per_document  # the second and third letters, every clause
    assert f"{summary.reused} repeated clauses answered from memory" in summary.line()
    assert summary.to_dict()["reused"] == summary.reused
    records = tmp_path / "clauses.jsonl"
    records.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n"
                               for t in ("新的一条。", "新的一条。", "各地要加强组织领导。")),
                       encoding="utf-8")
    summary = run_clauses(str(records), str(tmp_path / "scored.jsonl"), scorer)
    assert summary.reused == 2  # the repeated record, and a clause the crawl had
