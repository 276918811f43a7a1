"""Recusal: a staff member named anywhere in a case's reports — the accused fields, the title, the
text, when and where, a reporter's message; for every channel — stays out of the case. Names are
compared as name keys (routing.names), so traditional characters, spaces, middle dots or full-width
letters change nothing; a name alone recuses (the institution is no precondition): over-recusal of a
namesake is the safe error, and a coordinator lifts it for one person on one case with a reason.

The recusals are kept in a table, so casework.access finds a user's in one indexed look-up:
  - when a report joins a case (routing opens it, a merge, a repeat, clerk entry, self-inspection,
    whatever the path: every CaseReport row the ORM writes or moves), its content is scanned for the
    name keys of all staff;
  - when a reporter's message arrives, it is scanned the same way;
  - when an account is created or its real name changes (however: form, command, code), every report
    already on a case is scanned for the new name (a LIKE over the stored content keys: a rare event).
Both scans run in the transaction that makes the change, from the session's flush (ORM events, so no
path can forget them), serialised on PostgreSQL by one advisory lock so that a report and an account
arriving at the same moment cannot miss each other. A handler named in a case is taken off it."""
from __future__ import annotations

import logging
from contextlib import contextmanager

from sqlalchemy import event, inspect, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from casework.models import Case, CaseReport
from casework.recusal_models import Recusal, ReportNameText, StaffNameKey
from core.accounts import User
from core.audit import record
from core.db import utcnow
from intake.models import Message, Report
from routing.names import MIN_NAME_CHARS, content_key, field_named, name_key

log = logging.getLogger(__name__)
LOCK_KEY = 150_015  # pg_advisory_xact_lock: reports joining cases and names changing, one at a time
FIELD_SOURCES = ("accused", "accused", "accused", "title", "text", "text")  # the fields of report_content


def report_content(report: Report, messages: list[str] = ()) -> str:
    """The content key of a report and of the reporter's messages on it."""
    fields = [report.accused_name, report.accused_institution, report.accused_position, report.title,
              report.text, report.occurred, *messages]
    return content_key(fields)


def source_of(index: int) -> str:
    return FIELD_SOURCES[index] if index < len(FIELD_SOURCES) else "message"


def _insert(session: Session, model):
    return {"postgresql": pg_insert, "sqlite": sqlite_insert}[session.get_bind().dialect.name](model)


