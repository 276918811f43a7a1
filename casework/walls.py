"""防止"灯下黑": a case that accuses the leadership of a member unit is never led, assisted or seen by
that unit; one that accuses the task force's own leader or deputy is referred to discipline inspection
and seen by coordinators only. Routing (routing.leadership) finds them; this module stores the wall on
the case when it opens and keeps correcting, transferring, assistance and merging from handing the case
back to an excluded unit (a coordinator lifts a wall with a reason: casework.lifting)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.models import Case, Referral
from casework.recusal_models import CaseExcludedUnit, CaseWall
from casework.states import TASKFORCE
from core.localtime import local_today
from core.units import UNIT_CODES

COORDINATORS_ONLY = "coordinators_only"  # what lifting.lift_wall takes to open a discipline case to the task force


def open_wall(session: Session, case: Case, routing: dict) -> CaseWall | None:
    """Store what routing decided (Routing.to_dict(): excluded_units, discipline, explanation) on a
    case that was just opened; a discipline case gets its referral (document number to follow)."""
    units = [u for u in routing.get("excluded_units") or [] if u != TASKFORCE]
    discipline = bool(routing.get("discipline"))
    closed = discipline or bool(routing.get("coordinators_only"))  # the walls could not be checked: closed
    if not units and not closed:
        return None
    rule = "taskforce_leadership" if discipline else ("unit_leadership" if units else "unchecked")
    wall = CaseWall(case_id=case.id, rule=rule, coordinators_only=closed,
                    reason=(routing.get("explanation") or "")[:2000])
    session.add(wall)
    session.add_all(CaseExcludedUnit(case_id=case.id, unit_code=u) for u in dict.fromkeys(units))
    if discipline:
        session.add(Referral(case_id=case.id, target="discipline", referred_on=local_today(), document_no="",
                             note=wall.reason))
    return wall


def wall_of(session: Session, case: Case) -> CaseWall | None:
    return session.get(CaseWall, case.id)


def excluded_rows(session: Session, case: Case) -> list[CaseExcludedUnit]:
    return list(session.scalars(select(CaseExcludedUnit).where(CaseExcludedUnit.case_id == case.id)
                                .order_by(CaseExcludedUnit.id)))


def excluded_units(session: Session, case: Case) -> set[str]:
    """The units that may not lead, assist or see the case now (walls not lifted). While a case is for
    coordinators only, that is every unit but the task force."""
    units = {r.unit_code for r in excluded_rows(session, case) if r.lifted_at is None}
    wall = wall_of(session, case)
    if wall is not None and wall.coordinators_only and wall.lifted_at is None:
        units |= {u for u in UNIT_CODES if u != TASKFORCE}
    return units


def route_around(lead: str, assist: list[str], excluded: set[str]) -> tuple[str, list[str]]:
    """The matrix's lead and assisting units with the excluded units taken out: the task force leads
    instead of an excluded unit."""
    if lead in excluded:
        lead = TASKFORCE
    return lead, [u for u in assist if u not in excluded and u != lead]


def carry(session: Session, source: Case, into: Case) -> None:
    """A merge: the walls of `source` go with its reports to `into`."""
    wall = wall_of(session, source)
    if wall is None:
        return
    target = wall_of(session, into)
    if target is None:
        session.add(CaseWall(case_id=into.id, rule=wall.rule, coordinators_only=wall.coordinators_only and
                             wall.lifted_at is None, reason=wall.reason))
    elif wall.coordinators_only and wall.lifted_at is None and not (target.coordinators_only and target.lifted_at is None):
        target.rule, target.coordinators_only, target.lifted_at = wall.rule, True, None
        target.reason = f"{wall.reason}\n{target.reason}"[:2000]
    have = {r.unit_code: r for r in excluded_rows(session, into)}
    for row in excluded_rows(session, source):
        if row.lifted_at is not None:
            continue
        if row.unit_code not in have:
            session.add(CaseExcludedUnit(case_id=into.id, unit_code=row.unit_code))
        elif have[row.unit_code].lifted_at is not None:
            have[row.unit_code].lifted_at, have[row.unit_code].lifted_by_id = None, None

