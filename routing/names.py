"""Name keys: the one form in which a person's name is compared with what a report says, so that a
different spelling cannot dodge recusal or the leadership rule.

The key of a text is, character by character: traditional -> simplified (OpenCC ``t2s``, per
character so that a name converts the same alone and inside a sentence), NFKC (full-width ->
half-width, compatibility ideographs -> unified), lower case, and only letters, digits and ideographs
kept: spaces, middle dots (·・•‧ and their look-alikes, some of which Unicode calls letters), zero-width
characters and every punctuation mark between the characters are dropped. "王 小明", "王·小明", "王小明"
in 繁體 and "王小明" all have the key "王小明".

A content key joins the keys of several fields with "|" (never inside a key), so that a name is not
found across two fields and a LIKE pattern on a stored content key needs no escaping."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Iterable

from routing.normalise import to_simplified

FIELD_SEPARATOR = "|"
MIN_NAME_CHARS = 2  # a real name has at least two characters once normalised
# dot-like marks that Unicode counts as letters (so isalnum() would keep them): Latin letter
# sinological dot, Hangul araea (ㆍ, used as a middle dot), Hangul jungseong araea
_LETTER_DOTS = frozenset("\ua78f\u318d\u119e\u11a2")


@lru_cache(maxsize=16384)
def _key_char(ch: str) -> str:
    simple = to_simplified(ch)
    out = []
    for c in simple:
        for folded in unicodedata.normalize("NFKC", c).lower():
            if folded.isalnum() and folded not in _LETTER_DOTS:
                out.append(folded)
    return "".join(out)


class _KeyTable(dict):
    """code point -> _key_char, filled on first use: str.translate maps a whole text in C."""

    def __init__(self, ends: str = ""):
        super().__init__({ord(c): SENTENCE_END for c in ends})

    def __missing__(self, code: int) -> str:
        out = _key_char(chr(code))
        if len(self) < 65536:
            self[code] = out
        return out


def name_key(text: str | None) -> str:
    """The comparable form of a name (or of any text a name is looked for in)."""
    return text.translate(_NAME_TABLE) if text else ""


def is_real_name(name: str | None) -> bool:
    """At least two characters once normalised: what an account with a case role must have."""
    return len(name_key(name)) >= MIN_NAME_CHARS


def content_key(fields: Iterable[str | None]) -> str:
    """The keys of several fields, joined so that no name is found across two of them."""
    return FIELD_SEPARATOR.join(name_key(f) for f in fields)


def field_named(key: str, content: str) -> int | None:
    """The index of the first field of `content` (a content key) that contains the name key `key`,
    or None. An empty or too short key names nobody."""
    if len(key) < MIN_NAME_CHARS:
        return None
    for index, part in enumerate(content.split(FIELD_SEPARATOR)):
        if key in part:
            return index
    return None


SENTENCE_END = "。"
_SENTENCE_ENDS = frozenset("。．！？；;!?\n\r")


_NAME_TABLE = _KeyTable()
_SENTENCE_TABLE = _KeyTable(SENTENCE_END)
_END_RUNS = re.compile("[" + re.escape("".join(sorted(_SENTENCE_ENDS))) + "]+")


def sentence_key(text: str | None) -> str:
    """Like name_key, but every sentence end (。！？；and a line break) kept as one "。": the form in
    which "a unit's name close to a position, in the same sentence" is looked for. A run of ends next
    to each other is one end; none at the very start. (No character's own key is "。", no letter.)"""
    if not text:
        return ""
    out = _END_RUNS.sub(SENTENCE_END, text)
    return (out[1:] if out[0] == SENTENCE_END else out).translate(_SENTENCE_TABLE)


def key_positions(text: str | None) -> tuple[str, list[int]]:
    """name_key of `text` and, for each character of the key, the index in `text` of the character it
    came from (search snippets highlight the original words a normalised match stands for)."""
    key: list[str] = []
    positions: list[int] = []
    for index, c in enumerate(text or ""):
        k = _key_char(c)
        key.append(k)
        positions.extend([index] * len(k))
    return "".join(key), positions
