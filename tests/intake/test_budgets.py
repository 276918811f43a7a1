"""Rate-limit budgets as an attacker spends them: one submission budget for the web form and the API together,
refused attempts on their own higher budget, and one receipt budget for look-ups, replies and messages."""
import json

from intake.receipts import format_receipt
from tests.support.factories import TEXT, file_report
from tests.support.web import hidden_fields, report_form_data


def budget_app(app_factory, **env):
    return app_factory(env={"RATELIMIT_ENABLED": "true", "RATELIMIT_SUBMIT": "3 per minute",
                            "RATELIMIT_SUBMIT_FAILED": "6 per minute", "RATELIMIT_LOOKUP": "4 per minute", **env})


def api_submit(client, text=TEXT):
    return client.post("/api/v1/reports", data=json.dumps({"text": text}), content_type="application/json")


def web_submit(client, **values):
    return client.post("/report", data=report_form_data(client, **values))


def test_web_form_and_api_spend_one_submission_budget(app_factory):
    client = budget_app(app_factory).test_client()
    codes = [web_submit(client).status_code, api_submit(client).status_code, web_submit(client).status_code]
    assert codes == [200, 201, 200]
    assert api_submit(client).status_code == 429  # the fourth, whichever door it uses
    page = web_submit(client)
    assert page.status_code == 429 and "尝试次数过多" in page.get_data(as_text=True)


def test_refused_submissions_do_not_use_up_the_citizens_budget_but_have_their_own(app_factory):
    client = budget_app(app_factory).test_client()
    for _ in range(3):  # a citizen who writes too little, three times, on both doors
        assert web_submit(client, text="太短").status_code == 422
        assert api_submit(client, text="短").status_code == 422
    # six refused attempts: the refused budget is spent, the accepted one untouched
    assert api_submit(client, text="短").status_code == 429
    assert web_submit(client, text="短").status_code == 429


def test_after_typos_the_citizen_still_files_all_three_reports(app_factory):
    client = budget_app(app_factory).test_client()
    for _ in range(4):
        assert web_submit(client, text="太短").status_code == 422
    assert [api_submit(client).status_code for _ in range(3)] == [201, 201, 201]
    assert web_submit(client).status_code == 429


def lookup(client, receipt):
    data = hidden_fields(client.get("/followup").get_data(as_text=True))
    data["receipt"] = receipt
    return client.post("/followup", data=data)


def reply(client, text):
    data = hidden_fields(client.get("/followup/status").get_data(as_text=True))
    data["text"] = text
    return client.post("/followup/reply", data=data)


def test_look_ups_replies_and_api_messages_share_one_receipt_budget(app_factory):
    app = budget_app(app_factory)
    session = app.extensions["db_sessionmaker"]()
    receipt = format_receipt(file_report(session, app.extensions["intake"]).receipt)
    session.close()
    client = app.test_client()
    assert lookup(client, receipt).status_code == 302
    assert reply(client, "补充一点：是十月十二日。").status_code == 302
    api = client.post("/api/v1/reports/messages", data=json.dumps({"receipt": receipt, "text": "再补充一点。"}),
                      content_type="application/json")
    assert api.status_code == 201
    assert client.post("/api/v1/reports/lookup", data=json.dumps({"receipt": receipt}),
                       content_type="application/json").status_code == 200
    # four uses of the receipt: a fifth of any kind is refused
    assert reply(client, "第五次。").status_code == 429
    assert client.post("/api/v1/reports/lookup", data=json.dumps({"receipt": receipt}),
                       content_type="application/json").status_code == 429
    assert lookup(client, receipt).status_code == 429


def test_every_api_request_has_a_ceiling(app_factory):
    client = budget_app(app_factory, RATELIMIT_API="2 per minute").test_client()
    assert [client.get("/api/v1/openapi.json").status_code for _ in range(3)] == [200, 200, 429]
    assert api_submit(client).json["error"] == "too_many_requests"
