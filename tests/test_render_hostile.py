"""render --from-predictions with hostile or careless predictions: nothing injected, no page
lost, no traceback."""

from __future__ import annotations

import html
import json
from html.parser import HTMLParser
from pathlib import Path

from inference.schema import default_schema
from policy_clauses.cli import main

TEXT = "市财政局安排500万元。"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(page: Path) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.tags


def _prediction(doc_id: str, **clause) -> dict:
    base = {"clause_id": 0, "start": 0, "end": len(TEXT), "kind": "body", "section": "",
            "text": TEXT, "labels": ["incentive"], "scores": {"incentive": 0.8},
            "entities": [{"start": 0, "end": 4, "type": "AGENCY", "text": "市财政局",
                          "score": 0.9}]}
    return {"doc_id": doc_id, "source": "x.txt", "meta": {}, "quality": {}, "text": TEXT,
            "clauses": [{**base, **clause}]}


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")
    return path


def test_every_field_is_escaped_and_unknown_names_are_dropped(tmp_path, capsys):
    attack = '" onmouseover="alert(1)" x="'
    record = _prediction(
        'd"><script>alert(2)</script>',
        kind='body" onmouseover="alert(11)" x="',
        labels=['goal"><script>alert(12)</script>', "incentive"],
        section=f"<script>alert(3)</script>{attack}",
        scores={"incentive": 0.8, f"<img src=x onerror=alert(4)>{attack}": 0.5},
        entities=[{"start": 0, "end": 4, "type": f'AGENCY{attack}', "text": "市财政局"},
                  {"start": 6, "end": 11, "type": "AMOUNT", "text": "500万元", "score": 0.7}])
    record["source"] = f"<img src=x onerror=alert(5)>{attack}"
    record["meta"] = {"title": "<script>alert(6)</script>", "issuer": attack,
                      "model_version": f"<script>alert(7)</script>{attack}"}
    pred = _write(tmp_path / "pred.jsonl", [record])
    page = tmp_path / "page.html"
    assert main(["render", "--from-predictions", str(pred), "-o", str(page)]) == 0
    tags = _tags(page)
    assert {tag for tag, _ in tags} <= {"html", "head", "meta", "title", "style", "body",
                                        "header", "h1", "dl", "dt", "dd", "div", "span",
                                        "mark", "main", "p"}
    assert not [name for _, attrs in tags for name in attrs if name.startswith("on")]
    schema = default_schema()
    allowed = ({"clause", "block", "legend", *schema.clause_kinds}
               | {f"lab-{n}" for n in schema.label_names}
               | {f"ent-{n}" for n in schema.entity_names})
    classes = {c for _, attrs in tags for c in (attrs.get("class") or "").split()}
    assert classes <= allowed
    (clause,) = [attrs for tag, attrs in tags if "clause" in (attrs.get("class") or "")]
    assert clause["data-labels"] == "incentive"
    assert clause["class"] == "clause body lab-incentive"
    marks = [attrs for tag, attrs in tags if tag == "mark" and "title" in attrs
             and attrs["title"].startswith(("AGENCY", "AMOUNT"))]
    assert [m.get("class") for m in marks] == ["ent-AMOUNT"]  # the hostile type was dropped
    warnings = capsys.readouterr().err
    assert f"{pred}:1" in warnings
    assert "unknown label" in warnings and "unknown kind" in warnings
    assert "unknown type" in warnings


def test_page_names_are_unique_and_bounded(tmp_path, capsys):
    ids = ["dup", "dup", "a/b", "a_b", "x" * 300, "Dup", "政策/文件" * 40]
    pred = _write(tmp_path / "pred.jsonl", [_prediction(doc_id) for doc_id in ids])
    out = tmp_path / "pages"
    assert main(["render", "--from-predictions", str(pred), "-o", str(out)]) == 0
    assert f"render: {len(ids)} page(s)" in capsys.readouterr().out
    pages = sorted(out.glob("*.html"))
    assert len(pages) == len(ids)
    assert len({p.name.casefold() for p in pages}) == len(ids)
    assert all(len(p.name.encode("utf-8")) <= 255 for p in pages)
    assert (out / "dup.html").is_file() and (out / "dup-2.html").is_file()
    assert (out / "a_b.html").is_file()
    assert sorted(_doc_id(p) for p in pages) == sorted(ids)


def _doc_id(page: Path) -> str:
    text = page.read_text(encoding="utf-8")
    start = text.index("<dt>doc_id</dt><dd>") + len("<dt>doc_id</dt><dd>")
    return html.unescape(text[start:text.index("</dd>", start)])


def test_entity_without_type_is_skipped_with_a_warning_naming_file_and_line(tmp_path, capsys):
    good = _prediction("ok")
    broken = _prediction("broken", entities=[
        {"start": 0, "end": 4, "text": "市财政局"},
        {"start": 6, "end": 11, "type": "AMOUNT", "text": "500万元"}])
    pred = _write(tmp_path / "pred.jsonl", [good, broken])
    out = tmp_path / "pages"
    assert main(["render", "--from-predictions", str(pred), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"{pred}:2" in err and "no 'type'" in err and "Traceback" not in err
    body = (out / "broken.html").read_text(encoding="utf-8").split("</header>")[1]
    assert body.count('<mark class="ent-AMOUNT"') == 1 and "<mark" in body
    assert '<mark class="ent-AGENCY"' not in body and "市财政局" in body
