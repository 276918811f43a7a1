"""The queue's tabs: which cases each tab holds (the tab's condition, the access a tab needs) and their
counts from the stored counts less the walls (casework.queue_counts, casework.access). casework.queue lists
a tab's page and searches on top of these."""
from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from sqlalchemy import and_, exists, false, func, literal, select, union_all
from sqlalchemy.orm import Session

from casework import queue_counts
from casework.access import hidden_by_status, hidden_clause, may_see_cases, visible_clause
from casework.models import Case, CaseUnit
from core.accounts import User

OPEN = ("to_accept", "in_progress")
TABS = ("to_accept", "in_progress", "due_soon", "overdue", "closed", "assisting", "triage", "all")
TASKFORCE_TABS = ("triage", "all")
DUE_SOON_DAYS = 3
COUNT_CAP = 1000  # a search counts its matches per tab up to this (and ranks them while there are no more)


def tabs_for(user: User) -> tuple[str, ...]:
    return TABS if user.is_taskforce else tuple(t for t in TABS if t not in TASKFORCE_TABS)


def _tab_clause(user: User, tab: str, today: date, per_case: bool = False):
    """The tab's condition on Case. per_case: the assisting look-up per case (EXISTS on the case's
    units) rather than the unit's whole list, for a search's few matching cases."""
    own_lead = Case.lead_unit == user.unit_code
    if user.is_taskforce:
        own_lead = Case.id.is_not(None)
    if per_case:
        assisting = exists().where(CaseUnit.case_id == Case.id, CaseUnit.unit_code == user.unit_code,
                                   CaseUnit.role == "assist")
    else:
        assisting = Case.id.in_(select(CaseUnit.case_id).where(CaseUnit.unit_code == user.unit_code,
                                                               CaseUnit.role == "assist"))
    clauses = {
        "to_accept": and_(own_lead, Case.status == "to_accept"),
        "in_progress": and_(own_lead, Case.status == "in_progress"),
        "due_soon": and_(own_lead, Case.next_due_on >= today, Case.next_due_on <= today + timedelta(days=DUE_SOON_DAYS)),
        "overdue": and_(own_lead, Case.next_due_on < today),
        # every status but the open ones (closed, not accepted, transferred, merged); NOT IN lets the
        # database walk the received_at index in order instead of sorting the unit's whole history
        "closed": and_(own_lead, Case.status.not_in(("triage",) + OPEN)),
        "assisting": assisting,
        "triage": Case.status == "triage",
        "all": Case.id.is_not(None),
    }
    return clauses[tab]


LEAD_TABS = ("to_accept", "in_progress", "due_soon", "overdue", "closed")


def _visible(session: Session, user: User, tab: str):
    """Access for a tab. A lead-unit tab of a unit user already limits the cases to those the unit leads,
    which the unit sees by definition, so only the walls (recusal, its leadership accused, coordinators
    only) remain to check: uncorrelated look-ups instead of one per case."""
    if not user.is_taskforce and tab in LEAD_TABS and may_see_cases(session, user):
        return hidden_clause(session, user)
    return visible_clause(session, user)


def _search_visible(session: Session, user: User):
    """visible_clause for a search's matching cases: the unit's share looked up per case (EXISTS on the
    case's units, an index probe each) instead of hashing every case the unit has."""
    if not may_see_cases(session, user):
        return false()
    if user.is_taskforce:
        return hidden_clause(session, user)
    return and_(exists().where(CaseUnit.case_id == Case.id, CaseUnit.unit_code == user.unit_code),
                hidden_clause(session, user))


def tab_counts(session: Session, user: User, today: date, shown: str | None = None) -> dict[str, int]:
    """Each tab's count (the page shows "1000+" above COUNT_CAP). The status tabs: the stored counts
    (casework.queue_counts: a sum of a few rows at any size) less the cases the walls hide from this user,
    counted by status from the walls' own rows (each case once). The assisting tab and the two deadline tabs:
    an indexed count with the walls applied, exact for the tab shown and up to COUNT_CAP + 1 for the others.
    All of it in one statement (rows: what was counted, the status or "", the number): one round trip
    instead of five, each of which can wait a scheduler's tick on a busy machine."""
    tabs = tabs_for(user)
    if not may_see_cases(session, user):
        return dict.fromkeys(tabs, 0)
    by_status, counts = Counter(), {}
    for kind, status, n in session.execute(_counts_statement(session, user, today, shown)):
        if kind == "led":
            by_status[status] += int(n or 0)
        elif kind == "hidden":
            by_status[status] -= int(n or 0)
        else:
            counts[kind] = int(n or 0)
    closed = sum(n for status, n in by_status.items() if status not in ("triage",) + OPEN)
    counts |= {"to_accept": by_status["to_accept"], "in_progress": by_status["in_progress"], "closed": closed,
               "triage": by_status["triage"], "all": sum(by_status.values())}
    return {tab: max(0, counts[tab]) for tab in tabs}


_COUNTS_STATEMENTS: dict[tuple, object] = {}  # see _counts_statement
_COUNTS_KEPT = 2048


def _counts_statement(session: Session, user: User, today: date, shown: str | None):
    """tab_counts' statement for a user who may see cases: a function of the user's id, unit and role, the day
    and the tab shown alone (the walls, counts and cases are read by the statement when it runs), so it is
    built once and kept (building it and its cache key was 3-4 ms of a page's CPU); a person coming back to
    the queue during the day reuses it. At most _COUNTS_KEPT are kept, then they are built afresh."""
    key = (user.id, user.unit_code, user.role, user.is_taskforce, today, shown)
    stmt = _COUNTS_STATEMENTS.get(key)
    if stmt is not None:
        return stmt
    if len(_COUNTS_STATEMENTS) >= _COUNTS_KEPT:
        _COUNTS_STATEMENTS.clear()
    tabs = tabs_for(user)
    led = queue_counts.led_by_status_query(None if user.is_taskforce else user.unit_code).subquery("led")
    hidden = hidden_by_status(session, user).subquery("hidden_n")
    parts = [select(literal("led"), *led.c), select(literal("hidden"), *hidden.c)]
    for tab in ("assisting", "due_soon", "overdue"):
        if tab not in tabs:
            continue
        if tab == "assisting":
            cases = select(CaseUnit.case_id).where(CaseUnit.unit_code == user.unit_code, CaseUnit.role == "assist",
                                                   hidden_clause(session, user, CaseUnit.case_id))
        else:
            cases = select(Case.id).where(_visible(session, user, tab), _tab_clause(user, tab, today))
        counted = (cases if tab == shown else cases.limit(COUNT_CAP + 1)).subquery()
        parts.append(select(literal(tab), literal(""), select(func.count()).select_from(counted).scalar_subquery()))
    stmt = _COUNTS_STATEMENTS[key] = union_all(*parts)
    return stmt
