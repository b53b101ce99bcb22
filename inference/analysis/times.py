"""Time expressions in a clause → calendar dates: ``到2025年`` (deadline, to 2025-12-31),
``2019年1月至6月`` (period), ``十四五期间`` (period 2021..2025), ``年底前``/``三年内`` (against
the document's date), ``每年``/``每季度`` (recurring).

Each expression is ``{start, end, text, kind, from, to}`` with offsets into the clause and ISO
dates; ``kind`` is one of

- ``point``: one named year, month or day (``2019年``: 2019-01-01..2019-12-31);
- ``deadline``: by a time (``到2025年``, ``2025年底前``, ``三年内``): ``from`` is the document's
  date for relative deadlines, else null;
- ``period``: between two times or a named span (``2018—2020年``, ``十四五期间``,
  ``2019年以来`` with ``to`` null);
- ``recurring``: ``每年``, ``每季度`` …, with ``every`` (year, quarter, month, half-year, week,
  day, or "N years") and no dates.

An expression that needs the document's date and has none, or that counts from an event
(``自收到申请之日起三个月内``), keeps null dates and says why in ``reason``. Dates that only
identify a document (its own date, ``国办发〔2016〕28号``, anything inside 《》) are not times.
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from typing import Any

_FULLWIDTH = str.maketrans("０１２３４５６７８９－～", "0123456789-~")
_CN_DIGIT = {"〇": 0, "○": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
             "六": 6, "七": 7, "八": 8, "九": 9}
_CN = "〇○零一二两三四五六七八九十"

_YEAR = r"(?:(?:19|20)\d{2}|[一二][〇○零一二三四五六七八九]{3})"
_MONTH = r"(?:1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])"
_DAY = r"(?:3[01]|[12]\d|0?[1-9]|[二三]?十[一二三四五六七八九]?|[一二三四五六七八九])"
# One calendar time: year, optional month, optional day; or month(+day) alone.
_DATE = (rf"(?:(?P<@y>{_YEAR})年(?:(?P<@m>{_MONTH})月(?:(?P<@d>{_DAY})[日号])?)?"
         rf"|(?P<@m2>{_MONTH})月(?:(?P<@d2>{_DAY})[日号])?)")
_PART = r"(?P<@part>上半年|下半年|第?[一二三四1-4]季度|年?底|年末|年初|末|底|初)?"
_RANGE_SEP = r"(?:\s*(?:—|–|-|~|至|到)\s*)"
_PLAN_NUM = r"(?:十[一二三四五六七八九]?|[一二三四五六七八九])"

_RANGE = re.compile(
    r"(?P<from_marker>从|自|于)?" + _DATE.replace("@", "a") + _PART.replace("@", "a") + _RANGE_SEP
    + _DATE.replace("@", "b") + _PART.replace("@", "b"))
_MONTH_RANGE = re.compile(rf"(?P<y>{_YEAR})年(?P<a>{_MONTH})月?{_RANGE_SEP}(?P<b>{_MONTH})月")
_DAY_RANGE = re.compile(rf"(?P<y>{_YEAR})年(?P<m>{_MONTH})月(?P<a>{_DAY})日?{_RANGE_SEP}"
                        rf"(?P<b>{_DAY})日")
_YEAR_RANGE = re.compile(rf"(?P<a>{_YEAR})(?:年)?{_RANGE_SEP}(?P<b>{_YEAR})年(?P<tail>底|末)?")
_SINGLE = re.compile(
    r"(?P<before>到|至|截至|截止到|截止|截止至|力争到|于|在|从|自)?"
    + _DATE.replace("@", "a") + _PART.replace("@", "a")
    + r"(?P<after>前|以前|之前|以来|至今|起|开始|以后|之后|后)?")
# A full date right after an issuing body (生态环境部2020年9月3日, 国家核安全局…) signs the
# document: it identifies it and is not a time.
_SIGNATURE_BEFORE = re.compile(r"[部局厅委院府室会心司处署办]\s*$")
_SIGNATURE_AFTER = re.compile(r"^\s*(?:[（(]此件|印发)")
_PLAN = re.compile(rf"(?P<before>到|至)?[“\"]?(?P<n>{_PLAN_NUM})五[”\"]?"
                   r"(?P<suffix>期间|时期|规划期|期|末|初|以来)")
_RELATIVE_YEAR_PART = re.compile(r"(?P<word>今年|本年度?|明年|去年)?"
                                 r"(?P<part>年底前|年底|年末|年内|上半年|下半年)?"
                                 r"(?P<after>前|以前|之前)?")
_WITHIN = re.compile(rf"(?P<n>\d+|[{_CN}]+|半)(?P<unit>个?月|年|周)(?P<inside>内|以内|之内)")
_RECURRING = re.compile(r"每(?P<n>[两二三四五六七八九十\d]?)"
                        r"(?P<unit>年度?|季度|半年|个?月|周|日|天)"
                        r"(?P<on>(?:" + rf"{_MONTH}月(?:{_DAY}[日号])?|{_DAY}[日号])"
                        + r"(?:前|以前|之前)?)?")
_DOC_NUMBER = re.compile(r"[〔\[［(（]\s*(?:19|20)\d{2}\s*[〕\]］)）]\s*\d*\s*号?")
_BOOK_TITLE = re.compile(r"《[^》]*》")
_ANY_TIME_WORD = re.compile(r"[年月每五内]")
_EVENT_START = re.compile(r"(?:之日起|日起|后|起)$")

_EVERY = {"年": "year", "年度": "year", "季度": "quarter", "半年": "half-year", "月": "month",
          "个月": "month", "周": "week", "日": "day", "天": "day"}


def _cn_int(text: str) -> int:
    if text.isdigit() and text.isascii():
        return int(text)
    if all(char in _CN_DIGIT for char in text) and len(text) == 4:   # 二〇二五
        return int("".join(str(_CN_DIGIT[char]) for char in text))
    if text == "半":
        raise ValueError("half")
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_CN_DIGIT[tens] if tens else 1) * 10 + (_CN_DIGIT[ones] if ones else 0)
    return _CN_DIGIT[text]


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _span(year: int, month: int | None, day: int | None, part: str | None) -> tuple[date, date]:
    """The first and last day of a year/month/day, narrowed by 上半年/一季度/底/初."""
    if day is not None and month is not None:
        one = date(year, month, day)
        return one, one
    if month is not None:
        first, last = date(year, month, 1), date(year, month, _last_day(year, month))
        if part in ("底", "末", "年底", "年末"):
            return last, last
        if part in ("初",):
            return first, first
        return first, last
    if part in ("上半年",):
        return date(year, 1, 1), date(year, 6, 30)
    if part in ("下半年",):
        return date(year, 7, 1), date(year, 12, 31)
    if part and "季度" in part:
        quarter = _cn_int(part.strip("第季度"))
        end_month = quarter * 3
        return date(year, end_month - 2, 1), date(year, end_month, _last_day(year, end_month))
    if part in ("底", "末", "年底", "年末"):
        return date(year, 12, 31), date(year, 12, 31)
    if part in ("初", "年初"):
        return date(year, 1, 1), date(year, 1, 31)
    return date(year, 1, 1), date(year, 12, 31)


def parse_document_date(meta: dict[str, Any] | None) -> date | None:
    """The document's date: ``published``, else ``written``, else ``date`` (ISO, or a year)."""
    for key in ("published", "written", "date"):
        value = str((meta or {}).get(key) or "")
        match = re.match(r"(\d{4})-(\d{1,2})-(\d{1,2})", value)
        if match:
            try:
                return date(*(int(g) for g in match.groups()))
            except ValueError:
                continue
    return None


