"""Flask-Limiter on submissions and receipt look-ups (memory storage; Redis in production)."""
import json
import logging

from tests.support.factories import TEXT
from tests.support.web import hidden_fields, report_form_data


def limited_app(app_factory):
    return app_factory(env={"RATELIMIT_ENABLED": "true", "RATELIMIT_SUBMIT": "2 per minute",
                            "RATELIMIT_LOOKUP": "3 per minute"})


def test_api_submissions_are_limited_with_a_json_429(app_factory):
    client = limited_app(app_factory).test_client()
    codes = [client.post("/api/v1/reports", data=json.dumps({"text": TEXT}), content_type="application/json").status_code
             for _ in range(3)]
    assert codes == [201, 201, 429]
    resp = client.post("/api/v1/reports", data=json.dumps({"text": TEXT}), content_type="application/json")
    assert resp.json["error"] == "too_many_requests" and "尝试次数过多" in resp.json["message"]


def test_receipt_guessing_is_limited_across_web_and_api_and_logged(app_factory, caplog):
    client = limited_app(app_factory).test_client()
    caplog.set_level(logging.INFO)
    statuses = []
    for i in range(2):
        data = hidden_fields(client.get("/followup").get_data(as_text=True))
        data["receipt"] = f"{i:016d}"
        statuses.append(client.post("/followup", data=data).status_code)
    statuses.append(client.post("/api/v1/reports/lookup", data=json.dumps({"receipt": "1" * 16}),
                                content_type="application/json").status_code)
    resp = client.post("/api/v1/reports/lookup", data=json.dumps({"receipt": "2" * 16}), content_type="application/json")
    assert statuses == [404, 404, 404] and resp.status_code == 429
    data = hidden_fields(client.get("/followup").get_data(as_text=True))
    data["receipt"] = "3" * 16
    page = client.post("/followup", data=data)
    assert page.status_code == 429 and "尝试次数过多" in page.get_data(as_text=True)
    assert "unknown receipt" in caplog.text


def test_web_form_submissions_are_limited(app_factory):
    client = limited_app(app_factory).test_client()
    codes = [client.post("/report", data=report_form_data(client)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_limits_can_be_switched_off_for_benchmarks(app_factory):
    client = app_factory(env={"RATELIMIT_ENABLED": "false", "RATELIMIT_SUBMIT": "1 per minute"}).test_client()
    codes = {client.post("/api/v1/reports", data=json.dumps({"text": TEXT}), content_type="application/json").status_code
             for _ in range(3)}
    assert codes == {201}


def test_the_report_form_refused_for_too_many_attempts_keeps_the_text_and_lists_the_phone_lines(app_factory):
    client = limited_app(app_factory).test_client()
    for _ in range(2):
        assert client.post("/report", data=report_form_data(client)).status_code == 200
    mine = "2026年11月，区中心医院药房主任收受药企回扣，每进一批药返现三千元，药房的人都知道这件事。"
    resp = client.post("/report", data=report_form_data(client, text=mine, title="药房回扣"))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) >= 1
    assert mine in page and "药房回扣" in page  # the form again, with what the citizen wrote
    assert "您的文字保留在下面" in page and "之后再次提交" in page  # says when they can try again
    assert 'data-testid="phone-lines"' in page and "0427-2811536" in page and "工作日" in page
    assert 'name="csrf_token"' in page  # a form they can send again once the wait is over
