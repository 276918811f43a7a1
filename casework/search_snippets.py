"""The matching piece of a case's reports for a search's results: escaped, each match in <mark>."""

from __future__ import annotations

from itertools import groupby

from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from casework.search import SEARCHED, _case_reports
from routing.names import key_positions

SNIPPET_BEFORE, SNIPPET_AFTER = 30, 70

_BLANKS = str.maketrans({"\r": " ", "\n": " ", "\t": " "})  # a snippet is one line


def highlight(value: str, terms: list[str]) -> Markup | None:
    """A piece of `value` around its first match of a term, escaped, every match in it in <mark>."""
    key, positions = key_positions(value)
    marked: set[int] = set()
    for term in terms:
        start = key.find(term)
        while start >= 0:
            marked.update(range(positions[start], positions[start + len(term) - 1] + 1))
            start = key.find(term, start + 1)
    if not marked:
        return None
    first = min(marked)
    lo, hi = max(0, first - SNIPPET_BEFORE), min(len(value), first + SNIPPET_AFTER)
    piece, out, at = value[lo:hi].translate(_BLANKS), [], 0
    for is_marked, run in groupby(range(lo, hi), key=marked.__contains__):  # each run escaped once
        text_run = piece[at:at + len(list(run))]
        at += len(text_run)
        out.append(Markup("<mark>%s</mark>") % text_run if is_marked else escape(text_run))
    return Markup("…" if lo else "") + Markup("").join(out) + Markup("…" if hi < len(value) else "")


SNIPPET_FIELDS = ("text", "accused_name", "accused_institution", "accused_position", "title")


def snippets(session: Session, case_ids: list[int], terms: list[str]) -> dict[int, Markup]:
    """For each case shown, the matching piece of its reports (text first, then accused, then title)."""
    if not case_ids or not terms:
        return {}
    out: dict[int, Markup] = {}
    for cid, reports in _case_reports(session, list(case_ids)).items():
        rows = [dict(zip(SEARCHED, values)) for values in reports]
        for name in SNIPPET_FIELDS:
            found = next((h for h in (highlight(r[name] or "", terms) for r in rows) if h is not None), None)
            if found is not None:
                out[cid] = found
                break
    return out
