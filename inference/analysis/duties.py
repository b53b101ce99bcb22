"""Who must do what: (agency, clause) duty pairs from labelled clauses and AGENCY entities.

A duty comes from a ``responsibility`` clause and names each AGENCY in it that is an actor,
and from a ``（责任单位：…）`` note, which gives its agencies a duty on the clause right before
it. Not actors: bodies inside 《》 (they name a document), bodies something goes to
(``向党中央报告``, ``报同级财政部门备案``, ``抄送…``), bodies whose decisions are cited
(``按照…要求``, ``党中央、国务院决策部署``, ``中办、国办印发的``).

Roles where the text says so: ``lead`` (牵头, 负责, 牵头单位：, X会同Y → X), ``supporting``
(配合, 参与, 参加, 协助, 配合单位：, X会同Y → Y); otherwise ``responsible`` (责任单位：) or
null (an inline duty with no role word).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_NOTE = re.compile(r"^\s*[（(][^（()）]*(?:责任单位|牵头单位|责任部门|牵头部门|配合单位|参加单位|"
                   r"参与单位|协办单位|牵头|配合)[^（()）]*[）)]\s*[。；;]?\s*$")
_NOTE_SECTION = re.compile(r"(责任单位|责任部门|牵头单位|牵头部门|配合单位|配合部门|参加单位|"
                           r"参与单位|协办单位)\s*[:：]")
_SECTION_ROLE = {"责任单位": "responsible", "责任部门": "responsible", "牵头单位": "lead",
                 "牵头部门": "lead", "配合单位": "supporting", "配合部门": "supporting",
                 "参加单位": "supporting", "参与单位": "supporting", "协办单位": "supporting"}
_NOT_ACTOR_BEFORE = re.compile(r"(?:向|报|报送|抄送|抄报|经|根据|按照|依照|按|提请|请示|转发|"
                               r"批转)\s*[:：]?\s*$")
_NOT_ACTOR_AFTER = re.compile(r"^\s*(?:的)?(?:有关)?(?:决策部署|精神|要求|部署|决定|印发|批准|同意|"
                              r"审议通过|授权|文件)")
_LIST_GLUE = re.compile(r"^\s*(?:、|，|,|和|及|与|以及)\s*$")
_LEAD_AFTER = re.compile(r"^\s*(?:要|应|应当|负责)?\s*(?:牵头|负责)")
_SUPPORT_AFTER = re.compile(r"^\s*(?:要|应|应当)?\s*(?:配合|参与|参加|协助)")
_HUIHONG_BEFORE = re.compile(r"会同\s*$")
_HUIHONG_AFTER = re.compile(r"^\s*(?:要|应|应当)?\s*会同")


@dataclass
class Duty:
    agency: str
    clause_id: int
    role: str | None
    note_clause_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"agency": self.agency, "clause_id": self.clause_id,
                               "role": self.role}
        if self.note_clause_id is not None:
            out["note_clause_id"] = self.note_clause_id
        return out


def is_note(text: str) -> bool:
    """A clause that is only a ``（责任单位：…）``-style note."""
    return bool(_NOTE.match(text))


def _book_titles(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"《[^》]*》", text)]


def _groups(agencies: list[dict[str, Any]], text: str) -> list[list[dict[str, Any]]]:
    """Agencies in runs joined only by 、，和 (``向党中央、国务院报告`` is one run)."""
    runs: list[list[dict[str, Any]]] = []
    for entity in sorted(agencies, key=lambda e: e["start"]):
        if runs and _LIST_GLUE.match(text[runs[-1][-1]["end"]:entity["start"]]):
            runs[-1].append(entity)
        else:
            runs.append([entity])
    return runs


def _role_inline(text: str, entity: dict[str, Any], run: list[dict[str, Any]]) -> str | None:
    after = text[run[-1]["end"]:run[-1]["end"] + 6]
    own_after = text[entity["end"]:entity["end"] + 6]
    before = text[max(0, run[0]["start"] - 4):run[0]["start"]]
    if _HUIHONG_BEFORE.search(before):
        return "supporting"
    if _HUIHONG_AFTER.match(own_after) or _HUIHONG_AFTER.match(after):
        return "lead"
    if _LEAD_AFTER.match(own_after) or _LEAD_AFTER.match(after):
        return "lead"
    if _SUPPORT_AFTER.match(own_after) or _SUPPORT_AFTER.match(after):
        return "supporting"
    return None


def _role_in_note(text: str, entity: dict[str, Any], run: list[dict[str, Any]]) -> str:
    role = _role_inline(text, entity, run)
    if role:
        return role
    sections = [m for m in _NOTE_SECTION.finditer(text) if m.end() <= entity["start"]]
    return _SECTION_ROLE[sections[-1].group(1)] if sections else "responsible"


def actors(text: str, entities: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str | None]]:
    """The AGENCY entities of a clause that are actors, each with the role the text gives it."""
    agencies = [e for e in entities if e.get("type") == "AGENCY"]
    titles = _book_titles(text)
    note = is_note(text)
    found = []
    for run in _groups(agencies, text):
        before = text[max(0, run[0]["start"] - 6):run[0]["start"]]
        after = text[run[-1]["end"]:run[-1]["end"] + 8]
        if _NOT_ACTOR_BEFORE.search(before) or _NOT_ACTOR_AFTER.match(after):
            continue
        for entity in run:
            if any(a <= entity["start"] and entity["end"] <= b for a, b in titles):
                continue
            role = _role_in_note(text, entity, run) if note else _role_inline(text, entity, run)
            found.append((entity, role))
    return found


def document_duties(clauses: list[dict[str, Any]]) -> list[Duty]:
    """Duty pairs of one document's clauses (dicts as in predict output, in document order).

    A note applies to the nearest clause before it that is not itself a note; a clause with
    no labels is only read for notes."""
    duties: list[Duty] = []
    seen: set[tuple[str, int]] = set()
    previous: int | None = None
    for clause in clauses:
        text = str(clause.get("text", ""))
        entities = clause.get("entities") or []
        labels = clause.get("labels") or []
        clause_id = int(clause.get("clause_id", 0))
        if is_note(text):
            target, note_id = (previous, clause_id) if previous is not None else (clause_id, None)
        elif "responsibility" in labels:
            target, note_id = clause_id, None
        else:
            previous = clause_id
            continue
        if not is_note(text):
            previous = clause_id
        for entity, role in actors(text, entities):
            key = (str(entity["text"]), target)
            if key in seen:
                continue
            seen.add(key)
            duties.append(Duty(str(entity["text"]), target, role, note_id))
    return duties
