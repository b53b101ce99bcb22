"""Segmentation scored against hand-segmented documents (training/eval/segment_eval.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.eval.segment_eval import Span, compare, read_reference, score_directory

TEXT = "一、总体要求\n到2025年，建成示范区。（责任单位：市科技局）\n对新认定的机构给予奖励。"


def _write(folder: Path, doc: str, text: str, lines: list[str]) -> None:
    (folder / "texts").mkdir(parents=True, exist_ok=True)
    (folder / "gold").mkdir(parents=True, exist_ok=True)
    (folder / "texts" / f"{doc}.txt").write_text(text, encoding="utf-8")
    (folder / "gold" / f"{doc}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_reference_lines_become_spans_in_order(tmp_path: Path) -> None:
    _write(tmp_path, "d", TEXT, ["heading\t一、总体要求", "body\t到2025年，建成示范区。",
                                 "body\t（责任单位：市科技局）", "body\t对新认定的机构给予奖励。"])
    spans = read_reference(tmp_path / "gold" / "d.txt", TEXT)
    assert [TEXT[s.start:s.end] for s in spans] == [
        "一、总体要求", "到2025年，建成示范区。", "（责任单位：市科技局）", "对新认定的机构给予奖励。"]
    assert [s.kind for s in spans] == ["heading", "body", "body", "body"]


def test_a_missing_clause_names_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path, "d", TEXT, ["heading\t一、总体要求", "body\t这句话不在文中。"])
    with pytest.raises(ValueError, match=r"d\.txt:2: clause not found"):
        read_reference(tmp_path / "gold" / "d.txt", TEXT)


def test_compare_counts_boundaries_and_whole_clauses() -> None:
    gold = [Span(0, 5, "body"), Span(5, 10, "body"), Span(10, 15, "heading")]
    # one boundary missed (5): the first two gold clauses come out as one
    predicted = [Span(0, 10, "body"), Span(10, 15, "body")]
    counts = compare(gold, predicted)
    assert counts["boundary_tp"] == 2 and counts["gold_boundaries"] == 3
    assert counts["predicted_boundaries"] == 2
    assert counts["clause_tp"] == 1 and counts["kind_correct"] == 0


def test_score_directory_runs_the_segmenter(tmp_path: Path) -> None:
    _write(tmp_path, "d", TEXT, ["heading\t一、总体要求", "body\t到2025年，建成示范区。",
                                 "body\t（责任单位：市科技局）", "body\t对新认定的机构给予奖励。"])
    result = score_directory(tmp_path)
    assert result["documents"] == 1 and result["clauses"] == 4
    assert result["boundary"]["f1"] == 1.0 and result["clause"]["f1"] == 1.0
    assert result["kind_accuracy"] == 1.0
    # a reference that splits at a comma (against GUIDELINES §1 rule 3) costs boundary recall
    _write(tmp_path, "d", TEXT, ["heading\t一、总体要求", "body\t到2025年，", "body\t建成示范区。",
                                 "body\t（责任单位：市科技局）", "body\t对新认定的机构给予奖励。"])
    result = score_directory(tmp_path)
    assert result["boundary"]["precision"] == 1.0 and result["boundary"]["recall"] == 0.8


def test_the_segmenter_meets_the_boundary_target_on_the_hand_reference() -> None:
    # labels/segmentation: 5 documents outside the gold set, segmented by hand (GUIDELINES §1)
    result = score_directory()
    assert result["documents"] == 5 and result["clauses"] >= 250
    assert result["boundary"]["f1"] >= 0.95, result["per_document"]
