"""A clerk who read a receipt out cannot take over the reporter's follow-up silently: the replacement is on
the case's record, and the old code tells whoever holds it when it was replaced and whom to call."""
import json

from sqlalchemy import select

from core.audit import AuditEvent
from core.localtime import local_today
from intake.models import ReplacedReceipt
from intake.receipts import format_receipt
from tests.support.factories import file_report
from tests.support.staff import login, make_user
from tests.support.web import hidden_fields, text_of

RED = "区中心医院外科护士长收了我家五百元红包才给安排床位，别的病人家属也都给了红包。"


def clerk_issued(app):
    session = app.extensions["db_sessionmaker"]()
    with app.app_context():
        receipt = file_report(session, app.extensions["intake"], text=RED, channel="phone", received_by="health",
                              received_via="0427-2811536", receipt_must_reset=True)
    session.close()
    return receipt


def take_over(client, code):
    """The clerk (or anyone who heard the code) replaces it before the reporter does."""
    resp = client.post("/api/v1/reports/receipt", data=json.dumps({"receipt": code}), content_type="application/json")
    assert resp.status_code == 200
    return resp.json["receipt"]


def test_the_old_code_tells_its_holder_on_the_follow_up_page(app, client):
    receipt = clerk_issued(app)
    take_over(app.test_client(), format_receipt(receipt.receipt))
    data = hidden_fields(client.get("/followup").get_data(as_text=True))
    data["receipt"] = format_receipt(receipt.receipt)
    resp = client.post("/followup", data=data)
    page = text_of(resp.get_data(as_text=True))
    assert resp.status_code == 410
    assert f"已于 {local_today().isoformat()} 被更换" in page and "0427-2811536" in page
    assert "不是您本人更换" in page and receipt.reference not in page


def test_the_old_code_tells_its_holder_in_the_api_with_a_stable_code(app, client):
    receipt = clerk_issued(app)
    take_over(app.test_client(), receipt.receipt)
    for path in ("/api/v1/reports/lookup", "/api/v1/reports/messages", "/api/v1/reports/receipt"):
        resp = client.post(path, data=json.dumps({"receipt": receipt.receipt, "text": "我还想补充。"}),
                           content_type="application/json")
        assert resp.status_code == 410 and resp.json["error"] == "receipt_replaced", path
        assert resp.json["replaced_on"] == local_today().isoformat() and resp.json["phones"] == ["0427-2811536"]
    english = client.post("/api/v1/reports/lookup?lang=en", data=json.dumps({"receipt": receipt.receipt}),
                          content_type="application/json").json["message"]
    assert "was replaced by a new one on" in english and "0427-2811536" in english


def test_a_code_that_was_never_issued_is_still_just_not_found(client):
    resp = client.post("/api/v1/reports/lookup", data=json.dumps({"receipt": "1234567890123456"}),
                       content_type="application/json")
    assert resp.status_code == 404 and resp.json["error"] == "not_found"


def test_only_the_old_codes_hash_is_kept_and_the_new_code_works(app, session, client):
    receipt = clerk_issued(app)
    new = take_over(app.test_client(), receipt.receipt)
    kept = session.scalars(select(ReplacedReceipt)).all()
    assert len(kept) == 1 and kept[0].clerk_issued is True and kept[0].report_id == receipt.report_id
    assert receipt.receipt.encode() not in kept[0].receipt_hash and len(kept[0].receipt_hash) == 32
    lookup = client.post("/api/v1/reports/lookup", data=json.dumps({"receipt": new}), content_type="application/json")
    assert lookup.status_code == 200 and lookup.json["reference"] == receipt.reference


def test_the_replacement_is_on_the_case_record_for_the_handler(app, session, client):
    receipt = clerk_issued(app)
    take_over(app.test_client(), receipt.receipt)
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "receipt.replaced"))
    assert event.report_id == receipt.report_id and event.detail["clerk_issued"] is True
    make_user(session, "hh", role="handler", unit="health", display_name="王医政")
    assert login(client, "hh").status_code == 302
    page = client.get(f"/cases/{receipt.reference}")
    assert page.status_code == 200
    timeline = page.get_data(as_text=True).split('data-testid="timeline"')[1].split("</ol>")[0]
    assert "查询码已通过举报查询页更换" in timeline
