"""Clean a crawled document: boilerplate out, header metadata into fields, one script.

Every step keeps, for each character of the cleaned text, the offset of the character it came
from in the raw input (``CleanedText.source_offsets``), so a clause can always be traced back.
For HTML inputs the "raw input" is the text extracted from the page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from inference.text.html import html_title, html_to_text


@dataclass
class MappedText:
    """Text plus, for every character, its offset in the original."""

    text: str
    offsets: list[int]

    @classmethod
    def identity(cls, text: str) -> MappedText:
        return cls(text, list(range(len(text))))

    def __getitem__(self, key: slice) -> MappedText:
        return MappedText(self.text[key], self.offsets[key])

    def sub(self, pattern: re.Pattern[str], repl: str | Callable[[re.Match[str]], str]) -> MappedText:
        """``re.sub`` that carries offsets: inserted text maps to the start of its match."""
        pieces: list[str] = []
        offsets: list[int] = []
        last = 0
        for match in pattern.finditer(self.text):
            pieces.append(self.text[last:match.start()])
            offsets.extend(self.offsets[last:match.start()])
            new = repl(match) if callable(repl) else match.expand(repl)
            anchor = self.offsets[match.start()] if match.start() < len(self.offsets) else (
                self.offsets[-1] + 1 if self.offsets else 0)
            pieces.append(new)
            offsets.extend([anchor] * len(new))
            last = match.end()
        pieces.append(self.text[last:])
        offsets.extend(self.offsets[last:])
        return MappedText("".join(pieces), offsets)

    def strip(self) -> MappedText:
        stripped = self.text.strip()
        if not stripped:
            return MappedText("", [])
        start = self.text.index(stripped[0])
        return self[start:start + len(stripped)]

    def splitlines(self) -> list[MappedText]:
        lines, start = [], 0
        for index, ch in enumerate(self.text):
            if ch == "\n":
                lines.append(self[start:index])
                start = index + 1
        lines.append(self[start:])
        return lines

    @staticmethod
    def join_lines(lines: list[MappedText]) -> MappedText:
        text_parts: list[str] = []
        offsets: list[int] = []
        for index, line in enumerate(lines):
            if index:
                text_parts.append("\n")
                offsets.append(line.offsets[0] if line.offsets else 0)
            text_parts.append(line.text)
            offsets.extend(line.offsets)
        return MappedText("".join(text_parts), offsets)


@dataclass
class CleanedText:
    text: str
    source_offsets: list[int]
    meta: dict[str, Any] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)
    # One flag per line of ``text``: the raw line began with whitespace (a paragraph indent).
    line_indents: list[bool] = field(default_factory=list)

    def to_source(self, start: int, end: int) -> tuple[int, int]:
        """Offsets in the raw input of the cleaned span [start, end)."""
        if start >= end or not self.source_offsets:
            anchor = self.source_offsets[start] if start < len(self.source_offsets) else 0
            return anchor, anchor
        return self.source_offsets[start], self.source_offsets[end - 1] + 1


# --- patterns ------------------------------------------------------------------------------

CJK = r"\u4e00-\u9fff"
_PLACEHOLDER = re.compile(r"\{[a-zA-Z_][a-zA-Z0-9_]*\}")
_HTML_COMMENT = re.compile(r"<!--.*?-->")
_SPACES = re.compile(r"[ \t\u3000\xa0\u2002\u2003\u2009\u200b\ufeff]+")
# Justified crawls put spaces between CJK characters ("附  件"); between two CJK characters
# or full-width punctuation a space is never content.
_CJK_PUNCT = CJK + r"，。、；：？！（）《》“”‘’【】〔〕—"
_SPACE_IN_CJK = re.compile(rf"(?<=[{_CJK_PUNCT}]) (?=[{_CJK_PUNCT}])")
_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+")
_INDENT_CHARS = " \t\u3000\xa0\u2002\u2003"

# Header fields: name → key spellings (after t2s, so simplified only).
_META_KEYS: dict[str, tuple[str, ...]] = {
    "title": ("标题", "标 题", "名称"),
    "index_no": ("索引号",),
    "doc_number": ("发文字号", "文号"),
    "issuer": ("发文机关", "发布机构", "发布机关"),
    "published": ("发布日期", "发布时间"),
    "written": ("成文日期", "成文时间"),
    "topic": ("主题分类",),
    "keywords": ("主题词",),
    "site_source": ("来源",),
    "tags": ("标签",),
    "_widget": ("字体大小", "字号", "浏览次数", "点击数", "阅读次数"),
}
_KEY_TO_FIELD = {key: name for name, keys in _META_KEYS.items() for key in keys}
_KEY_PATTERN = re.compile(
    "(" + "|".join(sorted((re.escape(k) for k in _KEY_TO_FIELD), key=len, reverse=True)) + ")"
    r"\s*[:：]?\s*"
)
_DOC_NUMBER_LINE = re.compile(
    rf"^[{CJK}]{{1,14}}\s*[〔\[［(（]\s*\d{{4}}\s*[〕\]］)）]?\s*\d{{1,4}}\s*号?$"
)
_INDEX_NO_LINE = re.compile(r"^[A-Z0-9]{2,}[A-Z0-9]*[-/]\d{4}[-/]\d+$")
_ISSUER_PREFIX = re.compile(
    rf"^([{CJK}]{{2,30}}(?:政府|办公室|办公厅|局|委员会|部|厅|委|院|署|中心|小组))关于"
)
_DATE_VALUE = re.compile(r"(\d{4})\D{1,2}(\d{1,2})\D{1,2}(\d{1,2})")

_NAV_LINE = re.compile(
    r"当前位置|您现在的位置|您的位置|首页\s*(->|>|»|/)|【?打印(本页)?】|关闭窗口|【关闭】|分享到|扫一扫|"
    r"返回顶部|上一篇|下一篇|【字体|字体[:：]?\s*[大中小]|收藏本页|加入收藏"
)
# Lines after which nothing is document: the site footer or comment widget has begun.
_FOOTER_START = re.compile(
    r"留言与评论|版权所有|主办单位|ICP备|网站标识码|备案序号|网站地图|联系我们"
)
# Wikisource licence boxes end a page wherever they start.
_LICENCE_START = re.compile(r"^本作品(?:来自|是)中华人民共和国|^本模板所指|^注：中文维基文库社群")
_LICENCE_IN_LINE = re.compile(r"(?<=[。！!”」])\s*本作品(?:来自|是)中华人民共和国")
# The font-size widget of MEE pages sticks to the end of the text ("…2019年1月10日字号").
# The widget is glued to whatever ends the page (…答记者问字号), but 发文字号 is a header key.
_WIDGET_TAIL = re.compile(
    rf"(?<=[日。）)发{CJK}])(?<!文)\s*(?:字号|相关(?:文章|解读|链接|阅读)[:：]?)\s*$")
_RELATED_LINE = re.compile(r"^(?:相关(?:文章|解读|链接|阅读|附件)|扫一扫在手机打开当前页)[:：]?$")
_FOOTER_LINE = re.compile(
    r"联系电话|邮编|建议使用|分辨率|验证码|承办单位|电子邮箱|Copyright|©|技术支持|"
    r"法宝引证码|原文链接|https?://|www\."
)
# A document's own contact block: a contact person, or a line that opens or continues it.
_CONTACT_PERSON = re.compile(r"联\s*系\s*人")
_CONTACT_BLOCK = re.compile(r"联\s*系\s*(?:人|方式|电话)|传\s*真\s*[:：]|电\s*话\s*[:：]|电子邮箱")
_SITE_FOOTER = re.compile(
    r"建议使用|分辨率|验证码|承办单位|Copyright|©|技术支持|法宝引证码|原文链接|版权|ICP|备案"
)
# Licence and template residue of wiki crawls (Wikisource: "Public domain", "false").
_SITE_LINE = re.compile(r"^(?:Public domain|PD-[\w-]+|false|true|null|None|undefined)$", re.IGNORECASE)
_SPAM_LINE = re.compile(
    r"\d+选\d+|时时彩|六合彩|彩票|博彩|娱乐城|百家乐|棋牌|赌场|真人娱乐|威尼斯人|北京赛车|快三|pk10",
    re.IGNORECASE,
)
# Boilerplate checks only fire on short lines: a long line is document text that merely
# mentions a phone number or a website.
_SHORT_LINE = 80

_MOJIBAKE_PATTERNS = [
    ("replacement_char", re.compile("\ufffd")),
    ("kana_in_chinese", re.compile(r"[\u3040-\u30ff]")),
    ("question_mark_in_cjk", re.compile(rf"(?<=[{CJK}])\?+|\?+(?=[{CJK}])")),
    ("latin1_utf8", re.compile(r"[ÃÂåæçèéäï][\x80-\xbf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]")),
    ("gbk_utf8_marker", re.compile("锟斤拷|烫烫烫|屯屯屯")),
]


# --- script -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _t2s():
    from opencc import OpenCC  # opencc-python-reimplemented

    return OpenCC("t2s")


def traditional_ratio(text: str, sample: int = 4000) -> float:
    """Share of CJK characters that OpenCC t2s would change (0 for simplified text)."""
    cjk = [ch for ch in text[: sample * 3] if "\u4e00" <= ch <= "\u9fff"][:sample]
    if not cjk:
        return 0.0
    converted = _t2s().convert("".join(cjk))
    changed = sum(1 for a, b in zip(cjk, converted, strict=False) if a != b)
    return changed / len(cjk)


def to_simplified(mapped: MappedText) -> MappedText:
    """t2s, line by line; a line whose conversion changes length is converted per character
    so every character keeps its source offset."""
    converter = _t2s()
    lines = []
    for line in mapped.splitlines():
        converted = converter.convert(line.text)
        if len(converted) != len(line.text):
            converted = "".join(converter.convert(ch)[:1] or ch for ch in line.text)
        lines.append(MappedText(converted, line.offsets))
    return MappedText.join_lines(lines)


# --- header metadata ----------------------------------------------------------------------


def _normalise_date(value: str) -> str:
    match = _DATE_VALUE.search(value)
    if not match:
        return value
    year, month, day = match.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}"


def parse_meta_line(line: str) -> dict[str, str] | None:
    """Fields of a header line such as ``索引号:GS2337/2019-5178主题分类:平政办发``.

    Returns None when the line does not start with a known key (it is not a header line).
    """
    matches = list(_KEY_PATTERN.finditer(line))
    if not matches or matches[0].start() != 0:
        return None
    fields: dict[str, str] = {}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(line)
        value = line[match.end():end].strip(" :：")
        name = _KEY_TO_FIELD[match.group(1)]
        if value and not name.startswith("_") and name not in fields:
            fields[name] = value
    return fields


def _header_zone_end(lines: list[MappedText]) -> int:
    """Index of the first line that is surely body text: a salutation ending in a colon
    or a long line. Header fields are only looked for before it."""
    for index, line in enumerate(lines[:40]):
        text = line.text
        if _FOOTER_LINE.search(text):
            continue  # a citation or URL line in a pkulaw header is long but not body
        if len(text) >= 60 and parse_meta_line(text) is None:
            return index
        if text.endswith(("：", ":")) and ("各" in text or "，" in text or "," in text) and len(text) > 8:
            return index
    return min(len(lines), 40)


def _extract_header(lines: list[MappedText], meta: dict[str, Any]) -> dict[int, str]:
    """Fill ``meta`` from header lines; returns {line index: why it is dropped}.

    Two passes, because a page often repeats its title above the field that names it.
    """
    dropped: dict[int, str] = {}
    for index, line in enumerate(lines):
        text = line.text
        fields = parse_meta_line(text)
        if fields is not None:
            for name, value in fields.items():
                meta.setdefault(name, value)
            dropped[index] = "header_metadata"
        elif _DOC_NUMBER_LINE.match(text):
            meta.setdefault("doc_number", text.replace(" ", ""))
            if dropped.get(index - 1) == "header_metadata":
                # Part of a header table; standing alone it is the document's own number
                # line, a head clause (GUIDELINES §1).
                dropped[index] = "header_metadata"
        elif _INDEX_NO_LINE.match(text):
            meta.setdefault("index_no", text)
            dropped[index] = "header_metadata"
    for index in range(1, len(lines)):
        if index not in dropped and lines[index].text == lines[index - 1].text:
            dropped[index] = "duplicate_line"
    title = meta.get("title")
    if title:
        for index, line in enumerate(lines):
            rest = line.text[len(title):].strip() if line.text.startswith(title) else None
            if index not in dropped and rest is not None and rest in ("", meta.get("doc_number")):
                dropped[index] = "duplicate_title"
    return dropped


# --- main entry ---------------------------------------------------------------------------


def _normalise_line(line: MappedText) -> MappedText:
    line = line.sub(_HTML_COMMENT, "")
    line = line.sub(_SPACES, " ").strip()
    line = line.sub(_MARKDOWN_HEADING, "")
    line = line.sub(_WIDGET_TAIL, "")
    return line.sub(_SPACE_IN_CJK, "")


def _is_boilerplate(text: str) -> str | None:
    """Why a line is boilerplate, or None."""
    if len(text) > _SHORT_LINE:
        return None
    if _NAV_LINE.search(text):
        return "navigation"
    if _SPAM_LINE.search(text):
        return "spam"
    if _FOOTER_LINE.search(text):
        return "footer"
    if _SITE_LINE.match(text) or _RELATED_LINE.match(text):
        return "site_boilerplate"
    if not re.search(rf"[{CJK}A-Za-z0-9]", text):
        return "punctuation"
    return None


# The end of a sentence that a wrap or a crawl pushed onto a line of its own (…增长6.5%左右 /
# 。, …人行偃师支行 / ）, …以下方面工作 / ：): content, not a punctuation-only boilerplate line.
SENTENCE_TAIL_MARKS = "。！？；：.!?;:）)”’》」】〕%％"
_SENTENCE_TAIL = re.compile(f"[{re.escape(SENTENCE_TAIL_MARKS)}]{{1,3}}")
_SENTENCE_ENDS = "。！？；：.!?;:"
# a closing bracket or quote, and the opener it closes
_OPENER_OF = {"）": "（", ")": "(", "”": "“", "’": "‘", "》": "《", "」": "「", "】": "【", "〕": "〔"}


def _ends_open_sentence(text: str, previous: str) -> bool:
    """``text`` (a line of up to three closing marks) closes what ``previous``, the line just
    before it, leaves open: a sentence end after a line that has none, a bracket or quote
    that the line opened (not a breadcrumb's 》 or a closed title's ）), a percent sign after a
    number."""
    if not previous or previous[-1] in _SENTENCE_ENDS or not _SENTENCE_TAIL.fullmatch(text):
        return False
    first = text[0]
    if first in "%％":
        return previous[-1].isdigit()
    if first in _OPENER_OF:
        return previous.count(_OPENER_OF[first]) > previous.count(first)
    return previous[-1] not in _OPENER_OF  # 。 after a closed bracket: the line was complete


def _own_contact_line(text: str, previous: str) -> bool:
    """A contact line of the document itself, not a site footer: it names a contact person
    (…联系人：晁文鹏，联系电话：…), or it goes on the contact block the line before opened
    (三、联系方式 / 联系人：… / 传真：… then 电子邮箱：…). Site footers carry their own marks
    (Copyright, 技术支持, ICP备…) and stay boilerplate."""
    if _SITE_FOOTER.search(text):
        return False
    return bool(_CONTACT_PERSON.search(text) or _CONTACT_BLOCK.search(previous))


def _continues(previous: str, text: str) -> bool:
    """A line with a footer word that goes on the sentence of a long line before it, which
    stops mid-sentence: in hard-wrapped text a web address or 邮编 can fall on any line
    (…可登录我部网站 / http://www.mee.gov.cn/)."""
    return len(previous) >= 20 and previous[-1] not in "。！？；!?;：:）)】]" and not (
        _SITE_FOOTER.search(text)
    )


def detect_mojibake(text: str) -> dict[str, int]:
    return {name: n for name, pattern in _MOJIBAKE_PATTERNS if (n := len(pattern.findall(text)))}


def clean_text(raw: str, *, is_html: bool = False, meta: dict[str, Any] | None = None) -> CleanedText:
    """Clean one document's raw text (or HTML); returns text, offsets, meta and quality."""
    meta = dict(meta or {})
    quality: dict[str, Any] = {}
    if is_html:
        title = html_title(raw)
        if title:
            meta.setdefault("title", title)
        raw = html_to_text(raw)
        quality["offsets_relative_to"] = "extracted_html_text"
    raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    mapped = MappedText.identity(raw).sub(_PLACEHOLDER, "")

    ratio = traditional_ratio(mapped.text)
    # Simplified text changes under t2s only at a handful of ambiguous characters.
    is_traditional = ratio >= 0.05
    quality["script"] = "traditional" if is_traditional else "simplified"
    if is_traditional:
        mapped = to_simplified(mapped)

    lines, indents = [], []
    for raw_line in mapped.splitlines():
        line = _normalise_line(raw_line)
        if line.text:
            lines.append(line)
            indents.append(raw_line.text[:1] in _INDENT_CHARS)
    header_end = _header_zone_end(lines)
    removed: dict[str, int] = {}
    kept: list[MappedText] = []
    kept_indents: list[bool] = []

    def drop(reason: str) -> None:
        removed[reason] = removed.get(reason, 0) + 1

    header_lines = _extract_header(lines[:header_end], meta)
    for reason in header_lines.values():
        drop(reason)
    footer_from = int(len(lines) * 0.6)
    kept_index = -2  # the index in ``lines`` of the last line kept
    tail_kept = False  # whether that line is a sentence's closing marks (_ends_open_sentence)
    for index, line in enumerate(lines):
        if index in header_lines:
            continue
        text = line.text
        if (len(text) <= _SHORT_LINE and index and _LICENCE_START.search(text)) or (
            len(text) <= _SHORT_LINE and _FOOTER_START.search(text) and index >= footer_from
        ):
            removed["footer"] = removed.get("footer", 0) + len(lines) - index
            break
        licence = _LICENCE_IN_LINE.search(text) if "本作品" in text else None
        if licence:
            # the licence box run into the text's last line (flattened pages): the rest goes
            line, text = line[:licence.start()], text[:licence.start()]
            removed["footer"] = removed.get("footer", 0) + len(lines) - index
            kept.append(line)
            kept_indents.append(indents[index])
            break
        # the line before as the contact checks read it: a kept closing mark (三、联系方式 / ：)
        # belongs to the line it closes
        previous = "".join(k.text for k in kept[-2:]) if tail_kept else (
            kept[-1].text if kept else "")
        reason = _is_boilerplate(text)
        is_tail = reason == "punctuation" and kept_index == index - 1 and _ends_open_sentence(
            text, kept[-1].text)
        if is_tail:
            reason = None
        if reason == "footer" and (_own_contact_line(text, previous) or (
            kept and _continues(previous, text)
        )):
            reason = None
        if reason:
            drop(reason)
            continue
        kept.append(line)
        kept_indents.append(indents[index])
        kept_index = index
        tail_kept = is_tail

    title = meta.get("title")
    issuer = _ISSUER_PREFIX.match(title or "")
    if issuer and "issuer" not in meta:
        # "鹤壁市人民政府办公室关于印发…的通知": the issuing body precedes 关于.
        meta["issuer"] = issuer.group(1)
    for name in ("published", "written"):
        if name in meta:
            meta[name] = _normalise_date(str(meta[name]))
    cleaned = MappedText.join_lines(kept)
    quality["removed_lines"] = removed
    mojibake = detect_mojibake(cleaned.text)
    quality["mojibake"] = bool(mojibake)
    if mojibake:
        quality["mojibake_signals"] = mojibake
    return CleanedText(cleaned.text, cleaned.offsets, meta, quality, kept_indents)
