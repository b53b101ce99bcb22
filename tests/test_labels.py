"""The committed gold data: valid, split by document, rich enough, and in step with the sheets
and the segmenter (``policy-clauses labels validate`` runs here)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from inference.schema import default_schema
from policy_clauses.cli import main
from policy_clauses.commands.labels import SHEETS_DIR
from training.data import gold as data
from training.data.sheets import SheetError, locate_mentions, read_sheet_file


@pytest.fixture(scope="module")
def gold():
    return data.read_gold(data.GOLD_PATH)


def test_labels_validate_passes(capsys):
    assert main(["labels", "validate"]) == 0, capsys.readouterr().err
    assert "0 problem(s)" in capsys.readouterr().out


def test_validate_catches_each_kind_of_problem(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    data.write_jsonl(bad, [
        {"doc_id": "d", "clause_id": 0, "kind": "body", "section": "", "text": "给予10万元奖励",
         "labels": ["incentive"], "entities": [{"start": 3, "end": 7, "type": "AMOUNT",
                                                 "text": "10万元"}]},
        {"doc_id": "d", "clause_id": 0, "kind": "body", "section": "", "text": "加强领导。",
         "labels": ["reward"], "entities": [{"start": 0, "end": 2, "type": "ORG", "text": "加强"}]},
        {"doc_id": "d", "clause_id": 1, "kind": "intro", "section": "", "text": "x",
         "labels": [], "entities": []},
        {"doc_id": "d", "clause_id": 2, "text": "x"},
    ])
    assert main(["labels", "validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "does not match text[3:7]" in err
    assert "duplicate clause ('d', 0)" in err
    assert "unknown label(s) ['reward']" in err
    assert "unknown entity type 'ORG'" in err
    assert "kind 'intro'" in err
    assert "missing or mistyped field(s)" in err


def test_a_document_in_two_splits_is_an_error():
    problems = data.validate_splits({"train": ["a", "b"], "dev": [], "test": ["b"]}, {"a", "b"})
    assert problems == ["document b is in both train and test"]


def test_volume_floors(gold):
    schema = default_schema()
    counts = data.label_counts(gold)
    assert counts["clauses"] >= 2000
    docs = {r.doc_id for r in gold}
    assert len(docs) >= 30
    assert {d for d in docs if d.startswith("seed-")} == {f"seed-{n:03d}" for n in range(5)}
    assert len({r.corpus for r in gold} - {"seeds"}) >= 4
    for label in schema.label_names:
        assert counts[label] >= 120, label
    assert counts["AMOUNT"] >= 300 and counts["AGENCY"] >= 600


def test_splits_are_by_document_stratified_and_dev_and_test_hold_1500_clauses(gold):
    splits = data.load_splits()
    docs = {r.doc_id for r in gold}
    assert set().union(*map(set, splits.values())) == docs
    clauses = Counter(r.doc_id for r in gold)
    for split in ("dev", "test"):
        assert sum(clauses[d] for d in splits[split]) >= 1500, split
    # round 1's test documents stay in test (figures stay comparable across rounds)
    extensions = json.loads(data.SPLITS_PATH.read_text(encoding="utf-8"))["extensions"]
    round_one = docs - {d for extension in extensions for d in extension["documents"]}
    assert len([d for d in splits["test"] if d in round_one]) == 10
    corpus = {r.doc_id: r.corpus for r in gold}
    by_source = Counter(corpus[d] for d in docs)
    for source, n in by_source.items():
        if n >= 2:
            assert any(corpus[d] == source for d in splits["test"]), source


def test_gold_is_what_the_sheets_say(gold):
    from_sheets = []
    for sheet in sorted(SHEETS_DIR.glob("*.txt")):
        from_sheets += read_sheet_file(sheet)
    def strip(records):
        return [(r.doc_id, r.clause_id, r.text, r.labels, r.entities) for r in records]

    assert strip(gold) == strip(from_sheets)


def test_locate_mentions_longest_first_and_nth_occurrence():
    text = "由市财政局和财政局会同商务部门推进电子商务。"
    found = locate_mentions(text, {"AGENCY": ["财政局", "市财政局", "商务@1"]}, "t")
    assert [(e.start, e.text) for e in found] == [(1, "市财政局"), (6, "财政局"), (11, "商务")]
    with pytest.raises(SheetError, match="not in the clause text"):
        locate_mentions(text, {"AMOUNT": ["10万元"]}, "t")


def test_labels_stats_prints_a_row_per_split(capsys):
    assert main(["labels", "stats"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| | documents | clauses | goal")
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| train", "| dev", "| test",
                                                            "| all"]


def test_extend_splits_keeps_old_assignments_and_fills_dev_and_test() -> None:
    old = {"train": ["a", "b"], "dev": ["c"], "test": ["d"]}
    new = {f"n{i}": (f"corpus{i % 3}/lines", 100) for i in range(40)}
    extended = data.extend_splits(old, new, {"dev": 1000, "test": 800},
                                  {"train": 500, "dev": 200, "test": 300})
    for name, ids in old.items():
        assert set(ids) <= set(extended[name])
    assigned = [d for ids in extended.values() for d in ids]
    assert sorted(assigned) == sorted([*"abcd", *new])
    added = {name: 100 * len(set(ids) - set(old[name])) for name, ids in extended.items()}
    assert added["dev"] >= 800 and added["test"] >= 500  # the minimum holds, topped up if need be
    assert added["train"] >= 4000 - 800 - 500 - 200  # the rest, give or take a document
    # every stratum reaches dev and test, not only the first in order
    for split in ("dev", "test"):
        assert {new[d][0] for d in set(extended[split]) - set(old[split])} == {
            "corpus0/lines", "corpus1/lines", "corpus2/lines"}
    assert data.extend_splits(old, new, {"dev": 1000, "test": 800},
                              {"train": 500, "dev": 200, "test": 300}) == extended


def test_validate_names_a_line_that_is_not_json(tmp_path, capsys):
    from policy_clauses.cli import main

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"doc_id": "x"}\nnot json\n', encoding="utf-8")
    assert main(["labels", "validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:2: not a JSON object per line" in err and "unexpected" not in err


def test_extend_refuses_gold_documents_missing_from_documents_jsonl(tmp_path, monkeypatch):
    import shutil

    from inference.errors import UserError
    from policy_clauses.commands.labels import extend_split_manifest

    for name in ("gold.jsonl", "splits.json", "documents.jsonl"):
        shutil.copy(data.LABELS_DIR / name, tmp_path / name)
    ghost = {"doc_id": "ghost-001", "clause_id": 0, "kind": "body", "section": "",
             "text": "各单位要抓好落实。", "labels": [], "entities": []}
    with (tmp_path / "gold.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(ghost, ensure_ascii=False) + "\n")
    monkeypatch.setattr(data, "GOLD_PATH", tmp_path / "gold.jsonl")
    monkeypatch.setattr(data, "SPLITS_PATH", tmp_path / "splits.json")
    monkeypatch.setattr(data, "DOCUMENTS_PATH", tmp_path / "documents.jsonl")
    before = (tmp_path / "splits.json").read_bytes()
    with pytest.raises(UserError, match="ghost-001"):
        extend_split_manifest(1500)
    assert (tmp_path / "splits.json").read_bytes() == before
