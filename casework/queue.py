"""Unit queues: which cases a user sees in each tab, filtered, searched, sorted and paged in SQL.
Access goes through casework.access.visible_clause, like every other staff read."""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple

from markupsafe import Markup
from sqlalchemy import and_, exists, false, func, literal, select, true, union_all
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session, aliased

from casework import queue_counts
from casework.access import hidden_by_status, hidden_clause, may_see_cases, visible_clause
from casework.deadlines import current_rules
from casework.models import Case, CaseReport, CaseUnit
from casework.search import hits, snippets, terms_of
from core.accounts import User
from core.audit import AuditEvent, record
from core.localtime import local_today
from intake.models import Message, Report

OPEN = ("to_accept", "in_progress")
TABS = ("to_accept", "in_progress", "due_soon", "overdue", "closed", "assisting", "triage", "all")
TASKFORCE_TABS = ("triage", "all")
SORTS = {"received": Case.received_at, "reference": Report.reference, "due": Case.next_due_on,
         "status": Case.status, "item": Case.item_code, "updated": Case.updated_at}  # and "relevance" (a search)
DUE_SOON_DAYS = 3
COUNT_CAP = 1000  # a search counts its matches per tab up to this (and ranks them while there are no more)


@dataclass
class QueueFilters:
    tab: str = "to_accept"
    area: int | None = None
    item: str | None = None
    status: str | None = None
    channel: str | None = None
    lead_unit: str | None = None
    handler_id: int | None = None
    received_from: date | None = None
    received_to: date | None = None
    due_from: date | None = None
    due_to: date | None = None
    q: str = ""
    sort: str = "received"
    descending: bool = True
    page: int = 1
    per_page: int = 50


class QueueCase(NamedTuple):
    """The columns of a case that its queue row shows (a page loads these, not the whole case with every
    note and plan field): enough for the row, the deadline badge (deadline_badge) and the .xlsx."""
    id: int
    status: str
    item_code: str | None
    lead_unit: str
    how_found: str
    next_due_on: date | None
    next_due_stage: str | None
    next_due_uncertain: bool


class QueueHandler(NamedTuple):
    """A case's handler as the row names them (core.labels.person_label)."""
    id: int
    username: str
    display_name: str
    unit_code: str


CASE_COLUMNS = tuple(getattr(Case, name) for name in QueueCase._fields)


@dataclass
class QueueRow:
    case: QueueCase
    reference: str
    title: str
    channel: str
    received_at: datetime
    handler: QueueHandler | None
    reports: int
    new_message: bool = False  # the reporter wrote since this user last opened the case


@dataclass
class QueuePage:
    rows: list[QueueRow]
    total: int
    page: int
    pages: int
    counts: dict[str, int] = field(default_factory=dict)
    terms: list[str] = field(default_factory=list)            # the search's terms (name keys)
    snippets: dict[int, Markup] = field(default_factory=dict)  # case id -> the matching piece, highlighted
    too_short: bool = False                                   # a search of fewer than two characters
    count_cap: int = 0                                        # counts above it are shown as "cap+"


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


def _filters(f: QueueFilters):
    clauses = []
    for column, value in ((Case.area, f.area), (Case.item_code, f.item), (Case.status, f.status),
                          (Report.channel, f.channel), (Case.lead_unit, f.lead_unit), (Case.handler_id, f.handler_id)):
        if value not in (None, ""):
            clauses.append(column == value)
    if f.received_from:
        clauses.append(Case.received_at >= datetime.combine(f.received_from, datetime.min.time()))
    if f.received_to:
        clauses.append(Case.received_at < datetime.combine(f.received_to + timedelta(days=1), datetime.min.time()))
    if f.due_from:
        clauses.append(Case.next_due_on >= f.due_from)
    if f.due_to:
        clauses.append(Case.next_due_on <= f.due_to)
    return clauses


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


