"""Read crawled files into raw documents: .txt, .html/.htm, .jsonl, or JSONL on stdin.

Every input yields either a ``RawDocument`` or an ``ErrorRecord`` naming the input and the
reason; one bad file or line never stops the others. Encodings are detected per file.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from inference.errors import UserError
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


def _utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le``/``utf-16-be`` when ``data`` (no BOM) reads as text in one of them.

    In UTF-16 every ASCII character has a NUL byte beside it and CJK text is valid code units
    with no surrogates out of place; binary data fails one of the checks below.
    """
    head = data[:_SNIFF_BYTES]
    head = head[: len(head) - len(head) % 2]
    if len(head) < 4:
        return None
    for encoding in ("utf-16-le", "utf-16-be"):
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        if not text:
            continue
        printable = sum(1 for ch in text if ch.isprintable() or ch in "\r\n\t")
        if printable / len(text) < 0.95:
            continue
        cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
        ascii_text = sum(1 for ch in text if " " <= ch <= "~" or ch in "\r\n\t")
        if (cjk and _chinese_score(text) >= 0.3) or ascii_text / len(text) >= 0.9:
            return encoding
    return None


def _looks_binary(data: bytes) -> bool:
    head = data[:_SNIFF_BYTES]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    # NUL bytes do not occur in text in any of the encodings we accept without a BOM, except
    # UTF-16 written without one (it has a NUL beside every ASCII character).
    return b"\x00" in head and _utf16_without_bom(head) is None


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
    if b"\x00" in data[:_SNIFF_BYTES]:
        utf16 = _utf16_without_bom(data)
        if utf16 is not None:
            try:
                return _decode(data, utf16, prefix), utf16
            except UnicodeDecodeError as exc:
                raise InputError(f"bytes undecodable as {utf16} ({exc.reason})") from exc
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
        utf16 = _utf16_without_bom(data)
        if utf16 is not None:  # CJK-only UTF-16 has no NUL bytes to give it away
            try:
                return _decode(data, utf16, prefix), utf16
            except UnicodeDecodeError:
                pass
        raise InputError("undecodable bytes: not UTF-8, GB18030/GBK, Big5 or UTF-16")
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


def _title_text(value: Any) -> str:
    """A crawl's ``title`` as text: a list of parts is joined, a number is written out."""
    if isinstance(value, list | tuple):
        return " ".join(_title_text(part) for part in value if part not in (None, "")).strip()
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


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
    if meta.get("title") is not None and not isinstance(meta["title"], str):
        # cleaning matches the title against the text's first lines, so it must be a string
        meta["title"] = _title_text(meta["title"])
    given_id = obj.get("id", obj.get("doc_id"))
    doc_id = str(given_id) if given_id not in (None, "") else stable_doc_id(source, content)
    return RawDocument(doc_id=doc_id, source=source, content=content, is_html=is_html, meta=meta)


def _holds_lone_surrogate(obj: Any) -> bool:
    """JSON ``\\ud800`` escapes decode to lone surrogates, which no output file can hold."""
    try:
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def document_from_jsonl_line(line: str, where: str) -> RawDocument | ErrorRecord:
    """One JSONL line → a raw document, or an error record naming ``where`` (file:line).

    Whatever the line holds (a 5,000-digit number, 100,000 nested brackets, a lone surrogate)
    the result is one of the two: a bad line never ends the run.
    """
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return ErrorRecord(source=where, stage="ingest", reason=f"invalid JSON: {exc.msg}")
    except (ValueError, RecursionError) as exc:  # int digit limit; nesting deeper than the stack
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        return ErrorRecord(source=where, stage="ingest", reason=f"invalid JSON: {reason}")
    if "\\u" in line and _holds_lone_surrogate(obj):
        return ErrorRecord(source=where, stage="ingest",
                           reason="JSON holds a lone surrogate escape (e.g. \\ud800): not "
                           "valid Unicode text")
    try:
        return _document_from_json(obj, where)
    except InputError as exc:
        return ErrorRecord(source=where, stage="ingest", reason=str(exc))


