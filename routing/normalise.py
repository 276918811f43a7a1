"""Text normalisation for matching, with a map back to the original offsets.

The match string is: traditional -> simplified (OpenCC ``t2s``), NFKC (full-width ->
half-width), lower case, every character that is not a letter, digit or CJK ideograph
dropped (so "回 扣" and "红-包" match), then homophone typos fixed from the config map.
``Prepared.index[i]`` is the offset in the original string of match character ``i``.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress
from typing import Mapping

import opencc

_T2S = opencc.OpenCC("t2s")


@lru_cache(maxsize=8192)
def _t2s_char(ch: str) -> str:
    out = _T2S.convert(ch)
    return out if len(out) == 1 else ch


@lru_cache(maxsize=256)
def to_simplified(text: str) -> str:
    """Traditional -> simplified; phrase-aware, falls back to per-character when the
    phrase conversion would change the length (offsets must stay 1:1). Cached: the
    classifier reads a report's fields several times (match string, amounts, model)."""
    if text.isascii():
        return text
    out = _T2S.convert(text)
    if len(out) == len(text):
        return out
    return "".join(_t2s_char(c) for c in text)


@lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    """NFKC + lower case, keeping only letters/digits/ideographs."""
    folded = unicodedata.normalize("NFKC", ch).lower()
    return "".join(c for c in folded if c.isalnum())


