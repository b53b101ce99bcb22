"""Amounts in yuan: the issue's forms, unreadable spans, and a hand-checked corpus table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inference.analysis.money import amount_in_context, read_amount
from inference.records import Entity

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[1]
CORPUS = next((p / "shared" / "data" / "corpus" for p in (ROOT.parent, ROOT.parents[1])
               if (p / "shared" / "data" / "corpus").is_dir()), ROOT / "missing")


def _table() -> list[dict]:
    rows = []
    for line in (FIXTURES / "amounts_checked.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        doc_id, span, low, high, currency, per, approx = (p.strip() for p in line.split(" | "))
        code, _, foreign = currency.partition("=")
        rows.append({
            "doc_id": doc_id, "span": span,
            "yuan": None if low == "-" else (float(low), float(high)),
            "currency": code,
            "amount": tuple(float(v) for v in foreign.split(",")) if foreign else None,
            "per": None if per == "-" else per, "approx": approx == "yes",
        })
    return rows


@pytest.mark.parametrize(("text", "low", "high"), [
    ("1.35亿元", 135_000_000, 135_000_000),
    ("3000万元", 30_000_000, 30_000_000),
    ("五百万元", 5_000_000, 5_000_000),
    ("10万—50万元", 100_000, 500_000),
    ("10 亿元到 50 亿元", 1e9, 5e9),
    ("2000万元至1亿元", 20_000_000, 100_000_000),
    ("１０ 亿元", 1e9, 1e9),
    ("１，２００万元", 12_000_000, 12_000_000),
    ("三万五", None, None),                 # no currency word: not read
])
def test_issue_forms(text: str, low: float | None, high: float | None) -> None:
    value = read_amount(text)
    if low is None:
        assert value.yuan is None and value.reason
    else:
        assert value.yuan == (low, high) and value.reason is None


def test_odd_and_about() -> None:
    odd = read_amount("二百九十多元")
    assert odd.yuan == (290, 300) and odd.approx
    about = read_amount("3000亿元左右")
    assert about.yuan == (3e11, 3e11) and about.approx
    assert not read_amount("3000亿元").approx


def test_per_unit_and_currency() -> None:
    price = read_amount("每立方米0.2元")
    assert price.yuan == (0.2, 0.2) and price.per == "立方米"
    dollars = read_amount("4.55亿美元")
    assert dollars.yuan is None and dollars.currency == "USD" and "not converted" in dollars.reason
    assert dollars.amount == (4.55e8, 4.55e8)
    assert amount_in_context("1110元", before="标准到每人每月").per == "人·月"
    assert amount_in_context("1000元", after="/年的标准").per == "年"
    assert amount_in_context("4元", before="原煤").per is None


@pytest.mark.parametrize("text", ["033万元", "每人每年O.5元", "五十元至三十元", "元", "十多多元",
                                  "3万美元至5万欧元", "1%", ""])
def test_unreadable_gives_a_reason(text: str) -> None:
    value = read_amount(text)
    assert value.yuan is None and value.reason


def test_hand_checked_table() -> None:
    rows = _table()
    assert len(rows) >= 150
    exact, wrong = 0, []
    for row in rows:
        value = read_amount(row["span"])
        got = (value.yuan, value.currency, value.per, value.approx)
        if got == (row["yuan"], row["currency"], row["per"], row["approx"]) and (
                row["amount"] is None or value.amount == row["amount"]):
            exact += 1
        elif value.yuan is not None:
            wrong.append((row["span"], value.yuan, row["yuan"]))
    assert not wrong, f"wrong numbers: {wrong}"        # a null is allowed, a wrong number never
    assert exact / len(rows) >= 0.99, exact / len(rows)


def test_table_spans_come_from_the_corpus() -> None:
    if not CORPUS.is_dir():
        pytest.skip("shared corpus not available")
    texts: dict[str, str] = {}
    for path in CORPUS.glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            texts[str(record.get("id"))] = record.get("text", "")
    for line in (ROOT / "labels" / "gold.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        texts[record["doc_id"]] = texts.get(record["doc_id"], "") + record["text"]
    missing = [(r["doc_id"], r["span"]) for r in _table()
               if r["span"] not in texts.get(r["doc_id"], "")]
    assert not missing


def test_entity_round_trip_keeps_the_value_and_omits_it_when_unset() -> None:
    plain = Entity(0, 4, "AMOUNT", "10万元")
    assert "yuan" not in plain.to_dict()
    rich = Entity(0, 4, "AMOUNT", "10万元", yuan=[100000.0, 100000.0])
    assert rich.to_dict()["yuan"] == [100000, 100000]
    assert Entity.from_dict(rich.to_dict()).yuan == [100000, 100000]
