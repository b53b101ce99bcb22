"""Split cleaned text into clauses (GUIDELINES §1), with offsets, kind and section path.

Rules, in the guidelines' order:
1. split after 。！？； (and half-width forms) and at every line break;
2. never inside matched brackets or quotes, except that a bracketed note standing right
   after a sentence end (``（责任单位：市科技局）``) is its own clause;
3. never at ，、： nor inside numbers (``1.35亿元``);
4. an enumeration marker (``一、`` ``（一）`` ``1.`` ``（1）`` ``①`` ``第三条``) opens a new clause;
5. headings are clauses of kind ``heading`` and build the ``section`` path of what follows;
6. clauses are stripped; empty or punctuation-only ones are dropped.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from inference.records import Clause

_OPEN_TO_CLOSE = {"（": "）", "(": ")", "《": "》", "“": "”", "‘": "’", "「": "」", "【": "】"}
_CLOSERS = set(_OPEN_TO_CLOSE.values())
# Only these open a standalone note; a line may well start with 《…》 or a quotation.
_NOTE_OPENERS = set("（(【")
_SENTENCE_END = set("。！？；!?;")
_CN_NUM = "一二三四五六七八九十百零〇"
_CJK = "\u4e00-\u9fff"

# Enumeration markers, each with its level in the heading hierarchy (smaller = higher).
_MARKERS: list[tuple[int, re.Pattern[str]]] = [
    (0, re.compile(rf"第[{_CN_NUM}\d]+编")),
    (1, re.compile(rf"第[{_CN_NUM}\d]+章")),
    (2, re.compile(rf"第[{_CN_NUM}\d]+节")),
    (3, re.compile(rf"第[{_CN_NUM}\d]+条(之[{_CN_NUM}]+)?")),
    (3, re.compile(rf"[{_CN_NUM}]+、")),
    (4, re.compile(rf"[（(][{_CN_NUM}]+[）)]")),
    (5, re.compile(r"\d{1,2}[.．、](?!\d)")),
    (6, re.compile(r"[（(]\d{1,2}[）)]")),
    (7, re.compile(r"[①-⑳]")),
]
_RUN_IN_MARKER = re.compile(rf"[（(][{_CN_NUM}]+[）)](?![项款条目])")
_PUNCT_ONLY = re.compile(rf"^[^{_CJK}A-Za-z0-9]*$")
_TITLE_SUFFIX = re.compile(
    r"(方案|通知|意见|办法|措施|计划|规定|决定|通告|公告|报告|条例|细则|纲要|规划|指引|要点|"
    r"总则|附则|分工表|安排表|一览表|清单|目录)$"
)
_BODY_HINTS = re.compile(r"万元|亿元|%|％|给予|不超过|奖励")
_HEADING_MAX = 40


def marker_at(text: str, pos: int = 0) -> tuple[int, str] | None:
    """(level, marker) if an enumeration marker starts at ``pos``."""
    for level, pattern in _MARKERS:
        match = pattern.match(text, pos)
        if match:
            return level, match.group(0)
    return None


def _matched_brackets(line: str) -> dict[int, int]:
    """{opener index: closer index} for brackets that are properly closed in the line.

    Unmatched brackets (crawls truncate and garble) protect nothing, so they cannot swallow
    the rest of a line.
    """
    pairs: dict[int, int] = {}
    stack: list[tuple[int, str]] = []
    for index, ch in enumerate(line):
        if ch in _OPEN_TO_CLOSE and not (ch == "‘" and stack and stack[-1][1] == "‘"):
            stack.append((index, ch))
        elif ch in _CLOSERS:
            for depth in range(len(stack) - 1, -1, -1):
                if _OPEN_TO_CLOSE[stack[depth][1]] == ch:
                    pairs[stack[depth][0]] = index
                    del stack[depth:]
                    break
    return pairs


def split_line(line: str) -> list[tuple[int, int]]:
    """Clause spans [start, end) of one line, before stripping."""
    pairs = _matched_brackets(line)
    protected = [False] * len(line)
    for opener, closer in pairs.items():
        for index in range(opener + 1, closer):
            protected[index] = True

    boundaries = {0, len(line)}
    after_end = True  # at line start, as after a sentence end
    index = 0
    while index < len(line):
        ch = line[index]
        if protected[index]:
            index += 1
            continue
        if (
            not after_end and index > 0 and line[index - 1] != "第"
            and _RUN_IN_MARKER.match(line, index)
        ):
            # Headers that run into the body ("…全面领导（一）生态环境是…") still open a
            # clause at a bracketed Chinese numeral; "第（一）项" cites, it does not open.
            boundaries.add(index)
        if after_end or (index > 0 and line[index - 1] in "：:"):
            marker = marker_at(line, index)
            if marker and index > 0:
                boundaries.add(index)
            if after_end and ch in _NOTE_OPENERS and index in pairs and not marker:
                # A bracketed note standing alone after a sentence end is its own clause.
                if index > 0:
                    boundaries.add(index)
                boundaries.add(pairs[index] + 1)
        if ch in _SENTENCE_END or (
            ch == "." and index > 0 and not line[index - 1].isdigit()
            and (index + 1 == len(line) or not line[index + 1].isdigit())
        ):
            boundaries.add(index + 1)
            after_end = True
        elif not ch.isspace():
            after_end = False
        index += 1
    ordered = sorted(boundaries)
    return list(itertools.pairwise(ordered))


@dataclass
class _Piece:
    start: int
    end: int
    text: str
    whole_line: bool
    line_first: bool


def _is_heading(piece: _Piece) -> tuple[bool, int | None]:
    """(is a heading, its marker level or None)."""
    text = piece.text
    if text.endswith(("；", ";", "，", ",", "、")):
        return False, None
    marker = marker_at(text)
    if marker:
        level, mark = marker
        rest = text[len(mark):].strip()
        is_article = level == 3 and mark.startswith("第")
        if not rest or len(text) > _HEADING_MAX or not piece.line_first or is_article:
            # 第X条 opens an article: body text, not a heading.
            return (level < 3 and len(text) <= _HEADING_MAX), level
        commas = sum(text.count(c) for c in "，,；;")
        if _BODY_HINTS.search(text) or commas > 1:
            return False, level
        if piece.whole_line and text.endswith(("。", ".")) and commas:
            return False, level
        return True, level
    if piece.whole_line and len(text) <= 60 and not re.search(r"[，,。；;：:]", text) and (
        _TITLE_SUFFIX.search(text)
    ):
        return True, None
    return False, None


def segment(text: str) -> list[Clause]:
    """Clauses of a cleaned text; ``start``/``end`` index into ``text``."""
    clauses: list[Clause] = []
    path: list[tuple[int, str]] = []
    line_start = 0
    for line in text.split("\n"):
        spans = split_line(line)
        pieces: list[_Piece] = []
        for start, end in spans:
            raw = line[start:end]
            stripped = raw.strip()
            if not stripped or _PUNCT_ONLY.match(stripped):
                continue
            offset = line_start + start + raw.index(stripped[0])
            pieces.append(_Piece(offset, offset + len(stripped), stripped, False, False))
        if len(pieces) == 1:
            pieces[0].whole_line = True
        if pieces:
            pieces[0].line_first = True
        for piece in pieces:
            heading, level = _is_heading(piece)
            if heading:
                # A heading's section is its parent path: siblings and deeper levels close.
                path = [] if level is None else [(lv, t) for lv, t in path if lv < level]
            section = " > ".join(title for _, title in path)
            if heading and level is not None:
                path.append((level, piece.text))
            clauses.append(
                Clause(
                    clause_id=len(clauses),
                    text=piece.text,
                    start=piece.start,
                    end=piece.end,
                    kind="heading" if heading else "body",
                    section=section,
                )
            )
        line_start += len(line) + 1
    return clauses
