"""Document metadata read from the text itself: title, document number, addressees, issuer,
dates.

Most crawls carry no header table, but the document's own head and tail say who issued it,
when, under which number and to whom (`国发〔2011〕12号`, `各省、自治区…：`, a signature
`国务院` over `二○一一年五月十日`). ``find_meta`` looks only where those stand: the first
``HEAD_CHARS`` and the last ``TAIL_CHARS`` characters, so a number or a date cited in the body
is never taken for the document's own.

Dates come back as ISO strings (``2011-05-10``); numerals written with 〇/○/零/Ｏ and
一…十 are read as well as digits.
"""

from __future__ import annotations

import re
from typing import Any

CJK = "\u4e00-\u9fff"
HEAD_CHARS = 400
TAIL_CHARS = 400

_OPEN = re.escape("〔[［(（【")
_CLOSE = re.escape("〕]］)）】")
# 国发〔2011〕12号, 鹤政办〔2018〕28号, 浙科发成〔2019〕114号, 环办执法函[2022]45号.
DOC_NUMBER = re.compile(
    rf"[{CJK}]{{1,14}}\s*[{_OPEN}]\s*(?:19|20)\d{{2}}\s*[{_CLOSE}]\s*第?\s*\d{{1,4}}\s*号"
)
# 中华人民共和国国务院令第588号, 公告2021年第5号: numbers without a bracketed year.
DOC_NUMBER_ORDER = re.compile(
    rf"[{CJK}]{{1,20}}令\s*第\s*\d{{1,4}}\s*号|公告\s*(?:19|20)\d{{2}}年第\s*\d{{1,4}}\s*号"
)

_TITLE_END = (
    "通知|意见|方案|办法|措施|规定|决定|计划|报告|批复|函|公告|通告|纲要|细则|条例|规划|规则|"
    "指南|指引|要点|通报|决议|命令|意见的通知|实施意见"
)
_TITLE = re.compile(rf"^[^\n。；：:]{{4,90}}(?:{_TITLE_END})(?:[（(][^）)\n]{{1,20}}[）)])?")
# The addressee line: 各省、自治区、直辖市人民政府，国务院各部委、各直属机构：
_ADDRESSEES = re.compile(rf"(各[{CJK}（）()、，, ]{{2,160}}?)[：:]")

