"""A real-name reporter's name, phone and email appear in no output of a full scenario — pages, API
answers, error pages, staff mail, exports (reports, ledgers, bulletin, weekly bundle), the result written
for the reporter, the rating and the objection, the review, the audit trail and the logs — except the one logged identity view that the coordinator asks for with a reason."""
import io
import json
import logging
import zipfile
from datetime import date, datetime, timedelta

import pyotp
from sqlalchemy import select

from casework import workflow as casework
from casework.models import Case
from core.audit import AuditEvent
from intake.mail_models import OutboxMessage
from intake.models import Report
from jobs.tasks import reminder_context
from oversight.reminders import run_pass
from tests.support.staff import login, logout, make_user, otp_code
from tests.support.web import hidden_fields, receipt_on, report_form_data

SECRET = pyotp.random_base32()
NAME, PHONE, EMAIL = "欧阳秘密", "13987654321", "ouyang.secret@example.org"
SECRETS = (NAME, PHONE, EMAIL, "ouyang.secret", "987654321")


def readable(data: bytes) -> str:
    """Text of a response: zip containers (xlsx, zip) opened member by member, recursively."""
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return "\n".join(readable(z.read(name)) for name in z.namelist())
    return data.decode("utf-8", errors="replace")


def test_a_full_scenario_never_shows_the_reporters_identity(app, client, session, ctx, runner, caplog):
    caplog.set_level(logging.DEBUG)
    seen: list[tuple[str, str]] = []

    def keep(label: str, resp) -> None:
        seen.append((label, readable(resp.data)))

    handler = make_user(session, "h1", role="handler", unit="health", display_name="承办人甲")
    make_user(session, "head1", role="unit_head", unit="health", display_name="负责人乙")
    coord = make_user(session, "coord", role="coordinator", unit="taskforce", totp_secret=SECRET, display_name="协调员")

    # the report, under the reporter's real name, with a file
    data = report_form_data(client, identity="realname", reporter_name=NAME, reporter_phone=PHONE, reporter_email=EMAIL,
                            text="区人民医院外科医生张某收受患者红包五千元，手术前暗示家属不给红包就往后排。")
    resp = client.post("/report", data=data)
    keep("receipt page", resp)
    receipt_page = resp.get_data(as_text=True)
    report = session.scalar(select(Report).order_by(Report.id.desc()))
    assert report.identity is not None and not report.anonymous
    case = session.scalar(select(Case).where(Case.report_id == report.id))
    keep("404 page", client.get("/cases/XLT-0000-000000"))
    keep("bad API call", client.post("/api/v1/reports", data="{not json", content_type="application/json"))

    # the handler works the case through the pages
    assert login(client, "h1").status_code == 302
    keep("queue", client.get("/queue"))
    page = client.get(f"/cases/{report.reference}")
    keep("case page", page)
    token = hidden_fields(page.get_data(as_text=True))
    for action, fields in (("accept", {}), ("message", {"text": "请补充就诊时间。"}),
                           ("notice", {"kind": "acceptance", "given_on": date.today().isoformat(), "method": "phone"})):
        keep(action, client.post(f"/cases/{report.reference}/{action}", data={**token, **fields},
                                 follow_redirects=True))
    session.refresh(case)
    casework.record_plan(session, handler, case, problem="收受红包", measures="退还", responsible="院长", goal="杜绝",
                         deadline=date.today() + timedelta(days=20))
    casework.add_ledger_person(session, handler, case, name="张某", employer="区人民医院", item_code="6.4",
                               manifestation="收受红包", found_on=date.today(), rectified=True, rectified_on=date.today())
    casework.record_findings(session, handler, case, "substantiated")
    casework.record_rectification(session, handler, case, date.today())
    # a result that names the reporter is refused (the name is checked, never shown back to anyone else)
    named = client.post(f"/cases/{report.reference}/close", data={**token, "result": f"已向{NAME[:2]} {NAME[2:]}反馈", "confirm": "y"})
    assert named.status_code == 422
    session.refresh(case)
    assert case.status == "in_progress"
    casework.close(session, handler, case, result="经核查，问题已处理。")
    keep("closed case page", client.get(f"/cases/{report.reference}"))
    logout(client)

    # the reporter reads the result, rates it and objects (web and API)
    code = receipt_on(receipt_page)
    keep("lookup with result", client.post("/api/v1/reports/lookup", json={"receipt": code}))
    keep("rating", client.post("/api/v1/reports/rating", json={"receipt": code, "rating": "unsatisfied",
                                                               "comment": "没有回复我"}))
    keep("objection", client.post("/api/v1/reports/objection", json={"receipt": code,
                                                                     "text": "医生并未退还红包，请复查。"}))
    keep("second objection", client.post("/api/v1/reports/objection", json={"receipt": code,
                                                                            "text": "医生并未退还红包，请复查。"}))
    follow = hidden_fields(client.get("/followup").get_data(as_text=True))
    client.post("/followup", data={**follow, "receipt": code})
    keep("follow-up with result", client.get("/followup/status"))

    # the scheduler's mail and the task force's documents
    with app.app_context():
        run_pass(session, reminder_context(app), datetime.combine(date.today() + timedelta(days=40), datetime.min.time())
                 .replace(hour=10))
    assert login(client, "coord", otp=otp_code(SECRET)).status_code == 302
    for path in ("/dashboard", "/bulletin", "/bulletin.xlsx", "/weekly", "/weekly.zip", "/supervision", "/reveals",
                 f"/cases/{report.reference}", "/ledgers", "/return-calls"):
        keep(path, client.get(path))
    form = hidden_fields(client.get("/ledgers").get_data(as_text=True))
    for kind in ("institution", "individual"):
        keep(f"ledger {kind}", client.post("/ledgers/export", data={**form, "kind": kind, "unit": "all"}))
    # the one permitted view: asked for with a reason, logged — and it does show the identity
    shown = client.post(f"/cases/{report.reference}/identity", data={**form, "reason": "核实举报人身份以便回访"})
    assert NAME in shown.get_data(as_text=True)

    export = runner.invoke(args=["reports", "export", "--format", "jsonl"])
    seen.append(("reports export", export.output))
    cipher = app.extensions["intake"].cipher
    for row in session.scalars(select(OutboxMessage)):
        if row.envelope:
            mail = cipher.decrypt_json(row.envelope)
            seen.append((f"mail {row.kind}", json.dumps({k: v for k, v in mail.items() if k != "to"},
                                                        ensure_ascii=False)))
    for event in session.scalars(select(AuditEvent)):
        seen.append((f"audit {event.action}", json.dumps(event.detail, ensure_ascii=False) + event.actor))
    seen.append(("logs", "\n".join(r.getMessage() for r in caplog.records)))

    assert len(seen) > 25
    leaks = [(label, secret) for label, text in seen for secret in SECRETS if secret in text]
    assert leaks == []
    assert any(a == "identity.viewed" for a in session.scalars(select(AuditEvent.action)))