def document_date(meta: dict[str, Any] | None) -> date | None:
    """The date a document's relative times (年底前, 三年内) count from: its own fields
    (``parse_document_date``), else what was read from its head and tail (``meta["detected"]``,
    inference.text.docmeta). One rule for ``predict``, ``serve`` and ``card``."""
    detected = (meta or {}).get("detected")
    return parse_document_date(meta) or parse_document_date(
        detected if isinstance(detected, dict) else None)


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, _last_day(year, month)))


class _Found:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.taken: list[tuple[int, int]] = []

    def free(self, start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in self.taken)

    def add(self, start: int, end: int, text: str, kind: str, first: date | None,
            last: date | None, **extra: Any) -> None:
        self.taken.append((start, end))
        item: dict[str, Any] = {"start": start, "end": end, "text": text[start:end],
                                "kind": kind, "from": first.isoformat() if first else None,
                                "to": last.isoformat() if last else None}
        item.update({k: v for k, v in extra.items() if v is not None})
        self.items.append(item)


def _date_parts(match: re.Match[str], prefix: str, year_hint: int | None
                ) -> tuple[int | None, int | None, int | None, str | None]:
    groups = match.groupdict()
    year = groups.get(f"{prefix}y")
    month = groups.get(f"{prefix}m") or groups.get(f"{prefix}m2")
    day = groups.get(f"{prefix}d") or groups.get(f"{prefix}d2")
    return (_cn_int(year) if year else year_hint, _cn_int(month) if month else None,
            _cn_int(day) if day else None, groups.get(f"{prefix}part"))


