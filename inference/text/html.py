"""Main text of an HTML page: scripts, styles, navigation and forms dropped, blocks as lines."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Tag

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
    soup = BeautifulSoup(html, "html.parser")
    return soup.title.get_text(strip=True) if soup.title else ""


def html_to_text(html: str) -> str:
    """Extract the main text; returns "" for a page with no text."""
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
