"""The staff pages of 反馈 over HTTP: the result field of 销号 (a refusal keeps the text), the review of an
objection on the case page (only for who may review), the clerks' 回访 list."""
import pytest
from sqlalchemy import select

from casework import workflow as casework
from casework.models import Case
from core.localtime import local_today
from intake.feedback_models import ReportObjection, ReportRating, ReportResult
from intake.receipts import format_receipt
from tests.casework.test_pages import SECRET, csrf, log_in
from tests.support.staff import make_user, open_case

RESULT = "经核查，反映的问题部分属实，已责令医院整改。"


@pytest.fixture
def people(session):
    return {"handler": make_user(session, "hh", role="handler", unit="health", display_name="王医政"),
            "clerk": make_user(session, "clerk1", role="clerk", unit="health", display_name="李登记"),
            "coordinator": make_user(session, "coord", role="coordinator", unit="taskforce", totp_secret=SECRET,
                                     display_name="周协调"),
            "other_coordinator": make_user(session, "coord2", role="coordinator", unit="taskforce",
                                           totp_secret=SECRET, display_name="吴协调")}


def ready_to_close(app, session, ctx, people, **report):
    case, receipt = open_case(app, session, ctx, accused_name="张某", **report)
    casework.accept(session, people["handler"], case)
    casework.record_findings(session, people["handler"], case, "unfounded")
    return case, receipt


def test_closing_on_the_page_needs_a_result_and_a_refusal_keeps_the_text(app, client, session, ctx, people):
    case, receipt = ready_to_close(app, session, ctx, people)
    log_in(client, people["handler"])
    path = f"/cases/{receipt.reference}"
    page = client.get(path).get_data(as_text=True)
    assert 'data-testid="result-close"' in page
    named = "经查，張 某医生确有收受红包行为，已处分。"
    resp = client.post(f"{path}/close", data={"csrf_token": csrf(client, path), "result": named, "confirm": "y"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'data-testid="result-error"' in body and named in body
    session.expire_all()
    assert session.get(Case, case.id).status == "in_progress"
    resp = client.post(f"{path}/close", data={"csrf_token": csrf(client, path), "result": RESULT, "confirm": "y"})
    assert resp.status_code == 302
    session.expire_all()
    assert session.get(Case, case.id).status == "closed"
    assert session.scalar(select(ReportResult.text)) == RESULT


def test_the_reviewer_decides_on_the_case_page_and_a_handler_cannot(app, client, session, ctx, people):
    case, receipt = ready_to_close(app, session, ctx, people)
    casework.assign(session, people["other_coordinator"], case, people["handler"])
    casework.close(session, people["handler"], case, result=RESULT)
    assert client.post("/api/v1/reports/objection", json={"receipt": format_receipt(receipt.receipt),
                                                           "text": "处理结果不实，请复查。"}).status_code == 201
    objection = session.scalar(select(ReportObjection))
    path = f"/cases/{receipt.reference}"
    log_in(client, people["other_coordinator"])  # assigned the handler: handled it
    page = client.get(path).get_data(as_text=True)
    assert 'data-testid="case-objection"' in page and 'data-testid="review-form"' not in page
    resp = client.post(f"{path}/review/{objection.id}", data={"csrf_token": csrf(client, path), "decision": "uphold",
                                                             "reply": "维持"})
    assert resp.status_code == 302
    session.expire_all()
    assert session.get(ReportObjection, objection.id).state == "open"
    client.post("/logout", data={"csrf_token": csrf(client, path)})
    log_in(client, people["coordinator"])
    assert 'data-testid="review-form"' in client.get(path).get_data(as_text=True)
    resp = client.post(f"{path}/review/{objection.id}", data={"csrf_token": csrf(client, path), "decision": "reopen",
                                                             "unit": "market", "reply": "已重新交办。"})
    assert resp.status_code == 302
    session.expire_all()
    row = session.get(ReportObjection, objection.id)
    assert (row.state, row.reopened_to, row.reply) == ("reopened", "market", "已重新交办。")
    assert session.get(Case, case.id).status == "in_progress"


def test_a_clerk_records_a_return_call_on_the_list(app, client, session, ctx, people):
    case, receipt = ready_to_close(app, session, ctx, people, channel="letter", received_by="health", anonymous=False,
                                   reporter_name="孙八", reporter_phone="13600000000")
    casework.close(session, people["handler"], case, result=RESULT)
    log_in(client, people["clerk"])
    page = client.get("/return-calls").get_data(as_text=True)
    assert f'data-testid="return-call-{receipt.reference}"' in page and RESULT in page
    assert "孙八" not in page and "13600000000" not in page
    token = csrf(client, "/return-calls")
    resp = client.post(f"/return-calls/{receipt.reference}", data={"csrf_token": token, "caller_name": "李登记",
                                                                   "called_at": "2099-01-01T10:00", "rating": ""})
    assert resp.status_code == 422  # in the future
    resp = client.post(f"/return-calls/{receipt.reference}", data={"csrf_token": token, "caller_name": "李登记",
                                                                   "called_at": "2020-01-05T10:00", "rating": ""})
    assert resp.status_code == 422  # before the result
    resp = client.post(f"/return-calls/{receipt.reference}", data={"csrf_token": token, "caller_name": "李登记",
                                                                   "called_at": f"{local_today()}T00:01",
                                                                   "rating": "satisfied", "words": "满意"})
    assert resp.status_code == 302
    assert session.scalar(select(ReportRating.rating)) == "satisfied"
    assert f"return-call-{receipt.reference}" not in client.get("/return-calls").get_data(as_text=True)
