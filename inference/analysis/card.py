"""One policy card per predicted document: who must do what, how much money goes to whom,
which targets fall due when, on which principles, and label counts.

Input is a ``predict`` record as a dict. Anything missing (an older predict file without
``times``/``yuan``, clauses without labels or entities, a document without a date) leaves
that part empty and is named in ``missing``; a card is always produced.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from inference.analysis.duties import document_duties
from inference.analysis.money import AmountValue, amount_in_context
from inference.analysis.times import document_date as date_of_document
from inference.analysis.times import find_times
from inference.text.docmeta import find_doc_number

# A cap word may stand a verb away from the sum (同一单位年度最高奖励100万元).
_CAP_BEFORE = re.compile(r"(?:最高|最多|不超过|不高于|上限为?|封顶|最高不超过|累计最高)"
                         r"(?:给予|奖励|补助|补贴|资助|支持|可获|可达|可享受){0,2}\s*$")
_CAP_AFTER = re.compile(r"^\s*(?:以内|以下|为限|封顶|\(含\)以内)")
_FLOOR_BEFORE = re.compile(r"(?:不低于|不少于|最低|超过|达到|突破|超|逾|高于|大于)\s*$")
_FLOOR_AFTER = re.compile(r"^\s*(?:以上|及以上|起)")
_ALTERNATIVES = re.compile(r"分别|或")
_RECIPIENT = re.compile(r"(?:对|向|为)([^，。；,;]{2,40}?)[，,]?\s*"
                        r"(?:分别|可|按规定|按|一次性|择优)*(?:给予|奖励|补助|补贴|资助|享受)")
_CONTEXT = 8


def _amount_kind(text: str, entity: dict[str, Any], value: AmountValue) -> str:
    before = text[max(0, entity["start"] - _CONTEXT):entity["start"]]
    after = text[entity["end"]:entity["end"] + _CONTEXT]
    if _CAP_BEFORE.search(before) or _CAP_AFTER.match(after):
        return "cap"
    if _FLOOR_BEFORE.search(before) or _FLOOR_AFTER.match(after):
        return "floor"
    if value.amount is not None and value.amount[0] != value.amount[1]:
        return "range"
    return "fixed"


def _amount(text: str, entity: dict[str, Any]) -> dict[str, Any]:
    before = text[max(0, entity["start"] - _CONTEXT):entity["start"]]
    after = text[entity["end"]:entity["end"] + _CONTEXT]
    value = amount_in_context(str(entity["text"]), before, after)
    out: dict[str, Any] = {"text": entity["text"], "kind": _amount_kind(text, entity, value),
                           "yuan": list(value.yuan) if value.yuan else None}
    if value.per:
        out["per"] = value.per
    if value.currency != "CNY":
        out["currency"] = value.currency
        out["amount"] = list(value.amount) if value.amount else None
    if value.reason:
        out["reason"] = value.reason
    if value.approx:
        out["approx"] = True
    return out


_LIST_GLUE = re.compile(r"^\s*[、，,和及或]\s*$")
_WHOLE = re.compile(r"(?:共|合计|总计|累计|总额)[^，。；,;\d０-９]{0,4}$")


def _runs(text: str, entities: list[dict[str, Any]]) -> list[list[int]]:
    """Indices of amounts standing in one list (``50万元、20万元``)."""
    runs: list[list[int]] = []
    for index, entity in enumerate(entities):
        if runs and _LIST_GLUE.match(text[entities[runs[-1][-1]]["end"]:entity["start"]]):
            runs[-1].append(index)
        else:
            runs.append([index])
    return runs


def _why_not_added(amounts: list[dict[str, Any]], text: str) -> list[str]:
    reasons = []
    kinds = {a["kind"] for a in amounts}
    if "cap" in kinds:
        reasons.append("caps (最高/不超过), not sums paid")
    if "floor" in kinds:
        reasons.append("thresholds (以上/不低于), not sums paid")
    if "range" in kinds or any(a.get("approx") for a in amounts):
        reasons.append("ranges or approximate sums")
    if any(a.get("per") for a in amounts):
        reasons.append("per-unit amounts")
    if any(a.get("currency") for a in amounts):
        reasons.append("other currencies")
    if any(a["yuan"] is None and not a.get("currency") for a in amounts):
        reasons.append("unreadable amounts")
    if len(amounts) > 1 and (_ALTERNATIVES.search(text) or any(
            a.get("in_list") for a in amounts)):
        reasons.append("alternatives (分别/或, or a list of sums for different cases)")
    return reasons


def _money_item(clause: dict[str, Any]) -> dict[str, Any]:
    text = str(clause.get("text", ""))
    entities = sorted((e for e in clause.get("entities") or [] if e.get("type") == "AMOUNT"),
                      key=lambda e: e["start"])
    amounts = [_amount(text, e) for e in entities]
    for run in _runs(text, entities):
        # 突破1000亿元、500亿元…: a cap or threshold word before or after a list holds for all
        kinds = {amounts[run[0]]["kind"], amounts[run[-1]]["kind"]} & {"cap", "floor"}
        for index in run:
            if kinds:
                amounts[index]["kind"] = sorted(kinds)[0]
            if len(run) > 1:
                amounts[index]["in_list"] = True
    whole = [i for i, e in enumerate(entities)
             if _WHOLE.search(text[max(0, e["start"] - 6):e["start"]])]
    recipient = _RECIPIENT.search(text)
    item: dict[str, Any] = {"clause_id": clause.get("clause_id"), "text": text,
                            "recipient": recipient.group(1).strip() if recipient else None,
                            "amounts": amounts}
    if len(whole) == 1 and amounts[whole[0]]["kind"] == "fixed" and \
            amounts[whole[0]]["yuan"] and not amounts[whole[0]].get("per"):
        # 共给予60万元，第一年给予30万元…: the 共 sum is the total, the rest its parts
        item["total_yuan"] = amounts[whole[0]]["yuan"][0]
        return item
    reasons = _why_not_added(amounts, text)
    if amounts and not reasons:
        item["total_yuan"] = sum(a["yuan"][0] for a in amounts)
    elif reasons:
        item["not_added"] = reasons
    return item


def _due(times: list[dict[str, Any]]) -> str | None:
    ends = [t["to"] for t in times if t.get("to") and t.get("kind") != "recurring"]
    return max(ends) if ends else None


def _number(meta: dict[str, Any], clauses: list[dict[str, Any]], text: str) -> str | None:
    """The document number: its own field, else what segmentation read from its head, else
    the same reading (inference.text.docmeta) of an older predict file's text."""
    detected = meta.get("detected") if isinstance(meta.get("detected"), dict) else {}
    number = meta.get("doc_number") or detected.get("doc_number")
    if number:
        return str(number)
    return find_doc_number(text or "".join(str(c.get("text", "")) for c in clauses[:3]))


