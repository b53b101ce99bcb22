"""Segmentation scored against hand-segmented documents (training/eval/segment_eval.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.eval.segment_eval import (
    Span,
    compare,
    read_reference,
    render_flat,
    render_pdf,
    score_directory,
)

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


def test_a_reference_clause_is_found_across_wraps_and_page_numbers(tmp_path: Path) -> None:
    text = "  第一条为贯彻落实济南市人民政府与华为软件\n—2—\n技术有限公司签署的协议，制定本办法。\n第二条本办法自印发之日起施行。"
    _write(tmp_path, "d", text, ["body\t第一条为贯彻落实济南市人民政府与华为软件技术有限公司签署的协议，制定本办法。",
                                 "body\t第二条本办法自印发之日起施行。"])
    spans = read_reference(tmp_path / "gold" / "d.txt", text)
    assert text[spans[0].start:spans[0].start + 3] == "第一条" and text[spans[0].end - 1] == "。"
    assert "—2—" in text[spans[0].start:spans[0].end]
    assert text[spans[1].start:spans[1].end] == "第二条本办法自印发之日起施行。"


def test_renderings_keep_the_words_and_the_reference() -> None:
    text = "一、总体要求\n" + "到2025年，建成示范区，培育一批科技型企业，形成完善的科技成果转化体系。" * 40
    pdf = render_pdf(text)
    lines = pdf.split("\n")
    assert lines[0] == "  一、总体要求" and all(len(line) <= 34 for line in lines)
    assert lines[30] == "—1—" and "".join(pdf.split()).replace("—1—", "") == "".join(text.split())
    assert render_flat(text) == text.replace("\n", "")


def test_scores_are_reported_per_layout_with_synthetic_renderings(tmp_path: Path) -> None:
    _write(tmp_path, "d", TEXT, ["heading\t一、总体要求", "body\t到2025年，建成示范区。",
                                 "body\t（责任单位：市科技局）", "body\t对新认定的机构给予奖励。"])
    (tmp_path / "sources.jsonl").write_text('{"id": "d", "layout": "lines"}\n', encoding="utf-8")
    result = score_directory(tmp_path)
    assert set(result["by_layout"]) == {"lines", "wrapped (synthetic)", "flat (synthetic)",
                                        "wrapped (all)", "flat (all)"}
    assert result["by_layout"]["lines"]["clause"]["f1"] == 1.0
    # flattened, the heading runs into its body and is still cut off and kept a heading
    assert result["by_layout"]["flat (synthetic)"]["clause"]["f1"] == 1.0
    assert result["by_layout"]["flat (synthetic)"]["kind_accuracy"] == 1.0
    (tmp_path / "sources.jsonl").write_text('{"id": "d", "layout": "pdf"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"sources\.jsonl:1: layout 'pdf'"):
        score_directory(tmp_path)


# Targets of issue 11, measured on the hand reference (labels/segmentation, real documents with
# their PDF and flattened renderings). Figures reached when this was written, on the 18
# documents of the reference then: lines 0.994 / 0.991, wrapped (all) 0.970 / 0.983,
# flat (all) 0.958 / 0.981 (clause F1 / kind accuracy); after round 6: lines 0.994 / 0.994,
# wrapped (all) 0.981 / 0.997, flat (all) 0.975 / 1.000.
TARGETS = {"lines": (0.98, 0.97), "wrapped (all)": (0.96, 0.95), "flat (all)": (0.95, 0.93)}


def test_the_segmenter_meets_the_layout_targets_on_the_hand_reference() -> None:
    from training.eval.segment_eval import SEGMENTATION_DIR, document_layouts

    assert document_layouts(SEGMENTATION_DIR), "labels/segmentation/sources.jsonl needs layouts"
    result = score_directory()
    assert result["documents"] >= 17
    for layout, (clause_f1, kind_accuracy) in TARGETS.items():
        row = result["by_layout"][layout]
        assert row["clause"]["f1"] >= clause_f1, (layout, row)
        assert row["kind_accuracy"] >= kind_accuracy, (layout, row)


def test_the_segmenter_meets_the_boundary_target_on_the_hand_reference() -> None:
    # labels/segmentation: documents outside the gold set, segmented by hand (GUIDELINES §1)
    result = score_directory(synthetic=False)
    assert result["documents"] >= 5 and result["clauses"] >= 250
    assert result["boundary"]["f1"] >= 0.95, result["per_document"]


# labels/segmentation_heldout: 6 documents segmented by hand by an annotator who had not seen
# the segmenter, after it was developed against labels/segmentation. Held out at first (real
# documents: clause F1 0.938, kind accuracy 0.912; synthetic wrapped 0.800, flat 0.747), its
# misses were then used to tune the second round of rules, so it is a tuning set now (its
# README says so) and the floors follow what that round reached (real 0.991 / 0.991, wrapped
# 0.946 / 0.991, flat 0.788 / 0.981), raised after round 6 (real 1.000 / 0.991, wrapped
# 0.956 / 0.991, flat 0.828 / 0.983).
HELD_OUT_FLOORS = {"(real)": (0.99, 0.98), "wrapped (synthetic)": (0.94, 0.98),
                   "flat (synthetic)": (0.81, 0.97)}


# labels/segmentation_heldout2: 6 documents segmented by hand BEFORE the second round of rules
# (issue 11) and held out through it: real documents clause F1 0.848 / kind accuracy 0.983
# (0.837 / 0.975 before the round); synthetic wrapped 0.811 / 0.977 (0.611 / 0.957); synthetic
# flat 0.705 / 0.978 (0.687 / 0.967). Round 6 used its differences to write general rules, so it
# is a tuning set now: real 0.993 / 0.987, wrapped 0.966 / 0.982, flat 0.877 / 0.984. The floors
# sit a little under: a regression guard, not a target met.
HELD_OUT_2_FLOORS = {"(real)": (0.98, 0.97), "wrapped (synthetic)": (0.95, 0.97),
                     "flat (synthetic)": (0.86, 0.97)}


# labels/segmentation_heldout3: 8 documents (932 clauses) segmented by hand by an annotator who
# never ran the segmenter, while round 6's rules were being written on heldout2; never used to
# change a rule. Before and after round 6: real 0.921 / 0.986 both; synthetic wrapped 0.642 →
# 0.656, synthetic flat 0.735 both; the three real flat documents 0.674 → 0.670. Floors just
# under today's figures: a regression guard on untouched documents, far from the targets.
# Round 8 (read once, nothing tuned on it): real 0.925 / 0.986, the three real flat documents
# 0.716, synthetic wrapped 0.820 / 0.993, synthetic flat 0.740 / 0.997.
# Round 9 (read once more, nothing tuned on it): unchanged but synthetic flat 0.740 → 0.745.
# Round 11 read its three flat documents' differences and wrote rules from them, so it is a
# tuning set since: flat 0.716 → 0.760, real 0.936 / 0.987, synthetic wrapped 0.841 / 0.994.
HELD_OUT_3_FLOORS = {"(real)": (0.93, 0.98), "wrapped (synthetic)": (0.83, 0.98),
                     "flat (synthetic)": (0.74, 0.99), "flat": (0.75, 0.98)}


# labels/segmentation_heldout4: 12 flat documents (577 clauses) cut by reading. First read,
# held out: 0.852 / 0.987 (PDF renderings 0.871 / 0.942). Its differences were then used to
# write flat-text rules (its README), so it is a tuning set: 0.991 / 0.984, renderings 0.987 /
# 0.967.
HELD_OUT_4_FLOORS = {"(real)": (0.98, 0.97), "wrapped (synthetic)": (0.97, 0.95)}


# labels/segmentation_heldout5: 12 flat documents (547 clauses) cut by reading. First read,
# held out (round-8 code): 0.869 / 0.993 (PDF renderings 0.857 / 0.993). Round 9 wrote rules
# from its differences (its README), so it is a tuning set: 0.926 / 0.986, renderings 0.911 /
# 0.986.
HELD_OUT_5_FLOORS = {"(real)": (0.91, 0.98), "wrapped (synthetic)": (0.90, 0.98)}


# labels/segmentation_heldout6: 12 flat documents (707 clauses) cut by reading after round 9's
# rules were final; held out, its differences never read. Round-8 code 0.772 / 0.983, round 9
# 0.783 / 0.983 (PDF renderings 0.748 → 0.759), and 0.899 / 0.987 (renderings 0.879) after the
# rule for tables whose rows open with a bare number, written from other documents. Round 11
# read its differences and wrote rules from them, so it is a tuning set since: 0.901 → 0.940 /
# 0.986 (renderings 0.883 → 0.919), 0.948 after the second pass. Floors just under: a guard,
# short of the 0.95 target.
HELD_OUT_6_FLOORS = {"(real)": (0.94, 0.98), "wrapped (synthetic)": (0.91, 0.98)}


# labels/segmentation_heldout7: 12 flat documents (514 clauses) cut by reading at the start of
# round 11; held out through the first pass (round-10 code 0.934 / 0.992, then 0.938 / 0.992),
# then its differences were read and rules written from them: a tuning set, 0.968 / 0.990.
HELD_OUT_7_FLOORS = {"(real)": (0.96, 0.98), "wrapped (synthetic)": (0.94, 0.98)}


# labels/segmentation_heldout8: 12 flat documents (427 clauses) cut by reading during round 11;
# held out, its differences never read. Round-10 code and round 11's first pass 0.879 / 0.997,
# second pass 0.886 / 0.997, round 12 0.891 / 0.997 (PDF renderings 0.874). Floors just under:
# a guard, short of 0.95.
HELD_OUT_8_FLOORS = {"(real)": (0.88, 0.99), "wrapped (synthetic)": (0.87, 0.99)}


# labels/segmentation_heldout9: 12 flat documents (671 clauses) cut by reading at the start of
# round 12, before its rule; held out, its differences never read (two cuts of mee-0602 seen in a
# corpus listing, its README says which). Round-11 code 0.861 / 0.985,
# round 12 0.866 / 0.985 (PDF renderings 0.830). Floors just under: a guard, short of 0.95.
HELD_OUT_9_FLOORS = {"(real)": (0.86, 0.98), "wrapped (synthetic)": (0.82, 0.98)}


# (folder, documents, clauses or None, floors): every held-out reference, each held to its own
# floors by the same check
HELD_OUT_SETS = [("segmentation_heldout", 6, None, HELD_OUT_FLOORS),
                 ("segmentation_heldout2", 6, 150, HELD_OUT_2_FLOORS),
                 ("segmentation_heldout3", 8, 932, HELD_OUT_3_FLOORS),
                 ("segmentation_heldout4", 12, 577, HELD_OUT_4_FLOORS),
                 ("segmentation_heldout5", 12, 547, HELD_OUT_5_FLOORS),
                 ("segmentation_heldout6", 12, 707, HELD_OUT_6_FLOORS),
                 ("segmentation_heldout7", 12, 514, HELD_OUT_7_FLOORS),
                 ("segmentation_heldout8", 12, 427, HELD_OUT_8_FLOORS),
                 ("segmentation_heldout9", 12, 671, HELD_OUT_9_FLOORS)]


@pytest.mark.parametrize(("folder", "documents", "clauses", "floors"), HELD_OUT_SETS,
                         ids=[name for name, *_ in HELD_OUT_SETS])
def test_held_out_reference_does_not_regress(
        folder: str, documents: int, clauses: int | None,
        floors: dict[str, tuple[float, float]]) -> None:
    from training.eval.segment_eval import SEGMENTATION_DIR

    held_out = SEGMENTATION_DIR.parent / folder
    result = score_directory(held_out)
    assert result["documents"] == documents
    if clauses is not None:
        assert result["clauses"] == clauses
    real = score_directory(held_out, synthetic=False)
    rows = {"(real)": {"clause": real["clause"], "kind_accuracy": real["kind_accuracy"]},
            **result["by_layout"]}
    for layout, (clause_f1, kind_accuracy) in floors.items():
        assert rows[layout]["clause"]["f1"] >= clause_f1, (layout, rows[layout])
        assert rows[layout]["kind_accuracy"] >= kind_accuracy, (layout, rows[layout])
