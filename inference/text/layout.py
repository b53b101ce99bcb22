"""Undo page layout between cleaning and segmentation (GUIDELINES §1, R1).

Text copied out of a PDF is hard-wrapped at a fixed width: a line break there is not a clause
boundary. This step looks at the line-length profile of one document, decides whether its lines
are hard-wrapped, joins continuation lines, and drops page-number lines and running headers or
footers. Real breaks stay: headings, list items, short lines, the lines of a signature block.

It keeps the offset map: every character of the result carries the raw-input offset of the
character it came from (a space put between two Latin characters maps to the first character of
the joined line).

``layout`` is ``lines`` (one paragraph a line), ``wrapped`` (hard-wrapped) or ``flat`` (the
document runs together with (almost) no line breaks).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

from inference.text.clean import SENTENCE_TAIL_MARKS, MappedText
from inference.text.segment import marker_at

log = logging.getLogger(__name__)

# —2—, - 3 -, -2-, 第 2 页 共 5 页, 2/5, Page 3.
_PAGE_NUMBER = re.compile(
    r"^(?:[-—–－_~～·•]+\s*\d{1,4}\s*[-—–－_~～·•]+|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?"
    r"|共\s*\d{1,4}\s*页\s*第\s*\d{1,4}\s*页|\d{1,4}\s*/\s*\d{1,4}|[Pp]age\s*\d{1,4}(?:\s*of\s*\d{1,4})?)$"
)
# A bare number on its own line is a page number only inside wrapped text.
_BARE_NUMBER = re.compile(r"^\d{1,3}$")
_CJK_CHAR = re.compile(r"[\u4e00-\u9fff]")
_TERMINATORS = "。！？；!?;"
_CLOSING = "）)》”’」】〕，、。；：！？,.;:!?"
_LATIN = re.compile(r"[A-Za-z0-9]")
# Lines wrapped at this many columns or more can be told from short lines.
_MIN_WIDTH = 16
_MAX_WIDTH = 80
# Layout detection reads this many lines; a longer document keeps the decision.
_PROFILE_LINES = 3000
_FLAT_MIN_CHARS = 300
_ISSUER_LINE = re.compile(
    r"[\u4e00-\u9fff]{2,30}(?:人民政府|政府|办公厅|办公室|委员会|部|厅|局|委)"
)
_BLOCK = 20
# Page numbers stand at least this many lines apart.
_PAGE_MIN_LINES = 8
# A line never ends on these: an attributive 的, a conjunction, a copula before its value
# (…限值为, but not 行为, 作为, 认为).
_DANGLING_END = re.compile(r"(?:[的和与及或]|(?<![行作认所有无成因])为)$")
# what may close a sentence on a line of its own (cleaning keeps such a line after an open one)
_SENTENCE_TAIL = frozenset(SENTENCE_TAIL_MARKS)
_SENTENCE_END_MARKS = frozenset("。！？；!?;")
# A note label opening a line (注:, 说明：): a new clause, not the rest of the last one.
_LABEL_START = re.compile(r"[\u4e00-\u9fff]{1,4}[:：]")
_DRAFT_NOTE = re.compile(r"[（(](?:征求意见稿|送审稿|草案|试行|暂行|修订稿|讨论稿)[）)]")
_MODAL = re.compile(r"(?<![供相适响对反])应|宜|须|(?<![主重需必纲])要(?!求)|可以")
# Share of lines at the wrap width below which wrapped text must prove itself harder (see
# _wrap_widths): short paragraphs leave few full lines.
_SHORT_PARAGRAPHS_SHARE = 0.25
# A full line may fall this much short of the wrap width (indent, justification, a wide
# character pushed to the next line).
_SLACK = 3.5
# A repeated line under this share of the wrap width is a running header or footer; a longer
# one only where it cuts into a sentence.
_HEADER_SHARE = 0.8
# A line with a character taken out for every this many characters is letter-spaced.
_LETTER_SPACED = 3
# A paragraph's first line that holds a comma counts as full this many cells sooner.
_FIRST_LINE_SHORT = 2


@dataclass
class LayoutResult:
    text: str
    offsets: list[int]
    layout: str
    removed: dict[str, int]
    error: str | None = None


def lay_out(text: str, offsets: list[int], indents: list[bool] | None = None, *,
            name: str = "") -> LayoutResult:
    """``apply_layout``, or the text as it is when layout detection breaks on an input nobody
    foresaw: the document still gets its clauses (one a line), ``error`` says why, and a
    warning naming the document (``name``: its id and source) is logged, so the fallback is
    never silent. Errors outside this list (MemoryError, a bug in a caller) propagate, and the
    batch run turns them into an error record for the document."""
    try:
        return apply_layout(text, offsets, indents)
    except (ValueError, IndexError, KeyError, TypeError, RecursionError, ArithmeticError) as exc:
        error = f"{type(exc).__name__}: {exc}"
        log.warning("layout detection failed on %s (%s); its text is read one clause a line",
                    name or "a document", error)
        return LayoutResult(text, offsets, "lines", {}, error)


def width(line: str) -> float:
    """Display width: a CJK or full-width character counts 1, ASCII counts 1/2."""
    return sum(0.5 if ord(ch) < 0x2000 else 1.0 for ch in line)


def is_page_number(line: str, bare: bool = False) -> bool:
    """``—2—``, ``第 2 页 共 5 页``…; with ``bare`` a lone number of up to three digits too."""
    line = line.strip()
    return bool(_PAGE_NUMBER.match(line) or (bare and _BARE_NUMBER.match(line)))


def _bare_page_numbers(lines: list[str]) -> set[int]:
    """Indexes of the lines that are bare page numbers in text that is not hard-wrapped: lone
    numbers that rise through the document a page apart (2, 3, 4…, or 2, 4, 6… when only one
    side of the sheet is numbered). Numbers a few lines apart are table cells or list numbers."""
    numbered = [(index, int(line)) for index, line in enumerate(lines) if _BARE_NUMBER.match(line)]
    pages: set[int] = set()
    run: list[int] = []
    for position, (index, value) in enumerate(numbered):
        run.append(index)
        following = numbered[position + 1] if position + 1 < len(numbered) else None
        if following is None or not (
            value < following[1] <= value + 2 and following[0] - index >= _PAGE_MIN_LINES
        ):
            if len(run) >= 2:
                pages.update(run)
            run = []
    return pages


def _block_width(widths: list[float]) -> tuple[float | None, int]:
    """The width most lines of a block sit at, and how many lines sit near it (within -3/+1:
    a paragraph's first line is two cells short for its indent, or more where a PDF squeezed
    its brackets). Candidates are ranked by the lines near them plus the lines exactly at
    them, so the peak of full lines wins over a width that only takes in more first lines;
    on a tie the wider one."""
    counts = Counter(round(w) for w in widths if _MIN_WIDTH <= w <= _MAX_WIDTH + 1)
    best, best_near, best_score = None, 0, 0
    for candidate in sorted(counts):
        near = sum(n for w, n in counts.items() if candidate - 3 <= w <= candidate + 1)
        score = near + counts[candidate]
        if score >= best_score:
            best, best_near, best_score = candidate, near, score
    return (float(best) if best is not None else None), best_near


def wrap_widths(lines: list[str], removed: list[int] | None = None) -> list[float] | None:
    """The width each line is wrapped at, or None when the text is not hard-wrapped.

    Hard-wrapped text has most of its lines at one width (the paragraph's last line and the
    headings are shorter, an indented first line two less), and most of those full lines end
    in the middle of a sentence. The width is read per block of lines, because one PDF can
    change page format (a wide annex after a narrow body). ``removed[i]``: the characters
    cleaning took out of line i one at a time (the full-width space after 第一条, the spaces
    of 成 员 名 单), which took up the line's width as the page set it.
    """
    extra = removed or [0] * len(lines)
    found = _wrap_widths(lines, [width(line) + n for line, n in zip(lines, extra, strict=True)])
    if found is None:
        # Text wrapped at N characters rather than at a display width: lines with many digits
        # or Latin letters look short by display width but hold as many characters.
        found = _wrap_widths(lines, [float(len(line) + n)
                                     for line, n in zip(lines, extra, strict=True)])
    return found


def removed_inside(line: MappedText) -> int:
    """How many single characters cleaning took out between the line's characters: one
    offset skipped, not a table's wide gaps between cells or a comment taken out."""
    offsets = line.offsets
    if not offsets or offsets[-1] - offsets[0] + 1 == len(offsets):
        return 0  # nothing taken out (most lines): no need to walk the characters
    taken_out = sum(1 for a, b in pairwise(offsets) if b - a == 2)
    # a letter-spaced heading (保 障 措 施 …: a space after most characters) is no fuller
    # for its spaces
    return 0 if taken_out * _LETTER_SPACED > len(offsets) else taken_out


