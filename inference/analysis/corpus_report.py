"""The corpus view: label mix by issuer and by year, top agencies by duties, money promised by
year and issuer, targets falling due by year; one HTML page with SVG plots and a CSV per table.

Documents stream through: each is turned into a card, added to counters and dropped, so memory
grows with the number of distinct issuers, years and agencies, never with the documents.
Plots need matplotlib (the ``analysis`` extra); without it the page has the tables only.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from inference.analysis.card import build_card
from inference.batch.writers import neutralise_formula

UNKNOWN = "(unknown)"


@dataclass
class ReportProblem:
    source: str
    line: int
    reason: str


@dataclass
class CorpusTotals:
    """Counters only; one document at a time goes through ``add``."""

    documents: int = 0
    labels_by_issuer: Counter[tuple[str, str]] = field(default_factory=Counter)
    labels_by_year: Counter[tuple[str, str]] = field(default_factory=Counter)
    clauses_by_issuer: Counter[str] = field(default_factory=Counter)
    clauses_by_year: Counter[str] = field(default_factory=Counter)
    duties_by_agency: Counter[str] = field(default_factory=Counter)
    lead_by_agency: Counter[str] = field(default_factory=Counter)
    money_by_year_issuer: Counter[tuple[str, str]] = field(default_factory=Counter)
    incentives_by_year_issuer: Counter[tuple[str, str]] = field(default_factory=Counter)
    unadded_by_year_issuer: Counter[tuple[str, str]] = field(default_factory=Counter)
    targets_by_year: Counter[str] = field(default_factory=Counter)
    problems: list[ReportProblem] = field(default_factory=list)
    problem_count: int = 0

    def add(self, card: dict[str, Any]) -> None:
        self.documents += 1
        issuer = str(card.get("issuer") or UNKNOWN)
        dates = card.get("dates", {})
        year = next((str(v)[:4] for v in (dates.get("published"), dates.get("written"),
                                          dates.get("date"))
                     if v and re.match(r"\d{4}", str(v))), UNKNOWN)
        counts = card["counts"]
        self.clauses_by_issuer[issuer] += counts.get("clauses", 0)
        self.clauses_by_year[year] += counts.get("clauses", 0)
        for label, number in counts.items():
            if label != "clauses":
                self.labels_by_issuer[(issuer, label)] += number
                self.labels_by_year[(year, label)] += number
        for duty in card["duties"]:
            self.duties_by_agency[duty["agency"]] += 1
            if duty["role"] == "lead":
                self.lead_by_agency[duty["agency"]] += 1
        for item in card["money"]["items"]:
            self.incentives_by_year_issuer[(year, issuer)] += 1
            if "total_yuan" in item:
                self.money_by_year_issuer[(year, issuer)] += item["total_yuan"]
            elif item["amounts"]:
                self.unadded_by_year_issuer[(year, issuer)] += 1
        for target in card["targets"]:
            self.targets_by_year[target["due"][:4] if target.get("due") else UNKNOWN] += 1

    def problem(self, source: str, line: int, reason: str) -> None:
        self.problem_count += 1
        if len(self.problems) < 100:          # keep the first few; the count says the rest
            self.problems.append(ReportProblem(source, line, reason))


def read_records(paths: Iterable[str | Path], totals: CorpusTotals
                 ) -> Iterator[dict[str, Any]]:
    """Predict records from JSONL files, one at a time; bad lines are noted in ``totals``."""
    for path in paths:
        try:
            handle = open(path, encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as exc:
            totals.problem(str(path), 0, f"cannot open: {exc.strerror or exc}")
            continue
        with handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    totals.problem(str(path), number, f"not JSON: {exc.msg}")
                    continue
                if not isinstance(record, dict):
                    totals.problem(str(path), number, "not a JSON object")
                    continue
                yield record


def collect(paths: Iterable[str | Path]) -> CorpusTotals:
    totals = CorpusTotals()
    for record in read_records(paths, totals):
        totals.add(build_card(record))
    return totals


# ----------------------------------------------------------------------------- tables

Table = tuple[list[str], list[list[Any]]]


def _pivot(counter: Counter[tuple[str, str]], rows_total: Counter[str]) -> Table:
    labels = sorted({label for _, label in counter})
    keys = sorted(rows_total, key=lambda k: (-rows_total[k], k))
    return (["", "clauses", *labels],
            [[key, rows_total[key], *(counter[(key, label)] for label in labels)]
             for key in keys])


def tables(totals: CorpusTotals, top: int = 30) -> dict[str, Table]:
    money_keys = sorted(set(totals.incentives_by_year_issuer))
    return {
        "label_mix_by_issuer": _pivot(totals.labels_by_issuer, totals.clauses_by_issuer),
        "label_mix_by_year": _pivot(totals.labels_by_year, totals.clauses_by_year),
        "top_agencies": (["agency", "duties", "as lead"],
                         [[a, n, totals.lead_by_agency[a]]
                          for a, n in totals.duties_by_agency.most_common(top)]),
        "money_by_year_and_issuer": (
            ["year", "issuer", "incentive clauses", "yuan (sums that add up)",
             "clauses not added (caps, ranges, alternatives)"],
            [[y, i, totals.incentives_by_year_issuer[(y, i)],
              totals.money_by_year_issuer[(y, i)], totals.unadded_by_year_issuer[(y, i)]]
             for y, i in money_keys]),
        "targets_due_by_year": (["year due", "targets"],
                                [[y, n] for y, n in sorted(totals.targets_by_year.items())]),
    }


def write_csv(table: Table, path: Path) -> None:
    header, rows = table
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        # the cells hold crawl text (issuers, agency names): no spreadsheet formulas
        writer.writerow([neutralise_formula(cell) for cell in header])
        writer.writerows([neutralise_formula(cell) for cell in row] for row in rows)


# ----------------------------------------------------------------------------- plots


def _bars(axes: Any, names: list[str], values: list[float], **style: Any) -> Any:
    """Bars at positions 0..n-1 with the names as tick labels (no category-axis guessing)."""
    positions = list(range(len(names)))
    bars = axes.bar(positions, values, **style)
    axes.set_xticks(positions, names, rotation=90, fontsize=7)
    return bars


def _svg(figure: Any) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]


def plots(all_tables: dict[str, Table]) -> dict[str, str]:
    """SVG plots per table name; empty when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}
    plt.rcParams["font.sans-serif"] = ["Noto Sans CJK SC", "WenQuanYi Zen Hei", "SimHei",
                                       "DejaVu Sans"]
    plt.rcParams["svg.fonttype"] = "none"      # text stays text: small, searchable
    out: dict[str, str] = {}
    header, rows = all_tables["label_mix_by_year"]
    years = [r for r in rows if r[0] != UNKNOWN]
    if years:
        years.sort(key=lambda r: r[0])
        figure, axes = plt.subplots(figsize=(8, 3.5))
        bottom = [0] * len(years)
        for column, label in enumerate(header[2:], start=2):
            values = [r[column] for r in years]
            _bars(axes, [r[0] for r in years], values, bottom=bottom, label=label)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        axes.set_ylabel("clauses")
        axes.legend(fontsize=7)
        out["label_mix_by_year"] = _svg(figure)
        plt.close(figure)
    _, rows = all_tables["targets_due_by_year"]
    dated = [r for r in rows if r[0] != UNKNOWN]
    if dated:
        figure, axes = plt.subplots(figsize=(8, 3))
        _bars(axes, [r[0] for r in dated], [r[1] for r in dated], color="#e76f51")
        axes.set_ylabel("targets due")
        out["targets_due_by_year"] = _svg(figure)
        plt.close(figure)
    _, rows = all_tables["money_by_year_and_issuer"]
    by_year: Counter[str] = Counter()
    for year, _, _, yuan, _ in rows:
        if year != UNKNOWN:
            by_year[year] += yuan
    if by_year:
        figure, axes = plt.subplots(figsize=(8, 3))
        keys = sorted(by_year)
        _bars(axes, keys, [by_year[k] / 1e8 for k in keys], color="#2a9d8f")
        axes.set_ylabel("100 million yuan (sums that add up)")
        out["money_by_year_and_issuer"] = _svg(figure)
        plt.close(figure)
    return out


