"""Lifting a wall, for one person or one unit on one case, with a reason, audited: a coordinator decides
that a recused staff member is only a namesake of the person a report names, or that a unit whose
leadership the case accuses may work it after all. What the case page's panel shows coordinators."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.models import Case
from casework.recusal_models import CaseExcludedUnit, CaseWall, Recusal
from casework.rules import (
    InvalidInput,
    InvalidState,
    NotAllowed,
    lock,
    require_visible,
    required_text,
)
from casework.states import SUPERVISOR_ROLES
from casework.walls import COORDINATORS_ONLY, excluded_rows, wall_of
from core.accounts import User
from core.audit import record
from core.db import utcnow

REASON_LIMIT = 2000


def _require_coordinator(session: Session, actor: User, case: Case) -> None:
    if actor.role not in SUPERVISOR_ROLES:
        raise NotAllowed("only the task force's coordinators lift a recusal or a wall")
    require_visible(session, actor, case)


def lift_recusal(session: Session, actor: User, case: Case, user_id: int | None, reason: str) -> Recusal:
    """The person recused from the case is a namesake: they may see and work it. They still never ask
    for or see the reporter's identity (casework.reveal)."""
    lock(session, case)
    _require_coordinator(session, actor, case)
    reason = required_text(reason, REASON_LIMIT, field="reason")
    row = session.scalar(select(Recusal).where(Recusal.case_id == case.id, Recusal.user_id == (user_id or 0)))
    if row is None:
        raise InvalidInput("that person is not recused from this case", field="user")
    if row.lifted_at is not None:
        raise InvalidState("the recusal was already lifted", status="lifted")
    if row.user_id == actor.id:
        raise NotAllowed("nobody lifts their own recusal")
    row.lifted_by_id, row.lifted_at, row.lift_reason = actor.id, utcnow(), reason
    record(session, "recusal.lifted", actor=actor, case_id=case.id, report_id=case.report_id, user_id=row.user_id,
           source=row.source, reason=reason)
    session.commit()
    return row


def lift_wall(session: Session, actor: User, case: Case, unit_code: str, reason: str) -> None:
    """An excluded unit may work the case again (transfer, assistance, correction then accept it), or a
    case for coordinators only opens to the task force (unit_code COORDINATORS_ONLY)."""
    lock(session, case)
    _require_coordinator(session, actor, case)
    reason = required_text(reason, REASON_LIMIT, field="reason")
    unit_code = (unit_code or "").strip()
    now = utcnow()
    if unit_code == COORDINATORS_ONLY:
        wall = wall_of(session, case)
        if wall is None or not wall.coordinators_only or wall.lifted_at is not None:
            raise InvalidState("the case is not for coordinators only", status=case.status)
        wall.lifted_by_id, wall.lifted_at, wall.lift_reason = actor.id, now, reason
    else:
        row = next((r for r in excluded_rows(session, case) if r.unit_code == unit_code and r.lifted_at is None), None)
        if row is None:
            raise InvalidInput("that unit is not excluded from this case", field="unit")
        row.lifted_by_id, row.lifted_at, row.lift_reason = actor.id, now, reason
    record(session, "case.wall_lifted", actor=actor, case_id=case.id, report_id=case.report_id, unit=unit_code,
           reason=reason)
    session.commit()


@dataclass
class Panel:
    """What the case page shows coordinators: who is recused and which units are excluded, and why."""
    recusals: list[tuple[Recusal, User]]
    wall: CaseWall | None
    excluded: list[CaseExcludedUnit]
    users: dict[int, User]


def panel(session: Session, case: Case) -> Panel:
    recusals = list(session.execute(select(Recusal, User).join(User, User.id == Recusal.user_id)
                                    .where(Recusal.case_id == case.id).order_by(Recusal.id)).all())
    wall, excluded = wall_of(session, case), excluded_rows(session, case)
    deciders = {r.lifted_by_id for r, _u in recusals} | {e.lifted_by_id for e in excluded}
    if wall is not None:
        deciders.add(wall.lifted_by_id)
    deciders.discard(None)
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(deciders)))} if deciders else {}
    return Panel([tuple(r) for r in recusals], wall, excluded, users)