def _wrap_widths(lines: list[str], widths: list[float]) -> list[float] | None:
    """``wrap_widths`` with each line measured as ``widths`` says."""
    if len(lines) < 6 or sum(1 for w in widths if w >= _MIN_WIDTH) < 4:
        return None
    whole, _ = _block_width(widths)
    per_line: list[float] = []
    near_total, full, open_ended = 0, 0, 0
    for block_start in range(0, len(lines), _BLOCK):
        block = widths[block_start:block_start + _BLOCK]
        block_width, near = _block_width(block)
        if block_width is None or near < max(3, 0.4 * len(block)):
            block_width = whole
        else:
            near_total += near
        per_line += [block_width or 0.0] * len(block)
    short_paragraphs = near_total < 0.4 * len(lines)
    if whole is None or near_total < _SHORT_PARAGRAPHS_SHARE * len(lines):
        return None
    for line, line_width, wrap in zip(lines, widths, per_line, strict=True):
        if wrap - 2 <= line_width <= wrap + 1.5:
            full += 1
            open_ended += line[-1] not in _TERMINATORS
    # Most full lines stop inside a sentence. Where few lines are full (a statute's short
    # articles wrap once or twice: the last line of each is short), that must hold for nearly
    # all of them, or a list of similar rows would pass for wrapped text.
    needed = 0.8 if short_paragraphs else 0.5
    return per_line if open_ended >= needed * full else None


