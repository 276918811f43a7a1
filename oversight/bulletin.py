"""The monthly bulletin (月通报): figures for the cases received in a month — by area, item, lead unit,
channel and status; acceptance and closure rates; median days to accept and to close; overdue cases by
unit; referrals; and the trend over the months before. Plain data for the page, the .xlsx and the
dashboard. Never any reporter identity: only case facts are read."""
from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casework.deadline_models import CaseDeadline
from casework.models import Case, Referral
from core.localtime import local_midnight_utc
from intake.models import Report

COUNTED = ("triage", "to_accept", "in_progress", "closed", "not_accepted", "transferred")  # merged cases count once


@dataclass
class MonthFigures:
    month: date                       # the first day
    received: int = 0
    by_area: dict = field(default_factory=dict)
    by_item: dict = field(default_factory=dict)
    by_unit: dict = field(default_factory=dict)
    by_channel: dict = field(default_factory=dict)
    by_status: dict = field(default_factory=dict)
    accepted: int = 0
    not_accepted: int = 0
    closed: int = 0
    acceptance_rate: float | None = None   # accepted / decided
    closure_rate: float | None = None      # closed / accepted
    median_days_to_accept: float | None = None
    median_days_to_close: float | None = None
    overdue_by_unit: dict = field(default_factory=dict)
    referrals: dict = field(default_factory=dict)
    trend: list = field(default_factory=list)  # [(month, received, accepted, closed)], oldest first


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def previous_month(day: date) -> date:
    return date(day.year - (day.month == 1), (day.month - 2) % 12 + 1, 1)


def _days(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 86400


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _sorted(counter: Counter) -> dict:
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0]))))


def month_figures(session: Session, month: date, today: date, *, trend_months: int = 6) -> MonthFigures:
    month = month_start(month)
    start, end = local_midnight_utc(month), local_midnight_utc(next_month(month))
    rows = session.execute(
        select(Case.status, Case.area, Case.item_code, Case.lead_unit, Case.accepted_at, Case.closed_at,
               Report.channel, Report.received_at)
        .join(Report, Report.id == Case.report_id)
        .where(Report.received_at >= start, Report.received_at < end, Case.status.in_(COUNTED))).all()
    f = MonthFigures(month=month, received=len(rows))
    f.by_area = _sorted(Counter(r.area or 0 for r in rows))
    f.by_item = dict(sorted(Counter(r.item_code or "—" for r in rows).items()))
    f.by_unit = _sorted(Counter(r.lead_unit for r in rows))
    f.by_channel = _sorted(Counter(r.channel for r in rows))
    f.by_status = _sorted(Counter(r.status for r in rows))
    f.accepted = sum(1 for r in rows if r.accepted_at is not None)
    f.not_accepted = sum(1 for r in rows if r.status == "not_accepted")
    f.closed = sum(1 for r in rows if r.status == "closed")
    f.acceptance_rate = _rate(f.accepted, f.accepted + f.not_accepted)
    f.closure_rate = _rate(f.closed, f.accepted)
    to_accept = [_days(r.received_at, r.accepted_at) for r in rows if r.accepted_at is not None]
    to_close = [_days(r.accepted_at, r.closed_at) for r in rows
                if r.status == "closed" and r.accepted_at is not None and r.closed_at is not None]
    f.median_days_to_accept = round(statistics.median(to_accept), 1) if to_accept else None
    f.median_days_to_close = round(statistics.median(to_close), 1) if to_close else None
    f.overdue_by_unit = overdue_by_unit(session, min(today, next_month(month)))
    f.referrals = dict(session.execute(
        select(Referral.target, func.count()).where(Referral.referred_on >= month,
                                                    Referral.referred_on < next_month(month))
        .group_by(Referral.target)).all())
    f.trend = trend(session, month, trend_months)
    return f


def overdue_by_unit(session: Session, as_of: date) -> dict:
    """Cases with a deadline still open and past on `as_of`, by lead unit."""
    rows = session.execute(select(Case.lead_unit, func.count(func.distinct(Case.id)))
                           .join(CaseDeadline, CaseDeadline.case_id == Case.id)
                           .where(CaseDeadline.state == "open", CaseDeadline.due_on < as_of)
                           .group_by(Case.lead_unit)).all()
    return _sorted(Counter({unit: int(n) for unit, n in rows}))


def trend(session: Session, last: date, months: int) -> list[tuple[date, int, int, int]]:
    """(month, received, accepted, closed) for `months` months ending with `last`, oldest first."""
    firsts = [month_start(last)]
    for _ in range(months - 1):
        firsts.insert(0, previous_month(firsts[0]))
    out = []
    for first in firsts:
        start, end = local_midnight_utc(first), local_midnight_utc(next_month(first))
        received = session.scalar(select(func.count()).select_from(Case).join(Report, Report.id == Case.report_id)
                                  .where(Report.received_at >= start, Report.received_at < end,
                                         Case.status.in_(COUNTED)))
        accepted = session.scalar(select(func.count()).select_from(Case)
                                  .where(Case.accepted_at >= start, Case.accepted_at < end))
        closed = session.scalar(select(func.count()).select_from(Case)
                                .where(Case.closed_at >= start, Case.closed_at < end, Case.status == "closed"))
        out.append((first, int(received or 0), int(accepted or 0), int(closed or 0)))
    return out
