"""The three rates (三率) on hand-counted fixtures, at a month boundary in the district's local time
(Asia/Shanghai, UTC+8): a limit on the last day of October decided at 23:30 local time is in time and
counts in October; one decided at 00:10 on 1 November is late and still counts in October."""
from datetime import date, datetime

import pytest
from sqlalchemy import delete

from casework.deadline_models import CaseDeadline
from intake.feedback_models import ReportObjection, ReportRating, ReportResult
from oversight.rates import month_rates, rate_rows, three_rates
from tests.support.staff import INSURANCE_TEXT, open_case

TODAY = date(2026, 11, 20)


def utc(y, m, d, hh, mm):  # stored times are naive UTC
    return datetime(y, m, d, hh, mm)


@pytest.fixture
def cases(app, session, ctx):
    made = [open_case(app, session, ctx)[0] for _ in range(3)] + [open_case(app, session, ctx, text=INSURANCE_TEXT)[0]]
    session.execute(delete(CaseDeadline))
    session.commit()
    return made  # three led by health, one by medinsure


def deadline(session, case, stage, due_on, state="met", ended_at=None):
    session.add(CaseDeadline(case_id=case.id, stage=stage, unit_code=case.lead_unit, starts_on=date(2026, 10, 1),
                             due_on=due_on, state=state, ended_at=ended_at, extension_days=0, extension_reason="",
                             paused=0, uncertain=False))


def rated(session, case, rating, at):
    result = ReportResult(report_id=case.report_id, case_id=case.id, kind="closed", text="已处理",
                          decided_on=date(2026, 10, 20))
    session.add(result)
    session.flush()
    session.add(ReportRating(report_id=case.report_id, result_id=result.id, rating=rating, source="web", rated_at=at))
    return result


def test_response_and_on_time_rates_at_the_month_boundary(session, cases):
    a, b, c, m = cases
    oct31 = date(2026, 10, 31)
    deadline(session, a, "acceptance", oct31, ended_at=utc(2026, 10, 31, 15, 30))   # 23:30 local: in time
    deadline(session, b, "acceptance", oct31, ended_at=utc(2026, 10, 31, 16, 10))   # 00:10 on 1 Nov: late
    deadline(session, c, "acceptance", date(2026, 11, 1), ended_at=utc(2026, 10, 30, 2, 0))  # November's
    deadline(session, m, "acceptance", date(2026, 10, 15), state="open")             # never decided: late
    deadline(session, m, "acceptance", date(2026, 10, 10), state="superseded")       # not counted
    deadline(session, a, "handling", oct31, ended_at=utc(2026, 10, 20, 1, 0))        # closed in time
    deadline(session, b, "handling", date(2026, 11, 25), state="open")               # still running: not counted
    session.commit()

    october = month_rates(session, date(2026, 10, 1), TODAY)
    assert (october.overall.response.numerator, october.overall.response.denominator) == (1, 3)
    assert october.overall.response.percent == 33.3
    assert (october.by_unit["health"].response.numerator, october.by_unit["health"].response.denominator) == (1, 2)
    assert (october.by_unit["medinsure"].response.numerator, october.by_unit["medinsure"].response.denominator) == (0, 1)
    assert (october.overall.on_time.numerator, october.overall.on_time.denominator) == (1, 1)
    november = month_rates(session, date(2026, 11, 1), TODAY)
    assert (november.overall.response.numerator, november.overall.response.denominator) == (1, 1)
    assert november.overall.on_time.denominator == 0 and november.overall.on_time.percent is None
    # the campaign so far holds both months
    campaign = three_rates(session, date(2023, 6, 1), TODAY, TODAY)
    assert (campaign.overall.response.numerator, campaign.overall.response.denominator) == (2, 4)
    rows = rate_rows(october)
    assert rows[0][:4] == ("响应率", "受理决定在时限内作出的件数 ÷ 受理时限届满于本期的件数", 1, 3)


def test_satisfaction_counts_satisfied_and_basically_satisfied_over_rated(session, cases):
    a, b, c, m = cases
    rated(session, a, "satisfied", utc(2026, 10, 31, 15, 59))            # 23:59 local, 31 Oct: October
    rated(session, b, "basically_satisfied", utc(2026, 10, 10, 3, 0))    # October
    rated(session, c, "unsatisfied", utc(2026, 10, 31, 16, 30))          # 00:30 local, 1 Nov: November
    result = rated(session, m, "unsatisfied", utc(2026, 10, 5, 3, 0))    # October, medinsure
    session.add(ReportObjection(report_id=m.report_id, result_id=result.id, text="请复查", state="upheld",
                                filed_at=utc(2026, 10, 6, 3, 0)))
    session.commit()
    october = month_rates(session, date(2026, 10, 1), TODAY)
    s = october.overall.satisfaction
    assert (s.numerator, s.denominator, s.percent) == (2, 3, 66.7)
    assert (october.by_unit["health"].satisfaction.numerator, october.by_unit["health"].satisfaction.denominator) == (2, 2)
    assert (october.overall.reviews, october.overall.reviews_upheld, october.by_unit["medinsure"].reviews) == (1, 1, 1)
    november = month_rates(session, date(2026, 11, 1), TODAY)
    assert (november.overall.satisfaction.numerator, november.overall.satisfaction.denominator) == (0, 1)