def _joiner(left: str, right: str) -> str:
    """Nothing between CJK characters; one space between two Latin words. Two digits join
    with nothing: a PDF breaks a number apart (``201`` / ``3年``), not two numbers."""
    if left and right and _LATIN.match(left[-1]) and _LATIN.match(right[0]) and not (
        left[-1].isdigit() and right[0].isdigit()
    ):
        return " "
    return ""


def _heading_line(line: str) -> bool:
    """A short line with no punctuation and no marker: an unnumbered heading (保障措施)."""
    return len(line) <= 12 and _title_part(line)


def _starts_paragraph(line: str, indented: bool, uses_indent: bool) -> bool:
    if uses_indent and indented:
        return True
    marker = marker_at(line)
    return marker is not None


def _join(lines: list[MappedText], glue: list[bool]) -> MappedText:
    """Lines joined: ``glue[i]`` says line i+1 continues line i."""
    parts: list[str] = []
    offsets: list[int] = []
    for index, line in enumerate(lines):
        if index:
            sep = _joiner(lines[index - 1].text, line.text) if glue[index - 1] else "\n"
            parts.append(sep)
            offsets.extend([line.offsets[0] if line.offsets else 0] * len(sep))
        parts.append(line.text)
        offsets.extend(line.offsets)
    return MappedText("".join(parts), offsets)


def _sentence_runs_on(line: str, following: str) -> bool:
    """In text with one paragraph a line, a stray hard break inside a sentence: the line stops
    on a Chinese character in the middle of a clause that has begun (it holds a comma), and the
    next line, not a new item, finishes the sentence.
    ``…等有关部门应当按照各自`` / ``职责,共同做好专利保护工作。``"""
    if len(line) < 12 or not _CJK_CHAR.match(line[-1]) or not _CJK_CHAR.match(following[:1]):
        return False
    marker = marker_at(line)
    if marker is not None and not marker[1].startswith("第"):
        return False
    # The clause left open is the text after the line's last sentence end: a heading run in
    # after a sentence (…提高安全管理水平。1 范围) has no comma and is not continued.
    open_clause = line[max(line.rfind(ch) for ch in _TERMINATORS) + 1:]
    if not any(ch in line for ch in "，,、") or following[-1] not in "。；;":
        return False
    if open_clause != line and (len(open_clause) < 8 or marker_at(open_clause) is not None):
        return False
    if len(following) < 4:
        # a word broken off at the end of a sentence: …应能无扰动自动切 / 换。
        return len(following) >= 2 and len(open_clause) >= 20
    if marker_at(following) is not None or _LABEL_START.match(following):
        return False  # a new item or a note (注:…), not the rest of the sentence
    # A line that lost its 。 is followed by a sentence of its own: its subject runs to the
    # first comma and already holds a modal verb (调速系统应具备…，). The rest of a broken
    # sentence reaches its first comma at once (职责,共同做好…).
    comma = re.search(r"[，,。；;！？!?]", following)
    return not (comma and following[comma.start()] in "，," and comma.start() >= 8
                and _MODAL.search(following, 2, comma.start()))


