"""Read crawled files into raw documents: .txt, .html/.htm, .jsonl, or JSONL on stdin.

Every input yields either a ``RawDocument`` or an ``ErrorRecord`` naming the input and the
reason; one bad file or line never stops the others. Encodings are detected per file.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inference.records import ErrorRecord
from inference.text._common_chars import COMMON_CHARS

TEXT_SUFFIXES = {".txt"}
HTML_SUFFIXES = {".html", ".htm"}
JSONL_SUFFIXES = {".jsonl"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES

# A crawl is full of multi-MB pages with nothing in them; beyond this size a file is refused
# rather than held in memory (override with max_bytes).
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
# Encoding detection looks at a prefix: enough characters to score, cheap on big files.
_SNIFF_BYTES = 64 * 1024


class InputError(Exception):
    """An input that cannot become a document; the message says why."""


@dataclass
class RawDocument:
    """A document as read: text (or HTML) before cleaning, plus where it came from."""

    doc_id: str
    source: str
    content: str
    is_html: bool = False
    meta: dict[str, Any] = field(default_factory=dict)
    encoding: str = "utf-8"


def stable_doc_id(source: str, content: str) -> str:
    """A short id that stays the same for the same path and content."""
    digest = hashlib.sha1(f"{source}\0{content}".encode()).hexdigest()
    return f"doc-{digest[:16]}"


def _looks_binary(data: bytes) -> bool:
    head = data[:_SNIFF_BYTES]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    # NUL bytes do not occur in text in any of the encodings we accept without a BOM.
    return b"\x00" in head


def _chinese_score(text: str) -> float:
    """Share of characters that are frequent Chinese characters (either script)."""
    if not text:
        return 0.0
    hits = sum(1 for ch in text if ch in COMMON_CHARS)
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    # Frequent characters count fully; rare CJK characters (what a wrong decode produces)
    # count against the candidate.
    return (hits - 0.5 * (cjk - hits)) / max(1, cjk)


def _decode(data: bytes, encoding: str, prefix: bool) -> str:
    """Strict decode; with ``prefix`` a multi-byte character cut at the end is held back (an
    incremental decoder that is not told the input is final) instead of failing."""
    return codecs.getincrementaldecoder(encoding)().decode(data, final=not prefix)


def decode_bytes(data: bytes, *, prefix: bool = False) -> tuple[str, str]:
    """Decode crawled bytes; returns (text, encoding). Raises InputError when none fits.

    BOMs decide first; then strict UTF-8; then GB18030 and Big5 are both tried and the decode
    with more frequent Chinese characters wins (Big5 bytes are nearly always valid GBK, so a
    strict decode alone cannot tell them apart). ``prefix``: ``data`` is the head of a longer
    file, so a multi-byte character cut at its end is not an error.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise InputError(f"UTF-16 BOM but undecodable bytes ({exc.reason})") from exc
    try:
        # a 64 KiB head of a UTF-8 crawl usually ends mid-character
        return _decode(data, "utf-8", prefix), "utf-8"
    except UnicodeDecodeError:
        pass
    sniff = data[:_SNIFF_BYTES]
    best: tuple[float, str] | None = None
    for encoding in ("gb18030", "big5"):
        try:
            # A prefix may cut a multi-byte character; "ignore" only at the cut.
            errors = "strict" if len(sniff) == len(data) and not prefix else "ignore"
            sample = sniff.decode(encoding, errors=errors)
        except UnicodeDecodeError:
            continue
        score = _chinese_score(sample)
        if best is None or score > best[0]:
            best = (score, encoding)
    if best is None or best[0] < 0.3:
        raise InputError("undecodable bytes: not UTF-8, GB18030/GBK, Big5 or UTF-16 with BOM")
    encoding = best[1]
    try:
        return _decode(data, encoding, prefix), encoding
    except UnicodeDecodeError as exc:
        raise InputError(
            f"bytes undecodable as {encoding} at offset {exc.start} ({exc.reason})"
        ) from exc


def _read_file_bytes(path: Path, max_bytes: int) -> bytes:
    size = path.stat().st_size
    if size == 0:
        raise InputError("empty file")
    if size > max_bytes:
        raise InputError(
            f"file is {size / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB limit "
            "(raise --max-bytes to read it)"
        )
    data = path.read_bytes()
    if _looks_binary(data):
        raise InputError("binary file (NUL bytes), not text")
    return data