def iter_jsonl_lines(
    lines: Iterable[str], source: str, first_lineno: int = 1, name_lines: bool = True
) -> Iterator[RawDocument | ErrorRecord]:
    """Documents from JSONL lines; errors are named ``source:line``."""
    for lineno, line in enumerate(lines, start=first_lineno):
        if not line.strip():
            continue
        yield document_from_jsonl_line(line, f"{source}:{lineno}" if name_lines else source)


def _normal_encoding(encoding: str) -> str:
    return "utf-8" if encoding == "utf-8-sig" else encoding


def jsonl_encoding(path: Path) -> str:
    """The encoding of a JSONL file, sniffed from its head; raises InputError (empty, binary,
    undecodable) or OSError.

    A few bad lines in the head must not decide for the whole file: when the head as a whole
    does not decode, each of its lines votes with its own encoding and bad lines abstain.
    """
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if not head:
        raise InputError("empty file")
    if _looks_binary(head):
        raise InputError("binary file (NUL bytes), not text")
    try:
        encoding = _normal_encoding(decode_bytes(head, prefix=True)[1])
    except InputError as whole_head:
        lines = head.splitlines(keepends=True)
        if len(head) == _SNIFF_BYTES and len(lines) > 1:
            lines = lines[:-1]  # cut by the sniff
        votes: dict[str, int] = {}
        for line in lines:
            if line.isascii():
                continue
            try:
                encoding = _normal_encoding(decode_bytes(line)[1])
            except InputError:
                continue
            votes[encoding] = votes.get(encoding, 0) + 1
        if not votes:
            if any(line.isascii() and line.strip() for line in lines):
                return "utf-8"
            raise whole_head
        return max(votes, key=lambda name: votes[name])
    if encoding.startswith("utf-16"):
        # lines are split on the newline byte, which UTF-16 spreads over two bytes
        raise InputError(f"JSONL in {encoding} is not read line by line; convert it to UTF-8 "
                         "(iconv -f UTF-16 -t UTF-8)")
    return encoding


def _read_bounded_line(handle: IO[bytes], max_bytes: int) -> tuple[bytes | None, int]:
    """The next line and its size in bytes; None for a line over ``max_bytes`` (read past, never
    held in memory whole). Size 0 at the end of the input."""
    line = handle.readline(max_bytes + 1)
    if len(line) <= max_bytes or line.endswith(b"\n"):
        return (line if len(line) <= max_bytes else None), len(line)
    size = len(line)
    while True:
        rest = handle.readline(1 << 20)
        size += len(rest)
        if not rest or rest.endswith(b"\n"):
            return None, size


def _too_long(where: str, size: int, max_bytes: int) -> ErrorRecord:
    return ErrorRecord(source=where, stage="ingest",
                       reason=f"line is {size / 2**20:.1f} MiB, over the "
                       f"{max_bytes / 2**20:.0f} MiB limit (raise --max-bytes to read it)")


def _document_from_raw_line(raw_line: bytes, encoding: str, where: str
                            ) -> RawDocument | ErrorRecord | None:
    try:
        line = raw_line.decode(encoding).lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        return ErrorRecord(source=where, stage="ingest",
                           reason=f"bytes undecodable as {encoding} ({exc.reason})")
    if not line.strip():
        return None
    return document_from_jsonl_line(line, where)


