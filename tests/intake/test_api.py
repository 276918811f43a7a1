"""JSON API v1: every response is checked against the OpenAPI document it publishes."""
import io
import json

import jsonschema
import pytest
from sqlalchemy import func, select

from intake.models import Message, Report
from intake.openapi import openapi_document
from tests.support.factories import TEXT, file_report
from tests.support.files import EXE, PDF, PNG

DOC = openapi_document()


def check(resp, path: str, status: int):
    """The response has the status and matches the schema the document gives for it."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    spec = DOC["paths"][path]["post"]["responses"][str(status)]
    schema = spec["content"]["application/json"]["schema"]
    jsonschema.validate(resp.json, {"allOf": [schema], "components": DOC["components"]})
    return resp.json


def post(client, path, body, **kw):
    return client.post(path, data=json.dumps(body) if not isinstance(body, (str, bytes)) else body,
                       content_type="application/json", **kw)


def test_openapi_document_is_served_and_names_every_route(client, app):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    api_rules = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/") and "openapi" not in r.rule}
    assert api_rules == set(doc["paths"])


def test_create_report_then_look_it_up_and_reply(client, session, ctx):
    body = {"text": TEXT, "title": "耗材回扣", "anonymous": False, "occurred": "2026年10月",
            "reporter": {"name": "赵强", "phone": "13900001111", "email": "zq@example.com"},
            "accused": {"name": "钱某", "institution": "区某医院", "position": "骨科主任"}}
    created = check(post(client, "/api/v1/reports", body), "/api/v1/reports", 201)
    report = session.scalar(select(Report))
    assert report.channel == "app" and report.reference == created["reference"]
    assert report.accused_position == "骨科主任" and ctx.cipher.decrypt(report.identity.ciphertext).name == "赵强"

    session.add(Message(report_id=report.id, author="staff", body="请补充发票照片"))
    session.commit()
    found = check(post(client, "/api/v1/reports/lookup", {"receipt": created["receipt"]}),
                  "/api/v1/reports/lookup", 200)
    assert found["status"] == "received" and found["messages"][0]["text"] == "请补充发票照片"
    check(post(client, "/api/v1/reports/messages", {"receipt": created["receipt"], "text": "好的，已上传"}),
          "/api/v1/reports/messages", 201)
    assert [m.author for m in session.scalars(select(Message).order_by(Message.id))] == ["staff", "reporter"]


def test_multipart_report_with_files(client, session):
    data = {"report": json.dumps({"text": TEXT}), "files": [(io.BytesIO(PDF), "a.pdf"), (io.BytesIO(PNG), "b.png")]}
    created = check(client.post("/api/v1/reports", data=data, content_type="multipart/form-data"),
                    "/api/v1/reports", 201)
    report = session.scalar(select(Report).where(Report.reference == created["reference"]))
    assert [a.extension for a in report.attachments] == ["pdf", "png"]


def test_multipart_with_a_lying_file_is_refused(client, session):
    data = {"report": json.dumps({"text": TEXT}), "files": [(io.BytesIO(EXE), "scan.jpg")]}
    body = check(client.post("/api/v1/reports", data=data, content_type="multipart/form-data"), "/api/v1/reports", 422)
    assert body["fields"]["files"]["error"] == "file_type"
    assert session.scalar(select(func.count()).select_from(Report)) == 0


@pytest.mark.parametrize("raw,status,code", [
    ("{not json", 400, "malformed_json"),
    (b"\xff\xfe\x00garbage", 400, "malformed_json"),
    ("[1, 2]", 400, "invalid_type"),
    ("[" * 100000 + "]" * 100000, 400, "malformed_json"),
    (json.dumps({"text": 12345}), 400, "invalid_type"),
    (json.dumps({"text": TEXT, "anonymous": "yes"}), 400, "invalid_type"),
    (json.dumps({"text": TEXT, "reporter": "me"}), 400, "invalid_type"),
    (json.dumps({"text": TEXT, "accused": {"name": ["a"]}}), 400, "invalid_type"),
    (json.dumps({"text": "短"}), 422, "validation_failed"),
    (json.dumps({"text": "长" * 20001}), 422, "validation_failed"),
    (json.dumps({"text": TEXT, "anonymous": False}), 422, "validation_failed"),
])
def test_bad_requests_get_json_errors_never_500(client, session, raw, status, code):
    body = check(post(client, "/api/v1/reports", raw), "/api/v1/reports", status)
    assert body["error"] == code and body["message"]
    assert session.scalar(select(func.count()).select_from(Report)) == 0


def test_error_messages_are_translated(client):
    body = post(client, "/api/v1/reports", json.dumps({"text": "短"})).json
    assert "请至少用" in body["message"] and body["fields"]["text"]["error"] == "text_too_short"
    body = post(client, "/api/v1/reports?lang=en", json.dumps({"text": "短"})).json
    assert "at least" in body["message"]


def test_too_large_body_is_413_json(app_factory):
    app = app_factory(MAX_BODY_BYTES=10_000)  # a JSON body is held to MAX_BODY_BYTES, not the file limit
    resp = app.test_client().post("/api/v1/reports", data=json.dumps({"text": "长" * 20000}),
                                  content_type="application/json")
    assert resp.status_code == 413 and resp.json["error"] == "too_large"


def test_unknown_receipts_get_the_same_404(client, session, ctx):
    file_report(session, ctx)
    answers = []
    for receipt in ("0000-0000-0000-0000", "abc", 12, None, ["x"]):
        resp = post(client, "/api/v1/reports/lookup", {"receipt": receipt})
        answers.append(check(resp, "/api/v1/reports/lookup", 404))
    assert len({json.dumps(a, sort_keys=True) for a in answers}) == 1


def test_idempotency_key_returns_the_same_receipt(client, session):
    headers = {"Idempotency-Key": "b2b1c6d0-5c7e-4d0a-9f51-0a6a3c2d1e77"}
    first = check(post(client, "/api/v1/reports", {"text": TEXT}, headers=headers), "/api/v1/reports", 201)
    again = check(post(client, "/api/v1/reports", {"text": TEXT}, headers=headers), "/api/v1/reports", 200)
    assert first == again
    assert session.scalar(select(func.count()).select_from(Report)) == 1


def test_message_quoting_the_receipt_is_refused(client, session, ctx):
    receipt = file_report(session, ctx)
    resp = post(client, "/api/v1/reports/messages", {"receipt": receipt.receipt, "text": f"码 {receipt.receipt}"})
    body = check(resp, "/api/v1/reports/messages", 422)
    assert body["fields"]["text"]["error"] == "receipt_in_message"


def test_clerk_issued_receipt_must_be_replaced_through_the_api(client, session, ctx):
    issued = file_report(session, ctx, channel="letter", receipt_must_reset=True)
    assert post(client, "/api/v1/reports/lookup", {"receipt": issued.receipt}).json["must_reset_receipt"] is True
    body = check(post(client, "/api/v1/reports/messages", {"receipt": issued.receipt, "text": "补充"}),
                 "/api/v1/reports/messages", 409)
    assert body["error"] == "receipt_must_reset"
    new = check(post(client, "/api/v1/reports/receipt", {"receipt": issued.receipt}), "/api/v1/reports/receipt", 200)
    gone = check(post(client, "/api/v1/reports/lookup", {"receipt": issued.receipt}), "/api/v1/reports/lookup", 410)
    assert gone["error"] == "receipt_replaced"
    assert post(client, "/api/v1/reports/lookup", {"receipt": new["receipt"]}).json["must_reset_receipt"] is False


def test_api_needs_no_csrf_and_sends_no_cors_by_default(client):
    resp = post(client, "/api/v1/reports", {"text": TEXT}, headers={"Origin": "https://evil.example"})
    assert resp.status_code == 201 and "Access-Control-Allow-Origin" not in resp.headers


def test_cors_only_for_configured_origins(app_factory):
    app = app_factory(CORS_ORIGINS=["https://app.example"])
    resp = app.test_client().get("/api/v1/openapi.json", headers={"Origin": "https://app.example"})
    assert resp.headers["Access-Control-Allow-Origin"] == "https://app.example"


def test_wrong_method_and_unknown_api_path_are_json(client):
    assert client.get("/api/v1/reports").json["error"] == "method_not_allowed"
    assert client.get("/api/v1/nothing").json["error"] == "not_found"