def build_card(document: dict[str, Any]) -> dict[str, Any]:
    """The card of one predict record (see the module docstring). Never raises on a dict."""
    missing: list[str] = []
    meta = document.get("meta") if isinstance(document.get("meta"), dict) else {}
    if not isinstance(document.get("meta"), dict):
        missing.append("meta")
    raw_clauses = document.get("clauses")
    if not isinstance(raw_clauses, list):
        missing.append("clauses")
        raw_clauses = []
    clauses = [c for c in raw_clauses if isinstance(c, dict) and isinstance(c.get("text"), str)]
    if len(clauses) < len(raw_clauses):
        missing.append(f"{len(raw_clauses) - len(clauses)} malformed clauses skipped")
    for clause in clauses:
        entities = clause.get("entities")
        clause["entities"] = [e for e in entities or [] if isinstance(e, dict) and {
            "start", "end", "type", "text"} <= set(e)] if isinstance(entities, list) else None
    document_date = date_of_document(meta)
    if document_date is None:
        missing.append("document date (meta.published/written): relative times unresolved")
    without_labels = sum(1 for c in clauses if c.get("labels") is None)
    if without_labels:
        missing.append(f"labels on {without_labels} clauses (not a predict output?)")
    without_entities = sum(1 for c in clauses if c.get("entities") is None)
    if without_entities:
        missing.append(f"entities on {without_entities} clauses: no duties or amounts there")
    title = meta.get("title") or meta.get("title_en")
    issuer = meta.get("issuer") or meta.get("department") or meta.get("department_en")
    for name, value in (("title", title), ("issuer", issuer)):
        if not value:
            missing.append(name)

    counts: Counter[str] = Counter()
    targets, principles, money = [], [], []
    malformed_labels = 0
    for clause in clauses:
        labels = clause.get("labels") or []
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            malformed_labels += 1  # e.g. "goal" as a bare string: read as no labels
            labels = []
        counts.update(labels)
        clause_id = clause.get("clause_id")
        if "goal" in labels:
            times = find_times(clause["text"], document_date)
            targets.append({"clause_id": clause_id, "text": clause["text"], "due": _due(times),
                            "times": times})
        if "principle" in labels:
            principles.append({"clause_id": clause_id, "text": clause["text"]})
        if "incentive" in labels:
            money.append(_money_item(clause))
    if malformed_labels:
        missing.append(f"labels on {malformed_labels} clauses are not a list of names: "
                       "read as none")
    targets.sort(key=lambda t: (t["due"] is None, t["due"] or "", t["clause_id"] or 0))

    duties = document_duties([dict(c, entities=c.get("entities") or []) for c in clauses])
    by_agency: dict[str, dict[str, Any]] = {}
    for duty in duties:
        row = by_agency.setdefault(duty.agency, {"agency": duty.agency, "clauses": [],
                                                 "roles": Counter()})
        row["clauses"].append(duty.clause_id)
        row["roles"][duty.role or "unspecified"] += 1
    agencies = sorted(by_agency.values(), key=lambda r: (-len(r["clauses"]), r["agency"]))
    for row in agencies:
        row["roles"] = dict(row["roles"])

    totals = [m["total_yuan"] for m in money if "total_yuan" in m]
    with_amounts = [m for m in money if m["amounts"]]
    money_summary: dict[str, Any] = {"items": money}
    if with_amounts and len(totals) == len(with_amounts):
        money_summary["total_yuan"] = sum(totals)
    elif with_amounts:
        money_summary["total_yuan"] = None
        money_summary["not_added"] = sorted({r for m in with_amounts
                                             for r in m.get("not_added", [])})
    return {
        "doc_id": str(document.get("doc_id", "")),
        "title": title,
        "issuer": issuer,
        "number": _number(meta, clauses, str(document.get("text", ""))),
        "dates": {k: meta.get(k) for k in ("published", "written", "date") if meta.get(k)},
        "counts": {"clauses": len(clauses), **dict(sorted(counts.items()))},
        "duties": [d.to_dict() for d in duties],
        "agencies": agencies,
        "money": money_summary,
        "targets": targets,
        "principles": principles,
        "missing": missing,
    }
