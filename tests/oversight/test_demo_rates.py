"""A newcomer's dashboard after `demo seed`: the three rates count the decisions the demo cases went through,
not only the limits still open (which are the late ones): the response rate is neither 0 % nor undefined."""
from sqlalchemy import func, select

from casework.deadline_models import CaseDeadline
from casework.models import Case
from core.localtime import local_date, local_today
from demo.seed import seed
from oversight.rates import CAMPAIGN_START, three_rates


def test_demo_cases_carry_their_past_deadlines_and_the_rates_show_something(app, session):
    with app.app_context():
        seed(session, app.extensions["intake"], 60, random_seed=3)
    today = local_today()
    accepted = session.scalar(select(func.count()).select_from(Case).where(Case.accepted_at.is_not(None)))
    met = session.scalars(select(CaseDeadline).where(CaseDeadline.state == "met", CaseDeadline.stage == "acceptance"))
    met = list(met)
    assert accepted and len(met) == accepted  # one decided acceptance per accepted case
    for row in met:
        case = session.get(Case, row.case_id)
        assert row.ended_at == case.accepted_at and row.starts_on <= local_date(row.ended_at) <= today
    rates = three_rates(session, CAMPAIGN_START, today, today)
    response, on_time = rates.overall.response, rates.overall.on_time
    assert response.denominator >= accepted and 0 < response.numerator < response.denominator + 1
    assert on_time.denominator > 0 and on_time.numerator > 0