def find_times(text: str, document_date: date | str | None = None) -> list[dict[str, Any]]:
    """The time expressions of one clause, in text order (see the module docstring)."""
    if isinstance(document_date, str):
        document_date = parse_document_date({"date": document_date})
    scan = text.translate(_FULLWIDTH)
    if not _ANY_TIME_WORD.search(scan):
        return []                 # every pattern below needs one of these characters
    found = _Found()
    for blocked in (*_BOOK_TITLE.finditer(scan), *_DOC_NUMBER.finditer(scan)):
        found.taken.append(blocked.span())
    own_date = document_date.isoformat() if document_date else None
    doc_year = document_date.year if document_date else None
    no_date = "needs the document's date, which was not given"

    for match in _RECURRING.finditer(scan):
        if not found.free(*match.span()):
            continue
        count = match.group("n")
        unit = _EVERY[match.group("unit")]
        every = f"{_cn_int(count)} {unit}s" if count else unit
        found.add(match.start(), match.end(), text, "recurring", None, None, every=every)

    for match in _PLAN.finditer(scan):
        if not found.free(*match.span()):
            continue
        number = _cn_int(match.group("n"))
        first_year = {1: 1953, 2: 1958}.get(number, 1966 + 5 * (number - 3))
        first, last = date(first_year, 1, 1), date(first_year + 4, 12, 31)
        suffix, before = match.group("suffix"), match.group("before")
        if suffix == "末":
            first = date(first_year + 4, 1, 1)
        elif suffix == "初":
            last = date(first_year, 12, 31)
        start = match.start()
        if before and suffix == "末":
            found.add(start, match.end(), text, "deadline", None, last)
            continue
        if before:
            start += len(before)          # 到“七五”期间: a period, not a deadline
        if suffix == "以来":
            found.add(start, match.end(), text, "period", first, None)
        else:
            found.add(start, match.end(), text, "period", first, last)

    year_hint: int | None = None
    for match in _YEAR_RANGE.finditer(scan):
        if not found.free(*match.span()):
            continue
        first_year, last_year = _cn_int(match.group("a")), _cn_int(match.group("b"))
        if first_year < last_year <= first_year + 50:
            found.add(match.start(), match.end(), text, "period", date(first_year, 1, 1),
                      date(last_year, 12, 31))

    for match in (*_MONTH_RANGE.finditer(scan), *_DAY_RANGE.finditer(scan)):
        if not found.free(*match.span()):
            continue
        year = _cn_int(match.group("y"))
        try:
            if "m" in match.groupdict():
                month = _cn_int(match.group("m"))
                first = date(year, month, _cn_int(match.group("a")))
                last = date(year, month, _cn_int(match.group("b")))
            else:
                first = date(year, _cn_int(match.group("a")), 1)
                month = _cn_int(match.group("b"))
                last = date(year, month, _last_day(year, month))
        except ValueError:
            continue
        if first <= last:
            found.add(match.start(), match.end(), text, "period", first, last)

    for match in _RANGE.finditer(scan):
        if not found.free(*match.span()):
            continue
        ya, ma, da, pa = _date_parts(match, "a", None)
        if ya is None:
            continue
        yb, mb, db, pb = _date_parts(match, "b", ya)
        try:
            first, _ = _span(ya, ma, da, pa)
            _, last = _span(yb, mb, db, pb)
        except ValueError:
            continue
        if first <= last:
            found.add(match.start(), match.end(), text, "period", first, last)

    for match in _SINGLE.finditer(scan):
        start, end = match.span()
        if not found.free(start, end):
            continue
        explicit_year = match.group("ay") is not None
        bare_month = match.group("am2")
        if bare_month and not match.group("ad2") and not bare_month[0].isdigit():
            continue            # 一月一调度: a bare month in words is too often not a date
        year, month, day, part = _date_parts(match, "a", year_hint if year_hint else doc_year)
        before, after = match.group("before"), match.group("after")
        if before in ("于", "在") or (before in ("到", "至") and scan[end:end + 1] == "的"):
            # 于2018年 is just the date; 恢复到2019年的108% compares with a year, no deadline
            start, before = start + len(before), None
        if explicit_year:
            year_hint = year
        if year is None:
            if month is None:
                continue
            found.add(start, end, text, "deadline" if before in ("到", "至") or after in (
                "前", "以前", "之前") else "point", None, None, reason=no_date)
            continue
        try:
            first, last = _span(year, month, day, part)
        except ValueError:
            continue
        if day is not None and not before and not after and (
                first.isoformat() == own_date or _SIGNATURE_BEFORE.search(scan[:start])
                or _SIGNATURE_AFTER.match(scan[end:])):
            continue            # the document's own date identifies it; it is not a time
        if before in ("到", "至", "力争到", "截止", "截止到", "截止至") or after in (
                "前", "以前", "之前"):
            found.add(start, end, text, "deadline", None, last)
        elif before == "截至":
            found.add(start, end, text, "point", last, last)
        elif after == "至今":
            found.add(start, end, text, "period", first, document_date)
        elif after in ("以来", "起", "开始", "以后", "之后", "后") or before in ("从", "自"):
            found.add(start, end, text, "period", first, None)
        else:
            kind = "period" if part and ("半年" in part or "季度" in part) else "point"
            found.add(start, end, text, kind, first, last)

    for match in _RELATIVE_YEAR_PART.finditer(scan):
        start, end = match.span()
        if start == end or not (match.group("word") or match.group("part")):
            continue
        glued = start > 0 and re.match(r"[\d年月〇零一二三四五六七八九十]", scan[start - 1])
        if not found.free(start, end) or glued:
            continue
        if doc_year is None:
            if "前" in match.group() or "内" in match.group():
                kind = "deadline"
            else:
                kind = "period" if "半年" in match.group() else "point"
            found.add(start, end, text, kind, None, None, reason=no_date)
            continue
        word, part = match.group("word"), match.group("part")
        offset = {"明年": 1, "去年": -1}.get(word or "", 0)
        year = doc_year + offset
        if part is None:
            found.add(start, end, text, "point", date(year, 1, 1), date(year, 12, 31))
        elif part in ("上半年", "下半年"):
            first, last = _span(year, None, None, part)
            found.add(start, end, text, "period", first, last)
        elif part == "年内" or "前" in match.group():
            found.add(start, end, text, "deadline", document_date if not offset else None,
                      date(year, 12, 31))
        else:
            found.add(start, end, text, "point", date(year, 12, 31), date(year, 12, 31))

    for match in _WITHIN.finditer(scan):
        start, end = match.span()
        if not found.free(start, end):
            continue
        before = scan[max(0, start - 12):start]
        if _EVENT_START.search(before) or "之日" in before:
            found.add(start, end, text, "deadline", None, None,
                      reason="counts from an event, not a calendar date")
            continue
        if re.search(r"(?:最近|近)$", before):
            found.add(start, end, text, "deadline", None, None,
                      reason="counts back from an application, not a calendar date")
            continue
        if document_date is None:
            found.add(start, end, text, "deadline", None, None, reason=no_date)
            continue
        try:
            count = _cn_int(match.group("n"))
            months = {"年": 12}.get(match.group("unit"), 1) * count
        except (ValueError, KeyError):
            if match.group("n") != "半":
                continue
            months = 6 if match.group("unit") == "年" else 0
        if match.group("unit") == "周" or months == 0:
            continue
        found.add(start, end, text, "deadline", document_date,
                  _add_months(document_date, months))

    return sorted(found.items, key=lambda item: (item["start"], item["end"]))
