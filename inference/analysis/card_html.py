"""A policy card as one self-contained HTML page: a timeline of targets and an agency × duty
table, then money and principles. Every text from the document is escaped; no scripts, no
external resources."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from html import escape
from pathlib import Path
from typing import Any

_STYLE = """
body{font-family:sans-serif;margin:1.5em;max-width:70em;color:#222}
h1{font-size:1.3em}h2{font-size:1.1em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #bbb;padding:.2em .5em}
th{background:#eef}.lead{background:#f4a261}.supporting{background:#a8dadc}
.responsible{background:#e9c46a}.unspecified{background:#ddd}
.timeline{position:relative;height:60px;border-bottom:3px solid #264653;margin:1em 2em 3em}
.tick{position:absolute;bottom:-2.2em;font-size:.8em;transform:translateX(-50%)}
.dot{position:absolute;bottom:-9px;width:14px;height:14px;border-radius:7px;
background:#e76f51;transform:translateX(-50%)}
.missing{color:#9b2226}.clause{color:#555;font-size:.9em}
"""


def _fraction(day: str, first: date, last: date) -> float:
    moment = date.fromisoformat(day)
    span = max((last - first).days, 1)
    return min(max((moment - first).days / span, 0.0), 1.0)


def _timeline(targets: list[dict[str, Any]]) -> str:
    dated = [t for t in targets if t.get("due")]
    if not dated:
        return "<p>No target has a due date.</p>"
    days = sorted(date.fromisoformat(t["due"]) for t in dated)
    first, last = date(days[0].year, 1, 1), date(days[-1].year, 12, 31)
    parts = ['<div class="timeline">']
    for year in range(first.year, last.year + 1):
        left = _fraction(f"{year}-01-01", first, last) * 100
        parts.append(f'<span class="tick" style="left:{left:.1f}%">{year}</span>')
    for target in dated:
        left = _fraction(target["due"], first, last) * 100
        title = escape(f'{target["due"]}: {target["text"]}', quote=True)
        parts.append(f'<span class="dot" style="left:{left:.1f}%" title="{title}"></span>')
    parts.append("</div><table><tr><th>due</th><th>clause</th><th>target</th></tr>")
    for target in targets:
        parts.append(f'<tr><td>{escape(target.get("due") or "—")}</td>'
                     f'<td>{escape(str(target["clause_id"]))}</td>'
                     f'<td>{escape(target["text"])}</td></tr>')
    parts.append("</table>")
    return "".join(parts)


def _duty_table(card: dict[str, Any]) -> str:
    if not card["agencies"]:
        return "<p>No duties found.</p>"
    clause_ids = sorted({d["clause_id"] for d in card["duties"]})
    role = {(d["agency"], d["clause_id"]): d["role"] or "unspecified" for d in card["duties"]}
    head = "".join(f"<th>{escape(str(c))}</th>" for c in clause_ids)
    rows = [f"<table class=\"duties\"><tr><th>agency \\ clause</th>{head}</tr>"]
    for agency in card["agencies"]:
        cells = []
        for clause_id in clause_ids:
            kind = role.get((agency["agency"], clause_id))
            cells.append(f'<td class="{kind}" title="{kind}">{kind[0].upper()}</td>' if kind
                         else "<td></td>")
        rows.append(f'<tr><th>{escape(agency["agency"])}</th>{"".join(cells)}</tr>')
    rows.append("</table><p>L lead · S supporting · R responsible (责任单位) · U unspecified</p>")
    return "".join(rows)


def _yuan(value: list[float] | None) -> str:
    if not value:
        return "—"
    low, high = value
    return f"{low:,.2f}" if low == high else f"{low:,.2f} – {high:,.2f}"


def _money(card: dict[str, Any]) -> str:
    money = card["money"]
    if not money["items"]:
        return "<p>No incentive clauses.</p>"
    rows = ["<table><tr><th>clause</th><th>recipient</th><th>amounts (yuan)</th>"
            "<th>total</th></tr>"]
    for item in money["items"]:
        amounts = "<br>".join(
            f'{escape(a["text"])}: {escape(a["kind"])} {escape(_yuan(a["yuan"]))}'
            + (f' per {escape(a["per"])}' if a.get("per") else "")
            + (f' ({escape(a["reason"])})' if a.get("reason") else "")
            for a in item["amounts"]) or "—"
        total = (_yuan([item["total_yuan"]] * 2) if "total_yuan" in item
                 else escape("; ".join(item.get("not_added", []))) or "—")
        rows.append(f'<tr><td>{escape(str(item["clause_id"]))}</td>'
                    f'<td>{escape(item["recipient"] or "—")}</td><td>{amounts}</td>'
                    f"<td>{total}</td></tr>")
    rows.append("</table>")
    if money.get("total_yuan") is not None:
        rows.append(f"<p>Total: {_yuan([money['total_yuan']] * 2)} yuan</p>")
    elif money.get("not_added"):
        rows.append(f"<p>No total: {escape('; '.join(money['not_added']))}</p>")
    return "".join(rows)


def render_card(card: dict[str, Any]) -> str:
    """The page of one card (a complete HTML document)."""
    title = card.get("title") or card["doc_id"]
    facts = [("document", card["doc_id"]), ("issuer", card.get("issuer")),
             ("number", card.get("number")),
             *((name, value) for name, value in card.get("dates", {}).items())]
    fact_rows = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(str(v or '—'))}</td></tr>"
                        for k, v in facts)
    counts = "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>"
                     for k, v in card["counts"].items())
    principles = "".join(f'<li><span class="clause">[{escape(str(p["clause_id"]))}]</span> '
                         f'{escape(p["text"])}</li>' for p in card["principles"])
    missing = ("<p class=\"missing\">Missing: " + escape("; ".join(card["missing"])) + "</p>"
               if card["missing"] else "")
    return (f'<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8">'
            f"<title>{escape(str(title))}</title><style>{_STYLE}</style></head><body>"
            f"<h1>{escape(str(title))}</h1>{missing}<table>{fact_rows}</table>"
            f"<h2>Targets</h2>{_timeline(card['targets'])}"
            f"<h2>Duties (agency × clause)</h2>{_duty_table(card)}"
            f"<h2>Money</h2>{_money(card)}"
            f"<h2>Principles</h2><ul>{principles or '<li>none</li>'}</ul>"
            f"<h2>Counts</h2><table>{counts}</table></body></html>")


def card_page_name(card: dict[str, Any]) -> str:
    safe = re.sub(r"[^\w.-]+", "_", card["doc_id"]).strip("._") or "document"
    return f"{safe}.html"


def write_card_pages(cards: Iterable[dict[str, Any]], folder: str | Path,
                     taken: set[str] | None = None) -> list[Path]:
    """One page per card; ``taken`` (names already written, shared across calls) keeps two
    documents whose ids clean to the same name from overwriting each other."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    taken = set() if taken is None else taken
    written = []
    for card in cards:
        name = card_page_name(card)
        stem, number = name[:-len(".html")], 2
        while name in taken:
            name, number = f"{stem}-{number}.html", number + 1
        taken.add(name)
        path = out / name
        path.write_text(render_card(card), encoding="utf-8")
        written.append(path)
    return written
