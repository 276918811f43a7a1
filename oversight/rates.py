"""The three rates (三率) by which the lead units are judged, per lead unit and overall, for a month or
for the campaign so far. Each comes with its definition, numerator and denominator, so every page and
workbook prints them together. Periods are the district's calendar days (Asia/Shanghai).

- 响应率 (response rate): acceptance decisions made within their limit / acceptance limits that fell in
  the period (a limit falls when its last day is in the period and is past, or the decision was made).
- 按期办结率 (on-time closure rate): handling periods ended within their limit, extensions counted /
  handling limits that fell in the period (same rule).
- 满意率 (satisfaction rate): (满意 + 基本满意) / results rated in the period (online or by 回访), with the
  number rated beside it; and the 复查 requests filed in the period with their outcomes."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.access import visible_case_ids_clause
from casework.deadline_models import CaseDeadline
from casework.models import Case
from core.accounts import User
from core.localtime import local_date, local_midnight_utc
from intake.feedback_models import ReportObjection, ReportRating, ReportResult

CAMPAIGN_START = date(2023, 6, 1)  # the district's work plan; the service keeps counting after the campaign
DEFINITIONS = {
    "response": ("响应率", "Response rate",
                 "受理决定在时限内作出的件数 ÷ 受理时限届满于本期的件数",
                 "acceptance decisions made within their time limit ÷ cases whose acceptance limit fell in the period"),
    "on_time": ("按期办结率", "On-time closure rate",
                "在办理时限（含延期）内办结的件数 ÷ 办理时限届满于本期的件数",
                "cases closed within the handling limit (extensions counted) ÷ cases whose handling limit fell in "
                "the period"),
    "satisfaction": ("满意率", "Satisfaction rate",
                     "（满意 + 基本满意）÷ 本期评价的件数",
                     "(satisfied + basically satisfied) ÷ results rated in the period"),
}


@dataclass
class Rate:
    numerator: int = 0
    denominator: int = 0

    @property
    def percent(self) -> float | None:
        return round(100 * self.numerator / self.denominator, 1) if self.denominator else None


@dataclass
class UnitRates:
    response: Rate = field(default_factory=Rate)
    on_time: Rate = field(default_factory=Rate)
    satisfaction: Rate = field(default_factory=Rate)
    reviews: int = 0
    reviews_reopened: int = 0
    reviews_upheld: int = 0
    reviews_open: int = 0


@dataclass
class ThreeRates:
    start: date          # first day of the period
    end: date            # last day of the period
    overall: UnitRates
    by_unit: dict        # {lead unit code: UnitRates}


def _deadline_rate(session: Session, stage: str, start: date, end: date, today: date,
                   add, seen=()) -> None:
    rows = session.execute(select(CaseDeadline.unit_code, CaseDeadline.state, CaseDeadline.due_on,
                                  CaseDeadline.ended_at)
                           .where(CaseDeadline.stage == stage, CaseDeadline.due_on >= start,
                                  CaseDeadline.due_on <= end, CaseDeadline.state.in_(("open", "met")),
                                  *[clause(CaseDeadline.case_id) for clause in seen])).all()
    for unit, state, due_on, ended_at in rows:
        if state == "open" and due_on >= today:
            continue  # still running: its limit has not fallen yet
        in_time = state == "met" and ended_at is not None and local_date(ended_at) <= due_on
        add(unit, in_time)


def three_rates(session: Session, start: date, end: date, today: date, viewer: User | None = None) -> ThreeRates:
    """The rates for the days start..end (both included). With a `viewer`, the cases hidden from them
    (casework.access) are not counted: a unit head's page must not tell them a hidden case exists."""
    overall, by_unit = UnitRates(), defaultdict(UnitRates)
    seen = [] if viewer is None else [lambda column: visible_case_ids_clause(session, viewer, column)]

    def adder(name):
        def add(unit, good):
            for target in (overall, by_unit[unit]):
                rate = getattr(target, name)
                rate.denominator += 1
                rate.numerator += int(bool(good))
        return add

    _deadline_rate(session, "acceptance", start, end, today, adder("response"), seen)
    _deadline_rate(session, "handling", start, end, today, adder("on_time"), seen)
    lo, hi = local_midnight_utc(start), local_midnight_utc(end + timedelta(days=1))
    add = adder("satisfaction")
    for unit, rating in session.execute(
            select(Case.lead_unit, ReportRating.rating).join(ReportResult, ReportResult.id == ReportRating.result_id)
            .join(Case, Case.id == ReportResult.case_id)
            .where(ReportRating.rated_at >= lo, ReportRating.rated_at < hi, *[clause(Case.id) for clause in seen])):
        add(unit, rating in ("satisfied", "basically_satisfied"))
    for unit, state in session.execute(
            select(Case.lead_unit, ReportObjection.state).join(ReportResult, ReportResult.id == ReportObjection.result_id)
            .join(Case, Case.id == ReportResult.case_id)
            .where(ReportObjection.filed_at >= lo, ReportObjection.filed_at < hi, *[clause(Case.id) for clause in seen])):
        for target in (overall, by_unit[unit]):
            target.reviews += 1
            name = {"reopened": "reviews_reopened", "upheld": "reviews_upheld"}.get(state, "reviews_open")
            setattr(target, name, getattr(target, name) + 1)
    return ThreeRates(start, end, overall, dict(sorted(by_unit.items())))


def one_unit(rates: ThreeRates, unit_code: str) -> ThreeRates:
    """The rates of one lead unit as the period's only figures (a unit head's weekly page)."""
    return ThreeRates(rates.start, rates.end, rates.by_unit.get(unit_code) or UnitRates(), {})


def month_rates(session: Session, month: date, today: date) -> ThreeRates:
    first = month.replace(day=1)
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return three_rates(session, first, last, today)


def campaign_rates(session: Session, today: date) -> ThreeRates:
    return three_rates(session, CAMPAIGN_START, today, today)


def rate_rows(rates: ThreeRates, zh: bool = True) -> list[tuple]:
    """(name, definition, numerator, denominator, percent) for the overall figures, for pages and workbooks."""
    out = []
    for key in ("response", "on_time", "satisfaction"):
        zh_name, en_name, zh_def, en_def = DEFINITIONS[key]
        rate = getattr(rates.overall, key)
        out.append((zh_name if zh else en_name, zh_def if zh else en_def, rate.numerator, rate.denominator,
                    rate.percent))
    return out


def rates_context(session: Session, month: date, today: date) -> dict:
    """What templates/reporting/_rates.html needs, for the month and for the campaign so far."""
    return {"rates_month": month_rates(session, month, today), "rates_campaign": campaign_rates(session, today)}
