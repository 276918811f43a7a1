"""The only place that imports the HTML sanitiser (nh3). Keep it that way: swapping the library
(bleach was declared unmaintained in 2026) must touch this module alone."""
from __future__ import annotations

import html
import re

import nh3

_BLOCK_END = re.compile(r"(?i)</(p|div|li|tr|h[1-6]|blockquote|table)>|<br\s*/?>")
_TAG = re.compile(r"<[^>]+>")
_BLANKS = re.compile(r"\n{3,}")


def html_to_text(markup: str, max_chars: int = 2_000_000) -> str:
    """Turn untrusted HTML (mail bodies) into plain text: scripts, styles and images dropped."""
    markup = markup[:max_chars]
    cleaned = nh3.clean(markup, tags={"p", "br", "div", "li", "tr", "td", "h1", "h2", "h3", "h4",
                                      "h5", "h6", "blockquote", "table", "ul", "ol", "span", "b", "i"},
                        attributes={}, clean_content_tags={"script", "style", "head", "title"},
                        url_schemes=set(), strip_comments=True)
    text = _BLOCK_END.sub("\n", cleaned)
    text = html.unescape(_TAG.sub("", text))
    return _BLANKS.sub("\n\n", text).strip()


def clean_html(markup: str) -> str:
    """Untrusted HTML reduced to a harmless subset (no attributes, no links, no media)."""
    return nh3.clean(markup, tags={"p", "br", "b", "i", "ul", "ol", "li"}, attributes={}, url_schemes=set())
