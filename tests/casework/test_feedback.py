"""反馈 after closure: the result written for the reporter (required, naming nobody), the rating and the
objection (once, within 30 days; 409 otherwise), the review stage and who may review, the 回访 record."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from casework import review
from casework import workflow as casework
from casework.deadline_models import CaseDeadline
from casework.results import NamesSomeone, name_key
from casework.return_calls import record_return_call
from casework.rules import MissingInput, NotAllowed
from core.localtime import local_today
from intake.feedback_models import ReportObjection, ReportRating, ReportResult
from intake.models import Report
from intake.receipts import format_receipt
from tests.support.staff import Team, open_case
from tests.support.web import hidden_fields

RESULT = "经核查，反映的问题属实，涉事医生已退还红包并受到处分，医院已整改。"


@pytest.fixture
def team(session):
    return Team(session)


def closed_case(app, session, ctx, team, **report):
    case, receipt = open_case(app, session, ctx, **report)
    casework.accept(session, team.handler, case)
    casework.record_findings(session, team.handler, case, "unfounded", "查无实据")
    with app.app_context():
        casework.close(session, team.handler, case, result=RESULT)
    return case, receipt


def api(client, path, **body):
    return client.post(f"/api/v1/reports/{path}", json=body)


def test_name_key_ignores_spaces_dots_and_traditional_characters():
    assert name_key("張 三") == name_key("张三") == name_key("张·三") == name_key("张.三")


@pytest.mark.parametrize("text", ["", "   "])
def test_closing_needs_a_result_for_the_reporter(app, session, ctx, team, text):
    case, _ = open_case(app, session, ctx)
    casework.accept(session, team.handler, case)
    casework.record_findings(session, team.handler, case, "unfounded")
    with pytest.raises(MissingInput) as err:
        casework.close(session, team.handler, case, result=text)
    assert err.value.detail["field"] == "result"
    session.rollback()
    with pytest.raises(MissingInput):
        casework.not_accept(session, team.handler, open_case(app, session, ctx)[0], "duplicate", result=text)


@pytest.mark.parametrize("written", ["张某某已被处分", "經查，張 某醫生已退還", "赵.六 收受红包属实"])
def test_a_result_naming_the_accused_or_the_reporter_is_refused(app, session, ctx, team, written):
    case, _ = open_case(app, session, ctx, accused_name="张某", anonymous=False, reporter_name="赵六",
                        reporter_phone="13800000000")
    casework.accept(session, team.handler, case)
    casework.record_findings(session, team.handler, case, "unfounded")
    with app.app_context(), pytest.raises(NamesSomeone):
        casework.close(session, team.handler, case, result=written)
    session.rollback()
    assert session.scalar(select(ReportResult)) is None


def test_transfer_out_needs_a_result_and_every_reporter_reads_it(app, client, session, ctx, team):
    case, receipt = open_case(app, session, ctx)
    with pytest.raises(MissingInput):
        casework.refer(session, team.coordinator, case, "transfer", local_today(), "")
    session.rollback()
    casework.refer(session, team.coordinator, case, "transfer", local_today(), "", result="已转交有管辖权的机关办理。")
    body = api(client, "lookup", receipt=format_receipt(receipt.receipt)).get_json()
    assert body["status"] == "closed"
    assert body["result"]["kind"] == "transferred" and body["result"]["text"] == "已转交有管辖权的机关办理。"
    assert body["result"]["decided_on"] == local_today().isoformat() and body["result"]["can_rate"] is True


def test_lookup_shows_no_result_while_the_case_runs(app, client, session, ctx, team):
    case, receipt = open_case(app, session, ctx)
    body = api(client, "lookup", receipt=format_receipt(receipt.receipt)).get_json()
    assert body["result"] is None
    resp = api(client, "rating", receipt=format_receipt(receipt.receipt), rating="satisfied")
    assert resp.status_code == 409 and resp.get_json()["error"] == "no_result_yet" and resp.get_json()["message"]
    resp = api(client, "objection", receipt=format_receipt(receipt.receipt), text="我不同意这个结果，理由如下。")
    assert resp.status_code == 409 and resp.get_json()["error"] == "no_result_yet"


def test_a_rating_once_within_30_days(app, client, session, ctx, team):
    case, receipt = closed_case(app, session, ctx, team)
    code = format_receipt(receipt.receipt)
    assert api(client, "rating", receipt=code, rating="great").status_code == 422
    assert api(client, "rating", receipt=code, rating=["satisfied"]).status_code == 422
    resp = api(client, "rating", receipt=code, rating="basically_satisfied", comment="处理还算及时")
    assert resp.status_code == 201 and resp.get_json()["rating"] == "basically_satisfied"
    again = api(client, "rating", receipt=code, rating="unsatisfied")
    assert again.status_code == 409 and again.get_json()["error"] == "already_rated"
    assert [r.rating for r in session.scalars(select(ReportRating))] == ["basically_satisfied"]
    body = api(client, "lookup", receipt=code).get_json()
    assert body["result"]["rating"] == "basically_satisfied" and body["result"]["can_rate"] is False


def test_the_window_closes_after_30_days(app, client, session, ctx, team):
    case, receipt = closed_case(app, session, ctx, team)
    result = session.scalar(select(ReportResult))
    result.decided_on = local_today() - timedelta(days=30)  # the 30th day: still open
    session.commit()
    code = format_receipt(receipt.receipt)
    assert api(client, "lookup", receipt=code).get_json()["result"]["can_object"] is True
    result.decided_on = local_today() - timedelta(days=31)
    session.commit()
    for path, body in (("rating", {"rating": "unsatisfied"}), ("objection", {"text": "结果不对，没有处理医院。"})):
        resp = api(client, path, receipt=code, **body)
        assert resp.status_code == 409 and resp.get_json()["error"] == "feedback_window_closed"


def test_an_objection_opens_a_review_for_the_task_force_and_a_second_is_refused(app, client, session, ctx, team):
    case, receipt = closed_case(app, session, ctx, team)
    code = format_receipt(receipt.receipt)
    assert api(client, "objection", receipt=code, text="太短").status_code == 422
    resp = api(client, "objection", receipt=code, text="医院只是口头批评，红包并未退还，请复查。")
    assert resp.status_code == 201 and resp.get_json()["state"] == "open"
    second = api(client, "objection", receipt=code, text="我还要再提一次异议，同样的事情。")
    assert second.status_code == 409 and second.get_json()["error"] == "already_objected"
    assert "同一事实不再受理" in second.get_json()["message"]
    session.expire_all()
    row = session.scalar(select(CaseDeadline).where(CaseDeadline.case_id == case.id, CaseDeadline.stage == "review"))
    assert row is not None and row.state == "open" and row.unit_code == "taskforce"
    assert row.due_on >= row.starts_on + timedelta(days=30)  # 30 days (a last day off work moves on)
    assert row.next_remind_on is not None


def test_who_may_review(app, session, ctx, team):
    case, receipt = closed_case(app, session, ctx, team)
    assert not review.may_review(session, team.handler, case)   # handled it, and not of the task force
    assert not review.may_review(session, team.head, case)
    assert review.may_review(session, team.coordinator, case)
    assert review.may_review(session, team.tf_handler, case)
    # a task-force member who was ever assigned the case, or acted on it, may not
    case2, _ = open_case(app, session, ctx)
    casework.assign(session, team.coordinator, case2, team.tf_handler)
    casework.assign(session, team.coordinator, case2, team.handler)
    assert not review.may_review(session, team.tf_handler, case2)
    assert not review.may_review(session, team.coordinator, case2)  # it assigned the case
    # nor one named in the report (casework.access recusal)
    case3, _ = open_case(app, session, ctx, accused_name=team.tf_handler.display_name,
                         accused_institution="区卫生健康局工作专班")
    assert not review.may_review(session, team.tf_handler, case3)


def test_the_reviewer_reopens_to_another_unit_or_upholds_with_a_reply(app, client, session, ctx, team):
    case, receipt = closed_case(app, session, ctx, team)
    code = format_receipt(receipt.receipt)
    api(client, "objection", receipt=code, text="医院只是口头批评，红包并未退还，请复查。")
    session.expire_all()
    objection = session.scalar(select(ReportObjection))
    with pytest.raises(NotAllowed):
        review.decide_review(session, team.handler, case, objection, "uphold", "维持")
    session.rollback()
    review.decide_review(session, team.coordinator, case, objection, "reopen", "已重新交办，请等待处理结果。", "market")
    assert (case.status, case.lead_unit, case.handler_id) == ("in_progress", "market", None)
    body = api(client, "lookup", receipt=code).get_json()
    assert body["status"] == "in_progress"  # it runs again; the reporter reads the review's reply
    assert body["result"]["objection"] == {"state": "reopened", "reply": "已重新交办，请等待处理结果。"}
    assert body["result"]["can_rate"] is False and body["result"]["can_object"] is False
    row = session.scalar(select(CaseDeadline).where(CaseDeadline.case_id == case.id, CaseDeadline.stage == "review"))
    assert row.state == "met"

    other, receipt2 = closed_case(app, session, ctx, team)
    code2 = format_receipt(receipt2.receipt)
    api(client, "objection", receipt=code2, text="处理结果与事实不符，请复查此事。")
    session.expire_all()
    objection2 = session.scalar(select(ReportObjection).where(ReportObjection.report_id == receipt2.report_id))
    review.decide_review(session, team.tf_handler, other, objection2, "uphold", "经复查，原处理结果正确，予以维持。")
    body = api(client, "lookup", receipt=code2).get_json()
    assert body["result"]["objection"] == {"state": "upheld", "reply": "经复查，原处理结果正确，予以维持。"}
    assert body["result"]["can_object"] is False


def test_the_followup_page_reads_the_result_rates_and_objects(app, client, session, ctx, team):
    case, receipt = closed_case(app, session, ctx, team)
    data = hidden_fields(client.get("/followup").get_data(as_text=True))
    data["receipt"] = format_receipt(receipt.receipt)
    client.post("/followup", data=data)
    page = client.get("/followup/status").get_data(as_text=True)
    assert RESULT in page and 'data-testid="rating-form"' in page and 'data-testid="objection-form"' in page
    form = hidden_fields(page)
    resp = client.post("/followup/rating", data={**form, "rating": "unsatisfied", "comment": "没解决"})
    assert resp.status_code == 302
    page = client.get("/followup/status").get_data(as_text=True)
    assert 'data-testid="rating-form"' not in page and "<details class=\"objection-form\" open" in page
    resp = client.post("/followup/rating", data={**form, "rating": "satisfied"})
    assert resp.status_code == 409 and 'role="alert"' in resp.get_data(as_text=True)  # a replayed post: refused
    assert [r.rating for r in session.scalars(select(ReportRating))] == ["unsatisfied"]
    resp = client.post("/followup/objection", data={**hidden_fields(page), "text": "红包没有退还，请复查。"})
    assert resp.status_code == 302
    page = client.get("/followup/status").get_data(as_text=True)
    assert 'data-testid="objection"' in page and 'data-testid="objection-form"' not in page


def test_a_clerk_records_a_return_call_with_the_rating(app, session, ctx, team):
    case, receipt = closed_case(app, session, ctx, team, channel="phone", anonymous=False, reporter_name="王五",
                                reporter_phone="13900000000", received_by="health")
    row = session.scalar(select(CaseDeadline).where(CaseDeadline.case_id == case.id,
                                                    CaseDeadline.stage == "return_call"))
    assert row is not None and row.unit_code == "health" and row.state == "open"
    report = session.get(Report, receipt.report_id)
    with pytest.raises(NotAllowed):
        record_return_call(session, team.market_handler, report, caller_name="x", called_at=datetime.now())
    session.rollback()
    call = record_return_call(session, team.clerk, report, caller_name="李登记",
                              called_at=datetime.combine(local_today(), datetime.min.time()), rating="satisfied",
                              words="满意，谢谢")
    assert call.rating == "satisfied"
    assert session.scalar(select(ReportRating.source)) == "return_call"
    session.refresh(row)
    assert row.state == "met"
