"""Who may see and do what: the one place every staff view, download and export goes through.

A unit's users see the cases their unit leads or assists; the task force sees all. Three walls stand
in front of that (each one uncorrelated, indexed look-up):
  - recusal: a person named anywhere in a case's reports (casework.recusal) never sees it, until a
    coordinator lifts it for them with a reason;
  - 防止"灯下黑": a unit whose leadership the case accuses never sees it (casework.walls);
  - a case that accuses the task force's own leader or deputy is seen by coordinators only.
An account without a real name (or whose name was changed without its recusals being brought up to
date) sees no case at all. Clerks register reports; they do not browse cases."""
from __future__ import annotations

from flask import abort
from sqlalchemy import and_, event, false, func, select, true, union, union_all
from sqlalchemy.orm import Session

import casework.recusal  # noqa: F401 (registers the ORM events that keep the recusals up to date)
import casework.search  # noqa: F401 (registers the ORM events that keep the search index up to date)
from casework.models import Case, CaseUnit
from casework.recusal_models import CaseExcludedUnit, CaseWall, Recusal, StaffNameKey
from core.accounts import User
from core.roles import CASE_ROLES
from intake.models import Report
from routing.names import is_real_name, name_key

COORDINATOR = "coordinator"  # the only role that sees a case about the task force's own leadership


_CURRENT_NAMES = "current_names"  # session.info: (user id, name) -> bool, until the next flush, commit or rollback


def has_current_name(session: Session, user: User) -> bool:
    """The user has a real name, and their recusals were brought up to date with it. Asked several times a
    request (every clause of a page): looked up once until the session next writes or ends a transaction."""
    if not is_real_name(user.display_name):
        return False
    known = session.info.setdefault(_CURRENT_NAMES, {})
    key = (user.id, user.display_name)
    if key not in known:
        row = session.get(StaffNameKey, user.id)
        known[key] = row is not None and row.name_key == name_key(user.display_name)
    return known[key]


def _forget_names(session: Session, *_args) -> None:
    session.info.pop(_CURRENT_NAMES, None)


for _event in ("after_flush", "after_commit", "after_rollback", "after_soft_rollback"):
    if not event.contains(Session, _event, _forget_names):
        event.listen(Session, _event, _forget_names)


def recused_case_ids(session: Session, user: User):
    """A query of the ids of the cases the user is named in and must stay out of (recusal not lifted)."""
    return select(Recusal.case_id).where(Recusal.user_id == user.id, Recusal.lifted_at.is_(None))


def excluded_case_ids(session: Session, user: User):
    """A query of the ids of the cases that accuse the leadership of the user's unit."""
    return select(CaseExcludedUnit.case_id).where(CaseExcludedUnit.unit_code == user.unit_code,
                                                  CaseExcludedUnit.lifted_at.is_(None))


def coordinators_only_case_ids(session: Session):
    """A query of the ids of the cases that accuse the task force's leader or deputy."""
    return select(CaseWall.case_id).where(CaseWall.coordinators_only.is_(True), CaseWall.lifted_at.is_(None))


def hidden_by_status(session: Session, user: User):
    """A query (status, cases) of the cases the walls hide from the user among those their tabs count (led
    by their unit; any for the task force), each case once, from the walls' rows alone: each row carries
    its case's lead unit and status (casework.recusal_models.CaseCopy, kept by triggers)."""
    parts = [select(Recusal.case_id, Recusal.case_status, Recusal.case_lead_unit)
             .where(Recusal.user_id == user.id, Recusal.lifted_at.is_(None)),
             select(CaseExcludedUnit.case_id, CaseExcludedUnit.case_status, CaseExcludedUnit.case_lead_unit)
             .where(CaseExcludedUnit.unit_code == user.unit_code, CaseExcludedUnit.lifted_at.is_(None))]
    if user.role != COORDINATOR:
        parts.append(select(CaseWall.case_id, CaseWall.case_status, CaseWall.case_lead_unit)
                     .where(CaseWall.coordinators_only.is_(True), CaseWall.lifted_at.is_(None)))
    if not user.is_taskforce:
        parts = [part.where(part.selected_columns[2] == user.unit_code) for part in parts]
    hidden = union(*parts).subquery("hidden")
    return (select(hidden.c.case_status, func.count()).where(hidden.c.case_status.is_not(None))
            .group_by(hidden.c.case_status))


def hidden_clause(session: Session, user: User, column=None):
    """SQL condition, on a case id column (default Case.id), true for cases none of the walls hides
    from the user (recusal, their unit's leadership accused, coordinators only)."""
    column = Case.id if column is None else column
    hidden = [recused_case_ids(session, user), excluded_case_ids(session, user)]
    if user.role != COORDINATOR:
        hidden.append(coordinators_only_case_ids(session))
    return column.not_in(union_all(*hidden))  # one look-up of a few rows, in the same statement (no race)


def hidden_case_ids(session: Session, user: User) -> set[int] | None:
    """The ids of the cases hidden from the user, as a set (reminders look them up once per person and
    pass); None when the user sees no case at all (no real name)."""
    if not has_current_name(session, user):
        return None
    ids = set(session.scalars(recused_case_ids(session, user))) | set(session.scalars(excluded_case_ids(session, user)))
    if user.role != COORDINATOR:
        ids |= set(session.scalars(coordinators_only_case_ids(session)))
    return ids


def may_see_cases(session: Session, user: User) -> bool:
    """An active staff member with a case role and a real name (whose recusals are up to date)."""
    return (bool(getattr(user, "is_authenticated", False)) and bool(getattr(user, "active", False))
            and user.role in CASE_ROLES and has_current_name(session, user))


def visible_clause(session: Session, user: User):
    """SQL condition on Case for the cases `user` may see."""
    if not may_see_cases(session, user):
        return false()
    unit_ok = true() if user.is_taskforce else Case.id.in_(
        select(CaseUnit.case_id).where(CaseUnit.unit_code == user.unit_code))
    return and_(unit_ok, hidden_clause(session, user))


def visible_case_ids_clause(session: Session, user: User, column):
    """SQL condition on a case id column of another table (ledger rows, supervisions): the case is one
    `user` may see. The same rule as visible_clause, without joining the cases table for the task force."""
    if not may_see_cases(session, user):
        return false()
    hidden = hidden_clause(session, user, column)
    if user.is_taskforce:
        return hidden
    return and_(column.in_(select(CaseUnit.case_id).where(CaseUnit.unit_code == user.unit_code)), hidden)


def case_for(session: Session, user: User, reference: str):
    """The case with this reference if `user` may see it; 404 otherwise (no hint that it exists)."""
    case = session.scalar(select(Case).join(Report, Report.id == Case.report_id)
                          .where(Report.reference == reference, visible_clause(session, user)))
    if case is None:
        abort(404)
    return case


def visible_reference(session: Session, user: User, reference: str) -> str | None:
    """The reference, if it is a case's that `user` may see; None otherwise (no hint that it exists)."""
    return session.scalar(select(Report.reference).join(Case, Case.report_id == Report.id)
                          .where(Report.reference == reference, visible_clause(session, user)))


def is_recused(session: Session, user: User, case) -> bool:
    """The user is named in the case and the recusal stands (or has no real name to tell)."""
    if not has_current_name(session, user):
        return True
    return session.scalar(recused_case_ids(session, user).where(Recusal.case_id == case.id)) is not None
