"""The rules every case action shares: its named errors, who may act on a case, the reporter's
public status derived from the case, and the checks on typed input. No Flask here."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.access import visible_clause
from casework.deadlines import sync_deadlines
from casework.models import Case, CaseReport
from casework.related_models import CaseRepeat
from casework.states import OPEN_STATUSES, SUPERVISOR_ROLES, TASKFORCE, WORKER_ROLES  # noqa: F401 (shared names)
from core.accounts import User
from core.audit import record
from core.db import utcnow
from core.localtime import local_today  # the district's calendar decides what "in the future" means
from core.roles import CASE_ROLES
from intake.models import Report
from intake.status import set_public_status
from intake.text import clean_line, clean_text


class CaseActionError(Exception):
    """A case action that was refused; `code` is stable (the web layer maps it to a message)."""
    code = "case_action_error"

    def __init__(self, message: str = "", **detail):
        super().__init__(message or self.code)
        self.detail = detail


class NotAllowed(CaseActionError):
    code = "not_allowed"


class InvalidState(CaseActionError):
    code = "invalid_state"


class MissingInput(CaseActionError):
    code = "missing_input"


class InvalidInput(CaseActionError):
    """A value was given but is not acceptable (unknown code, future date, too long)."""
    code = "invalid_input"


class NamedInCase(NotAllowed):
    """The person is named in one of the case's reports: they never ask for, decide on or see the
    reporter's identity (even when a coordinator lifted their recusal as a namesake)."""
    code = "named_in_case"


class NoRealName(NotAllowed):
    """An account without a real name on record cannot be assigned cases (nor see any)."""
    code = "no_real_name"


class UnitExcluded(NotAllowed):
    """The case accuses the leadership of that unit (防止"灯下黑"): it may not lead, assist or see it
    unless a coordinator first states why it may."""
    code = "unit_excluded"


# --- who may act ---------------------------------------------------------------------------------

def can_see(session: Session, user: User | None, case: Case) -> bool:
    """The user may see the case: an active staff member of a unit on it (or of the task force),
    not named as its accused. Goes through casework.access like every staff read."""
    if user is None or not getattr(user, "active", False) or user.role not in CASE_ROLES or case.id is None:
        return False
    return session.scalar(select(Case.id).where(Case.id == case.id, visible_clause(session, user))) is not None


def require_visible(session: Session, actor: User, case: Case) -> None:
    if not can_see(session, actor, case):
        raise NotAllowed("the case is not visible to this user")


def is_supervisor(actor: User, case: Case) -> bool:
    """Coordinators and admins on every case; a unit head on the cases the unit leads."""
    return actor.role in SUPERVISOR_ROLES or (actor.role == "unit_head" and actor.unit_code == case.lead_unit)


def require_supervisor(session: Session, actor: User, case: Case) -> None:
    require_visible(session, actor, case)
    if not is_supervisor(actor, case):
        raise NotAllowed("only the lead unit's head or the task force may do this")


def is_worker(actor: User, case: Case, *, unassigned_ok: bool = False) -> bool:
    """A supervisor, the assigned handler, or (unassigned_ok) a handler of the lead unit while the
    case has no handler. Assisting units only view."""
    if is_supervisor(actor, case):
        return True
    if actor.role not in WORKER_ROLES or actor.unit_code not in (case.lead_unit, TASKFORCE):
        return False
    if case.handler_id is not None:
        return case.handler_id == actor.id
    return unassigned_ok and actor.unit_code == case.lead_unit


def require_worker(session: Session, actor: User, case: Case, *, unassigned_ok: bool = False) -> None:
    require_visible(session, actor, case)
    if not is_worker(actor, case, unassigned_ok=unassigned_ok):
        raise NotAllowed("only the assigned handler, the lead unit's head or the task force may do this")


def require_status(case: Case, *statuses: str) -> None:
    if case.status not in statuses:
        raise InvalidState(f"not possible while the case is {case.status}", status=case.status)