@dataclass(frozen=True)
class Prepared:
    original: str
    text: str                 # the match string
    index: tuple[int, ...]    # match offset -> original offset

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) for match [start, end)."""
        if not self.index or start >= end:
            return (0, 0)
        return (self.index[start], self.index[end - 1] + 1)


class TypoFixer:
    """Replaces homophone typos of key words (config ``[typos]``) in a match string."""

    def __init__(self, typos: Mapping[str, str]):
        self.typos = {fold(k): fold(v) for k, v in typos.items() if fold(k)}
        keys = sorted(self.typos, key=len, reverse=True)
        self.pattern = re.compile("|".join(map(re.escape, keys))) if keys else None

    def apply(self, text: str, index: list[int]) -> tuple[str, list[int]]:
        if self.pattern is None:
            return text, index
        out: list[str] = []
        out_index: list[int] = []
        pos = 0
        for m in self.pattern.finditer(text):
            out.append(text[pos:m.start()])
            out_index.extend(index[pos:m.start()])
            repl = self.typos[m.group()]
            src = index[m.start():m.end()]
            out.append(repl)
            # spread the replacement over the original span (same length: 1:1)
            out_index.extend(src[min(i * len(src) // len(repl), len(src) - 1)]
                             for i in range(len(repl)))
            pos = m.end()
        out.append(text[pos:])
        out_index.extend(index[pos:])
        return "".join(out), out_index


_NO_TYPOS = TypoFixer({})


def prepare(text: str, typos: TypoFixer | None = None) -> Prepared:
    """Build the match string of ``text`` with its offset map (cached: the classifier and the
    model read the same fields)."""
    return _prepare(text or "", typos or _NO_TYPOS)


@lru_cache(maxsize=16384)
def _fold_one(ch: str) -> str:
    return ch if "\u4e00" <= ch <= "\u9fff" else _fold_char(ch)


class _CharTable(dict):
    """code point -> what str.translate writes for it, filled on first use (``value(ch)``), so that
    a whole text is folded in C instead of one Python call per character."""

    def __init__(self, value):
        super().__init__()
        self.value = value

    def __missing__(self, code: int) -> str:
        out = self.value(chr(code))
        if len(self) < 65536:
            self[code] = out
        return out


_FOLD = _CharTable(_fold_one)
# "\x00" dropped, "\x01" one character, "\x02" several (NFKC: ½ -> 12, ㈱ -> 株 ...)
_KEPT = _CharTable(lambda ch: "\x00\x01\x02"[min(len(_fold_one(ch)), 2)])


@lru_cache(maxsize=256)
def _prepare(text: str, typos: TypoFixer) -> Prepared:
    simple = to_simplified(text)
    chars = simple.translate(_FOLD)
    kept = simple.translate(_KEPT)
    if "\x02" in kept:          # a character folded into several: each points back to it
        index = [i for i, f in enumerate(map(_fold_one, simple)) for _c in f]
    elif len(chars) == len(simple):   # every character kept as one: no map to build
        index = list(range(len(simple)))
    else:
        index = list(compress(range(len(simple)), kept.encode("ascii")))
    match, index = typos.apply(chars, index)
    return Prepared(text, match, tuple(index))


@lru_cache(maxsize=8192)
def fold(text: str) -> str:
    """Normalise a config term the same way as report text (without typo fixing)."""
    return prepare(text).text


def normalise(text: str, typos: Mapping[str, str] | TypoFixer | None = None) -> str:
    """The match string for ``text`` (see module docstring)."""
    if typos is not None and not isinstance(typos, TypoFixer):
        typos = TypoFixer(typos)
    return prepare(text, typos).text


@lru_cache(maxsize=8192)
def _nfkc_char(ch: str) -> str:
    out = unicodedata.normalize("NFKC", ch)
    return out if len(out) == 1 else ch


def readable(text: str) -> str:
    """Simplified + NFKC per character, punctuation kept, same length as ``text``:
    the form amounts are read from."""
    simple = to_simplified(text or "")
    if unicodedata.is_normalized("NFKC", simple):   # the usual report: a quick check, no copy
        return simple
    whole = unicodedata.normalize("NFKC", simple)
    if len(whole) == len(simple):
        return whole   # nothing grew or merged (the usual case): same as per character
    return "".join(_nfkc_char(c) for c in simple)


# --- amounts ---------------------------------------------------------------------------

_DIGITS = {"零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "三": 3, "叁": 3,
           "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7,
           "八": 8, "捌": 8, "九": 9, "玖": 9, "几": 5}
_SMALL = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG = {"万": 10_000, "亿": 100_000_000}
_CN = "".join(_DIGITS) + "".join(_SMALL) + "".join(_BIG)
_AMOUNT_RE = re.compile(
    rf"(?P<num>\d+(?:\.\d+)?|[{_CN}]+)(?P<approx>多|余|来)?(?P<mag>[万千亿]?)(?P<approx2>多|余)?"
    rf"(?P<unit>元|块钱|块|圆)?")


def cn_number(s: str) -> float | None:
    """Chinese numeral -> number: 三万 30000, 叁万 30000, 一万八 18000, 十几万 150000."""
    total, section, digit = 0.0, 0.0, None
    last_unit = 1
    for ch in s:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch in _SMALL:
            unit = _SMALL[ch]
            section += (1 if digit is None else digit) * unit
            digit, last_unit = None, unit
        elif ch in _BIG:
            unit = _BIG[ch]
            section += digit or 0
            total += (section or 1) * unit
            section, digit, last_unit = 0.0, None, unit
        else:
            return None
    if digit is not None:
        # abbreviated tail: 一万八 = 18000, 三千五 = 3500
        section += digit * (last_unit // 10 if last_unit >= 10 else 1)
    return total + section


@dataclass(frozen=True)
class Amount:
    yuan: float
    start: int       # offsets into the original string
    end: int
    text: str
    approximate: bool


def extract_amounts(text: str) -> list[Amount]:
    """Money amounts in yuan: 3万, 30000元, 叁万, 三万元, 1.2万, 六十多万, 一万八."""
    src = readable(text)
    found: list[Amount] = []
    for m in _AMOUNT_RE.finditer(src):
        num, mag, unit = m.group("num"), m.group("mag"), m.group("unit")
        cn = not num[0].isdigit()
        if cn:
            if not unit and not any(c in _BIG or c in _SMALL for c in num) and not mag:
                continue
            if not unit and not any(c in "万亿" for c in num + mag):
                continue  # 三千 alone could be anything; 三千元 / 三万 are money
            value = cn_number(num + mag)
        else:
            if not unit and not mag:
                continue
            if not unit and mag not in "万亿":
                continue
            value = float(num) * ({"万": 1e4, "千": 1e3, "亿": 1e8}.get(mag, 1))
        if value is None or value <= 0:
            continue
        approx = bool(m.group("approx") or m.group("approx2")) or "几" in num
        found.append(Amount(value, m.start(), m.end(), text[m.start():m.end()], approx))
    return found
