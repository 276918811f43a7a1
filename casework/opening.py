"""Routing on arrival and on correction: classify, store the classification, open the case with its
lead and assisting units, or send it to the task force's triage. Takes a session and plain data."""
from __future__ import annotations

import gc
import logging
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, object_session

from casework import recusal, search  # search: its ORM events keep the search index up to date
from casework.batch_ids import assign_ids
from casework.deadline_models import CaseDeadline
from casework.deadlines import Opened, current_rules, sync_deadlines
from casework.models import Case, CaseReport, CaseUnit, Classification, RoutingCorrection
from casework.related import RelatedPolicy, on_arrival, report_keys
from casework.related_batch import on_arrival_batch
from casework.related_refresh import refresh_quietly
from casework.walls import excluded_units, open_wall, route_around
from core.db import utcnow
from intake.feedback_models import ReportObjection
from intake.models import PendingRouting, Report
from routing.classifier import classify
from routing.learned import LearnedModel
from routing.matrix import leadership_walls, route, units_for_item
from routing.pool import Ahead, decide, decide_many, submit
from routing.taxonomy import UNITS, Taxonomy

log = logging.getLogger(__name__)
UNCHANGED = object()


class CorrectionError(ValueError):
    """A correction that cannot be applied (unknown item or unit, no reason)."""


def accused_of(report: Report) -> dict:
    return {"name": report.accused_name, "institution": report.accused_institution,
            "position": report.accused_position}


def _set_units(case: Case, lead: str, assist: list[str]) -> None:
    case.lead_unit = lead
    case.units.clear()
    session = object_session(case)
    if session is not None and case.id is not None:
        session.flush()  # delete the old rows before inserting new ones for the same units
    case.units.append(CaseUnit(unit_code=lead, role="lead"))
    case.units.extend(CaseUnit(unit_code=u, role="assist") for u in dict.fromkeys(assist) if u != lead)


def route_report(session: Session, tax: Taxonomy, report_id: int, learned: LearnedModel | None = None,
                 related: RelatedPolicy | None = None) -> Case:
    """Open the case of a received report. Idempotent; a classifier failure sends it to triage."""
    existing = session.scalar(select(Case).where(Case.report_id == report_id))
    if existing is not None:
        _dequeue(session, report_id)
        return existing
    report = session.get(Report, report_id)
    if report is None:
        _dequeue(session, report_id)
        raise LookupError(f"no report {report_id}")
    record, case = _plan(tax, report, learned)
    session.add_all([record, case])
    try:
        session.flush()
        _open(session, case, record, report, related)
        session.flush()
        sync_deadlines(session, case)
        session.execute(delete(PendingRouting).where(PendingRouting.report_id == report_id))
        session.commit()
    except IntegrityError:  # routed concurrently by another process
        session.rollback()
        return session.scalar(select(Case).where(Case.report_id == report_id))
    return case


class _Failed(Exception):
    """A report the routing pool could not decide (its error and traceback came back from the worker)."""

    def __init__(self, answer: dict):
        super().__init__(answer["error"])
        self.answer = answer


def _plan(tax: Taxonomy, report: Report, learned, decision: dict | None = None) -> tuple[Classification, Case]:
    """Classify and route one report (no database access): its classification record and its new case.
    `decision`: routing.pool's answer for it, if the pool decided it. A classifier failure gives a triage
    case with the walls checked alone (never raises for it)."""
    triage_unit = tax.matrix.triage_unit
    try:
        d = decision if decision is not None else decide(
            tax, learned, report.title, report.text, report.channel, accused_of(report), classify=classify,
            route=route)
        if "error" in d:
            raise _Failed(d)
        record = Classification(report_id=report.id, item_code=d["item"], in_scope=d["in_scope"],
                                confidence=d["confidence"], candidates=d["candidates"],
                                routing=d["routing"], rules_version=d["rules_version"],
                                model_version=d["model_version"])
        triage = d["triage"] or d["transfer"]
        lead = triage_unit if triage else d["lead_unit"]
        case = Case(report_id=report.id, status="triage" if triage else "to_accept",
                    item_code=d["item"], in_scope=d["in_scope"], transfer_suggested=d["transfer"],
                    routing_reason=d["reason"][:500])
        _set_units(case, lead, [] if triage else d["assist_units"])
    except Exception as exc:  # never lose a report to a classifier bug: triage it
        if isinstance(exc, _Failed):
            log.error("classifier failed on report %s; sent to triage\n%s", report.id, exc.answer["traceback"])
            error = exc.answer["error"]
        else:
            log.exception("classifier failed on report %s; sent to triage", report.id)
            error = f"{type(exc).__name__}: {exc}"[:2000]
        walls = leadership_walls(tax, title=report.title, text=report.text, accused=accused_of(report))
        record = Classification(report_id=report.id, item_code=None, in_scope=True, confidence=0.0,
                                candidates=[], routing={"lead_unit": triage_unit, "triage": True, **walls},
                                rules_version=tax.rules_version, model_version=None, error=error)
        case = Case(report_id=report.id, status="triage", in_scope=True,
                    routing_reason=("分类出错：由工作专班人工分办。" + walls.get("explanation", ""))[:500])
        _set_units(case, triage_unit, [])
    case.report, case.received_at = report, report.received_at  # before the first flush (deadlines read them)
    case.area = tax.items[case.item_code].area if case.item_code else None
    case.how_found = "disclosure" if report.own_conduct else "report"
    return record, case