# ----------------------------------------------------------------------------- page

_TITLES = {"label_mix_by_issuer": "Label mix by issuer", "label_mix_by_year": "Label mix by year",
           "top_agencies": "Top agencies by duties",
           "money_by_year_and_issuer": "Money promised by year and issuer",
           "targets_due_by_year": "Targets falling due by year"}


def _table_html(table: Table) -> str:
    header, rows = table
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(
        f"<td>{escape(f'{v:,.0f}' if isinstance(v, float) else str(v))}</td>" for v in row)
        + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def write_report(paths: Iterable[str | Path], out: str | Path) -> CorpusTotals:
    """Write the page and one CSV per table beside it (``<stem>.<table>.csv``)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    totals = collect(paths)
    all_tables = tables(totals)
    svgs = plots(all_tables)
    sections = []
    for name, table in all_tables.items():
        csv_path = out.with_name(f"{out.stem}.{name}.csv")
        write_csv(table, csv_path)
        sections.append(f"<h2>{escape(_TITLES[name])}</h2>{svgs.get(name, '')}"
                        f'<p><a href="{escape(csv_path.name, quote=True)}">CSV</a></p>'
                        f"{_table_html(table)}")
    problems = "".join(f"<li>{escape(p.source)}:{p.line}: {escape(p.reason)}</li>"
                       for p in totals.problems)
    note = "" if svgs or not totals.documents else (
        "<p>Plots need matplotlib: pip install 'policy-clauses[analysis]'.</p>")
    page = ('<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8"><title>Corpus report'
            "</title><style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:"
            "collapse}td,th{border:1px solid #bbb;padding:.2em .5em}th{background:#eef}"
            f"</style></head><body><h1>Corpus report</h1><p>{totals.documents} documents"
            f"{f', {totals.problem_count} unreadable lines' if totals.problem_count else ''}"
            f".</p>{note}{''.join(sections)}"
            + (f"<h2>Unreadable lines</h2><ul>{problems}</ul>" if problems else "")
            + "</body></html>")
    out.write_text(page, encoding="utf-8")
    return totals
