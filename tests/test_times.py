"""Time expressions on a calendar: the issue's forms and a hand-checked corpus table."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.analysis.times import find_times, parse_document_date

FIXTURES = Path(__file__).parent / "fixtures"


def _one(text: str, document_date: str | None = None) -> dict:
    found = find_times(text, document_date)
    assert len(found) == 1, found
    return found[0]


def _short(item: dict) -> tuple:
    return item["text"], item["kind"], item["from"], item["to"]


@pytest.mark.parametrize(("text", "date", "expected"), [
    ("到2025年，全省达到1万家。", None, ("到2025年", "deadline", None, "2025-12-31")),
    ("2019年1月至6月开展专项整治。", None,
     ("2019年1月至6月", "period", "2019-01-01", "2019-06-30")),
    ("十四五期间，累计投入。", None, ("十四五期间", "period", "2021-01-01", "2025-12-31")),
    ("年底前完成清理。", "2021-03-05", ("年底前", "deadline", "2021-03-05", "2021-12-31")),
    ("三年内建成示范区。", "2020-06-15", ("三年内", "deadline", "2020-06-15", "2023-06-15")),
    ("二〇二五年前完成。", None, ("二〇二五年前", "deadline", None, "2025-12-31")),
    ("到２０２０年，基本建成。", None, ("到２０２０年", "deadline", None, "2020-12-31")),
])
def test_issue_forms(text: str, date: str | None, expected: tuple) -> None:
    assert _short(_one(text, date)) == expected


def test_relative_times_without_a_document_date_say_why() -> None:
    for text in ("年底前完成清理。", "三年内建成示范区。"):
        item = _one(text)
        assert item["from"] is None and item["to"] is None and "document's date" in item["reason"]
    assert "event" in _one("自收到申请之日起三个月内作出决定。", "2020-01-01")["reason"]


def test_recurring_and_offsets() -> None:
    text = "每年组织一次评估，每季度报送进展。"
    found = find_times(text)
    assert [(t["kind"], t["every"]) for t in found] == [("recurring", "year"),
                                                        ("recurring", "quarter")]
    assert all(text[t["start"]:t["end"]] == t["text"] for t in found)


def test_document_identifiers_are_not_times() -> None:
    assert find_times("根据《关于2016年工作的意见》（国办发〔2016〕28号）") == []
    assert find_times("2016年4月20日", "2016-04-20") == []
    assert find_times("生态环境部办公厅2022年6月10日印发") == []


def test_document_date_from_meta() -> None:
    assert parse_document_date({"published": "2021-03-05"}).isoformat() == "2021-03-05"
    assert parse_document_date({"written": "2020-1-2"}).isoformat() == "2020-01-02"
    assert parse_document_date({"date": "2022.0"}) is None
    assert parse_document_date({}) is None


def _table() -> list[tuple[str, ...]]:
    rows = []
    for line in (FIXTURES / "times_checked.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append(tuple(part.strip() for part in line.split(" | ")))
    return rows


def test_hand_checked_table() -> None:
    rows = _table()
    assert len(rows) >= 150
    exact, misses = 0, []
    for doc_id, date, snippet, expression, kind, first, last in rows:
        found = find_times(snippet, None if date == "-" else date)
        if expression == "-":
            ok = not found
        else:
            want = (expression, kind, None if first == "-" else first,
                    None if last == "-" else last)
            ok = want in [_short(item) for item in found]
        exact += ok
        if not ok:
            misses.append((doc_id, snippet, expression, [_short(i) for i in found]))
    assert exact / len(rows) >= 0.95, misses
