"""Unit queues: which cases a user sees in each tab, filtered, searched, sorted and paged in SQL.
Access goes through casework.access.visible_clause, like every other staff read."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple

from markupsafe import Markup
from sqlalchemy import case as sql_case
from sqlalchemy import false, func, literal, select, true
from sqlalchemy.orm import Session, aliased

from casework.access import hidden_clause, may_see_cases
from casework.deadlines import current_rules
from casework.models import Case, CaseReport, CaseUnit
from casework.queue_tabs import (
    COUNT_CAP,
    DUE_SOON_DAYS,
    _search_visible,
    _tab_clause,
    _visible,
    tab_counts,
    tabs_for,
)
from casework.search import common, deadline_keys, hits, matches_case, tab_keys, terms_of
from casework.search_snippets import snippets
from core.accounts import User
from core.audit import AuditEvent, record
from core.localtime import local_today
from intake.models import Message, Report

SORTS = {"received": Case.received_at, "reference": Report.reference, "due": Case.next_due_on,
         "status": Case.status, "item": Case.item_code, "updated": Case.updated_at}  # and "relevance" (a search)
OTHER_TAB_CAP = 100  # a search counts the tabs not shown up to this ("100+"), the one shown up to COUNT_CAP


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
    tab_caps: dict[str, int] = field(default_factory=dict)    # a tab's own cap, where it differs (a search)


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


def queue_page(session: Session, user: User, f: QueueFilters, today: date | None = None) -> QueuePage:
    """One page of a tab. With a search (casework.search), only the matching cases, ranked unless
    another order was chosen, each with its snippet; the tab counts are then the matches per tab."""
    today = today or local_today()
    tab = f.tab if f.tab in tabs_for(user) else tabs_for(user)[0]
    terms = terms_of(f.q)
    too_short = bool(f.q.strip()) and not terms
    counts = (search_counts(session, user, today, terms, shown=tab) if terms
              else tab_counts(session, user, today, shown=tab))
    if too_short:
        counts = dict.fromkeys(counts, 0)
    filters = _filters(f)
    if too_short:
        total = 0
    elif filters:
        if terms:
            total = _capped_count(session, select(Case.id).join(Report, Report.id == Case.report_id)
                                  .join(matched := _matches(session, user, tab, today, terms).subquery(),
                                        matched.c.case_id == Case.id).where(*filters))
        else:
            total = session.scalar(select(func.count()).select_from(Case).join(Report, Report.id == Case.report_id)
                                   .where(_visible(session, user, tab), _tab_clause(user, tab, today), *filters))
    else:
        total = counts[tab]
    per_page = max(10, min(f.per_page, 200))
    pages = max(1, -(-total // per_page))
    page = max(1, min(f.page, pages))
    rows: list[QueueRow] = []
    if not may_see_cases(session, user):  # no rows at all, whatever the tab, filters or search
        total, pages, page = 0, 1, 1
    elif not too_short:
        # a listing's rows statement is a function of these alone (a search's is built afresh: its matches and
        # their plan depend on the words)
        # (only for a user who may see cases: the branch above answers the others)
        key = None if terms else (
            user.id, user.unit_code, user.role, user.is_taskforce, today, tab,
            *(getattr(f, name) for name in FILTER_FIELDS), f.sort, f.descending, page, per_page)
        stmt = _ROWS_STATEMENTS.get(key) if key is not None else None
        if stmt is None:
            stmt = _rows_statement(session, user, f, tab, today, terms, filters, total, page, per_page)
            if key is not None:
                if len(_ROWS_STATEMENTS) >= _ROWS_KEPT:
                    _ROWS_STATEMENTS.clear()
                _ROWS_STATEMENTS[key] = stmt
        n = len(CASE_COLUMNS)
        rows = [QueueRow(QueueCase(*r[:n]), *r[n:n + 4], QueueHandler(*r[n + 4:n + 8]) if r[n + 4] is not None
                         else None, r[n + 8], bool(r[n + 9])) for r in session.execute(stmt)]
    marks = snippets(session, [r.case.id for r in rows], terms) if terms else {}
    caps = {t: OTHER_TAB_CAP for t in counts if t != tab} if terms else {}
    return QueuePage(rows, total, page, pages, counts, terms, marks, too_short, COUNT_CAP, caps)


# Rows statements kept for the listings shown again (the same page reloaded, as after a bulk assignment that
# returns to it, or a person coming back to their tab): building one and its cache key was ~3 ms of a page's CPU.
# Safe to keep: the walls, counts and cases are read by the statement when it runs (casework.access's clauses
# are subqueries on the walls' rows, keyed by the user's id, unit and role, which are in the key).
_ROWS_STATEMENTS: dict[tuple, object] = {}
_ROWS_KEPT = 256


def _rows_statement(session: Session, user: User, f: QueueFilters, tab: str, today: date, terms: list[str],
                    filters: list, total: int, page: int, per_page: int):
    """The page's rows: its case ids picked first, then their columns, reports, handlers and counts."""
    handler = aliased(User)
    where = [_visible(session, user, tab), _tab_clause(user, tab, today), *filters]
    # A search: up to COUNT_CAP matches in the tab, all of them are taken from the index (words and tab keys,
    # one intersection) and ordered, ranked if asked; more than that, newest first (or the sort chosen): the
    # tab's cases walked in that order and each one's entry looked up, which stops after the page, unless the
    # word is rare enough that reading all its matches from the index and sorting them costs less.
    bounded = bool(terms) and total <= COUNT_CAP
    found = (_matches(session, user, tab, today, terms, ranked=f.sort == "relevance").limit(COUNT_CAP + 1)
             .subquery("found") if bounded else None)
    keys = tab_keys(user, tab)
    postgres = session.get_bind().dialect.name == "postgresql"  # (SQLite's FTS5 walk is cheap: IN list)
    if terms and not bounded and postgres and not common(session, terms, deadline_keys(user) if keys is None
                                                         else keys, page * per_page, every=True):
        # more than COUNT_CAP matches of a word rare enough that reading them all from the index costs less
        # than walking the tab until the page is full (casework.search.common): all of them, then the order
        found = _matches(session, user, tab, today, terms, walk=False).subquery("found")
    elif terms and not bounded:
        where = [_search_visible(session, user), _tab_clause(user, tab, today), *filters,
                 matches_case(session, terms, Case.id)]
    ranked = f.sort == "relevance" and bounded
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
        where = filters
    picked = (picked.where(*where).order_by(*order, Case.id.desc()).limit(per_page)
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


def _capped_count(session: Session, stmt, cap: int | None = None) -> int:
    """count(*) of a statement's rows, stopping at cap + 1 (COUNT_CAP; a common word need not be counted out)."""
    cap = COUNT_CAP if cap is None else cap
    return int(session.scalar(select(func.count()).select_from(stmt.limit(cap + 1).subquery())) or 0)


def _matches(session: Session, user: User, tab: str, today: date, terms: list[str], ranked: bool = False,
             cap: int = COUNT_CAP, walk: bool | None = None):
    """The ids (case_id, score) of the search's matches in the tab that the user may see, the walls applied.
    A rare word: the index's intersection of the words with the tab's keys (casework.search.tab_keys, the
    unit's share of access included). A common one (casework.search.common; counted, not ranked): the tab's
    cases walked in an index and each one's entry looked up, which stops after cap + 1 matches. The deadline
    tabs from the index take each match's due date by case id. Nothing for a user who may not see cases
    (no real name, or a name changed without its recusals updated): the walls alone do not cover them."""
    if not may_see_cases(session, user):
        return select(Case.id.label("case_id"), literal(0.0).label("score")).where(false())
    keys = tab_keys(user, tab)
    if walk is None and tab == "due_soon" and not ranked:  # a few days' cases: walk them all, or the index's
        window = _capped_count(session, select(Case.id).where(_tab_clause(user, tab, today)), 5000)
        walk = common(session, terms, deadline_keys(user), window, every=True, per_case=True)
    elif walk is None:
        walk = not ranked and common(session, terms, deadline_keys(user) if keys is None else keys, cap)
    if walk and tab == "assisting":
        return (select(CaseUnit.case_id.label("case_id"), literal(0.0).label("score"))
                .where(CaseUnit.unit_code == user.unit_code, CaseUnit.role == "assist",
                       hidden_clause(session, user, CaseUnit.case_id), matches_case(session, terms, CaseUnit.case_id)))
    if walk:
        return (select(Case.id.label("case_id"), literal(0.0).label("score"))
                .where(_tab_clause(user, tab, today), _visible(session, user, tab), matches_case(session, terms, Case.id)))
    found = hits(session, terms, ranked, keys=deadline_keys(user) if keys is None else keys)
    stmt = select(found.c.case_id, found.c.score).where(hidden_clause(session, user, found.c.case_id))
    if keys is None:  # the deadline tabs: the case's due date, one look-up per match (not a join over all of them)
        stmt = stmt.where(select(_tab_clause(user, tab, today)).where(Case.id == found.c.case_id).scalar_subquery())
    return stmt


def search_counts(session: Session, user: User, today: date, terms: list[str], shown: str | None = None
                  ) -> dict[str, int]:
    """The matches of a search in each tab: the tab shown counted up to COUNT_CAP + 1 (shown as "1000+"),
    the others up to OTHER_TAB_CAP + 1 ("100+"). A count stops at its cap: its cost is that of finding
    cap + 1 matches (a scan stops there on a common word) or of the index's few matches (a rare one)."""
    if not may_see_cases(session, user):
        return dict.fromkeys(tabs_for(user), 0)
    caps = {tab: COUNT_CAP if tab == shown else OTHER_TAB_CAP for tab in tabs_for(user)}
    return {tab: _capped_count(session, _matches(session, user, tab, today, terms, cap=cap), cap)
            for tab, cap in caps.items()}


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