def read_jsonl_range(
    path: str | Path, encoding: str, max_bytes: int = DEFAULT_MAX_BYTES, *, start: int = 0,
    end: int | None = None, first_lineno: int = 1, on_read: Callable[[int], None] | None = None,
) -> Iterator[RawDocument | ErrorRecord]:
    """Documents (or errors named ``path:line``) from the lines of a JSONL file that start in
    the byte range [start, end) (``end`` None: to the end of the file). ``first_lineno`` is the
    line number of the line at ``start``. The local run reads whole files with it; the Ray
    driver reads shards of one.

    The size limit applies to each line (one document), not to the file. ``on_read`` is told
    the size of each line read (progress).
    """
    source = str(path)
    with open(path, "rb") as handle:
        handle.seek(start)
        position, lineno = start, first_lineno
        while end is None or position < end:
            raw_line, size = _read_bounded_line(handle, max_bytes)
            if size == 0:
                break
            position += size
            if on_read is not None:
                on_read(size)
            where = f"{source}:{lineno}"
            lineno += 1
            if raw_line is None:
                yield _too_long(where, size, max_bytes)
                continue
            item = _document_from_raw_line(raw_line, encoding, where)
            if item is not None:
                yield item


def _read_jsonl_file(path: Path, max_bytes: int, on_read: Callable[[int], None] | None = None
                     ) -> Iterator[RawDocument | ErrorRecord]:
    """Stream a JSONL file line by line: crawl dumps can be far larger than memory allows."""
    try:
        encoding = jsonl_encoding(path)
    except (InputError, OSError) as exc:
        yield ErrorRecord(source=str(path), stage="ingest", reason=str(exc))
        return
    yield from read_jsonl_range(path, encoding, max_bytes, on_read=on_read)


STDIN_TAKES_JSONL = "stdin takes JSONL (one document per line); pass a file path for text"


def read_stdin(max_bytes: int = DEFAULT_MAX_BYTES, stream: IO[Any] | None = None
               ) -> Iterator[RawDocument | ErrorRecord]:
    """JSONL documents from stdin (UTF-8), each line under ``max_bytes``.

    Raises UserError when the first line is plain text rather than JSON: one clear message
    instead of an "invalid JSON" error per line.
    """
    stream = stream if stream is not None else sys.stdin
    binary: IO[bytes] | None = getattr(stream, "buffer", None)
    lineno, first = 0, True
    while True:
        if binary is not None:
            raw_line, size = _read_bounded_line(binary, max_bytes)
        else:  # a text stream (tests, embedding): already decoded
            text = stream.readline()
            size = len(text.encode("utf-8", errors="surrogatepass"))
            raw_line = text.encode("utf-8", errors="surrogatepass") if size <= max_bytes else None
        if size == 0:
            return
        lineno += 1
        where = f"<stdin>:{lineno}"
        if raw_line is None:
            yield _too_long(where, size, max_bytes)
            continue
        item = _document_from_raw_line(raw_line, "utf-8", where)
        if item is None:
            continue
        if first and isinstance(item, ErrorRecord) and not raw_line.lstrip(
                b"\xef\xbb\xbf \t").startswith((b"{", b"[", b'"')):
            raise UserError(STDIN_TAKES_JSONL)
        first = False
        yield item


def read_path(
    path: Path, max_bytes: int = DEFAULT_MAX_BYTES,
    on_read: Callable[[int], None] | None = None,
) -> Iterator[RawDocument | ErrorRecord]:
    """Documents (or errors) from one file; ``on_read`` is told the bytes consumed."""
    if suffix_is_jsonl(path):
        yield from _read_jsonl_file(path, max_bytes, on_read)
        return
    yield from _read_single_file(path, max_bytes)
    if on_read is not None:
        with contextlib.suppress(OSError):
            on_read(path.stat().st_size)


def suffix_is_jsonl(path: Path) -> bool:
    return path.suffix.lower() in JSONL_SUFFIXES


def _read_single_file(path: Path, max_bytes: int) -> Iterator[RawDocument | ErrorRecord]:
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        yield ErrorRecord(
            source=source, stage="ingest",
            reason=f"unsupported file type {suffix or '(none)'}; expected one of "
            f"{sorted(SUPPORTED_SUFFIXES)}",
        )
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


STDIN = "-"