def _open(session: Session, case: Case, record: Classification, report: Report,
          related: RelatedPolicy | None) -> None:
    """After the case's first flush: its walls (防止"灯下黑", before anyone can see the case), its related
    reports, and its report link (casework.recusal scans it at the next flush) unless the report was
    registered as a repeat (重复件) on an open case instead."""
    open_wall(session, case, record.routing)
    if _related(session, related or RelatedPolicy(), case, report) is None:
        session.add(CaseReport(case_id=case.id, report_id=report.id))


def _related(session: Session, policy: RelatedPolicy, case: Case, report: Report) -> Case | None:
    """casework.related.on_arrival in a savepoint: a failure there never keeps the report from its case."""
    try:
        with session.begin_nested():
            return on_arrival(session, policy, case, report)
    except (OperationalError, InterfaceError):
        raise
    except Exception:
        log.exception("related reports of report %s could not be found; the case opens without them", report.id)
        return None


def _open_batch(session: Session, todo: list[Report], plans: list[tuple[Classification, Case]],
                policy: RelatedPolicy, keys: list | None = None) -> None:
    """_open for a batch: the walls of every case, then the related reports of the whole batch in one
    savepoint with the recusal scan and the search index deferred to one run for the batch (not one per
    report's flush). If the batch's detection fails, it is rolled back and each report gets its own
    savepoint (as route_report): a failure costs only that report's detection, never its case."""
    for report, (record, case) in zip(todo, plans):
        open_wall(session, case, record.routing)
    events = list(session.info.get(recusal.EVENTS_KEY, ()))
    try:
        # deferred from the savepoint's own flush on (it flushes what the walls added); cleared before the
        # fallback below runs
        with recusal.scans_deferred(session), session.begin_nested():
            on_arrival_batch(session, policy, [(case, report) for report, (_record, case) in zip(todo, plans)],
                             keys)
            assign_ids(session, (CaseReport,))
            session.flush()
    except (OperationalError, InterfaceError):
        raise
    except Exception:
        log.warning("related reports of a batch of %d could not be found together; one by one", len(todo),
                    exc_info=True)
        recusal.forget_pending(session, events)
        search.forget_pending(session)   # each case is indexed when its report joins it below
        for report, (_record, case) in zip(todo, plans):
            if _related(session, policy, case, report) is None:
                session.add(CaseReport(case_id=case.id, report_id=report.id))
        return
    recusal.run_pending(session)
    search.run_pending(session)


def _dequeue(session: Session, report_id: int) -> None:
    if session.execute(delete(PendingRouting).where(PendingRouting.report_id == report_id)).rowcount:
        session.commit()


def route_pending(session: Session, tax: Taxonomy, learned: LearnedModel | None = None, limit: int = 500,
                  related: RelatedPolicy | None = None, workers: int = 0, ahead: Ahead | None = None) -> int:
    """Route up to `limit` reports from the routing queue, oldest first; the number routed. The queue
    holds every report intake committed and routing has not taken, so reading it is cheap at any size.
    The batch is classified, written and taken off the queue in one transaction (_route_batch). If
    that fails, it is rolled back and its reports are routed one by one, each in its own transaction:
    a report that fails stays queued (logged) and does not hold up the others; a lost database
    connection stops the batch. Either way a report leaves the queue only in the transaction that
    opens its case. With `workers` >= 2 a large batch is classified in that many processes (routing.pool),
    and with `ahead` the next batch is classified there while this one is written."""
    ids = session.scalars(select(PendingRouting.report_id).order_by(PendingRouting.report_id).limit(limit)).all()
    if not ids:
        return 0
    collecting = gc.isenabled()
    gc.disable()  # the batch's thousands of ORM objects set off full collections that find nothing to free
    try:
        return _route_batch(session, tax, ids, learned, related, workers, ahead)
    except (OperationalError, InterfaceError):
        session.rollback()
        raise
    except Exception:  # one report's write failed (or another process routed one): one by one
        session.rollback()
        log.warning("routing a batch of %d report(s) failed; routing them one by one", len(ids), exc_info=True)
    finally:
        if collecting:
            gc.enable()
    routed = 0
    for report_id in ids:
        try:
            route_report(session, tax, report_id, learned, related)
            routed += 1
        except LookupError:  # the report is gone: nothing to route
            continue
        except (OperationalError, InterfaceError):
            session.rollback()
            raise
        except Exception:
            session.rollback()
            log.exception("routing report %s failed; it stays queued for the next run", report_id)
    return routed