def lock(session: Session, case: Case) -> Case:
    """Reload the case under a row lock (PostgreSQL) so that two people's actions do not interleave."""
    if case.id is not None:
        session.refresh(case, with_for_update=True)
    return case


# --- what the reporter sees ----------------------------------------------------------------------

def public_status_for(case: Case) -> str | None:
    """The public status that every report of the case shows; None for a merged case (it holds none)."""
    if case.status in ("triage", "to_accept"):
        return "received"
    if case.status == "in_progress":
        return "in_progress" if (case.plan_deadline is not None or case.findings) else "accepted"
    if case.status in ("closed", "transferred"):
        return "closed"
    if case.status == "not_accepted":
        return "not_accepted"
    return None


def _held_by(case: Case):
    return (select(Report).join(CaseReport, CaseReport.report_id == Report.id)
            .where(CaseReport.case_id == case.id).order_by(Report.id))


def case_reports(session: Session, case: Case) -> list[Report]:
    return list(session.scalars(_held_by(case)))


def answered_reports(session: Session, case: Case) -> list[Report]:
    """The reports of the case whose receipts follow it (status, result, rating, objection): all but those
    registered automatically as repeats (重复件). A repeat is matched on contact details nobody verified,
    so mirroring the case to its receipt would let anyone who knows a reporter's phone and words read
    that reporter's case; it is registered and kept, and not answered again as new (检举控告工作规则)."""
    repeats = select(CaseRepeat.report_id).where(CaseRepeat.case_id == case.id)
    return list(session.scalars(_held_by(case).where(Report.id.not_in(repeats))))


def sync_public_status(session: Session, case: Case) -> list[int]:
    """Set the public status of every report the case answers (answered_reports); the ids that changed."""
    status = public_status_for(case)
    if status is None:
        return []
    session.flush()
    changed = []
    for report in answered_reports(session, case):
        if set_public_status(session, report, status):
            session.expire(report, ["status_history"])  # sessions keep objects after commit: no stale history
            changed.append(report.id)
    return changed


# --- typed input ---------------------------------------------------------------------------------

def required_text(value, limit: int | None = None, *, line: bool = False, field: str = "") -> str:
    text = (clean_line if line else clean_text)(value or "")
    if not text:
        raise MissingInput(f"{field or 'a text'} is required", field=field, problem="required")
    if limit is not None and len(text) > limit:
        raise InvalidInput(f"{field or 'the text'} is longer than {limit} characters", field=field, problem="too_long")
    return text


def optional_text(value, limit: int | None = None, *, line: bool = False, field: str = "") -> str:
    text = (clean_line if line else clean_text)(value or "")
    if limit is not None and len(text) > limit:
        raise InvalidInput(f"{field or 'the text'} is longer than {limit} characters", field=field, problem="too_long")
    return text


def past_date(value, *, field: str = "", required: bool = True) -> date | None:
    """A date that is not in the future (today counts)."""
    if value is None or value == "":
        if required:
            raise MissingInput(f"{field or 'a date'} is required", field=field, problem="required")
        return None
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        raise InvalidInput(f"{field or 'the date'} is not a date", field=field, problem="not_a_date")
    if value > local_today():
        raise InvalidInput(f"{field or 'the date'} is in the future", field=field, problem="future")
    return value


# --- the end of every action ---------------------------------------------------------------------

def commit_action(session: Session, action: str, actor: User, case: Case, *, report_id: int | None = None,
                  **detail) -> None:
    """Bring the reporters' public status and the case's deadlines in line with the case, write the
    audit event, commit."""
    case.updated_at = utcnow()
    sync_deadlines(session, case)
    status = public_status_for(case)
    changed = sync_public_status(session, case)
    if changed:
        detail.update(public_status=status, reports_updated=changed)
    record(session, action, actor=actor, case_id=case.id, report_id=report_id or case.report_id, **detail)
    session.commit()