def _serialise(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def _reporter_messages(session: Session, report_id: int) -> list[str]:
    return list(session.scalars(select(Message.body).where(Message.report_id == report_id,
                                                           Message.author == "reporter").order_by(Message.id)))


def _store_contents(session: Session, report_ids: list[int], chunk: int = 500) -> dict[int, str]:
    """Store the content key of each report (its fields and the reporter's messages): the messages read
    and the keys upserted with one statement per `chunk` reports (a routing batch opens hundreds of
    cases in one flush). The keys by report; reports that are gone are left out."""
    out: dict[int, str] = {}
    for at in range(0, len(report_ids), chunk):
        ids = report_ids[at:at + chunk]
        messages: dict[int, list[str]] = {i: [] for i in ids}
        for report_id, body in session.execute(select(Message.report_id, Message.body).where(
                Message.report_id.in_(ids), Message.author == "reporter").order_by(Message.id)):
            messages[report_id].append(body)
        rows = []
        for report_id in ids:
            report = session.get(Report, report_id)
            if report is not None:
                out[report_id] = report_content(report, messages[report_id])
                rows.append({"report_id": report_id, "content": out[report_id]})
        if rows:
            stmt = _insert(session, ReportNameText.__table__)
            session.connection().execute(
                stmt.on_conflict_do_update(index_elements=["report_id"], set_={"content": stmt.excluded.content}),
                rows)
    return out


def _staff_keys(session: Session) -> list[tuple[int, str]]:
    rows = session.execute(select(StaffNameKey.user_id, StaffNameKey.name_key)).all()
    return [(uid, key) for uid, key in rows if len(key) >= MIN_NAME_CHARS]


def _recuse(session: Session, found: list[dict], *, reinstate: bool) -> list[dict]:
    """Insert the recusals not there yet; with `reinstate`, a lifted one named again stands again.
    Then take a recused handler off the case. The rows that are new or stand again."""
    found = list({(f["case_id"], f["user_id"]): f for f in reversed(found)}.values())[::-1]  # one per pair
    if not found:
        return []
    stmt = _insert(session, Recusal).on_conflict_do_nothing(index_elements=["case_id", "user_id"])
    stmt = stmt.returning(Recusal.case_id, Recusal.user_id)
    now = utcnow()
    new = {tuple(r) for r in session.execute(stmt, [{**f, "created_at": now, "lift_reason": ""} for f in found])}
    changed = [f for f in found if (f["case_id"], f["user_id"]) in new]
    if reinstate:
        for f in found:
            if (f["case_id"], f["user_id"]) in new:
                continue
            again = session.execute(update(Recusal).where(
                Recusal.case_id == f["case_id"], Recusal.user_id == f["user_id"], Recusal.lifted_at.is_not(None))
                .values(lifted_at=None, lifted_by_id=None, lift_reason="", source=f["source"],
                        report_id=f["report_id"])).rowcount
            if again:
                _audit_later(session, "recusal.reinstated", case_id=f["case_id"], report_id=f["report_id"],
                             user_id=f["user_id"], source=f["source"])
                changed.append(f)
    _take_off_handlers(session, changed)
    return changed


def _take_off_handlers(session: Session, rows: list[dict]) -> None:
    for f in rows:
        case = session.get(Case, f["case_id"])
        if case is not None and case.handler_id == f["user_id"]:
            case.handler_id = None
            _audit_later(session, "case.handler_recused", case_id=case.id, report_id=f["report_id"],
                         previous_handler_id=f["user_id"], source=f["source"])


def recuse_like(session: Session, case_id: int, like_case_id: int) -> int:
    """Recuse from `case_id` everyone recused (and not lifted) from `like_case_id`, with the same report and
    source; the number of recusals made."""
    found = [{"case_id": case_id, "user_id": user_id, "report_id": report_id, "source": source}
             for user_id, report_id, source in session.execute(
                 select(Recusal.user_id, Recusal.report_id, Recusal.source)
                 .where(Recusal.case_id == like_case_id, Recusal.lifted_at.is_(None)))]
    return len(_recuse(session, found, reinstate=False))


def scan_reports(session: Session, links: set[tuple[int, int]], staff: list[tuple[int, str]] | None = None) -> int:
    """Reports (case_id, report_id) that joined a case, or got a reporter's message: store their content
    key and recuse every staff member they name. The number of recusals made or reinstated."""
    if not links:
        return 0
    _serialise(session)
    staff = _staff_keys(session) if staff is None else staff
    contents = _store_contents(session, sorted({report_id for _case_id, report_id in links}))
    found = []
    for case_id, report_id in sorted(links):
        content = contents.get(report_id)
        if not content:
            continue
        for user_id, key in staff:
            index = field_named(key, content)
            if index is not None:
                found.append({"case_id": case_id, "user_id": user_id, "report_id": report_id,
                              "source": source_of(index)})
    return len(_recuse(session, found, reinstate=True))


def scan_for_user(session: Session, user: User) -> int:
    """An account was created or its real name changed: record its name key and recuse it from every
    case whose reports name it (recusals of an earlier name stay: it is the same person)."""
    _serialise(session)
    key = name_key(user.display_name)
    key = key if len(key) >= MIN_NAME_CHARS else ""
    stmt = _insert(session, StaffNameKey).values(user_id=user.id, name_key=key[:100], updated_at=utcnow())
    session.execute(stmt.on_conflict_do_update(index_elements=["user_id"],
                                               set_={"name_key": key[:100], "updated_at": utcnow()}))
    if not key:
        return 0
    rows = session.execute(select(CaseReport.case_id, ReportNameText.report_id, ReportNameText.content)
                           .join(CaseReport, CaseReport.report_id == ReportNameText.report_id)
                           .where(ReportNameText.content.like(f"%{key}%"))).all()
    found = []
    for case_id, report_id, content in rows:
        index = field_named(key, content)
        if index is not None:
            found.append({"case_id": case_id, "user_id": user.id, "report_id": report_id, "source": source_of(index)})
    return len(_recuse(session, found, reinstate=False))


def named_in(session: Session, user: User, case: Case) -> bool:
    """The user is named in one of the case's reports, recusal lifted or not, looked up afresh from the
    reports themselves (what identity reveals check). A user without a real name counts as named: there
    is no telling."""
    if session.scalar(select(Recusal.id).where(Recusal.case_id == case.id, Recusal.user_id == user.id)) is not None:
        return True
    key = name_key(user.display_name)
    if len(key) < MIN_NAME_CHARS:
        return True
    reports = session.scalars(select(Report).join(CaseReport, CaseReport.report_id == Report.id)
                              .where(CaseReport.case_id == case.id))
    return any(field_named(key, report_content(r, _reporter_messages(session, r.id))) is not None for r in reports)


def rescan_all(session: Session, batch: int = 1000) -> tuple[int, int]:
    """Rebuild every content key and name key and make every recusal they call for (`flask recusal
    rescan`: after a restore, or names changed in the database directly). Nothing is lifted or removed.
    Returns (reports scanned, recusals made)."""
    made = 0
    for user in session.scalars(select(User)).all():
        made += scan_for_user(session, user)
    session.commit()
    staff = _staff_keys(session)
    links = session.execute(select(CaseReport.case_id, CaseReport.report_id).order_by(CaseReport.id)).all()
    for start in range(0, len(links), batch):
        made += scan_reports(session, {tuple(r) for r in links[start:start + batch]}, staff)
        session.commit()
    return len(links), made


# --- the ORM events: every path that writes a CaseReport, a reporter's message or a name ------------

_PENDING, _EVENTS = "recusal_pending", "recusal_events"
DEFER = "scans_deferred"  # session.info flag (casework.opening's batch): flushes only collect, run_pending scans


@contextmanager
def scans_deferred(session: Session):
    """The flushes inside only collect what the recusal scan and the search index (casework.search) must
    do; the caller runs both with run_pending. The flag is cleared however the block ends, so that no
    later flush of the session goes unscanned."""
    session.info[DEFER] = True
    try:
        yield
    finally:
        session.info.pop(DEFER, None)


def _audit_later(session: Session, action: str, **detail) -> None:
    """Audit events of the scans are written just before the commit (not inside a flush)."""
    session.info.setdefault(_EVENTS, []).append((action, detail))


def _write_events(session: Session) -> None:
    session.flush()  # what is still pending gets scanned now (_collect, _apply)
    for action, detail in session.info.pop(_EVENTS, []):
        record(session, action, actor="system", **detail)


def _collect(session: Session, _flush_context) -> None:
    """After a flush: note what it wrote that calls for a scan (ids are known now)."""
    pending = session.info.setdefault(_PENDING, {"users": set(), "links": set(), "messages": set()})
    for obj in session.new:
        if isinstance(obj, User):
            pending["users"].add(obj.id)
        elif isinstance(obj, CaseReport):
            pending["links"].add((obj.case_id, obj.report_id))
        elif isinstance(obj, Message) and obj.author == "reporter":
            pending["messages"].add(obj.report_id)
    for obj in session.dirty:
        if isinstance(obj, User) and inspect(obj).attrs.display_name.history.has_changes():
            pending["users"].add(obj.id)
        elif isinstance(obj, CaseReport) and inspect(obj).attrs.case_id.history.has_changes():
            pending["links"].add((obj.case_id, obj.report_id))


def _apply(session: Session, _flush_context) -> None:
    """After the flush completed: run the scans in the same transaction (what they add is flushed by
    the next flush or the commit), unless they are deferred to run_pending."""
    if not session.info.get(DEFER):
        run_pending(session)


def run_pending(session: Session) -> None:
    """Run the scans the flushes since the last run called for (once for a batch of flushes)."""
    pending = session.info.pop(_PENDING, None)
    if not pending or not any(pending.values()):
        return
    with session.no_autoflush:
        for user_id in sorted(pending["users"]):
            user = session.get(User, user_id)
            if user is not None:
                scan_for_user(session, user)
        links = set(pending["links"])
        if pending["messages"]:
            links |= set(session.execute(select(CaseReport.case_id, CaseReport.report_id)
                                         .where(CaseReport.report_id.in_(pending["messages"]))).all())
        scan_reports(session, {(int(c), int(r)) for c, r in links})


EVENTS_KEY = _EVENTS


def forget_pending(session: Session, events: list) -> None:
    """Drop what was collected for a scan since run_pending (rolled back); keep the audit events `events`."""
    session.info.pop(_PENDING, None)
    session.info[_EVENTS] = list(events)


def _forget(session: Session, *_args) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_EVENTS, None)


def listen() -> None:
    """Register the ORM events on every session (idempotent). Called when this module is imported."""
    if not event.contains(Session, "after_flush", _collect):
        event.listen(Session, "after_flush", _collect)
        event.listen(Session, "after_flush_postexec", _apply)
        event.listen(Session, "before_commit", _write_events)
        event.listen(Session, "after_rollback", _forget)


listen()
