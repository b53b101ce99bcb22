"""Main text of an HTML page: scripts, styles, navigation and forms dropped, blocks as lines."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # bs4 (and soupsieve under it) is imported on the first HTML page only
    from bs4 import Tag

_DROP_TAGS = ["script", "style", "noscript", "nav", "header", "footer", "aside", "form",
              "iframe", "select", "button", "input", "textarea", "svg", "head"]
_BOILERPLATE_ATTR = re.compile(
    r"nav|menu|footer|breadcrumb|share|comment|sidebar|copyright|crumb|toolbar|banner|"
    r"login|search|related|friend-?link",
    re.IGNORECASE,
)
_CONTENT_ATTR = re.compile(
    r"content|article|zoom|trs_editor|main|text|detail|body|zw|wenzhang", re.IGNORECASE
)
_BLOCK_TAGS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table",
               "section", "article", "td", "dd", "dt", "pre", "blockquote"}


# Deeper nesting than this is refused before parsing: BeautifulSoup walks the tree
# recursively and its time grows superlinearly with depth (4,000 levels: 15 s; 50,000: hours).
# Real pages nest a few dozen levels.
MAX_HTML_DEPTH = 1000
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)[^>]*?(/?)>")
_VOID_TAGS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
                        "meta", "param", "source", "track", "wbr", "!doctype"})


class HtmlTooDeepError(ValueError):
    """An HTML page nested deeper than MAX_HTML_DEPTH."""


def check_depth(html: str, limit: int = MAX_HTML_DEPTH) -> None:
    """Raise HtmlTooDeepError when tags nest deeper than ``limit`` (one linear tag scan;
    unclosed tags count, as the parser nests them too)."""
    depth = 0
    for match in _TAG.finditer(html):
        closing, name, self_closing = match.groups()
        if closing:
            depth = max(0, depth - 1)
        elif not self_closing and name.lower() not in _VOID_TAGS:
            depth += 1
            if depth > limit:
                raise HtmlTooDeepError(f"HTML nests more than {limit} tags deep; refused "
                                       "(no real page does; parsing it would take hours)")


def _cjk_count(text: str) -> int:
    return sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")


def _attrs(tag: Tag) -> str:
    values = [tag.get("id") or "", " ".join(tag.get("class") or [])]
    return " ".join(v if isinstance(v, str) else " ".join(v) for v in values)


def _block_text(node: Tag) -> str:
    # A newline before and after each block element keeps paragraphs on their own lines,
    # which is what the segmenter splits on.
    for element in node.find_all(_BLOCK_TAGS):
        if element.name == "br":
            element.replace_with("\n")
        else:
            element.insert_before("\n")
            element.insert_after("\n")
    text = node.get_text()
    return re.sub(r"\n\s*\n+", "\n", text).strip()


def html_title(html: str) -> str:
    """The page's <title>, or ""."""
    from bs4 import BeautifulSoup

    check_depth(html)
    soup = BeautifulSoup(html, "html.parser")
    return soup.title.get_text(strip=True) if soup.title else ""


def html_to_text(html: str) -> str:
    """Extract the main text; returns "" for a page with no text."""
    from bs4 import BeautifulSoup

    check_depth(html)
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    for tag in soup.find_all(True):
        if tag.decomposed:
            continue
        attrs = _attrs(tag)
        if attrs and _BOILERPLATE_ATTR.search(attrs) and not _CONTENT_ATTR.search(attrs):
            tag.decompose()
    root: Tag = soup.body or soup
    total = _cjk_count(root.get_text())
    best, best_count = root, total
    # Prefer the smallest content-like container that still holds most of the page's text:
    # that cuts the remaining chrome around the article.
    for tag in root.find_all(True):
        if not _CONTENT_ATTR.search(_attrs(tag)):
            continue
        count = _cjk_count(tag.get_text())
        if total and count >= 0.6 * total and count <= best_count:
            best, best_count = tag, count
    return _block_text(best)
