"""Issue 19: the three rates in the weekly figures, on hand-counted fixtures: the week's sheet of weekly.xlsx
(overall and per unit, with definitions, numerators and denominators) and a unit head's weekly page (their unit
only, without the cases hidden from them)."""
import io
from datetime import datetime, time, timedelta, timezone

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete

from casework.deadline_models import CaseDeadline
from core.localtime import LOCAL_TZ, local_today, week_of
from intake.feedback_models import ReportRating, ReportResult
from tests.casework.test_pages import SECRET, log_in
from tests.support.staff import INSURANCE_TEXT, make_user, open_case


def at(day, hour):
    """A local wall-clock time on `day` as the stored naive UTC."""
    return datetime.combine(day, time(hour)).replace(tzinfo=LOCAL_TZ).astimezone(timezone.utc).replace(tzinfo=None)


@pytest.fixture
def week(app, session, ctx):
    monday = week_of(local_today())
    head = make_user(session, "hhead", role="unit_head", unit="health", display_name="赵卫东")
    coordinator = make_user(session, "coord", role="coordinator", unit="taskforce", totp_secret=SECRET)
    a, b, c = (open_case(app, session, ctx)[0] for _ in range(3))
    hidden = open_case(app, session, ctx, accused_name="赵卫东")[0]  # names the head: hidden from them
    m = open_case(app, session, ctx, text=INSURANCE_TEXT)[0]        # led by medinsure
    assert {a.lead_unit, hidden.lead_unit, m.lead_unit} == {"health", "medinsure"}
    session.execute(delete(CaseDeadline))
    for case, ended in ((a, at(monday, 10)), (b, at(monday + timedelta(days=1), 9)), (m, at(monday, 11)),
                        (hidden, at(monday + timedelta(days=1), 9))):
        session.add(CaseDeadline(case_id=case.id, stage="acceptance", unit_code=case.lead_unit,
                                 starts_on=monday - timedelta(days=7), due_on=monday, state="met", ended_at=ended,
                                 extension_days=0, extension_reason="", paused=0, uncertain=False))
    for case, rating in ((a, "satisfied"), (c, "unsatisfied"), (hidden, "unsatisfied")):
        result = ReportResult(report_id=case.report_id, case_id=case.id, kind="closed", text="已处理",
                              decided_on=monday - timedelta(days=3))
        session.add(result)
        session.flush()
        session.add(ReportRating(report_id=case.report_id, result_id=result.id, rating=rating, source="web",
                                 rated_at=at(monday, 12)))
    session.commit()
    # hand count, this week: health 响应率 in time a; late b, hidden → 1/3 (the head: 1/2); medinsure 1/1;
    # overall 2/4. 满意率 health: a satisfied; c, hidden unsatisfied → 1/3 (the head: 1/2). 按期办结率: none fell.
    return {"head": head, "coordinator": coordinator}


def test_the_weekly_workbook_has_the_weeks_three_rates_with_their_definitions(app, client, week):
    log_in(client, week["coordinator"])
    resp = client.get("/weekly.xlsx")
    assert resp.status_code == 200
    ws = load_workbook(io.BytesIO(resp.data))["三率"]
    rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
    assert ["响应率", "受理决定在时限内作出的件数 ÷ 受理时限届满于本期的件数"] == list(rows[1][:2])
    start = next(i for i, r in enumerate(rows) if str(r[0]).startswith("本周"))
    header = rows[start + 1]
    assert header[:4] == ("单位", "响应率（%）", "响应率分子", "响应率分母")
    by_name = {r[0]: r for r in rows[start + 2:] if r[0]}
    overall, health = by_name["全部单位"], by_name["兴隆台区卫生健康局"]
    col = {name: header.index(name) for name in header if name}
    assert (overall[col["响应率分子"]], overall[col["响应率分母"]], overall[col["响应率（%）"]]) == (2, 4, 50.0)
    assert (health[col["响应率分子"]], health[col["响应率分母"]]) == (1, 3)
    assert (health[col["满意率分子"]], health[col["满意率分母"]], health[col["满意率（%）"]]) == (1, 3, 33.3)
    assert health[col["按期办结率分母"]] == 0
    assert any(str(r[0]).startswith("整治以来") for r in rows)


def test_a_unit_heads_weekly_page_shows_their_units_rates_without_the_hidden_case(app, client, week):
    log_in(client, week["head"])
    page = client.get("/weekly").get_data(as_text=True)
    rates = page.split('data-testid="three-rates"')[1].split("</section>")[0]
    assert "本单位本周三率" in rates and "受理决定在时限内作出的件数" in rates  # the definitions
    row = rates.split('class="total"')[1].split("</tr>")[0]
    assert "兴隆台区卫生健康局" in row
    cells = row.split("<td>")[1:]
    assert "50.0%" in cells[0] and "(1 / 2)" in cells[0]   # 响应率 without the hidden case
    assert "—" in cells[1] and "(0 / 0)" in cells[1]       # 按期办结率: no limit fell
    assert "50.0%" in cells[2] and "(1 / 2)" in cells[2]   # 满意率
    assert "<th>复查</th>" in rates and cells[3].startswith("共 0 件：改办 0，维持 0，在办 0")  # words, not "0: 0 / 0 / 0"
    assert "医疗保障局" not in rates  # another unit's figures are not on the head's page
