"""AMOUNT spans → yuan: ``1.35亿元``, ``五百万元``, ``二百九十多元``, ``10万—50万元``,
``每立方米0.2元``, ``４.55亿美元``.

The rule is: a number or none, never a wrong one. Anything this module does not fully account
for (a leftover character, a leading zero, no currency word) gives ``yuan=None`` with a reason.

Approximations (README, "Policy cards"):

- ``多``/``余`` ("290-odd"): [n, n + step), step the place of the last digit written before
  the 多 (``二百九十多`` → [290, 300], ``500多亿`` → [5e10, 6e10], ``5亿多`` → [5e8, 6e8]);
  ``approx`` is set and ``high`` is an exclusive bound.
- ``左右``/``约``/``大约`` ("about n"): [n, n] with ``approx`` set.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# Currency words, longest first; the value is the ISO code. 元 alone is yuan.
_CURRENCIES: tuple[tuple[str, str], ...] = (
    ("人民币元", "CNY"), ("美元", "USD"), ("欧元", "EUR"), ("日元", "JPY"), ("港元", "HKD"),
    ("港币", "HKD"), ("英镑", "GBP"), ("卢布", "RUB"), ("人民币", "CNY"), ("元钱", "CNY"),
    ("块钱", "CNY"), ("元", "CNY"), ("块", "CNY"),
)
_DIGITS = {"零": 0, "〇": 0, "○": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
           "六": 6, "七": 7, "八": 8, "九": 9}
_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
_BIG_UNITS = (("亿", Decimal(10) ** 8), ("万", Decimal(10) ** 4))
_FRACTION_UNITS = {"角": Decimal("0.1"), "分": Decimal("0.01"), "厘": Decimal("0.001")}
_NUMBER_CHARS = set("0123456789.") | set(_DIGITS) | set(_SMALL_UNITS) | {"万", "亿"}
_RANGE_SPLIT = re.compile(r"[—–\-~～至到]+")
_APPROX_PREFIX = re.compile(r"^(?:大约|约)")
_APPROX_SUFFIX = re.compile(r"左右$")
# 每 + a CJK unit word (每 itself excluded, so 每人每月 splits), right before the number.
_PER_PREFIX = re.compile(r"^((?:每[\u4e00-\u6bce\u6bd0-\u9fff]{1,5}?)+)(?=[0-9"
                         + "".join(_DIGITS) + "十百千])")
_PER_SUFFIX = re.compile(r"/([^\d/]{1,4})$")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


class Unreadable(ValueError):
    """A span, or a part of one, that cannot be read as a number."""


@dataclass(frozen=True)
class AmountValue:
    """What an AMOUNT span is worth. ``yuan`` is [low, high] in yuan (low == high for one sum),
    None when the span is not in yuan or cannot be read; ``amount`` is [low, high] in
    ``currency`` (the same as ``yuan`` for CNY); ``per`` the unit a price is per."""

    yuan: tuple[float, float] | None
    per: str | None
    currency: str
    reason: str | None
    approx: bool = False
    amount: tuple[float, float] | None = None


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"\s+", "", text)
    return _THOUSANDS.sub("", text)


def _small_number(text: str) -> Decimal:
    """A number below 万: arabic (``2000``, ``0.3``), Chinese (``二百九十``, ``一千零五``),
    mixed (``3千``) or a bare unit (``千`` = 1000)."""
    if not text:
        raise Unreadable("a unit without a number")
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        if len(text) > 1 and text[0] == "0" and text[1] != ".":
            raise Unreadable(f"number with a leading zero: {text!r}")
        return Decimal(text)
    total = Decimal(0)
    current: Decimal | None = None
    last_unit: int | None = None
    i = 0
    while i < len(text):
        char = text[i]
        if char.isdigit() and char.isascii():
            match = re.match(r"\d+(?:\.\d+)?", text[i:])
            assert match is not None
            if current is not None:
                raise Unreadable(f"two numbers in a row: {text!r}")
            current = Decimal(match.group())
            i += len(match.group())
            continue
        if char in _DIGITS:
            if current is not None and current != 0:
                raise Unreadable(f"two digits in a row: {text!r}")
            current = Decimal(_DIGITS[char])
            if char in "零〇○":
                last_unit = None
        elif char in _SMALL_UNITS:
            unit = _SMALL_UNITS[char]
            if last_unit is not None and unit >= last_unit:
                raise Unreadable(f"units out of order: {text!r}")
            total += (current if current is not None else Decimal(1)) * unit
            current, last_unit = None, unit
        else:
            raise Unreadable(f"not a number: {char!r}")
        i += 1
    if current is not None:
        # 一千五 is 1500, 二百五 is 250: a bare digit right after a unit is one place below it.
        if last_unit is not None and text[-2] in _SMALL_UNITS and text[-1] in _DIGITS:
            total += current * last_unit / 10
        else:
            total += current
    return total


def _number(text: str) -> Decimal:
    """A number with 万/亿 (``3.64万亿``, ``七亿五千万``, ``三万五``)."""
    for char, unit in _BIG_UNITS:
        if char in text:
            cut = text.rindex(char) if char == "亿" else text.index(char)
            head, tail = text[:cut], text[cut + 1:]
            value = _number(head) * unit if head else unit
            if tail:
                if len(tail) == 1 and tail in _DIGITS and tail not in "零〇○":
                    value += Decimal(_DIGITS[tail]) * unit / 10   # 三万五 = 35000
                else:
                    value += _number(tail)
            return value
    return _small_number(text)


def _step(text: str) -> Decimal:
    """The place of the last digit written in ``text`` (the part before 多/余)."""
    if text and text[-1] in _SMALL_UNITS:
        return Decimal(_SMALL_UNITS[text[-1]])
    for char, unit in _BIG_UNITS:
        if text.endswith(char):
            return unit
    match = re.search(r"(\d+)(?:\.(\d+))?$", text)
    if match:
        if match.group(2):
            return Decimal(1).scaleb(-len(match.group(2)))
        digits = match.group(1)
        return Decimal(10) ** (len(digits) - len(digits.rstrip("0")))
    if text and text[-1] in _DIGITS:
        return Decimal(1)
    raise Unreadable(f"cannot tell what 多/余 adds to {text!r}")


def _bound_number(text: str) -> tuple[Decimal, Decimal, bool]:
    """[low, high] and whether it is approximate, for one number with an optional 多/余."""
    odd = [i for i, char in enumerate(text) if char in "多余"]
    if not odd:
        value = _number(text)
        return value, value, False
    if len(odd) > 1:
        raise Unreadable(f"more than one 多/余 in {text!r}")
    head, tail = text[:odd[0]], text[odd[0] + 1:]
    if not head:
        raise Unreadable(f"多/余 without a number: {text!r}")
    if tail and any(char not in "万亿" for char in tail):
        raise Unreadable(f"digits after 多/余 in {text!r}")
    multiplier = _number(tail) if tail else Decimal(1)
    low = _number(head + tail)
    return low, low + _step(head) * multiplier, True


def _yuan_with_fractions(text: str) -> Decimal | None:
    """``一角四分八厘`` → 0.148, ``3元5角`` → 3.5, ``2分`` → 0.02; None without 角/分/厘."""
    if not any(char in text for char in _FRACTION_UNITS):
        return None
    parts = re.findall(r"([^元角分厘]+)([元角分厘])", text)
    if "".join(a + b for a, b in parts) != text:
        raise Unreadable(f"cannot read {text!r} as 元/角/分/厘")
    total = Decimal(0)
    seen: list[str] = []
    for number, unit in parts:
        if unit in seen or (seen and "元角分厘".index(unit) < "元角分厘".index(seen[-1])):
            raise Unreadable(f"units out of order in {text!r}")
        seen.append(unit)
        total += _number(number) * (_FRACTION_UNITS.get(unit) or Decimal(1))
    return total


def _per_unit(text: str) -> str:
    units = [part for part in text.split("每") if part]
    return "·".join(units)


def _as_float(value: Decimal) -> float:
    return float(value)


def read_amount(text: str) -> AmountValue:
    """Read one AMOUNT span. Never raises; an unreadable span gives ``yuan=None`` and a reason."""
    try:
        return _read(text)
    except (Unreadable, InvalidOperation) as exc:
        return AmountValue(None, None, "CNY", str(exc))


def _read(original: str) -> AmountValue:
    text = _normalise(original)
    approx = False
    per: str | None = None
    if _APPROX_PREFIX.search(text):
        text, approx = _APPROX_PREFIX.sub("", text), True
    if _APPROX_SUFFIX.search(text):
        text, approx = _APPROX_SUFFIX.sub("", text), True
    match = _PER_PREFIX.match(text)
    if match:
        per, text = _per_unit(match.group(1)), text[match.end():]
    match = _PER_SUFFIX.search(text)
    if match:
        if per:
            raise Unreadable(f"two 'per' units in {original!r}")
        per, text = match.group(1), text[:match.start()]
    text = re.sub(r"钱$", "", text) if text.endswith(("元钱", "分钱", "角钱")) else text
    fraction = None
    if re.search(r"[角分厘]$", text) and not re.search(r"[—–\-~～至到]", text):
        fraction = _yuan_with_fractions(text)
    if fraction is not None:
        value = _as_float(fraction)
        return AmountValue((value, value), per, "CNY", None, approx, (value, value))
    currency = None
    for word, code in _CURRENCIES:
        if text.endswith(word):
            currency, text = code, text[: -len(word)]
            break
    if currency is None:
        raise Unreadable(f"no currency word in {original!r}")
    sides = _RANGE_SPLIT.split(text)
    if len(sides) > 2 or any(not side for side in sides):
        raise Unreadable(f"cannot read {original!r} as one sum or a range")
    stripped: list[str] = []
    for side in sides:
        # A range side may repeat the currency (10亿元到50亿元); nothing else may be left.
        word = _currency_word(side)
        if word is not None:
            if _CURRENCY_CODES[word] != currency:
                raise Unreadable(f"two currencies in {original!r}")
            side = side[: -len(word)]
        leftover = set(side) - _NUMBER_CHARS - {"多", "余"}
        if leftover or not side:
            raise Unreadable(f"unrecognised {''.join(sorted(leftover))!r} in {original!r}")
        stripped.append(side)
    sides = stripped
    if len(sides) == 2:
        low_side, high_side = sides
        # 50—200万元: the low side borrows the high side's 万/亿 when it has none of its own.
        if not re.search(r"[万亿十百千]", low_side):
            suffix = re.search(r"[万亿]+$", high_side)
            if suffix:
                low_side += suffix.group()
        low, _, low_approx = _bound_number(low_side)
        _, high, high_approx = _bound_number(high_side)
        approx = approx or low_approx or high_approx
        if low > high:
            raise Unreadable(f"range runs backwards in {original!r}")
    else:
        low, high, odd = _bound_number(sides[0])
        approx = approx or odd
    amount = (_as_float(low), _as_float(high))
    if currency != "CNY":
        return AmountValue(None, per, currency, f"amount in {currency}, not converted to yuan",
                           approx, amount)
    return AmountValue(amount, per, currency, None, approx, amount)


_CURRENCY_CODES = dict(_CURRENCIES)


def _currency_word(text: str) -> str | None:
    for word, _ in _CURRENCIES:
        if text.endswith(word):
            return word
    return None


# Units a price beside a span may be per; only these are taken from the context, so that
# "1000元/年的标准" gives 年 and not 年的标.
_UNIT_WORDS = ("千瓦时", "立方米", "平方米", "人次", "公斤", "千克", "公里", "年", "月", "日",
               "天", "人", "户", "亩", "吨", "度", "次", "个", "家", "项", "台", "套", "件",
               "辆", "头", "床", "名", "位", "所", "座", "周", "季度", "学期", "课时")
_UNIT = "(?:" + "|".join(_UNIT_WORDS) + ")"
_CONTEXT_PER_BEFORE = re.compile(rf"((?:每{_UNIT})+)$")
_CONTEXT_PER_AFTER = re.compile(rf"^/({_UNIT})")


def amount_in_context(text: str, before: str = "", after: str = "") -> AmountValue:
    """``read_amount`` plus a ``per`` unit that stands right beside the span in its clause:
    ``每人每月[1110元]`` → per 人·月, ``[1000元]/年`` → per 年."""
    value = read_amount(text)
    if value.per is not None:
        return value
    match = _CONTEXT_PER_AFTER.match(after)
    per = match.group(1) if match else None
    if per is None:
        match = _CONTEXT_PER_BEFORE.search(before)
        per = _per_unit(match.group(1)) if match else None
    if per is None:
        return value
    return AmountValue(value.yuan, per, value.currency, value.reason, value.approx, value.amount)
