"""A learned boundary between a run-in heading and its body in text with no line breaks.

``（一）指导思想全面贯彻…``: where does the heading phrase end? The hand-written rule in
segment.run_in_heading_end answers only when its word lists are sure. Here a linear model over
the characters on each side of every candidate boundary answers the rest. It was trained by
training.fit.run_in on the gold documents' heading / body pairs, flattened (a heading line
followed by its body line, joined, gives a boundary whose place is known), and its weights are
the JSON file beside this module: no pickles, and no scikit-learn needed to use it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from inference.text import heading_words as _words

WEIGHTS_FILE = Path(__file__).with_name("run_in_weights.json")

# The heading phrase is at least this long and at most this long (characters after the marker).
PHRASE_MIN = 2
PHRASE_MAX = 30
# A boundary is never put where the sentence after it would be shorter than this before its
# first stop: (三) 强化宣传引导,营造良好氛围。 is a one-sentence item, not a heading.
BODY_MIN = 4
_STOP = re.compile(r"[，,。；;：:！？!?（(“《\s]")
_SENTENCE_END = re.compile(r"[。；;！？!?]")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_DATE = re.compile(
    r"(?:19|20)\d\d\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|[〇○零一二三四五六七八九]{4}年")
# A heading phrase does not end before the word that ends its noun phrase (…全民垃圾分类行动|
# 计划…): the phrase runs on (nor after heading_words.NOT_BEFORE_BODY).
_PHRASE_GOES_ON = ("计划", "方案", "体系", "机制", "制度", "工作", "规划", "项目", "标准", "办法",
                   "清单", "名单", "名录", "目录", "台账")
_LENGTH_BUCKETS = (2, 3, 4, 5, 6, 7, 8, 9, 11, 14, 18, 24)


def _bucket(value: int) -> int:
    for bound in _LENGTH_BUCKETS:
        if value <= bound:
            return bound
    return 99


def candidate_ends(line: str, phrase_start: int) -> tuple[list[int], int]:
    """The positions a heading phrase starting at ``phrase_start`` may end at, and where the
    first stop character (comma, sentence end, bracket, space) after it is. The hand-written
    rule's vetoes hold here too: no end before a function character or a body's name running
    on (…领导|小组), none after 、 or a conjunction, none once the phrase is already a sentence
    (…按照…), and a 关于 phrase names at least four characters of subject."""
    stop = _STOP.search(line, phrase_start, phrase_start + 600)
    stop_at = stop.start() if stop else min(len(line), phrase_start + 600)
    last = min(stop_at - BODY_MIN, phrase_start + PHRASE_MAX)
    first = phrase_start + (6 if line.startswith("关于", phrase_start) else PHRASE_MIN)
    ends: list[int] = []
    sentence_end = _SENTENCE_END.search(line, phrase_start, phrase_start + 600)
    sentence = line[phrase_start:sentence_end.start() if sentence_end else phrase_start + 600]
    if _DATE.search(sentence[:60]):
        return ends, stop_at  # an item that a signature follows (…建议格式|生态环境部办公厅2022年…)
    for end in range(first, last + 1):
        if line[end] in _words.FUNCTION_CHARS or line[end - 1] in _words.NOT_BEFORE_BODY:
            continue
        if not (_CJK.match(line, end - 1) or line[end - 1] in "）)》”"):
            continue  # a heading phrase ends in a word, not inside a number (…报名表3.|2019年)
        if line.startswith(_words.NAME_CONTINUATION, end) or line.startswith(_PHRASE_GOES_ON, end):
            continue
        if _words.phrase_is_sentence(line, phrase_start, end):
            break  # a longer phrase holds the verb too
        if line.startswith(_words.OPENS_A_SENTENCE, end - 2):
            continue
        if len(_CJK.findall(line, phrase_start, end)) < 2:
            continue
        ends.append(end)
    return ends, stop_at


def features(line: str, phrase_start: int, end: int, stop_at: int, level: int) -> Iterator[str]:
    """The binary features of a heading phrase ``line[phrase_start:end]`` followed by a body."""
    left, right = line[max(phrase_start, end - 3):end], line[end:end + 3]
    yield f"l1={left[-1:]}"
    yield f"l2={left[-2:]}"
    yield f"l3={left}"
    yield f"r1={right[:1]}"
    yield f"r2={right[:2]}"
    yield f"r3={right}"
    yield f"x={line[end - 1:end + 1]}"
    yield f"x4={line[end - 2:end + 2]}"
    yield f"f2={line[phrase_start:phrase_start + 2]}"
    length = end - phrase_start
    yield f"len={_bucket(length)}"
    yield f"lvl={level}"
    yield f"lvl_len={level}_{_bucket(length)}"
    yield f"to_stop={_bucket(stop_at - end)}"
    sentence_end = _SENTENCE_END.search(line, end, end + 600)
    body = line[end:sentence_end.start() if sentence_end else end + 600]
    yield f"body_comma={'，' in body or ',' in body}"
    yield f"body_len={_bucket(len(body))}"
    phrase = line[phrase_start:end]
    if length >= 2 and line.startswith(phrase[:2], end):
        yield "repeats_start"
    if length >= 4 and phrase in line[end:end + 4 * length]:
        yield "repeats_phrase"
    if "、" in phrase:
        yield "phrase_has_dun"
    if "的" in phrase:
        yield "phrase_has_de"
    # The hand-written rule's word lists, as evidence rather than verdicts.
    ending = line[end - 2:end]
    if ending in _words.HEADING_END_STRONG:
        yield "end_strong"
    elif ending in _words.HEADING_END_WEAK:
        yield "end_weak"
    if _words.BODY_START_STRONG.match(line, end):
        yield "body_strong"
    elif any(line.startswith(word, end) for word in _words.BODY_START_WEAK):
        yield "body_weak"
    if _words.DIRECTIVE.match(line, phrase_start):
        yield "directive_phrase"
        if _words.DIRECTIVE_BODY.match(line, end):
            yield "directive_body"
    if _words.AGENT_END.search(phrase):
        yield "agent_end"
    if _words.MODAL_START.match(line, end):
        yield "modal_body"


class RunInModel:
    """A logistic scorer of candidate heading ends; ``best_end`` picks the likeliest one when
    its probability reaches ``threshold``."""

    def __init__(self, weights: dict[str, float], bias: float, threshold: float) -> None:
        self.weights = weights
        self.bias = bias
        self.threshold = threshold

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> RunInModel:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(data["weights"], float(data["bias"]), float(data["threshold"]))
        except (OSError, ValueError, KeyError) as error:
            raise RuntimeError(f"{path}: cannot read the run-in heading model ({error}); "
                               "rebuild it with `python -m training.fit.run_in`") from None

    def probability(self, line: str, phrase_start: int, end: int, stop_at: int,
                    level: int) -> float:
        weights = self.weights
        score = self.bias + sum(weights.get(f, 0.0)
                                for f in features(line, phrase_start, end, stop_at, level))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, score))))

    def best_end(self, line: str, phrase_start: int, level: int) -> int | None:
        ends, stop_at = candidate_ends(line, phrase_start)
        best, best_p = None, self.threshold
        for end in ends:
            p = self.probability(line, phrase_start, end, stop_at, level)
            if p >= best_p:
                best, best_p = end, p
        return best


@lru_cache(maxsize=1)
def default_model() -> RunInModel:
    return RunInModel.load()


_switched_off = False


def active_model() -> RunInModel | None:
    """The model the segmenter asks: the shipped one, or None inside ``switched_off()``."""
    return None if _switched_off else default_model()


@contextmanager
def switched_off() -> Iterator[None]:
    """Segment without the learned model: training reads the gold's clauses through the
    segmenter, and they must not depend on the weights that training is about to replace."""
    global _switched_off
    before, _switched_off = _switched_off, True
    try:
        yield
    finally:
        _switched_off = before
