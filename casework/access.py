"""Who may see and do what: the one place every staff view, download and export goes through.

A unit's users see the cases their unit leads or assists; the task force sees all. A user whose
name and unit match the accused of a report never sees, is assigned or acts on that case (recusal:
no 灯下黑). Clerks register reports; they do not browse cases."""
from __future__ import annotations

from flask import abort
from sqlalchemy import and_, false, not_, or_, select, true
from sqlalchemy.orm import Session

from casework.models import Case, CaseReport, CaseUnit
from core.accounts import User
from core.roles import CASE_ROLES
from core.units import Unit
from intake.models import Report


def unit_aliases(session: Session, unit_code: str) -> list[str]:
    """Words by which a report may name the user's unit (full and short names)."""
    unit = session.get(Unit, unit_code)
    names = [unit.name] if unit else []
    short = {"health": ["卫健局", "卫生健康局", "卫生局"], "market": ["市场监管局", "市场监督管理局", "市场所"],
             "medinsure": ["医保中心", "医保分中心", "医保局"], "police": ["公安", "派出所"], "audit": ["审计局"],
             "taskforce": ["工作专班", "卫健局", "卫生健康局"]}
    return names + short.get(unit_code, [])


def recused_case_ids(session: Session, user: User):
    """A query of the ids of the cases the user must stay out of (named as the accused), or None when
    the user has no real name to match. Not correlated: the database finds the (few) cases naming the user
    once, by the accused_name index. Names are stored trimmed (intake.text.clean_line)."""
    name = (user.display_name or "").strip()
    if len(name) < 2:
        return None
    aliases = unit_aliases(session, user.unit_code)
    institution_matches = or_(Report.accused_institution == "",
                              *[Report.accused_institution.contains(a) for a in aliases])
    return select(CaseReport.case_id).join(Report, Report.id == CaseReport.report_id).where(
        Report.accused_name == name, institution_matches)


def recusal_clause(session: Session, user: User):
    """SQL condition true for cases the user must stay out of (named as the accused)."""
    ids = recused_case_ids(session, user)
    return false() if ids is None else _case_id_column().in_(ids)


def _case_id_column():
    return Case.id


def visible_clause(session: Session, user: User):
    """SQL condition on Case for the cases `user` may see."""
    if not user.is_authenticated or user.role not in CASE_ROLES:
        return false()
    unit_ok = true() if user.is_taskforce else _case_id_column().in_(
        select(CaseUnit.case_id).where(CaseUnit.unit_code == user.unit_code))
    return and_(unit_ok, not_(recusal_clause(session, user)))


def case_for(session: Session, user: User, reference: str):
    """The case with this reference if `user` may see it; 404 otherwise (no hint that it exists)."""
    case = session.scalar(select(Case).join(Report, Report.id == Case.report_id)
                          .where(Report.reference == reference, visible_clause(session, user)))
    if case is None:
        abort(404)
    return case


def is_recused(session: Session, user: User, case) -> bool:
    ids = recused_case_ids(session, user)
    if ids is None:  # no real name to match: nothing to look up
        return False
    return case.id in set(session.scalars(ids))
