"""Plain-text hygiene for what people type: no control or invisible direction characters."""
from __future__ import annotations

import re
import unicodedata

# C0/C1 controls except tab and newline; bidi embeddings/overrides/isolates; zero-width characters.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200b-\u200f\u2028\u2029\ufeff]")
# Lone UTF-16 surrogates (JSON's "\ud800") cannot be stored or shown: each becomes U+FFFD.
_SURROGATE = re.compile("[\ud800-\udfff]")
_SPACES = re.compile(r"[ \t]+")


def clean_text(value: str) -> str:
    """Multi-line text: normalised newlines, no control characters, stripped."""
    value = _SURROGATE.sub("\ufffd", value)
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))
    return _CONTROL.sub("", value).strip()


def clean_line(value: str) -> str:
    """Single-line field: as clean_text, and whitespace runs (newlines included) folded to one space."""
    return _SPACES.sub(" ", clean_text(value).replace("\n", " ")).strip()


def display_filename(name: str, limit: int = 120) -> str:
    """What we show of an uploaded file's name: the last path part, cleaned, never used as a path."""
    name = clean_line(name.replace("\\", "/").split("/")[-1])
    name = name.lstrip(".") or "file"
    return name[:limit]