_CN_DIGIT = {"〇": 0, "○": 0, "零": 0, "Ｏ": 0, "０": 0, "О": 0, "o": 0, "O": 0,
             "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_NUM = "〇○零Ｏ０ОoO一二三四五六七八九十"
_DATE_ARABIC = re.compile(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_DATE_CHINESE = re.compile(rf"([{_CN_NUM}]{{4}})年([{_CN_NUM}]{{1,3}})月([{_CN_NUM}]{{1,3}})日")
_ISSUER_TAIL = re.compile(
    rf"([{CJK}（）()]{{2,40}}?(?:人民政府|政府|办公厅|办公室|委员会|部|厅|局|院|署|委|"
    rf"中心|小组|银行|会))\s*[（(]?\s*(?:盖章)?\s*[）)]?\s*$"
)
_PRINTED = re.compile(r"印发\s*$")


def _chinese_number(text: str) -> int | None:
    """一…九十九 and digit-by-digit forms (二〇一一); None when it is not a number."""
    if not text:
        return None
    if "十" in text:
        tens, _, units = text.partition("十")
        high = _CN_DIGIT.get(tens) if tens else 1
        low = _CN_DIGIT.get(units) if units else 0
        if high is None or low is None or len(tens) > 1 or len(units) > 1:
            return None
        return high * 10 + low
    value = 0
    for char in text:
        if char not in _CN_DIGIT:
            return None
        value = value * 10 + _CN_DIGIT[char]
    return value


def _iso(year: int, month: int, day: int) -> str | None:
    if not (1900 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def parse_date(text: str) -> str | None:
    """The first full date (year, month, day) in ``text`` as ISO, or None.

    >>> parse_date("二○一一年五月十日"), parse_date("2018年12月5日")
    ('2011-05-10', '2018-12-05')
    """
    found = [(m.start(), m) for m in (_DATE_ARABIC.search(text), _DATE_CHINESE.search(text)) if m]
    if not found:
        return None
    _, match = min(found, key=lambda item: item[0])
    if match.re is _DATE_ARABIC:
        return _iso(*(int(g) for g in match.groups()))
    parts = [_chinese_number(g) for g in match.groups()]
    if any(p is None for p in parts):
        return None
    return _iso(*parts)  # type: ignore[arg-type]


def _all_dates(text: str) -> list[tuple[int, int, str]]:
    """(start, end, ISO date) of every full date in ``text``, in order."""
    dates = []
    for pattern in (_DATE_ARABIC, _DATE_CHINESE):
        for match in pattern.finditer(text):
            iso = parse_date(match.group(0))
            if iso:
                dates.append((match.start(), match.end(), iso))
    return sorted(dates)


def find_doc_number(text: str) -> str | None:
    """The document number near the start of ``text`` (spaces removed), or None."""
    head = text[:HEAD_CHARS]
    matches = [m for m in (DOC_NUMBER.search(head), DOC_NUMBER_ORDER.search(head)) if m]
    if not matches:
        return None
    match = min(matches, key=lambda m: m.start())
    number = re.sub(r"\s+", "", match.group(0))
    # A run-together head puts the title right before the number ("…的通知国发〔2011〕12号"),
    # or a masthead ("…商务部办公厅文件环办环评〔2022〕2号"): the issuer's code starts after the
    # last word that ends a title or a masthead.
    bracket = re.search(f"[{_OPEN}]", number)
    code = number[: bracket.start()] if bracket else ""
    ends = [m.end() for m in re.finditer(f"(?:{_TITLE_END}|文件)", code) if m.end() < len(code)]
    if ends:
        number = number[ends[-1]:]
    return number


def find_title(text: str) -> str | None:
    """The title at the very start of the text, when it ends in a document type (通知,
    意见…): the first lines (a leading document-number line skipped, an issuer line above
    ``关于…`` and a wrapped continuation joined), or in run-together text the phrase before
    the document number or the addressee line."""
    lines = [line.strip() for line in text[:HEAD_CHARS].split("\n") if line.strip()]
    while lines and DOC_NUMBER.fullmatch(lines[0]):
        lines = lines[1:]
    if not lines:
        return None
    candidates = []
    joined = ""
    for line in lines[:4]:
        if joined and (len(line) > 40 or _ADDRESSEES.match(line) or DOC_NUMBER.fullmatch(line)):
            break
        joined += line
        candidates.append(joined)
    # Run-together heads: cut before the number or the addressees.
    first = lines[0]
    cut = len(first)
    number = find_doc_number(first)
    if number and number in first:
        cut = min(cut, first.index(number))
    addressees = _ADDRESSEES.search(first)
    if addressees:
        cut = min(cut, addressees.start())
    candidates.append(first[:cut])
    for candidate in candidates:
        match = _TITLE.match(candidate)
        if match and match.end() == len(candidate) and len(candidate) >= 6:
            if DOC_NUMBER.match(candidate) or candidate.startswith("各"):
                continue
            return candidate
    return None


def find_addressees(text: str) -> list[str]:
    """The addressee line near the start (各省、自治区…：), split into its addressees."""
    match = _ADDRESSEES.search(text[:HEAD_CHARS])
    if not match:
        return []
    # Addressees are separated by commas; 、 enumerates inside one (各省、自治区、直辖市人民政府),
    # and nothing inside brackets separates (科技厅(委、局)).
    parts, depth, current = [], 0, ""
    for char in match.group(1):
        depth += char in "（("
        depth -= char in "）)" and depth > 0
        if char in "，," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def find_signature(text: str) -> dict[str, str]:
    """Issuer and date of the signature block, and the date of a ``…印发`` line, from the
    end of the text."""
    tail = text[-TAIL_CHARS:]
    found: dict[str, str] = {}
    dates = _all_dates(tail)
    for start, end, iso in reversed(dates):
        after = tail[end:end + 4]
        if _PRINTED.match(after.strip() + "\n") or after.lstrip().startswith("印发"):
            found.setdefault("published", iso)
            continue
        before = tail[:start].rstrip()
        line_start = max(before.rfind("\n"), before.rfind("。"), before.rfind("；")) + 1
        issuer_zone = before[line_start:]
        issuer = _ISSUER_TAIL.search(issuer_zone)
        if issuer and len(issuer_zone) - issuer.end() <= 2:
            found.setdefault("issuer", issuer.group(1).strip())
            found.setdefault("written", iso)
        elif not before or before.endswith(("\n", "。")) or len(issuer_zone) <= 2:
            found.setdefault("written", iso)
        if "written" in found:
            break
    return found


_ISSUER_PREFIX = re.compile(
    rf"^([{CJK}]{{2,30}}(?:人民政府|政府|办公室|办公厅|局|委员会|部|厅|委|院|署|中心|小组))(?:关于|批转|转发)"
)
_DATE_LINE = re.compile(
    rf"^[ \t\u3000]*(?:{_DATE_ARABIC.pattern}|{_DATE_CHINESE.pattern})[ \t\u3000]*$", re.M
)


def find_cover_date(text: str) -> str | None:
    """A date standing alone on its line near the start: the signature of a cover letter
    (印发…的通知) that precedes the document it issues."""
    match = _DATE_LINE.search(text[:1500])
    return parse_date(match.group(0)) if match else None


def find_meta(text: str) -> dict[str, Any]:
    """Metadata the document's own head and tail state: any of ``title``, ``doc_number``,
    ``addressees``, ``issuer``, ``written`` (the signature date) and ``published`` (the
    印发 date). Only what was found is returned."""
    meta: dict[str, Any] = {}
    title = find_title(text)
    if title:
        meta["title"] = title
    number = find_doc_number(text)
    if number:
        meta["doc_number"] = number
    addressees = find_addressees(text)
    if addressees:
        meta["addressees"] = addressees
    meta.update(find_signature(text))
    if "written" not in meta:
        cover_date = find_cover_date(text)
        if cover_date:
            meta["written"] = cover_date
    if "issuer" not in meta and title:
        issuer = _ISSUER_PREFIX.match(title)
        if issuer:
            meta["issuer"] = issuer.group(1)
    return meta
