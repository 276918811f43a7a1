"""Regressions for confidentiality findings of the security review."""
import json


from intake.followup import replace_receipt
from intake.models import Report
from tests.support.factories import file_report
from tests.support.web import hidden_fields


def test_language_switch_redirects_only_within_the_site(client):
    for target in ("/%09/evil.example", "//evil.example", "/\\evil.example", "https://evil.example/"):
        resp = client.get(f"/lang/en?next={target}")
        assert resp.headers["Location"] == "/", target
    assert client.get("/lang/en?next=/report").headers["Location"] == "/report"


def test_api_lookup_shows_nothing_until_a_clerk_issued_receipt_is_replaced(client, session, ctx):
    issued = file_report(session, ctx, channel="phone", receipt_must_reset=True)
    from intake.models import Message
    session.add(Message(report_id=issued.report_id, author="staff", body="请补充材料"))
    session.commit()
    body = client.post("/api/v1/reports/lookup", data=json.dumps({"receipt": issued.receipt}),
                       content_type="application/json").json
    assert body["must_reset_receipt"] is True and body["messages"] == [] and body["history"] == []


def test_a_follow_up_session_ends_when_its_receipt_is_replaced(client, session, ctx):
    filed = file_report(session, ctx)
    data = hidden_fields(client.get("/followup").get_data(as_text=True))
    data["receipt"] = filed.receipt
    client.post("/followup", data=data)
    assert client.get("/followup/status").status_code == 200
    replace_receipt(session, ctx, session.get(Report, filed.report_id))
    assert client.get("/followup/status").status_code == 302  # whoever looked up the old code is out


def test_the_original_email_is_not_served_to_case_handlers(app, client, session, ctx, tmp_path):
    import io

    from intake.filetypes import EML
    from intake.submit import IncomingFile, attachment_rows
    with app.app_context():
        filed = file_report(session, ctx, text="兴隆台区某医院长期挂床住院，病人白天回家，医院照样向医保报销。")
    stored = ctx.store.save(io.BytesIO(b"From: Secret Sender <s@example.cn>\r\n\r\nx"), 10_000, kind=EML)
    row = attachment_rows([(IncomingFile("original.eml", io.BytesIO()), stored)])[0]
    row.report_id = filed.report_id
    session.add(row)
    session.commit()
    from tests.support.staff import login, make_user
    make_user(session, "mh", role="handler", unit="medinsure")
    login(client, "mh")
    page = client.get(f"/cases/{filed.reference}").get_data(as_text=True)
    assert "original.eml" not in page
    resp = client.get(f"/cases/{filed.reference}/attachments/{row.id}")
    resp.close()
    assert resp.status_code == 404
