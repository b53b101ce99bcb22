"""Rule baseline: labelling functions for the five clause labels, regex and lexicon tagging for
AMOUNT and AGENCY.

It is the fallback when no model is present and the source of weak labels for training. Each
labelling function votes for one label; the score of a label is high when a function fires and
low otherwise, so thresholds and uncertainty sampling work the same as for a model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from inference import __version__
from inference.records import Entity
from inference.schema import LabelSchema, default_schema
from inference.scoring.components import ClauseInput, ClauseScores

CJK = r"\u4e00-\u9fff"
_NUM = r"(?:\d+(?:\.\d+)?|[一二三四五六七八九十百千两零〇]+)"
_SCALE = r"(?:万亿|千亿|百亿|十亿|亿|千万|百万|十万|万|千|百)"
_CURRENCY = r"(?:元人民币|元|美元|欧元|港元)"

# --- labelling functions -------------------------------------------------------------------
# Each is (label, name, pattern); a clause gets the label when any of its patterns match.

_DOC_DATE_ONLY = re.compile(r"^\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日\S{0,4}$")
_DOC_NUMBER = re.compile(r"[〔\[［]\d{4}[〕\]］]\s*\d+\s*号")

LABELLING_FUNCTIONS: list[tuple[str, str, re.Pattern[str]]] = [
    ("goal", "target_verb_number", re.compile(
        rf"(达到|突破|超过|力争|累计|提高到|提升至|提高至|增长|翻一番|不低于|控制在).{{0,20}}{_NUM}")),
    ("goal", "target_state", re.compile(
        r"(到|至)\s*\d{4}\s*年.{0,30}(形成|建成|实现|基本|全面|达到|力争|初步|显著)")),
    ("goal", "goal_heading", re.compile(r"^.{0,8}(主要目标|发展目标|工作目标|建设目标|总体目标|主要指标|目标任务)")),
    ("goal", "indicator", re.compile(r"主要指标|预期目标|目标是")),
    ("incentive", "grant", re.compile(
        r"给予.{0,25}(奖励|补助|补贴|资助|贴息|支持|扶持|奖补)|(奖励|补助|补贴|资助|奖补).{0,8}"
        rf"{_NUM}\s*{_SCALE}?元")),
    ("incentive", "benefit_terms", re.compile(
        r"以奖代补|后补助|贴息|税收优惠|减免|免征|最高不超过|最高可|一次性奖励|享受.{0,12}(政策|优惠|待遇)|"
        r"优先(支持|推荐|安排|保障|列入|纳入)|绿色通道|破格")),
    ("responsibility", "duty_note", re.compile(r"(责任单位|牵头单位|配合单位|责任部门|牵头部门)\s*[:：]")),
    ("responsibility", "actor_duty", re.compile(
        rf"(局|厅|委|部|政府|办公室|办公厅|部门|小组|单位|各地|各市|各县|各区)[{CJK}、（）]{{0,6}}"
        r"(要|应当|应|须|必须|负责|牵头|会同)")),
    ("responsibility", "by_actor", re.compile(r"由.{1,20}(负责|牵头|承担|组织实施)|纳入.{0,12}考核")),
    ("timeline", "by_year", re.compile(r"(到|至|截至|于)\s*\d{4}\s*年|\d{4}\s*年\s*(底|前|以前|年底|上半年|下半年)")),
    ("timeline", "period", re.compile(
        r"\d{4}\s*年?\s*\d{0,2}\s*月?\s*(至|—|-|－|~|到)\s*\d{4}\s*年|\d{4}—\d{4}|"
        r"[“\"]?十[一二三四五]五[”\"]?(末|期间|时期|规划期)|[一二三两四五\d]+\s*年内|"
        r"每年|每季度|每月|每半年|年底前|年内|当年|逐年|年度|连续[一二三四五\d]+年|阶段[（(]")),
    ("timeline", "schedule_heading", re.compile(r"^.{0,8}(进度安排|时间安排|实施步骤|时间节点|阶段)")),
    ("principle", "ideology", re.compile(
        r"坚持|以.{1,40}为指导|指导思想|基本原则|为原则|原则[:：]|遵循|深入贯彻.{0,40}精神|"
        r"贯彻落实.{0,40}(精神|思想)|新发展理念|总体要求")),
]

# --- entity patterns -----------------------------------------------------------------------

_AMOUNT = re.compile(
    rf"{_NUM}\s*{_SCALE}?\s*(?:[—\-－~～至到]\s*{_NUM}\s*{_SCALE}?\s*)?{_CURRENCY}"
)
_LEVEL = rf"(?:国家|中央|国务院|省|市|区|县|州|镇|乡|自治区|[{CJK}]{{1,6}}?(?:省|市|区|县|州))"
_AGENCY_HEAD = (
    r"(?:人民政府办公室|人民政府办公厅|人民政府|政府办公室|政府办公厅|政府|委员会|领导小组|"
    r"工作小组|办公室|办公厅|总局|总署|[局厅委部署办]|支行|分行|科协)"
)
_AGENCY_PATTERNS = [
    # 市科技局, 省科技厅, 市委组织部, 鹤壁市人民政府, 国家能源局, 各县区人民政府
    re.compile(rf"(?:各|全)?{_LEVEL}[{CJK}]{{0,10}}?{_AGENCY_HEAD}"),
    re.compile(r"(?:科技部|财政部|教育部|商务部|公安部|司法部|审计署|水利部|发改委|发展改革委|"
               r"工业和信息化部|工信部|人力资源社会保障部|人社部|生态环境部|自然资源部|住房城乡建设部|"
               r"交通运输部|农业农村部|卫生健康委|国资委|人民银行|人行[\u4e00-\u9fff]{1,6}?支行|税务总局|"
               r"市场监管总局|党中央|国务院|科协)"),
    # elided list members after a separator: 市科技局、财政局、工信局
    re.compile(rf"(?<=[、，,：:])[{CJK}]{{1,6}}?(?:局|厅|委)(?=[、，,）)；;。]|$)"),
]
_NOT_AGENCY = re.compile(r"^(有关部门|相关部门|各部门|政府|各有关部门|有关单位|[各有相]关?部)$|"
                         r"(企业|公司|大学|学院|研究院|研究所|基金|银行(?!.*支行)|协会|园区|开发区)")
_AGENCY_JUNK_PREFIX = re.compile(r"^(由|经|对|向|在|按|和|与|及|或|并|会同|联合|请|报|将|各级)")


@dataclass
class RuleClassifier:
    """Clause labels from labelling functions; scores are 0.9 (fired) or 0.1 (silent)."""

    schema: LabelSchema
    name: str = "rules"
    fired_score: float = 0.9
    silent_score: float = 0.1

    def explain(self, text: str) -> dict[str, list[str]]:
        """Which labelling functions fire for each label."""
        fired: dict[str, list[str]] = {}
        if _DOC_DATE_ONLY.match(text.strip()):
            return fired  # a date line identifies the document; it is no label
        scrubbed = _DOC_NUMBER.sub("", text)
        for label, name, pattern in LABELLING_FUNCTIONS:
            if pattern.search(scrubbed):
                fired.setdefault(label, []).append(name)
        return fired

    def scores(self, text: str) -> dict[str, float]:
        fired = self.explain(text)
        return {
            label: self.fired_score if label in fired else self.silent_score
            for label in self.schema.label_names
        }


_LEVEL_START = re.compile(r"(?:国家|中央|省|市|区|县|州|各)")


def _trim_agency(surface: str) -> str:
    """Cut words the greedy left edge swallowed: 企业获得省科技厅 → 省科技厅."""
    surface = _AGENCY_JUNK_PREFIX.sub("", surface)
    if _NOT_AGENCY.search(surface) or _AGENCY_JUNK_PREFIX.search(surface):
        starts = [m.start() for m in _LEVEL_START.finditer(surface) if m.start() > 0]
        for start in starts:
            if not _NOT_AGENCY.search(surface[start:]):
                return surface[start:]
    return surface


def tag_entities(text: str) -> list[Entity]:
    """AMOUNT and AGENCY spans by regex and lexicon; non-overlapping, longest first."""
    candidates: list[tuple[int, int, str]] = []
    for match in _AMOUNT.finditer(text):
        candidates.append((match.start(), match.end(), "AMOUNT"))
    for pattern in _AGENCY_PATTERNS:
        for match in pattern.finditer(text):
            surface = _trim_agency(match.group(0))
            start = match.end() - len(surface)
            if len(surface) < 2 or _NOT_AGENCY.search(surface):
                continue
            candidates.append((start, match.end(), "AGENCY"))
    candidates.sort(key=lambda c: (-(c[1] - c[0]), c[0]))
    taken = [False] * len(text)
    entities = []
    for start, end, etype in candidates:
        if any(taken[start:end]):
            continue
        taken[start:end] = [True] * (end - start)
        entities.append(Entity(start, end, etype, text[start:end], score=0.9))
    return sorted(entities, key=lambda e: e.start)


class RuleScorer:
    """The rule baseline as a clause scorer (see ``inference.scoring.components.ClauseScorer``)."""

    name = "rules"
    version = f"rules@{__version__}"

    def __init__(self, schema: LabelSchema | None = None, threshold: float = 0.5) -> None:
        self.schema = schema or default_schema()
        self.classifier = RuleClassifier(self.schema)
        self.threshold = threshold
        self.thresholds = dict.fromkeys(self.schema.label_names, threshold)

    def predict(self, inputs: Sequence[ClauseInput]) -> list[ClauseScores]:
        out = []
        for item in inputs:
            scores = self.classifier.scores(item.text)
            labels = [label for label, score in scores.items() if score >= self.threshold]
            out.append(ClauseScores(scores=scores, labels=labels, entities=tag_entities(item.text)))
        return out


LabellingFunction = Callable[[str], bool]
