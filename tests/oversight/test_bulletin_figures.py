"""Issue 17, point 4: the bulletin's figures add up, the headline and the trend come from one definition,
and a case received in one month and closed in another counts where it was received. Every figure below is
counted by hand from the cases built here (district time, Asia/Shanghai = UTC+8)."""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import openpyxl
import pytest

from casework import workflow as casework
from oversight.bulletin import cohort, month_figures
from oversight.xlsx import write_bulletin
from tests.support.staff import Team, open_case

TEXTS = ["区人民医院外科医生张某收受患者红包五千元，手术前暗示家属不给红包就往后排。",
         "区中医院医生李某收受患者家属红包三千元，不给红包就拖延安排床位。",
         "区妇幼保健院医生王某收受产妇家属红包两千元，暗示不给就不好好接生。",
         "某社区卫生服务中心医生赵某收受红包一千元，多次向患者家属索要。",
         "区人民医院医生陈某收受患者红包四千元，不给就不安排手术。",
         "区人民医院医生周某收受红包六千元，还向家属暗示要表示。"]


@pytest.fixture
def march_and_april(app, session, ctx):
    """A  received 03-03 10:00, accepted 2 days later (03-05), closed 2026-04-10 (in April);
    B  received 03-10, accepted 2 days later, still in progress;
    C  received 03-15, not accepted;
    D  received 03-20, no decision yet;
    E  received 2026-03-31 17:30 UTC = 04-01 01:30 in the district: an APRIL case; accepted 04-02;
    F  received 04-10, accepted 04-11, closed 04-20."""
    team = Team(session)

    def filed(received_utc: datetime, text: str):
        case, _ = open_case(app, session, ctx, text=text)
        case.report.received_at = received_utc
        session.commit()
        return case

    a = filed(datetime(2026, 3, 3, 2), TEXTS[0])
    b = filed(datetime(2026, 3, 10, 2), TEXTS[1])
    c = filed(datetime(2026, 3, 15, 2), TEXTS[2])
    d = filed(datetime(2026, 3, 20, 2), TEXTS[3])
    e = filed(datetime(2026, 3, 31, 17, 30), TEXTS[4])
    f = filed(datetime(2026, 4, 10, 2), TEXTS[5])
    for case, days in ((a, 2), (b, 2), (e, 1), (f, 1)):
        casework.accept(session, team.handler, case)
        case.accepted_at = case.report.received_at + timedelta(days=days)
    session.commit()
    for case, rectified, closed in ((a, date(2026, 4, 8), datetime(2026, 4, 10, 2)),
                                    (f, date(2026, 4, 18), datetime(2026, 4, 20, 2))):
        case.findings, case.rectified_on = "substantiated", rectified
        session.commit()
        casework.close(session, team.handler, case, result="经核查，问题属实，已责令整改并退还费用。")
        case.closed_at = closed
    casework.not_accept(session, team.handler, c, "not_corruption", result="经核查，所反映问题不属于本次整治范围。")
    session.commit()
    assert d.status == "to_accept"
    return a, b, c, d, e, f


def test_march_counts_its_own_cases_even_those_closed_in_april(session, march_and_april):
    m = month_figures(session, date(2026, 3, 1), date(2026, 5, 6), trend_months=2)
    # received A B C D = 4 (E is April's: 01:30 on 04-01 in the district)
    assert m.received == 4
    # accepted A B; not accepted C; transferred none; awaiting D: 2 + 1 + 0 + 1 = 4
    assert (m.accepted, m.not_accepted, m.transferred, m.awaiting) == (2, 1, 0, 1)
    assert m.accepted + m.not_accepted + m.transferred + m.awaiting == m.received
    # closed: A (closed on 04-10, still March's case)
    assert m.closed == 1
    # 受理率 = 2 / (2 + 1 + 0) = 66.7 %; 办结率 = 1 / 2 = 50 %
    assert m.acceptance_rate == 66.7 and m.closure_rate == 50.0
    # days to accept: A 2, B 2 → median 2; days to close: A 03-05 02:00 → 04-10 02:00 = 36
    assert m.median_days_to_accept == 2.0 and m.median_days_to_close == 36.0


def test_april_and_the_trend_use_the_same_definition(session, march_and_april):
    april = month_figures(session, date(2026, 4, 1), date(2026, 5, 6), trend_months=2)
    # received E (04-01 01:30 local) and F = 2; both accepted; F closed
    assert (april.received, april.accepted, april.not_accepted, april.awaiting, april.closed) == (2, 2, 0, 0, 1)
    assert april.acceptance_rate == 100.0 and april.closure_rate == 50.0
    # trend: March (4 received, 2 accepted, 1 closed), then April = the headline
    assert april.trend_rows == [(date(2026, 3, 1), 4, 2, 1), (date(2026, 4, 1), 2, 2, 1)]
    last = april.trend[-1]
    assert (last.received, last.accepted, last.closed, last.acceptance_rate, last.closure_rate) == \
        (april.received, april.accepted, april.closed, april.acceptance_rate, april.closure_rate)
    assert cohort(session, date(2026, 3, 17)).received == 4  # any day of the month names the month


def test_the_page_and_the_workbook_say_what_each_rate_means(app, session, march_and_april):
    with app.test_request_context():
        m = month_figures(session, date(2026, 3, 1), date(2026, 5, 6), trend_months=2)
        out = io.BytesIO()
        write_bulletin(m, out, unit_name=str, item_title=str, area_title=str)
    ws = openpyxl.load_workbook(io.BytesIO(out.getvalue())).active
    rows = {r[0]: r[1:] for r in ws.iter_rows(values_only=True) if r[0]}
    assert rows["收到举报（件）"][0] == 4 and rows["待决定（件）"][0] == 1 and rows["已销号（件）"][0] == 1
    assert rows["受理率（%）"][0] == 66.7 and "已受理 ÷（已受理 + 不予受理 + 转办）" in rows["受理率（%）"][1]
    assert rows["办结率（%）"][0] == 50.0 and "已销号 ÷ 已受理" in rows["办结率（%）"][1]
    assert "受理平均用时中位数（天）" not in rows and rows["受理用时中位数（天）"][0] == 2.0
    assert rows["2026-03"][:6] == (4, 2, 1, 0, 1, 1)
    assert rows["2026-03"][6:8] == (66.7, 50.0)


def test_the_bulletin_page_defines_its_rates_and_prints_its_heading(app, session, march_and_april):
    from tests.support.staff import login, make_user, otp_code
    import pyotp
    secret = pyotp.random_base32()
    make_user(session, "bulletin-coord", role="coordinator", unit="taskforce", totp_secret=secret)
    client = app.test_client()
    assert login(client, "bulletin-coord", otp=otp_code(secret)).status_code == 302
    page = client.get("/bulletin?month=2026-03&print=1").get_data(as_text=True)
    assert "受理率 = 已受理 ÷（已受理 + 不予受理 + 转办）" in page and "办结率 = 已销号 ÷ 已受理" in page
    assert "(2/3)" in page and "(1/2)" in page
    assert "兴隆台区医药领域腐败问题集中整治工作月通报（2026-03）" in page and "印发单位" in page
    assert 'data-figure="awaiting">1<' in page