def _document_from_json(obj: Any, source: str) -> RawDocument:
    if not isinstance(obj, dict):
        raise InputError(f"JSON value is a {type(obj).__name__}, expected an object")
    text, html = obj.get("text"), obj.get("html")
    if isinstance(text, str) and text.strip():
        content, is_html = text, False
    elif isinstance(html, str) and html.strip():
        content, is_html = html, True
    else:
        raise InputError("JSON object has no non-empty 'text' or 'html' field")
    meta = {k: v for k, v in obj.items() if k not in {"id", "doc_id", "text", "html"}}
    given_id = obj.get("id", obj.get("doc_id"))
    doc_id = str(given_id) if given_id not in (None, "") else stable_doc_id(source, content)
    return RawDocument(doc_id=doc_id, source=source, content=content, is_html=is_html, meta=meta)


def iter_jsonl_lines(
    lines: Iterable[str], source: str, first_lineno: int = 1, name_lines: bool = True
) -> Iterator[RawDocument | ErrorRecord]:
    """Documents from JSONL lines; errors are named ``source:line``."""
    for lineno, line in enumerate(lines, start=first_lineno):
        if not line.strip():
            continue
        where = f"{source}:{lineno}" if name_lines else source
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield ErrorRecord(source=where, stage="ingest", reason=f"invalid JSON: {exc.msg}")
            continue
        try:
            yield _document_from_json(obj, where)
        except InputError as exc:
            yield ErrorRecord(source=where, stage="ingest", reason=str(exc))


def _read_jsonl_file(path: Path, max_bytes: int) -> Iterator[RawDocument | ErrorRecord]:
    """Stream a JSONL file line by line: crawl dumps can be far larger than memory allows.

    The size limit applies to each line (one document), not to the file.
    """
    source = str(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
        if not head:
            raise InputError("empty file")
        if _looks_binary(head):
            raise InputError("binary file (NUL bytes), not text")
        _, encoding = decode_bytes(head, prefix=True)
    except (InputError, OSError) as exc:
        yield ErrorRecord(source=source, stage="ingest", reason=str(exc))
        return
    encoding = "utf-8" if encoding == "utf-8-sig" else encoding
    with path.open("rb") as handle:
        for lineno, raw_line in enumerate(handle, start=1):
            where = f"{source}:{lineno}"
            if len(raw_line) > max_bytes:
                yield ErrorRecord(source=where, stage="ingest",
                                  reason=f"line is {len(raw_line) / 2**20:.1f} MiB, over the "
                                  f"{max_bytes / 2**20:.0f} MiB limit")
                continue
            try:
                line = raw_line.decode(encoding).lstrip("\ufeff")
            except UnicodeDecodeError as exc:
                yield ErrorRecord(source=where, stage="ingest",
                                  reason=f"bytes undecodable as {encoding} ({exc.reason})")
                continue
            yield from iter_jsonl_lines([line], where, first_lineno=lineno, name_lines=False)


def read_path(
    path: Path, max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[RawDocument | ErrorRecord]:
    """Documents (or errors) from one file."""
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        yield ErrorRecord(
            source=source, stage="ingest",
            reason=f"unsupported file type {suffix or '(none)'}; expected one of "
            f"{sorted(SUPPORTED_SUFFIXES)}",
        )
        return
    if suffix in JSONL_SUFFIXES:
        yield from _read_jsonl_file(path, max_bytes)
        return
    try:
        data = _read_file_bytes(path, max_bytes)
        text, encoding = decode_bytes(data)
    except (InputError, OSError) as exc:
        yield ErrorRecord(source=source, stage="ingest", reason=str(exc))
        return
    if not text.strip():
        yield ErrorRecord(source=source, stage="ingest", reason="file has only whitespace")
        return
    yield RawDocument(
        doc_id=stable_doc_id(source, text),
        source=source,
        content=text,
        is_html=suffix in HTML_SUFFIXES,
        encoding=encoding,
    )


def expand_paths(paths: Iterable[str | Path]) -> Iterator[Path | ErrorRecord]:
    """Files named, and the supported files under directories named (recursive, sorted)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in SUPPORTED_SUFFIXES:
                    yield child
        elif path.is_file():
            yield path
        else:
            yield ErrorRecord(source=str(path), stage="ingest", reason="no such file or directory")


def read_inputs(
    paths: Iterable[str | Path], max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[RawDocument | ErrorRecord]:
    """Documents from files, directories and ``-`` (JSONL on stdin), in a stable order."""
    for raw in paths:
        if str(raw) == "-":
            yield from iter_jsonl_lines(sys.stdin, "<stdin>")
            continue
        for item in expand_paths([raw]):
            if isinstance(item, ErrorRecord):
                yield item
            else:
                yield from read_path(item, max_bytes)
