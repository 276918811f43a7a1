"""Issue 17, point 6: 销号 pressed too early says what is missing (findings, rectification, the result for the
reporter), a future rectification date says so, 销号 needs a ticked confirmation checked on the server (no
JavaScript), and the ≈ mark shows only on a date in a year without the official holiday schedule."""
from datetime import date, timedelta

from sqlalchemy import select

from casework import workflow as casework
from casework.deadline_models import CaseDeadline
from casework.models import Case
from core.localtime import local_today
from tests.casework.test_pages import csrf, log_in, staff  # noqa: F401 (staff is a fixture)
from tests.support.staff import open_case

RESULT = "经核查，反映的问题属实，医院已退还红包并整改。"


def post_close(client, path, **data):
    return client.post(f"{path}/close", data={"csrf_token": csrf(client, path), **data})


def status_of(session, case):
    session.expire_all()
    return session.get(Case, case.id).status


def test_closing_too_early_says_what_is_missing_and_needs_a_ticked_confirmation(app, client, session, ctx, staff):
    case, receipt = open_case(app, session, ctx)
    handler = staff["health_handler"]
    casework.accept(session, handler, case)
    casework.assign(session, staff["health_head"], case, handler)
    log_in(client, handler)
    path = f"/cases/{receipt.reference}"
    page = client.get(path).get_data(as_text=True)
    assert 'data-testid="close-missing"' in page and "销号前还缺：核查结论。" in page
    resp = post_close(client, path, result=RESULT, confirm="y")
    assert resp.status_code == 422 and "尚不能销号：请先记录核查结论。" in resp.get_data(as_text=True)

    casework.record_findings(session, handler, case, "substantiated")
    assert "销号前还缺：整改完成情况" in client.get(path).get_data(as_text=True)
    resp = post_close(client, path, result=RESULT, confirm="y")
    assert resp.status_code == 422 and "整改完成" in resp.get_data(as_text=True)

    # a rectification date in the future is refused and the page says so
    casework.record_plan(session, handler, case, problem="收受红包", measures="退还", responsible="院长", goal="杜绝",
                         deadline=local_today() + timedelta(days=20))
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    client.post(f"{path}/rectified", data={"csrf_token": csrf(client, path), "done_on": tomorrow})
    assert "“整改完成日期”不能晚于今天" in client.get(path).get_data(as_text=True)
    session.expire_all()
    assert session.get(Case, case.id).rectified_on is None
    casework.record_rectification(session, handler, case, local_today())
    assert 'data-testid="close-missing"' not in client.get(path).get_data(as_text=True)

    resp = post_close(client, path, result="", confirm="y")
    assert resp.status_code == 422 and "请先填写给举报人的办理结果" in resp.get_data(as_text=True)

    # no ticked confirmation: refused on the server, the result text is kept, the page says what to do
    resp = post_close(client, path, result=RESULT)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "销号需要您确认" in body and RESULT in body
    assert 'name="confirm"' in body and status_of(session, case) == "in_progress"
    assert post_close(client, path, result=RESULT, confirm="y").status_code == 302
    assert status_of(session, case) == "closed"


def test_the_approximate_mark_only_on_dates_in_a_year_without_holiday_data(app, client, session, ctx, staff):
    case, receipt = open_case(app, session, ctx)
    log_in(client, staff["health_handler"])
    path = f"/cases/{receipt.reference}"
    row = session.scalar(select(CaseDeadline).where(CaseDeadline.case_id == case.id, CaseDeadline.state == "open"))
    calendar = app.extensions["workcalendar"]
    known_year = next(y for y in range(2026, 2000, -1) if calendar.known(y))
    unknown_year = next(y for y in range(2027, 2100) if not calendar.known(y))

    # a row flagged when it was counted, but its year has holiday data now: no ≈
    row.due_on, row.uncertain = date(known_year, 6, 1), True
    session.commit()
    page = client.get(path).get_data(as_text=True)
    assert 'data-testid="approx"' not in page and "≈ " not in page.split('data-testid="deadlines"')[1].split("</section>")[0]

    row.due_on, row.uncertain = date(unknown_year, 6, 1), True
    session.commit()
    section = client.get(path).get_data(as_text=True).split('data-testid="deadlines"')[1].split("</section>")[0]
    assert 'data-testid="approx"' in section and "≈ " in section

    row.uncertain = False  # counted without any guess: no mark whatever the year
    session.commit()
    assert 'data-testid="approx"' not in client.get(path).get_data(as_text=True)


def test_the_routing_evidence_shows_each_term_once(app, client, session, ctx, staff):
    from casework.models import Classification
    case, receipt = open_case(app, session, ctx)
    row = session.scalar(select(Classification).where(Classification.report_id == case.report_id)
                         .order_by(Classification.id.desc()))
    evidence = [{"matched": "红包", "rule": "a"}, {"matched": "红包", "rule": "b"}, {"matched": "收受", "rule": "c"},
                {"matched": "红包", "rule": "d"}]
    row.candidates = [{"item": "6.4", "score": 0.9, "evidence": evidence}]
    session.commit()
    log_in(client, staff["health_handler"])
    page = client.get(f"/cases/{receipt.reference}").get_data(as_text=True)
    listed = page.split('<ol class="evidence">')[1].split("</ol>")[0]
    assert listed.count("<mark>红包</mark>") == 1 and listed.count("<mark>收受</mark>") == 1


def test_the_cases_next_deadline_badge_takes_the_approximate_mark_of_that_deadline_only(app, session, ctx, staff):
    """The nearest deadline is a 五定 time limit the handler chose (an exact date); the handling period after it,
    counted through a year without holiday data, does not lend it its ≈."""
    case, _ = open_case(app, session, ctx)
    handler = staff["health_handler"]
    casework.accept(session, handler, case)
    casework.assign(session, staff["health_head"], case, handler)
    casework.record_plan(session, handler, case, problem="收受红包", measures="退还", responsible="院长", goal="杜绝",
                         deadline=local_today() + timedelta(days=5))
    session.expire_all()
    case = session.get(Case, case.id)
    rows = {d.stage: d for d in session.scalars(select(CaseDeadline).where(CaseDeadline.case_id == case.id,
                                                                          CaseDeadline.state == "open"))}
    nearest = min(rows.values(), key=lambda d: d.due_on)
    assert case.next_due_on == nearest.due_on
    assert case.next_due_uncertain == nearest.uncertain
    if any(d.uncertain for d in rows.values()) and not nearest.uncertain:  # the case this test is about
        assert case.next_due_uncertain is False
