"""The monthly bulletin (月通报): figures for the cases received in a month (their cohort, as they stand
today) — by area, item, lead unit, channel and status; acceptance and closure rates, defined in Cohort;
median days to accept and to close; overdue cases by unit; referrals in the month; and the same cohort
counts for the months before (the trend). Plain data for the page, the .xlsx and the
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

RATE_DEFINITIONS = {  # the same words on the page (translated) and in the .xlsx
    "acceptance": "受理率 = 已受理 ÷（已受理 + 不予受理 + 转办），即已作出受理决定的案件中受理的比例；待决定的不计入",
    "closure": "办结率 = 已销号 ÷ 已受理，即已受理的案件中已销号的比例",
    "median_accept": "从收到举报到受理的天数（自然日）的中位数，本月收到且已受理的案件",
    "median_close": "从受理到销号的天数（自然日）的中位数，本月收到且已销号的案件",
}
COUNTED = ("triage", "to_accept", "in_progress", "closed", "not_accepted", "transferred")  # merged cases count once


@dataclass
class Cohort:
    """The cases of the reports received in one month (district time), as they stand today. Every figure of
    the bulletin's headline and of its trend is one of these, so they cannot disagree:
    received = accepted + not_accepted + transferred + awaiting (a case accepted and later closed is in
    `accepted` and in `closed`)."""
    month: date
    received: int = 0
    accepted: int = 0        # accepted (受理) at any time since
    not_accepted: int = 0    # decided not to accept (不予受理)
    transferred: int = 0     # handed to another authority (转办)
    awaiting: int = 0        # no acceptance decision yet
    closed: int = 0          # of the accepted: closed (销号)

    @property
    def decided(self) -> int:
        return self.accepted + self.not_accepted + self.transferred

    @property
    def acceptance_rate(self) -> float | None:
        """受理率 = accepted / decided (accepted + not accepted + transferred)."""
        return _rate(self.accepted, self.decided)

    @property
    def closure_rate(self) -> float | None:
        """办结率 = closed / accepted."""
        return _rate(self.closed, self.accepted)


@dataclass
class MonthFigures(Cohort):
    by_area: dict = field(default_factory=dict)
    by_item: dict = field(default_factory=dict)
    by_unit: dict = field(default_factory=dict)
    by_channel: dict = field(default_factory=dict)
    by_status: dict = field(default_factory=dict)
    median_days_to_accept: float | None = None   # receipt → acceptance, the month's accepted cases
    median_days_to_close: float | None = None    # acceptance → 销号, the month's closed cases
    overdue_by_unit: dict = field(default_factory=dict)
    referrals: dict = field(default_factory=dict)
    trend: list = field(default_factory=list)  # [Cohort], oldest first; the last is this month's headline

    @property
    def trend_rows(self) -> list[tuple[date, int, int, int]]:
        """(month, received, accepted, closed) of each trend cohort, for the chart."""
        return [(c.month, c.received, c.accepted, c.closed) for c in self.trend]


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


def _cohort_rows(session: Session, month: date):
    start, end = local_midnight_utc(month), local_midnight_utc(next_month(month))
    return session.execute(
        select(Case.status, Case.area, Case.item_code, Case.lead_unit, Case.accepted_at, Case.closed_at,
               Report.channel, Report.received_at)
        .join(Report, Report.id == Case.report_id)
        .where(Report.received_at >= start, Report.received_at < end, Case.status.in_(COUNTED))).all()


def _count(month: date, rows, into: Cohort | None = None) -> Cohort:
    c = into or Cohort(month=month)
    c.received = len(rows)
    c.accepted = sum(1 for r in rows if r.accepted_at is not None)
    c.not_accepted = sum(1 for r in rows if r.accepted_at is None and r.status == "not_accepted")
    c.transferred = sum(1 for r in rows if r.accepted_at is None and r.status == "transferred")
    c.awaiting = c.received - c.decided
    c.closed = sum(1 for r in rows if r.accepted_at is not None and r.status == "closed")
    return c


def cohort(session: Session, month: date) -> Cohort:
    """The one definition of the month's counts (see Cohort)."""
    month = month_start(month)
    return _count(month, _cohort_rows(session, month))


def month_figures(session: Session, month: date, today: date, *, trend_months: int = 6) -> MonthFigures:
    month = month_start(month)
    rows = _cohort_rows(session, month)
    f = _count(month, rows, MonthFigures(month=month))
    f.by_area = _sorted(Counter(r.area or 0 for r in rows))
    f.by_item = dict(sorted(Counter(r.item_code or "—" for r in rows).items()))
    f.by_unit = _sorted(Counter(r.lead_unit for r in rows))
    f.by_channel = _sorted(Counter(r.channel for r in rows))
    f.by_status = _sorted(Counter(r.status for r in rows))
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


def trend(session: Session, last: date, months: int) -> list[Cohort]:
    """The cohorts of `months` months ending with `last`, oldest first (the same counts as the headline)."""
    firsts = [month_start(last)]
    for _ in range(months - 1):
        firsts.insert(0, previous_month(firsts[0]))
    return [cohort(session, first) for first in firsts]
