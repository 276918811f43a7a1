"""Who works a case: assigning a handler (one or many cases), asking a unit to assist, transferring
the lead to another unit of the task force, and referring the case outside it (移送)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.access import is_recused
from casework.models import Case, CaseUnit, Referral
from casework.recusal_models import Recusal, StaffNameKey
from casework.results import check_result_text, write_results
from casework.rules import (
    OPEN_STATUSES,
    TASKFORCE,
    WORKER_ROLES,
    InvalidInput,
    InvalidState,
    MissingInput,
    NoRealName,
    NotAllowed,
    UnitExcluded,
    can_see,
    commit_action,
    lock,
    optional_text,
    past_date,
    require_status,
    require_supervisor,
    require_worker,
    required_text,
)
from casework.walls import excluded_units, wall_of
from core.accounts import User
from core.audit import record
from core.db import utcnow
from core.units import EXTERNAL_TARGETS, UNIT_CODES, Unit
from routing.names import name_key

NOTE_LIMIT = 5000


def check_assignable(session: Session, case: Case, handler: User | None) -> None:
    """An active handler or unit head of the lead unit (or of the task force), not named as the accused."""
    if handler is None:
        raise MissingInput("a handler is required", field="handler")
    if not handler.active or handler.role not in WORKER_ROLES:
        raise NotAllowed("only an active handler or unit head can be assigned", field="handler")
    if handler.unit_code not in (case.lead_unit, TASKFORCE):
        raise NotAllowed("the handler must belong to the lead unit", field="handler")
    if handler.lacks_real_name:
        raise NoRealName("the handler has no real name on record", field="handler")
    if is_recused(session, handler, case):
        raise NotAllowed("the handler is named in the case and must stay out of it", field="handler")
    if not can_see(session, handler, case):  # the handler's unit's leadership is accused, coordinators only
        raise NotAllowed("the case may not be seen by this handler", field="handler")


def assignable_among(session: Session, case: Case, handlers: list[User]) -> list[User]:
    """Those of `handlers` that check_assignable would accept, found with three queries instead of a few
    per handler (the case page's list; assigning still goes through check_assignable)."""
    wall = wall_of(session, case)
    if wall is not None and wall.coordinators_only and wall.lifted_at is None:
        return []  # coordinators only: nobody can be given it
    ids = [h.id for h in handlers]
    recused = set(session.scalars(select(Recusal.user_id).where(Recusal.case_id == case.id,
                                                                Recusal.lifted_at.is_(None))))
    keys = dict(session.execute(select(StaffNameKey.user_id, StaffNameKey.name_key)
                                .where(StaffNameKey.user_id.in_(ids))).all()) if ids else {}
    excluded = excluded_units(session, case)
    return [h for h in handlers if h.active and h.role in WORKER_ROLES and h.unit_code in (case.lead_unit, TASKFORCE)
            and h.unit_code not in excluded and h.id not in recused and not h.lacks_real_name
            and keys.get(h.id) == name_key(h.display_name)]


def _check_assignment(session: Session, actor: User, case: Case, handler: User | None) -> None:
    lock(session, case)
    require_supervisor(session, actor, case)
    require_status(case, *OPEN_STATUSES)
    check_assignable(session, case, handler)


def assign(session: Session, actor: User, case: Case, handler: User) -> Case:
    _check_assignment(session, actor, case, handler)
    previous = case.handler_id
    case.handler_id = handler.id
    commit_action(session, "case.assigned", actor, case, handler_id=handler.id, handler=handler.label(),
                  previous_handler_id=previous)
    return case


def bulk_assign(session: Session, actor: User, cases: list[Case], handler: User) -> int:
    """Assign every case or none: each is checked before any is changed. The number assigned."""
    unique = list({c.id: c for c in cases}.values())
    if not unique:
        raise MissingInput("choose at least one case", field="cases")
    for case in unique:
        _check_assignment(session, actor, case, handler)
    now = utcnow()
    for case in unique:
        previous = case.handler_id
        case.handler_id, case.updated_at = handler.id, now
        record(session, "case.assigned", actor=actor, case_id=case.id, report_id=case.report_id,
               handler_id=handler.id, handler=handler.label(), previous_handler_id=previous, bulk=True)
    session.commit()
    return len(unique)


def known_unit(session: Session, unit_code: str) -> str:
    unit_code = (unit_code or "").strip()
    if not unit_code:
        raise MissingInput("a unit is required", field="unit")
    if unit_code not in UNIT_CODES or session.get(Unit, unit_code) is None:
        raise InvalidInput(f"unknown unit {unit_code!r}", field="unit")
    return unit_code


def _not_excluded(session: Session, case: Case, unit_code: str) -> None:
    """防止"灯下黑": never hand the case to a unit whose leadership it accuses (a coordinator first
    lifts that wall, stating why: casework.walls.lift)."""
    if unit_code in excluded_units(session, case):
        raise UnitExcluded(f"the case accuses the leadership of {unit_code}", field="unit", unit=unit_code)


def request_assistance(session: Session, actor: User, case: Case, unit_code: str, note: str = "") -> Case:
    """Another unit assists (it then sees the case; it does not change it)."""
    lock(session, case)
    require_worker(session, actor, case)
    require_status(case, *OPEN_STATUSES)
    unit_code = known_unit(session, unit_code)
    note = optional_text(note, NOTE_LIMIT, field="note")
    if unit_code == case.lead_unit or unit_code in case.assist_units:
        raise InvalidState(f"{unit_code} already works on this case", status=case.status)
    _not_excluded(session, case, unit_code)
    case.units.append(CaseUnit(unit_code=unit_code, role="assist"))
    commit_action(session, "case.assistance_requested", actor, case, unit=unit_code, reason=note)
    return case


def move_lead(case: Case, unit_code: str, session: Session) -> None:
    """The lead goes to `unit_code` (an assisting unit keeps its row, made lead); the handler is cleared."""
    _not_excluded(session, case, unit_code)  # 防止"灯下黑": on every path that moves the lead
    for row in [u for u in case.units if u.role == "lead"]:
        case.units.remove(row)
    session.flush()
    existing = next((u for u in case.units if u.unit_code == unit_code), None)
    if existing is not None:
        existing.role = "lead"
    else:
        case.units.append(CaseUnit(unit_code=unit_code, role="lead"))
    case.lead_unit, case.handler_id = unit_code, None


def transfer(session: Session, actor: User, case: Case, unit_code: str, reason: str) -> Case:
    """Move the lead to another unit of the task force. The handler is cleared (the new unit assigns);
    assisting units stay, except the new lead. A triage case with a member unit lead is to accept."""
    lock(session, case)
    require_supervisor(session, actor, case)
    require_status(case, *OPEN_STATUSES)
    unit_code = known_unit(session, unit_code)
    reason = required_text(reason, NOTE_LIMIT, field="reason")
    old_lead = case.lead_unit
    if unit_code == old_lead:
        raise InvalidState(f"{unit_code} already leads this case", status=case.status)
    previous_handler = case.handler_id
    move_lead(case, unit_code, session)
    if case.status == "triage" and unit_code != TASKFORCE:
        case.status = "to_accept"
    commit_action(session, "case.transferred", actor, case, from_unit=old_lead, to_unit=unit_code, reason=reason,
                  previous_handler_id=previous_handler)
    return case


def refer(session: Session, actor: User, case: Case, target: str, referred_on: date, document_no: str,
          note: str = "", *, result: str = "") -> Referral:
    """移送 to discipline inspection or the police (with the document number: the case goes on), or
    `transfer` out of the district's jurisdiction (the case ends as "transferred", public "closed")."""
    lock(session, case)
    require_supervisor(session, actor, case)
    require_status(case, *OPEN_STATUSES)
    target = (target or "").strip()
    if not target:
        raise MissingInput("a target is required", field="target")
    if target not in EXTERNAL_TARGETS:
        raise InvalidInput(f"unknown referral target {target!r}", field="target")
    referred_on = past_date(referred_on, field="referred_on")
    document_no = optional_text(document_no, 100, line=True, field="document_no")
    if target in ("discipline", "police") and not document_no:
        raise MissingInput("the referral's document number is required", field="document_no")
    note = optional_text(note, NOTE_LIMIT, field="note")
    if target == "transfer":  # the case ends here: the reporter is told in words (casework.results)
        result = check_result_text(session, case, result)
    pending = session.scalar(select(Referral).where(Referral.case_id == case.id, Referral.target == target,
                                                    Referral.document_no == "")) if target == "discipline" else None
    if pending is not None:  # routing opened it for discipline inspection: its document number follows
        referral = pending
        referral.referred_on, referral.document_no = referred_on, document_no
        referral.note = "\n".join(n for n in (referral.note, note) if n)
    else:
        referral = Referral(case_id=case.id, target=target, referred_on=referred_on, document_no=document_no,
                            note=note)
        session.add(referral)
    if target == "transfer":
        case.status, case.closed_at = "transferred", utcnow()
        write_results(session, case, "transferred", result, actor.id)
    if target == "police":
        case.police_referral_proposed_on = None  # the proposed referral is decided
    session.flush()
    commit_action(session, "case.referred", actor, case, target=target, referral_id=referral.id,
                  referred_on=referred_on.isoformat(), document_no=document_no, reason=note)
    return referral