def _open_lines(texts: list[str], glue: list[bool]) -> list[bool]:
    """``glue`` with the breaks after lines left open (``_left_open``) set too, and the break
    before a sentence's end mark that starts the next line when the line is itself the rest of
    a broken sentence (``…所作的`` / ``政府工作报告`` / ``。会议高度评价…``)."""
    for index in range(len(texts) - 1):
        if glue[index]:
            continue
        following = texts[index + 1]
        glue[index] = _left_open(texts[index], following) or bool(
            index and glue[index - 1] and following[:1] in _SENTENCE_END_MARKS
        )
    return glue


def _left_open(line: str, following: str) -> bool:
    """In text with one paragraph a line, a line that cannot end where it does: it stops on a
    word that needs what comes after it (``…李克强所作的`` / ``政府工作报告``, ``…限值为`` /
    ``-50dBm/MHz，…``), or the next line is only the sentence's end mark (``政府工作报告`` /
    ``。``: link text that a crawl put on a line of its own). A line that starts with a stray
    mark and goes on (``：本次抽检…``) is a clause of its own, its mark dropped."""
    if following and all(ch in _SENTENCE_TAIL for ch in following):
        return True
    if len(line) < 6 or not _DANGLING_END.search(line) or not following:
        return False
    return marker_at(following) is None and not _LABEL_START.match(following) and (
        following[0] not in _CLOSING and not is_page_number(following)
    )


def _title_part(line: str) -> bool:
    """A line that can be part of a title: short, no sentence punctuation, no marker."""
    return 2 <= len(line) <= 40 and marker_at(line) is None and not any(
        ch in line for ch in "。；，,：:！？!?"
    )


def _broken_titles(lines: list[MappedText]) -> list[int]:
    """Indexes i where line i+1 continues a title broken over lines:
    ``偃师市人民政府`` / ``关于印发偃师市技术转移体系建设实施`` / ``方案的通知``."""
    from inference.text.segment import title_suffix

    joins: list[int] = []
    for index in range(len(lines) - 1):
        first, second = lines[index].text, lines[index + 1].text
        if index < 4 and _DRAFT_NOTE.fullmatch(second) and _title_part(first) and (
            len(first) >= 6
        ):
            # 智慧商店建设技术指南（试行） / （征求意见稿）: the draft note belongs to the title
            joins.append(index)
            continue
        if not (_title_part(first) and _title_part(second)) or title_suffix(first) or (
            first.endswith("日")
        ):
            continue  # a date above a title is not part of it
        if _ISSUER_LINE.fullmatch(first):
            # 浙江省科学技术厅 / 关于印发…的通知: the issuer heads its title; a signature
            # over a title that does not start with 关于 is not part of it
            if second.startswith("关于") and title_suffix(second):
                joins.append(index)
            continue
        if title_suffix(second) and len(first) >= 6 and (
            len(first) >= 12 or first.startswith("关于") or second.startswith(("关于", "的"))
        ):
            joins.append(index)
            # an issuer line above 关于…: 偃师市人民政府 / 关于印发…
            if index and _title_part(lines[index - 1].text) and first.startswith("关于") and (
                _ISSUER_LINE.fullmatch(lines[index - 1].text)
            ):
                joins.append(index - 1)
    return joins


