"""Policy cards, the card and report commands, and the enrichment of predict output."""

from __future__ import annotations

import json
import re
import shutil
import tracemalloc
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from inference.analysis.card import build_card
from inference.analysis.card_html import render_card
from inference.analysis.corpus_report import collect
from inference.analysis.duties import document_duties
from inference.records import Clause, Entity
from inference.scoring.enrich import enrich_clauses
from policy_clauses.cli import main
from tests.conftest import EXAMPLES

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)


def _gold_documents() -> dict[str, list[dict]]:
    documents: dict[str, list[dict]] = defaultdict(list)
    for line in (ROOT / "labels" / "gold.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        documents[record["doc_id"]].append(record)
    return {d: sorted(c, key=lambda c: c["clause_id"]) for d, c in documents.items()}


def _gold_document(doc_id: str, **meta) -> dict:
    return {"doc_id": doc_id, "meta": meta, "clauses": _gold_documents()[doc_id]}


def test_duty_pairs_match_the_hand_read_tables() -> None:
    expected: dict[str, set[tuple[str, int]]] = defaultdict(set)
    for line in (FIXTURES / "duties_checked.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            doc_id, clause_id, agency = (p.strip() for p in line.split(" | "))
            expected[doc_id].add((agency, int(clause_id)))
    assert len(expected) == 5
    documents = _gold_documents()
    tp = fp = fn = 0
    for doc_id, pairs in expected.items():
        found = {(d.agency, d.clause_id) for d in document_duties(documents[doc_id])}
        tp, fp, fn = tp + len(found & pairs), fp + len(found - pairs), fn + len(pairs - found)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert 2 * precision * recall / (precision + recall) >= 0.90


def _agencies(text: str, *names: str) -> list[dict]:
    return [{"start": text.index(n), "end": text.index(n) + len(n), "type": "AGENCY", "text": n}
            for n in names]


def _duties(text: str, *names: str) -> list[tuple[str, str | None]]:
    clause = {"clause_id": 0, "text": text, "labels": ["responsibility"],
              "entities": _agencies(text, *names)}
    return [(d.agency, d.role) for d in document_duties([clause])]


def test_roles_lead_and_supporting() -> None:
    assert _duties("省财政厅牵头，省科技厅配合，做好资金保障。", "省财政厅", "省科技厅") == [
        ("省财政厅", "lead"), ("省科技厅", "supporting")]
    assert _duties("生态环境部要会同国务院有关职能部门开展研究，及时向党中央报告。",
                   "生态环境部", "国务院有关职能部门", "党中央") == [
        ("生态环境部", "lead"), ("国务院有关职能部门", "supporting")]
    assert _duties("按照《江西省人民政府办公厅关于…的通知》要求，各级人民政府要建立补充机制，"
                   "并报同级财政部门备案。", "江西省人民政府办公厅", "各级人民政府",
                   "同级财政部门") == [("各级人民政府", None)]


def test_a_note_gives_the_clause_before_it_the_duty() -> None:
    note = "（牵头单位：市大数据局；配合单位：市财政局）"
    clauses = [{"clause_id": 0, "text": "建设数字工信系统。", "labels": [], "entities": []},
               {"clause_id": 1, "text": note, "labels": ["responsibility"],
                "entities": _agencies(note, "市大数据局", "市财政局")}]
    duties = document_duties(clauses)
    assert [(d.agency, d.clause_id, d.role, d.note_clause_id) for d in duties] == [
        ("市大数据局", 0, "lead", 1), ("市财政局", 0, "supporting", 1)]


def test_money_caps_lists_and_totals() -> None:
    card = build_card(_gold_document("stpolicy-shandong-007", title="t", issuer="i",
                                     published="2020-05-01"))
    items = {m["clause_id"]: m for m in card["money"]["items"]}
    assert items[10]["total_yuan"] == 3_000_000                       # one fixed sum
    assert items[14]["total_yuan"] == 600_000                         # 共给予60万元, then parts
    assert "total_yuan" not in items[11] and "alternatives" in items[11]["not_added"][0]
    assert {a["kind"] for a in items[3]["amounts"][:7]} == {"floor"}   # 突破1000亿元、500亿元…
    assert items[42]["amounts"][0]["kind"] == "cap"                    # 给予最高1亿元
    assert card["money"]["total_yuan"] is None and card["money"]["not_added"]


def test_targets_are_ordered_by_due_date_and_counts_add_up() -> None:
    card = build_card(_gold_document("seed-003", title="t", issuer="i", published="2019-06-01"))
    dues = [t["due"] for t in card["targets"] if t["due"]]
    assert dues == sorted(dues) and dues[0] == "2021-12-31"
    assert card["counts"]["clauses"] == len(_gold_documents()["seed-003"])
    assert card["counts"]["responsibility"] == sum(
        "responsibility" in c["labels"] for c in _gold_documents()["seed-003"])
    assert not card["missing"]


def test_malformed_input_gives_a_card_with_what_is_missing() -> None:
    card = build_card({"doc_id": "x", "clauses": [
        {"clause_id": 0, "text": "年底前完成，奖励10万元。", "labels": ["goal", "incentive"]},
        {"clause_id": 1},                                   # no text
        "not a clause"]})
    assert card["targets"][0]["due"] is None
    assert card["money"]["items"][0]["amounts"] == []          # no entities: nothing to read
    joined = " ".join(card["missing"])
    for word in ("document date", "entities", "malformed", "title", "issuer"):
        assert word in joined
    assert build_card({})["missing"]


def test_card_command_html_is_escaped_and_self_contained(tmp_path) -> None:
    predictions = tmp_path / "pred.jsonl"
    hostile = {"doc_id": "evil/<1>", "meta": {"title": "<script>alert(1)</script>",
                                              "issuer": "某局", "published": "2020-01-01"},
               "clauses": [{"clause_id": 0, "text": "到2025年，<b>建成</b>示范区。",
                            "labels": ["goal"], "entities": []}]}
    twin = dict(hostile, doc_id="evil/<1>", meta={})
    predictions.write_text(json.dumps(hostile, ensure_ascii=False) + "\n{broken\n"
                           + json.dumps(twin, ensure_ascii=False) + "\n"
                           + json.dumps(_gold_document("seed-003", published="2019-06-01"),
                                        ensure_ascii=False) + "\n", encoding="utf-8")
    cards, pages = tmp_path / "cards.jsonl", tmp_path / "pages"
    assert main(["card", str(predictions), "-o", str(cards), "--html", str(pages)]) == 0
    assert len(cards.read_text(encoding="utf-8").splitlines()) == 3   # the broken line skipped
    assert (pages / "evil_1-2.html").is_file()                         # no page overwritten
    html = (pages / "evil_1.html").read_text(encoding="utf-8")
    assert "<script" not in html and "&lt;script&gt;" in html and "&lt;b&gt;" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    seed = (pages / "seed-003.html").read_text(encoding="utf-8")
    assert 'class="dot"' in seed and "市科技局" in seed


def test_report_writes_page_plots_and_csvs(tmp_path) -> None:
    predictions = tmp_path / "pred.jsonl"
    predictions.write_text("\n".join(json.dumps(_gold_document(d, issuer=f"issuer {d[:4]}",
                                                               published="2021-03-01"),
                                                ensure_ascii=False)
                                     for d in ("seed-003", "stpolicy-shandong-007")) + "\n",
                           encoding="utf-8")
    page = tmp_path / "out" / "report.html"
    assert main(["report", str(predictions), "-o", str(page)]) == 0
    html = page.read_text(encoding="utf-8")
    assert html.count("<svg") >= 2 and "<script" not in html
    csvs = sorted(p.name for p in page.parent.glob("report.*.csv"))
    assert csvs == ["report.label_mix_by_issuer.csv", "report.label_mix_by_year.csv",
                    "report.money_by_year_and_issuer.csv", "report.targets_due_by_year.csv",
                    "report.top_agencies.csv"]
    duties = Counter(d["agency"] for doc_id in ("seed-003", "stpolicy-shandong-007")
                     for d in build_card(_gold_document(doc_id))["duties"])
    agencies = (page.parent / "report.top_agencies.csv").read_text(encoding="utf-8")
    agency, count, _ = agencies.splitlines()[1].split(",")
    assert int(count) == max(duties.values()) == duties[agency]


def test_report_memory_does_not_grow_with_documents(tmp_path) -> None:
    small_document = _gold_document("seed-003", issuer="i", published="2021-03-01")
    small_document["clauses"] = small_document["clauses"][10:30]
    document = json.dumps(small_document, ensure_ascii=False)

    def peak(count: int) -> int:
        path = tmp_path / f"pred{count}.jsonl"
        path.write_text((document + "\n") * count, encoding="utf-8")
        tracemalloc.start()
        totals = collect([path])
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert totals.documents == count
        return top

    small, large = peak(30), peak(300)
    assert large < small * 1.5


def test_predict_output_carries_yuan_and_times_only_where_there_are_some(tmp_path) -> None:
    out = tmp_path / "pred.jsonl"
    assert main(["predict", "--rules", str(EXAMPLES / "seed_002_9d98208a725cc9bc.txt"),
                 "-o", str(out)]) == 0
    document = json.loads(out.read_text(encoding="utf-8"))
    amounts = [e for c in document["clauses"] for e in c["entities"] if e["type"] == "AMOUNT"]
    assert amounts and all("yuan" in e for e in amounts)
    assert any(e["yuan"] and e["yuan"][0] > 0 for e in amounts)
    plain = [c for c in document["clauses"] if not c["entities"]]
    assert plain and all("yuan" not in json.dumps(c) for c in plain)
    assert any(c.get("times") for c in document["clauses"])
    assert all(c["times"] for c in document["clauses"] if "times" in c)


def test_enrichment_resolves_relative_times_with_the_document_date() -> None:
    text = "年底前完成，奖励每人每月1000元。"
    start = text.index("1000元")
    clause = Clause(0, text, entities=[Entity(start, start + 5, "AMOUNT", "1000元")])
    enrich_clauses([clause], "2022-04-01")
    assert clause.times[0]["to"] == "2022-12-31"
    assert clause.entities[0].yuan == [1000.0, 1000.0] and clause.entities[0].per == "人·月"
    round_trip = Clause.from_dict(clause.to_dict())
    assert round_trip.times == clause.times and round_trip.entities[0].per == "人·月"


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not found; apt-get install -y chromium "
                    "chromium-driver")
def test_card_page_renders_in_headless_chromium(tmp_path) -> None:
    from tests.test_render import _chromium, assert_page_screenshot

    card = build_card(_gold_document("seed-003", title="偃师市技术转移体系建设实施方案",
                                     issuer="偃师市人民政府", published="2019-06-01"))
    page = tmp_path / "card.html"
    page.write_text(render_card(card), encoding="utf-8")
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count('class="dot"') == sum(1 for t in card["targets"] if t["due"])
    assert dom.stdout.count("<tr><th>") >= len(card["agencies"])
    assert_page_screenshot(tmp_path, page)


def test_a_threshold_and_a_cap_a_verb_away_are_not_sums_paid() -> None:
    def amount(text: str, surface: str) -> dict:
        start = text.index(surface)
        return {"start": start, "end": start + len(surface), "type": "AMOUNT", "text": surface}

    text = "对年度技术交易额超1亿元的企业，给予20万元奖励，同一单位年度最高奖励100万元。"
    clause = {"clause_id": 0, "text": text, "labels": ["incentive"],
              "entities": [amount(text, "1亿元"), amount(text, "20万元"),
                           amount(text, "100万元")]}
    card = build_card({"doc_id": "x", "meta": {}, "clauses": [clause]})
    (item,) = card["money"]["items"]
    assert [a["kind"] for a in item["amounts"]] == ["floor", "fixed", "cap"]
    assert item.get("total_yuan") in (None, 200_000)


def test_labels_that_are_not_a_list_and_formula_cells_in_the_report(tmp_path) -> None:
    from inference.analysis.corpus_report import write_csv

    clause = {"clause_id": 0, "text": "各单位要抓好落实。", "labels": "goal", "entities": []}
    card = build_card({"doc_id": "x", "meta": {"issuer": "=1+1"}, "clauses": [clause]})
    assert card["counts"] == {"clauses": 1}  # no label read one letter at a time
    assert any("not a list" in note for note in card["missing"])
    out = tmp_path / "t.csv"
    write_csv((["issuer", "clauses"], [["=HYPERLINK(\"x\")", 1]]), out)
    assert out.read_text(encoding="utf-8").splitlines()[1].startswith("\"'=HYPERLINK")