def _fields(report) -> tuple:
    """What routing.pool's workers decide a report on."""
    return (report.title, report.text, report.channel,
            {"name": report.accused_name, "institution": report.accused_institution,
             "position": report.accused_position})


def _keys_of(title: str, text: str, channel: str, accused: dict):
    """report_keys from the fields routing.pool's workers get (they compute them along with the decision)."""
    return report_keys(SimpleNamespace(text=text, accused_name=accused["name"],
                                       accused_institution=accused["institution"]))


def _plans(session: Session, tax: Taxonomy, learned, todo: list[Report], workers: int, ahead: Ahead | None,
           last: int, limit: int) -> tuple[list[tuple[Classification, Case]], list]:
    """_plan and report_keys for every report of the batch: decided by routing.pool's workers when `workers`
    >= 2 (those `ahead` already sent with the previous batch first), in process otherwise. With `ahead`, the
    next batch (the queue after report `last`) is sent to the pool before this one is written."""
    items = {report.id: _fields(report) for report in todo}
    decisions = ahead.take(items) if ahead is not None else {}
    rest = [report for report in todo if report.id not in decisions]
    pending = submit(tax, learned, [items[report.id] for report in rest], workers, _keys_of)
    answers = pending.result() if pending is not None else None
    if answers is None:   # decided here, the corpus model reading the batch at once
        answers = decide_many(tax, learned, [items[report.id] for report in rest], classify=classify, route=route)
    decisions.update(zip([report.id for report in rest], answers))
    plans = [_plan(tax, report, learned, decisions.get(report.id)) for report in todo]
    keys = [decisions[r.id]["extra"] if "extra" in decisions.get(r.id, ()) else report_keys(r) for r in todo]
    if ahead is not None and workers >= 2:
        upcoming = select(PendingRouting.report_id).where(PendingRouting.report_id > last) \
            .order_by(PendingRouting.report_id).limit(limit).scalar_subquery()
        rows = session.execute(select(Report.id, Report.title, Report.text, Report.channel, Report.accused_name,
                                      Report.accused_institution, Report.accused_position)
                               .where(Report.id.in_(upcoming)).order_by(Report.id)).all()
        ahead.start(tax, learned, {row.id: _fields(row) for row in rows}, workers, _keys_of)
    return plans, keys


def _route_batch(session: Session, tax: Taxonomy, ids: list[int], learned, related: RelatedPolicy | None,
                 workers: int = 0, ahead: Ahead | None = None) -> int:
    """Classify every queued report of `ids`, open their cases with a few flushes for the whole batch
    (the inserts of a kind go out together, the recusal scan reads the staff's names once), take them
    all off the queue and commit once. Reports already routed or gone are only taken off the queue."""
    reports = {r.id: r for r in session.scalars(select(Report).where(Report.id.in_(ids)))}
    routed_before = set(session.scalars(select(Case.report_id).where(Case.report_id.in_(ids))))
    todo = [reports[i] for i in ids if i in reports and i not in routed_before]
    plans, keys = _plans(session, tax, learned, todo, workers, ahead, max(ids), len(ids))
    opened, rules = _opened(session, todo), current_rules()  # read before the cases are added (no autoflush)
    for record, case in plans:
        # the two columns with a server default get their (same) Python defaults here: with every id and
        # every server-defaulted column given, the ORM writes each table's rows with one executemany
        # (casework.batch_ids), instead of one INSERT ... RETURNING per row to fetch them back
        case.next_due_uncertain, case.deadlines_version = False, 0
        session.add_all([record, case])
    assign_ids(session, (Case, Classification, CaseUnit))
    # the deadlines before the first flush: each case goes out with its next due date, not INSERTed and
    # then UPDATEd (on PostgreSQL that UPDATE also rewrote every new case's search row by trigger). Their
    # rows wait for the second flush: the flush orders tables by relationship, and they have none to cases
    deadlines = [sync_deadlines(session, case, rules=rules, opened=opened[report.id])
                 for report, (_record, case) in zip(todo, plans)]
    for row in (row for rows in deadlines for row in rows):
        session.expunge(row)
    statuses = [case.status for _record, case in plans]
    with recusal.scans_deferred(session):   # the search entries once, when the cases hold their reports
        session.flush()
    _open_batch(session, todo, plans, related or RelatedPolicy(), keys)
    for report, (_record, case), rows, status in zip(todo, plans, deadlines, statuses):
        if case.status == status:
            session.add_all(rows)
        else:   # registered as a repeat (重复件) on another case: its deadlines for what it is now
            sync_deadlines(session, case, rules=rules, opened=opened[report.id])
    assign_ids(session, (CaseDeadline,))
    session.execute(delete(PendingRouting).where(PendingRouting.report_id.in_(ids)))
    session.commit()
    return len([i for i in ids if i in reports])