def apply_layout(text: str, offsets: list[int], indents: list[bool] | None = None) -> LayoutResult:
    """Undo hard wrapping in ``text`` (a cleaned text, one line per ``\\n``) whose characters
    come from raw offsets ``offsets``; ``indents[i]`` says line i was indented in the raw input."""
    mapped = MappedText(text, offsets)
    lines = mapped.splitlines()
    removed: dict[str, int] = {}

    def drop(reason: str) -> None:
        removed[reason] = removed.get(reason, 0) + 1

    kept: list[MappedText] = []
    kept_indent: list[bool] = []
    for index, line in enumerate(lines):
        if is_page_number(line.text):
            drop("page_number")
            continue
        kept.append(line)
        kept_indent.append(bool(indents and index < len(indents) and indents[index]))
    texts = [line.text for line in kept]
    total = sum(len(t) for t in texts)
    if total and (len(texts) <= 2 or max(len(t) for t in texts) >= 0.5 * total) and (
        total >= _FLAT_MIN_CHARS
    ):
        glue = _open_lines(texts, [False] * max(0, len(texts) - 1))
        result = _join(kept, glue) if any(glue) else MappedText.join_lines(kept)
        return LayoutResult(result.text, result.offsets, "flat", removed)

    # what cleaning took out of each line: read once, by the profile and by the joins below
    taken_out = [removed_inside(line) for line in kept]
    widths = wrap_widths(texts[:_PROFILE_LINES], taken_out[:_PROFILE_LINES])
    if widths is None:
        page_lines = _bare_page_numbers(texts)
        if page_lines:
            kept = [line for index, line in enumerate(kept) if index not in page_lines]
            for _ in page_lines:
                drop("page_number")
        glue = _open_lines([line.text for line in kept], [
            _sentence_runs_on(kept[i].text, kept[i + 1].text) for i in range(len(kept) - 1)])
        for index in _broken_titles(kept):
            glue[index] = True
        result = _join(kept, glue) if glue else MappedText.join_lines(kept)
        return LayoutResult(result.text, result.offsets, "lines", removed)

    # Wrapped: drop bare page numbers and running headers/footers (a short line that comes
    # back three times or more), then join each full line to the next.
    widths += [widths[-1]] * (len(texts) - len(widths))
    counts = Counter(texts)
    # A repeated line near the wrap width is a running header only where it cuts into a
    # sentence that runs on across the page break; a sentence that a standard repeats in
    # several sections, wrapped the same way each time (…在石化行业的实施指 / 南或具体应用…),
    # opens its paragraph and cuts into nothing. Shorter repeated lines go as before.
    interrupts: set[str] = set()
    for index, text in enumerate(texts[1:], 1):
        before = texts[index - 1]
        if counts[text] >= 3 and before[-1] not in _TERMINATORS and (
                width(before) >= widths[index - 1] - 2):
            interrupts.add(text)
    filtered: list[MappedText] = []
    filtered_indent: list[bool] = []
    filtered_width: list[float] = []
    filtered_taken_out: list[int] = []
    for line, indented, full_width, line_taken_out in zip(kept, kept_indent, widths, taken_out,
                                                          strict=True):
        if _BARE_NUMBER.match(line.text):
            drop("page_number")
            continue
        line_width = width(line.text)
        if counts[line.text] >= 3 and line_width < full_width - 2 and (
            line.text[-1] not in _TERMINATORS and marker_at(line.text) is None
            and (line_width < _HEADER_SHARE * full_width or line.text in interrupts)
        ):
            drop("running_header")
            continue
        filtered.append(line)
        filtered_indent.append(indented)
        filtered_width.append(full_width)
        filtered_taken_out.append(line_taken_out)
    uses_indent = sum(filtered_indent) >= 2
    glue = []
    for index in range(len(filtered) - 1):
        current, following = filtered[index].text, filtered[index + 1].text
        # A paragraph's first line is short by its indent, and in real PDFs by squeezed
        # brackets too (（三）放大生态优势，…协同推进降: four cells), whether or not the indent
        # survived extraction. That allowance is given only to a line that is plainly a
        # sentence (a comma after its marker), not to a heading (（1）元数据与数据字典标准,
        # 附件：…填报格式说明, 一、…), which would run into the paragraph below.
        marker = marker_at(current)
        first_line = (index == 0 or not glue[index - 1]) and any(
            ch in current[len(marker[1]) if marker else 0:] for ch in "，,；;")
        # Full by display width (a real PDF) or by characters (text wrapped at N characters),
        # counting the characters cleaning took out of it (without the full-width space after
        # 第一条, a paragraph's first line, two cells short for its indent, is three short).
        is_full = max(width(current), len(current)) + filtered_taken_out[index] >= (
            filtered_width[index] - _SLACK - (_FIRST_LINE_SHORT if first_line else 0))
        if following and (following[0] in _CLOSING or all(ch in _SENTENCE_TAIL
                                                          for ch in following)):
            glue.append(True)
        elif current[-1] in _TERMINATORS:
            glue.append(False)
        elif not is_full and current[-1] in "，,、" and len(current) >= _MIN_WIDTH:
            # a long line that stops on a comma or 、 (…集成互联、 / 人机协作…) ends no
            # paragraph, whatever its width: a new item, paragraph or heading (保障措施) would
            # have to start next
            glue.append(not _starts_paragraph(following, filtered_indent[index + 1], uses_indent)
                        and not _heading_line(following))
        elif not is_full:
            # a short line is a paragraph's end, unless the sentence plainly runs on (a break
            # inside a sentence that the PDF kept as a paragraph of its own)
            glue.append(_sentence_runs_on(current, following))
        else:
            glue.append(not _starts_paragraph(following, filtered_indent[index + 1], uses_indent))
    for title_index in _broken_titles(filtered):
        glue[title_index] = True
    result = _join(filtered, glue)
    return LayoutResult(result.text, result.offsets, "wrapped", removed)