def queue_page(session: Session, user: User, f: QueueFilters, today: date | None = None) -> QueuePage:
    """One page of a tab. With a search (casework.search), only the matching cases, ranked unless
    another order was chosen, each with its snippet; the tab counts are then the matches per tab."""
    today = today or local_today()
    tab = f.tab if f.tab in tabs_for(user) else tabs_for(user)[0]
    terms = terms_of(f.q)
    too_short = bool(f.q.strip()) and not terms
    found = hits(session, terms) if terms else None
    counts = (search_counts(session, user, today, hits(session, terms, ranked=False)) if found is not None
              else tab_counts(session, user, today, shown=tab))
    if too_short:
        counts = dict.fromkeys(counts, 0)
    filters = _filters(f)

    def where() -> list:  # built only when a statement needs it (not for a kept rows statement)
        if found is not None:
            return [_search_visible(session, user), _tab_clause(user, tab, today, per_case=True), *filters]
        return [_visible(session, user, tab), _tab_clause(user, tab, today), *filters]
    if too_short:
        total = 0
    elif filters:
        if found is not None:
            total = _capped_count(session, select(Case.id).join(Report, Report.id == Case.report_id)
                                  .join(found, found.c.case_id == Case.id).where(*where()))
        else:
            total = session.scalar(select(func.count()).select_from(Case).join(Report, Report.id == Case.report_id)
                                   .where(*where()))
    else:
        total = counts[tab]
    per_page = max(10, min(f.per_page, 200))
    pages = max(1, -(-total // per_page))
    page = max(1, min(f.page, pages))
    # a listing's rows statement is a function of these alone (no search: its matches are a subquery of their own)
    key = None if found is not None or too_short else (
        user.id, user.unit_code, user.role, user.is_taskforce, may_see_cases(session, user), today, tab,
        *(getattr(f, name) for name in FILTER_FIELDS), f.sort, f.descending, page, per_page)
    stmt = _ROWS_STATEMENTS.get(key) if key is not None else None
    if stmt is None:
        stmt = _rows_statement(user, f, found, where, total, page, per_page)
        if key is not None:
            if len(_ROWS_STATEMENTS) >= _ROWS_KEPT:
                _ROWS_STATEMENTS.clear()
            _ROWS_STATEMENTS[key] = stmt
    n = len(CASE_COLUMNS)
    rows = [] if too_short else [QueueRow(QueueCase(*r[:n]), *r[n:n + 4],
                                          QueueHandler(*r[n + 4:n + 8]) if r[n + 4] is not None else None, r[n + 8],
                                          bool(r[n + 9])) for r in session.execute(stmt)]
    marks = snippets(session, [r.case.id for r in rows], terms) if terms else {}
    return QueuePage(rows, total, page, pages, counts, terms, marks, too_short, COUNT_CAP)


# Rows statements kept for the listings shown again (the same page reloaded, as after a bulk assignment that
# returns to it, or a person coming back to their tab): building one and its cache key was ~3 ms of a page's CPU.
_ROWS_STATEMENTS: dict[tuple, object] = {}
_ROWS_KEPT = 256


def _rows_statement(user: User, f: QueueFilters, found, where, total: int, page: int, per_page: int):
    """The page's rows: its case ids picked first, then their columns, reports, handlers and counts."""
    handler = aliased(User)
    # ranked while the matches are few enough to rank them all; beyond that newest first (an index walk)
    ranked = f.sort == "relevance" and found is not None and total <= COUNT_CAP
    if ranked:
        order = [found.c.score.desc(), Case.received_at.desc()]
    else:
        column = SORTS.get(f.sort, Case.received_at)
        # every opened case has its received time (casework.deadlines copies it), so newest first needs no
        # NULLS LAST: plain DESC is the backward order of the (…, received_at, id) indexes on PostgreSQL too
        order = [(column.desc() if column is Case.received_at else column.desc().nulls_last()) if f.descending
                 else column.asc().nulls_last()]
    # the page's case ids first (the tab's index walked up to the offset, reports joined only to filter or sort
    # by them), then the shown rows' reports, handlers and counts: a deep page does not join what it skips
    picked = select(Case.id.label("id"), *([found.c.score.label("score")] if ranked else [])).select_from(Case)
    if f.channel or f.sort == "reference":
        picked = picked.join(Report, Report.id == Case.report_id)
    if found is not None:
        picked = picked.join(found, found.c.case_id == Case.id)
    picked = (picked.where(*where()).order_by(*order, Case.id.desc()).limit(per_page)
              .offset((page - 1) * per_page).subquery("picked"))
    report_count = (select(func.count(CaseReport.id)).where(CaseReport.case_id == Case.id)
                    .correlate(Case).scalar_subquery())
    stmt = (select(*CASE_COLUMNS, Report.reference, Report.title, Report.channel, Report.received_at,
                   handler.id, handler.username, handler.display_name, handler.unit_code, report_count,
                   _new_message(user))
            .join(picked, picked.c.id == Case.id)
            .join(Report, Report.id == Case.report_id).outerjoin(handler, handler.id == Case.handler_id))
    shown_order = [picked.c.score.desc(), *order[1:]] if ranked else order
    return stmt.order_by(*shown_order, Case.id.desc())


def _capped_count(session: Session, stmt) -> int:
    """count(*) of a statement's rows, stopping at COUNT_CAP + 1 (a common word need not be counted out)."""
    return int(session.scalar(select(func.count()).select_from(stmt.limit(COUNT_CAP + 1).subquery())) or 0)


def search_counts(session: Session, user: User, today: date, found) -> dict[str, int]:
    """The matches of a search in each tab, each counted up to COUNT_CAP + 1 (shown as "1000+")."""
    visible = _search_visible(session, user)
    return {tab: _capped_count(session, select(Case.id).join(found, found.c.case_id == Case.id)
                               .where(visible, _tab_clause(user, tab, today, per_case=True)))
            for tab in tabs_for(user)}


def _new_message(user: User):
    """A column of the page's rows: the case's reporter wrote after this user last opened the case page (or the
    user never opened it); a message on a closed case is news to its handler (issue 17, point 7). Looked up per
    shown case in the rows' own statement (two index probes each) rather than in two more round trips."""
    written = (select(func.max(Message.created_at)).join(CaseReport, CaseReport.report_id == Message.report_id)
               .where(CaseReport.case_id == Case.id, Message.author == "reporter").correlate(Case).scalar_subquery())
    seen = (select(func.max(AuditEvent.at)).where(AuditEvent.case_id == Case.id, AuditEvent.action == "case.viewed",
                                                  AuditEvent.actor_id == user.id).correlate(Case).scalar_subquery())
    return sql_case((written.is_(None), false()), (seen.is_(None), true()), else_=written > seen)


FILTER_FIELDS = ("area", "item", "status", "channel", "lead_unit", "handler_id", "received_from", "received_to",
                 "due_from", "due_to")


def audit_listing(session: Session, user: User, f: QueueFilters, result: QueuePage) -> None:
    """One audit event per listing request: who looked at which tab with which filters and search text,
    which page, and how many cases matched (the caller commits; one INSERT beside the head update)."""
    values = asdict(f)
    filters = {name: values[name] for name in FILTER_FIELDS if values[name] not in (None, "")}
    record(session, "queue.listed", actor=user, tab=f.tab, filters=filters, q=f.q.strip()[:100], page=result.page,
           sort=f.sort, descending=f.descending, matched=result.total)


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


@dataclass(frozen=True)
class Badge:
    css: str        # overdue | due-soon | on-time
    due: date
    days: int       # negative when overdue
    stage: str
    uncertain: bool  # counted with the weekends-only fallback


def deadline_badge(case: Case | QueueCase, today: date | None = None) -> Badge | None:
    """The nearest open deadline of a case (stored by casework.deadlines), for queues and the case page."""
    if case.next_due_on is None:
        return None
    days = (case.next_due_on - (today or local_today())).days
    css = "overdue" if days < 0 else ("due-soon" if days <= DUE_SOON_DAYS else "on-time")
    # ≈ only on a date that falls in a year without an official holiday schedule (issue 17, point 6)
    uncertain = bool(case.next_due_uncertain) and not current_rules()[1].known(case.next_due_on.year)
    return Badge(css, case.next_due_on, days, case.next_due_stage or "", uncertain)