def _opened(session: Session, reports: list[Report]) -> dict[int, Opened]:
    """What sync_deadlines needs to know of each new case's report (casework.deadlines.Opened): real name or
    not, and the first open objection filed against its earlier answer, if any."""
    objections: dict[int, datetime] = {}
    for report_id, filed_at in session.execute(
            select(ReportObjection.report_id, ReportObjection.filed_at)
            .where(ReportObjection.report_id.in_([r.id for r in reports]), ReportObjection.state == "open")
            .order_by(ReportObjection.id.desc())):
        objections[report_id] = filed_at   # the first open one (the lowest id) wins
    return {r.id: Opened(not r.anonymous, objections.get(r.id)) for r in reports}


def route_unrouted(session: Session, tax: Taxonomy, learned: LearnedModel | None = None,
                   related: RelatedPolicy | None = None, workers: int = 0) -> int:
    """Route every queued report (`flask routing sweep`); the number taken from the queue. Stops when
    a pass leaves the queue as it was (a report that keeps failing is left for the next sweep). With
    `workers` >= 2 as the routing job: classified in routing.pool, the next batch while one is written."""
    total, left, ahead = 0, _queued(session), Ahead()
    try:
        while left:
            total += route_pending(session, tax, learned, related=related, workers=workers, ahead=ahead)
            before, left = left, _queued(session)
            if left >= before:
                break
    finally:
        ahead.discard()
    return total


def _queued(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(PendingRouting))


def correct_routing(session: Session, tax: Taxonomy, case: Case, *, reason: str, by: str,
                    item=UNCHANGED, lead_unit: str | None = None, by_user_id: int | None = None,
                    related: RelatedPolicy | None = None) -> RoutingCorrection:
    """A person sets the item (a code, or None for 'not about the campaign') and/or the lead unit.
    Without an explicit lead the matrix decides from the new item. The reason is kept. The case's related
    reports are found again under its new item and area."""
    reason = (reason or "").strip()
    if not reason:
        raise CorrectionError("a reason is required")
    if item is not UNCHANGED and item is not None and item not in tax.items:
        raise CorrectionError(f"unknown item {item!r}")
    if lead_unit is not None and lead_unit not in UNITS:
        raise CorrectionError(f"unknown unit {lead_unit!r}")
    report = case.report
    new_item = case.item_code if item is UNCHANGED else item
    if new_item is None:
        lead, assist = tax.matrix.triage_unit, []
    else:
        lead, assist = units_for_item(tax, new_item, title=report.title, text=report.text,
                                      accused=accused_of(report))
    excluded = excluded_units(session, case)  # 防止"灯下黑": the matrix never hands the case back
    lead, assist = route_around(lead, assist, excluded)
    if lead_unit is not None:
        if lead_unit in excluded:
            raise CorrectionError(f"the case accuses the leadership of {lead_unit}: a coordinator must first "
                                  "state why that unit may work it")
        lead = lead_unit
    correction = RoutingCorrection(case_id=case.id, corrected_by=by[:100], corrected_by_user_id=by_user_id,
                                   reason=reason, old_item=case.item_code, new_item=new_item,
                                   item_changed=item is not UNCHANGED, old_lead=case.lead_unit, new_lead=lead)
    case.item_code = new_item
    case.area = tax.items[new_item].area if new_item else None
    case.in_scope = new_item is not None or lead != tax.matrix.triage_unit
    case.transfer_suggested = False
    _set_units(case, lead, assist)
    if case.status == "triage" and lead != tax.matrix.triage_unit:
        case.status = "to_accept"
    elif lead == tax.matrix.triage_unit and case.status == "to_accept":
        case.status = "triage"
    case.routing_reason = f"由{by[:60]}更正：{reason}"[:500]
    case.updated_at = utcnow()
    session.add(correction)
    sync_deadlines(session, case)  # an item or unit with its own time limits moves the due dates
    refresh_quietly(session, related, case)
    session.commit()
    return correction
