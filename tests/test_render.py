"""The HTML review page: self-contained, right clause count, and it actually draws something.

The browser check runs headless Chromium (Debian packages chromium + chromium-driver; no
webdriver needed: --dump-dom and --screenshot) and is skipped only when no chromium is found.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from policy_clauses.cli import main
from tests.conftest import EXAMPLES

SOURCE = EXAMPLES / "seed_000_154b73dca2851f36.txt"
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)


def _predicted(tmp_path: Path) -> dict:
    out = tmp_path / "pred.jsonl"
    assert main(["predict", "--rules", str(SOURCE), "-o", str(out)]) == 0
    return json.loads(out.read_text(encoding="utf-8"))


def test_page_is_self_contained_and_marks_every_clause(tmp_path):
    page = tmp_path / "doc.html"
    assert main(["render", str(SOURCE), "--rules", "-o", str(page)]) == 0
    html = page.read_text(encoding="utf-8")
    document = _predicted(tmp_path)
    assert html.count('class="clause ') == len(document["clauses"])
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "no external resources"
    assert "<script" not in html
    for name in ("goal", "incentive", "responsibility", "timeline", "principle", "AMOUNT",
                 "AGENCY"):
        assert name in html  # legend
    first_labelled = next(c for c in document["clauses"] if c["labels"])
    span = re.search(rf'data-clause-id="{first_labelled["clause_id"]}" '
                     r'data-labels="([^"]*)" title="([^"]*)"', html)
    assert span and span.group(1).split() == first_labelled["labels"]
    assert f'{first_labelled["labels"][0]} ' in span.group(2)  # scores on hover
    entity = next(e for c in document["clauses"] for e in c["entities"])
    assert f'<mark class="ent-{entity["type"]}" title="{entity["type"]} ' in html


def test_several_inputs_make_a_folder_of_pages(tmp_path):
    out = tmp_path / "pages"
    assert main(["render", str(SOURCE), str(EXAMPLES / "seed_001_9b1470b7e4c19b99.txt"),
                 "--rules", "-o", str(out)]) == 0
    assert len(list(out.glob("*.html"))) == 2


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB(A) PNG (what Chromium writes) into rows of raw pixels."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, width = 8, b"", 0
    height = channels = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8
            channels = {2: 3, 6: 4}[colour]
        elif kind == b"IDAT":
            chunks += body
        pos += 12 + length
    raw = zlib.decompress(chunks)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        row_start = y * (stride + 1)
        kind, line = raw[row_start], bytearray(raw[row_start + 1:row_start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc
                                      else corner)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not found; apt-get install -y chromium "
                    "chromium-driver")
def test_chromium_renders_the_page(tmp_path):
    page = tmp_path / "doc.html"
    assert main(["render", str(SOURCE), "--rules", "-o", str(page)]) == 0
    document = _predicted(tmp_path)
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert len(re.findall(r'<span class="clause[ "]', dom.stdout)) == len(document["clauses"])
    assert_page_screenshot(tmp_path, page)


def assert_page_screenshot(tmp_path: Path, page: Path) -> None:
    """Headless Chromium screenshots ``page`` at 1000x1400, and the picture is not blank."""
    shot = tmp_path / "shot.png"
    done = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1000,1400",
                     "--hide-scrollbars", page.as_uri())
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    width, height, rows = _png_pixels(shot.read_bytes())
    assert (width, height) == (1000, 1400)
    channels = len(rows[0]) // width
    colours = {row[i:i + 3] for row in rows[::7] for i in range(0, len(row), channels * 11)}
    assert len(colours) > 20, "the screenshot is blank or nearly so"