def _same_file(a: Path, b: Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


# A run's side files: error records (OUT.errors.jsonl) and its checkpoint. Neither is ever a
# document, so a directory's expansion skips the first and never matches the second.
ERRORS_FILE_SUFFIX = ".errors.jsonl"
PROGRESS_FILE_SUFFIX = ".progress.json"


def expand_paths(
    paths: Iterable[str | Path], exclude: Iterable[str | Path] = ()
) -> Iterator[Path | ErrorRecord]:
    """Files named, and the supported files under directories named (recursive, sorted).

    ``exclude``: files never taken from a directory (a run's own output, errors and progress
    files, so a run over DIR with -o DIR/out.jsonl does not read what it writes). Error files
    of any run (``*.errors.jsonl``) are never taken from a directory either.
    """
    excluded = {os.path.realpath(p) for p in exclude}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if (child.is_file() and child.suffix.lower() in SUPPORTED_SUFFIXES
                        and not child.name.endswith(ERRORS_FILE_SUFFIX)
                        and os.path.realpath(child) not in excluded):
                    yield child
        elif path.is_file():
            yield path
        else:
            yield ErrorRecord(source=str(path), stage="ingest", reason="no such file or directory")


def resolve_inputs(
    paths: Iterable[str | Path], outputs: Iterable[str | Path] = ()
) -> list[Path | ErrorRecord | str]:
    """The fixed list of inputs a run reads: files (directories expanded now, not while the
    run writes), error records for missing paths, and ``-`` for stdin.

    ``outputs`` are the files the run writes: never taken from a directory, and refused
    (UserError) when named as an input, since opening them for writing would destroy the input.
    """
    outputs = [Path(p) for p in outputs]
    # An existing output file inside an input directory is skipped as an input only when it
    # is this run's own earlier output (its progress file is there: a rerun or a resume).
    # Otherwise it is somebody's document that the run would overwrite.
    earlier_run = any(p.name.endswith(PROGRESS_FILE_SUFFIX) and p.is_file() for p in outputs)
    resolved: list[Path | ErrorRecord | str] = []
    for raw in paths:
        if str(raw) == STDIN:
            resolved.append(STDIN)
            continue
        path = Path(raw)
        if path.is_file():
            clash = next((out for out in outputs if _same_file(path, out)), None)
            if clash is not None:
                raise UserError(f"{path} is both an input and an output of this run; writing "
                                "it would destroy the input: choose another -o/--errors path")
        elif path.is_dir() and not earlier_run:
            inside = [out for out in outputs
                      if out.is_file() and out.suffix.lower() in SUPPORTED_SUFFIXES
                      and _is_within(out, path)]
            if inside:
                raise UserError(f"{inside[0]} is a file of the input directory {path}, and this "
                                "run would overwrite it: choose an -o/--errors path that is not "
                                "an existing input")
        resolved.extend(expand_paths([path], exclude=outputs))
    return resolved


def _is_within(file: Path, directory: Path) -> bool:
    try:
        Path(os.path.realpath(file)).relative_to(os.path.realpath(directory))
    except ValueError:
        return False
    return True


def read_resolved(
    items: Iterable[Path | ErrorRecord | str], max_bytes: int = DEFAULT_MAX_BYTES,
    on_read: Callable[[int], None] | None = None,
) -> Iterator[RawDocument | ErrorRecord]:
    """Documents from a ``resolve_inputs`` list, in its order."""
    for item in items:
        if isinstance(item, ErrorRecord):
            yield item
        elif isinstance(item, str):
            yield from read_stdin(max_bytes)
        else:
            yield from read_path(item, max_bytes, on_read)


def read_inputs(
    paths: Iterable[str | Path], max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[RawDocument | ErrorRecord]:
    """Documents from files, directories and ``-`` (JSONL on stdin), in a stable order."""
    for raw in paths:
        if str(raw) == STDIN:
            yield from read_stdin(max_bytes)
            continue
        yield from read_resolved(expand_paths([raw]), max_bytes)
