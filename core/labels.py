"""One place that turns a code into the word a person reads (issue 17, point 2).

Each floor registers the kinds it owns (core: units, roles, referral targets; intake: channels and the
reporter's statuses; casework: case statuses, reveal states, audit events; oversight: deadline stages), as a
function from a code to its translated label, called under the current locale. Templates read them through
the `label` filter/global (core/web.py); the .xlsx writers call `label()` inside `in_chinese()`. An unknown
code comes back as it is: the code-leak test (tests/wiring/test_no_codes_shown.py) then finds it.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Callable, Iterator

from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

Lookup = Callable[[str], "str | None"]
_KINDS: dict[str, Lookup] = {}


def register(kind: str, lookup: Lookup | Callable[[], dict[str, str]], *, table: bool = False) -> None:
    """`lookup(code) -> label or None`; with table=True, `lookup() -> {code: label}`, built once per locale
    (the catalogues do not change while the process runs) and read in the locale of the request, or the
    one `in_chinese()` forces. A queue page reads some 300 labels: building each table per call was a
    tenth of the page's time."""
    if table:
        source, tables = lookup, {}

        def cached(code: str) -> str | None:
            key = str(get_locale() or "")
            found = tables.get(key)
            if found is None:
                found = tables[key] = {k: str(v) for k, v in source().items()}  # type: ignore[call-arg, union-attr]
            return found.get(code)
        _KINDS[kind] = cached
    else:
        _KINDS[kind] = lookup  # type: ignore[assignment]


def label(code, kind: str) -> str:
    """The word for `code` of `kind` ('unit', 'role', 'channel', 'status', 'referral', ...)."""
    if code is None or code == "":
        return ""
    lookup = _KINDS.get(kind)
    text = lookup(str(code)) if lookup else None
    return str(text) if text else str(code)


def kinds() -> tuple[str, ...]:
    return tuple(sorted(_KINDS))


def is_english() -> bool:
    return str(get_locale() or "zh").startswith("en")


@contextmanager
def in_chinese() -> Iterator[None]:
    """Files sent to leadership are in Chinese whatever the UI language of the person downloading them."""
    with force_locale("zh_Hans_CN"):
        yield


_ACTOR = re.compile(r"^(?P<name>.*) \((?P<unit>[a-z_]+)/(?P<role>[a-z_]+)\)$")


def person_label(user) -> str:
    """A staff member as people are shown and chosen everywhere: the name, the unit in words and the user
    name, so that two people with the same name are told apart ("王医政 (兴隆台区卫生健康局 · hh)")."""
    if user is None:
        return "—"
    return f"{user.display_name or user.username} ({label(user.unit_code, 'unit')} · {user.username})"


def actor_label(actor: str | None, user=None) -> str:
    """An audit event's actor as stored ("王某 (health/handler)", "system") in words; with the account
    (the event's actor_id), as person_label with the role."""
    if user is not None and actor and actor != "system":
        return f"{person_label(user)} · {label(user.role, 'role')}"
    if not actor or actor == "system":
        return _("System")
    match = _ACTOR.match(actor)
    if not match:
        return actor
    return f"{match['name']} ({label(match['unit'], 'unit')} · {label(match['role'], 'role')})"


def _referral_targets() -> dict[str, str]:
    return {"discipline": _("Discipline inspection (纪检监察)"), "police": _("Police (公安)"),
            "transfer": _("Outside the district (转办)")}


register("referral", _referral_targets, table=True)
