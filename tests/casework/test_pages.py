"""Staff pages over HTTP: queue, case page actions, clerk entry, downloads, reveals, and the access matrix."""
import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from casework.models import Case
from core.audit import AuditEvent, verify
from core.localtime import local_today
from intake.models import Report
from tests.support.factories import file_report
from tests.support.files import PDF
from tests.support.staff import login, make_user, otp_code
from tests.support.web import hidden_fields

INSURANCE = ("兴隆台区某医院长期挂床住院，病人白天回家，医院照样记住院天数向医保报销，还串换药品结算。")
KICKBACK = "区人民医院骨科主任收受医药代表回扣，每用一套进口耗材返现两千元，科室里都知道。"
RED = "区中心医院外科护士长收了我家五百元红包才给安排床位，别的病人家属也都给了红包。"
SECRET = pyotp.random_base32()


def submit(app, session, ctx, **kw):
    with app.app_context():
        return file_report(session, ctx, **kw)


def case_of(session, reference):
    session.expire_all()
    return session.scalar(select(Case).join(Report, Report.id == Case.report_id).where(Report.reference == reference))


def csrf(client, path):
    return hidden_fields(client.get(path).get_data(as_text=True)).get("csrf_token", "")


def act(client, reference, action, **data):
    token = csrf(client, f"/cases/{reference}")
    return client.post(f"/cases/{reference}/{action}", data={"csrf_token": token, **data})


@pytest.fixture
def staff(session):
    users = {
        "health_handler": make_user(session, "hh", role="handler", unit="health", display_name="王医政"),
        "health_head": make_user(session, "hhead", role="unit_head", unit="health"),
        "medinsure_handler": make_user(session, "mh", role="handler", unit="medinsure"),
        "medinsure_head": make_user(session, "mhead", role="unit_head", unit="medinsure"),
        "market_handler": make_user(session, "kh", role="handler", unit="market"),
        "clerk": make_user(session, "clerk1", role="clerk", unit="health"),
        "coordinator": make_user(session, "coord", role="coordinator", unit="taskforce", totp_secret=SECRET),
        "admin": make_user(session, "admin1", role="admin", unit="taskforce", totp_secret=SECRET),
    }
    return users


def log_in(client, user):
    resp = login(client, user.username, otp=otp_code(SECRET) if user.needs_totp else None)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]


def test_queue_shows_the_units_cases_only(app, client, session, ctx, staff):
    mine = submit(app, session, ctx, text=INSURANCE)
    theirs = submit(app, session, ctx, text=KICKBACK)
    log_in(client, staff["medinsure_handler"])
    page = client.get("/queue?tab=to_accept").get_data(as_text=True)
    assert mine.reference in page and theirs.reference not in page
    assert client.get(f"/cases/{theirs.reference}").status_code == 404
    assert client.get(f"/cases/{mine.reference}").status_code == 200
    assert client.get(f"/queue?tab=to_accept&q={mine.reference[-6:]}").get_data(as_text=True).count(mine.reference) >= 1
    assert mine.reference not in client.get("/queue?tab=to_accept&q=nothing-like-this").get_data(as_text=True)


def test_a_handler_takes_a_case_from_acceptance_to_closure(app, client, session, ctx, staff):
    filed = submit(app, session, ctx, text=INSURANCE)
    log_in(client, staff["medinsure_handler"])
    ref = filed.reference
    assert act(client, ref, "accept").status_code == 302
    assert case_of(session, ref).status == "in_progress"
    act(client, ref, "close")
    assert case_of(session, ref).status == "in_progress"  # no 销号 without rectification
    act(client, ref, "plan", problem="挂床住院", measures="核查住院记录，追回基金", responsible="张科长",
        goal="追回违规基金并整改", deadline=(local_today() + timedelta(days=30)).isoformat())
    act(client, ref, "findings", findings="substantiated", note="查实挂床12人次")
    act(client, ref, "rectified", done_on="2026-11-20", note="已追回")
    act(client, ref, "message", text="您反映的问题已查实并整改。")
    assert act(client, ref, "close").status_code == 422  # no result for the reporter yet
    assert act(client, ref, "close", result="经核查，反映的问题属实，已追回违规基金并整改。", confirm="y").status_code == 302
    case = case_of(session, ref)
    assert case.status == "closed" and case.closed_at is not None
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.case_id == case.id,
                                                              AuditEvent.action != "case.viewed")
                              .order_by(AuditEvent.seq)).all()
    assert actions == ["case.accepted", "case.plan_recorded", "case.findings_recorded", "case.rectified",
                       "case.message_sent", "case.closed"]
    page = client.get(f"/cases/{ref}").get_data(as_text=True)
    for label in ("受理", "五定", "核查结论", "整改完成", "销号"):
        assert label in page
    report = session.get(Report, filed.report_id)
    assert report.status == "closed" and [m.body for m in report.messages] == ["您反映的问题已查实并整改。"]
    assert verify(session).ok


def test_actions_need_a_csrf_token(app, client, session, ctx, staff):
    filed = submit(app, session, ctx, text=INSURANCE)
    log_in(client, staff["medinsure_handler"])
    assert client.post(f"/cases/{filed.reference}/accept").status_code == 400
    assert case_of(session, filed.reference).status == "to_accept"


def test_coordinator_triages_and_reassigns(app, client, session, ctx, staff):
    filed = submit(app, session, ctx, text="医院门口停车收费太贵了，希望降低停车费，保安态度也不好，多次和他们理论都没用。")
    assert case_of(session, filed.reference).status == "triage"
    log_in(client, staff["coordinator"])
    assert filed.reference in client.get("/queue?tab=triage").get_data(as_text=True)
    act(client, filed.reference, "correct", item="6.4", lead_unit="", reason="电话回访：收了红包")
    case = case_of(session, filed.reference)
    assert case.item_code == "6.4" and case.lead_unit == "health" and case.status == "to_accept"
    handler = staff["health_handler"]
    token = csrf(client, "/queue?tab=all")
    client.post("/queue/assign", data={"csrf_token": token, "case": [filed.reference], "handler": handler.id})
    assert case_of(session, filed.reference).handler_id == handler.id


def test_clerk_registers_a_phone_report(app, client, session, staff):
    log_in(client, staff["clerk"])
    page = client.get("/clerk/new").get_data(as_text=True)
    data = hidden_fields(page)
    source = re.search(r'value="(phone:health:[^"]+)"', page).group(1)
    data.update({"source": source, "received_at": "2026-11-20T09:30", "identity": "realname",
                 "reporter_name": "赵大妈", "reporter_phone": "13800000000",
                 "text": "来电人反映：区中心医院护士长收病人家属五百元才给安排床位。", "accused_institution": "区中心医院"})
    resp = client.post("/clerk/new", data=data)
    assert resp.status_code == 200
    text = resp.get_data(as_text=True)
    reference = re.search(r'data-testid="reference">([^<]+)<', text).group(1)
    report = session.scalar(select(Report).where(Report.reference == reference))
    assert report.channel == "phone" and report.received_by == "health" and report.received_via == "0427-2811536"
    assert report.receipt_must_reset and report.received_at.hour == 1  # 09:30 Beijing time is 01:30 UTC
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "report.registered")).actor_id == staff["clerk"].id
    assert client.get("/queue").status_code == 403  # clerks register; they do not browse cases


def test_attachment_downloads_are_logged(app, client, session, ctx, staff):
    filed = submit(app, session, ctx, text=INSURANCE, files=[("发票.pdf", PDF)])
    att = session.get(Report, filed.report_id).attachments[0]
    log_in(client, staff["medinsure_handler"])
    resp = client.get(f"/cases/{filed.reference}/attachments/{att.id}")
    body = resp.data
    resp.close()
    assert resp.status_code == 200 and body == PDF and "attachment" in resp.headers["Content-Disposition"]
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "attachment.downloaded")).detail["attachment_id"] == att.id


def test_identity_stays_hidden_until_a_reasoned_reveal(app, client, session, ctx, staff):
    filed = submit(app, session, ctx, text=INSURANCE, anonymous=False, reporter_name="钱多多", reporter_phone="13911112222")
    log_in(client, staff["medinsure_handler"])
    assert "钱多多" not in client.get(f"/cases/{filed.reference}").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf(client, f"/cases/{filed.reference}")})
    log_in(client, staff["coordinator"])
    token = csrf(client, f"/cases/{filed.reference}")
    shown = client.post(f"/cases/{filed.reference}/identity", data={"csrf_token": token, "reason": "核实举报人身份以便回访"})
    assert "钱多多" in shown.get_data(as_text=True)
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "identity.viewed"))
    assert event.detail["reason"] == "核实举报人身份以便回访" and "钱多多" not in str(event.detail)
    shown_log = client.get("/reveals").get_data(as_text=True)
    assert "查看举报人身份" in shown_log
    assert 'data-action="identity.viewed"' in shown_log


def test_an_approved_requester_gives_the_reason_once_and_reads_the_reporters_phone(app, client, session, ctx, staff):
    """Issue 17, point 10: the reason asked with the request is the reason of the view; the page does not ask
    again, and the identity page labels the number as the reporter's (not a hotline)."""
    from casework.models import RevealRequest
    from casework.reveal import decide_reveal
    filed = submit(app, session, ctx, text=INSURANCE, anonymous=False, reporter_name="钱多多", reporter_phone="13911112222")
    handler = staff["medinsure_handler"]
    log_in(client, handler)
    assert act(client, filed.reference, "accept").status_code == 302
    assert act(client, filed.reference, "request_identity", reason="需电话核实就诊经过").status_code == 302
    case = case_of(session, filed.reference)
    decide_reveal(session, staff["coordinator"], session.scalar(select(RevealRequest).where(RevealRequest.case_id == case.id)),
                  True, "同意")
    page = client.get(f"/cases/{filed.reference}").get_data(as_text=True)
    approved = page[page.index('data-testid="show-approved-identity"'):]
    approved = approved[:approved.index("</form>")]
    assert 'name="reason"' not in approved and "需电话核实就诊经过" in approved
    shown = client.post(f"/cases/{filed.reference}/identity", data={"csrf_token": csrf(client, f"/cases/{filed.reference}")})
    text = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "13911112222" in text and "举报人电话" in text
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "identity.viewed"))
    assert event.actor_id == handler.id and event.detail["reason"] == "需电话核实就诊经过"


def test_an_expired_approval_shows_no_identity_on_the_web(app, client, session, ctx, staff):
    """Review of de1ead4: after RevealRequest.APPROVAL_VALID the page offers a new request, not the view,
    and a direct POST /cases/<ref>/identity shows nothing (and is no 500)."""
    from casework.models import RevealRequest
    from casework.reveal import decide_reveal
    from core.db import utcnow
    filed = submit(app, session, ctx, text=INSURANCE, anonymous=False, reporter_name="钱多多", reporter_phone="13911112222")
    log_in(client, staff["medinsure_handler"])
    assert act(client, filed.reference, "accept").status_code == 302
    assert act(client, filed.reference, "request_identity", reason="需电话核实就诊经过").status_code == 302
    case = case_of(session, filed.reference)
    request = session.scalar(select(RevealRequest).where(RevealRequest.case_id == case.id))
    decide_reveal(session, staff["coordinator"], request, True, "同意")
    request.decided_at = utcnow() - RevealRequest.APPROVAL_VALID - timedelta(minutes=1)
    session.commit()
    page = client.get(f"/cases/{filed.reference}").get_data(as_text=True)
    assert 'data-testid="show-approved-identity"' not in page
    shown = client.post(f"/cases/{filed.reference}/identity", data={"csrf_token": csrf(client, f"/cases/{filed.reference}")})
    assert shown.status_code < 500
    assert "13911112222" not in shown.get_data(as_text=True) and "钱多多" not in shown.get_data(as_text=True)
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "identity.viewed")) is None


def test_recused_user_cannot_see_the_case_that_names_them(app, client, session, ctx, staff):
    filed = submit(app, session, ctx, text=KICKBACK, accused_name="王医政", accused_institution="区卫生健康局")
    log_in(client, staff["health_handler"])
    assert client.get(f"/cases/{filed.reference}").status_code == 404
    assert filed.reference not in client.get("/queue?tab=to_accept").get_data(as_text=True)


STAFF_ROUTES = [("get", "/cases/{ref}"), ("post", "/cases/{ref}/accept"), ("post", "/cases/{ref}/close"),
                ("post", "/cases/{ref}/message"), ("post", "/cases/{ref}/assign"), ("post", "/cases/{ref}/plan"),
                ("post", "/cases/{ref}/identity"), ("post", "/cases/{ref}/request_identity"),
                ("post", "/cases/{ref}/correct"), ("post", "/cases/{ref}/institution"),
                ("get", "/cases/{ref}/attachments/{att}")]


@pytest.mark.parametrize("role,text", [
    ("market_handler", INSURANCE), ("clerk", INSURANCE),        # medinsure leads, health assists
    ("medinsure_handler", RED), ("medinsure_head", RED), ("market_handler", RED),  # health alone
])
def test_every_staff_route_refuses_another_units_case(app, client, session, ctx, staff, role, text):
    filed = submit(app, session, ctx, text=text, files=[("a.pdf", PDF)])
    assert role.split("_")[0] not in [u.unit_code for u in case_of(session, filed.reference).units]
    att = session.get(Report, filed.report_id).attachments[0]
    log_in(client, staff[role])
    token = csrf(client, "/account/password")
    for method, path in STAFF_ROUTES:
        url = path.format(ref=filed.reference, att=att.id)
        resp = client.get(url) if method == "get" else client.post(url, data={"csrf_token": token, "reason": "x",
                                                                                "text": "x"})
        resp.close()
        assert resp.status_code in (403, 404), (role, url, resp.status_code)
    assert case_of(session, filed.reference).status == "to_accept" and case_of(session, filed.reference).handler_id is None
    assert filed.reference not in client.get("/queue?tab=to_accept").get_data(as_text=True)


def test_an_assisting_unit_sees_the_case_but_cannot_act(app, client, session, ctx, staff):
    filed = submit(app, session, ctx, text=INSURANCE)
    log_in(client, staff["health_handler"])
    assert client.get(f"/cases/{filed.reference}").status_code == 200
    assert filed.reference in client.get("/queue?tab=assisting").get_data(as_text=True)
    act(client, filed.reference, "accept")
    assert case_of(session, filed.reference).status == "to_accept"


def test_anonymous_visitors_are_sent_to_login(client):
    for path in ("/queue", "/cases/XLT-2026-000001", "/clerk/new", "/reveals"):
        resp = client.get(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_unit_head_records_self_inspection_findings(app, client, session, staff):
    log_in(client, staff["health_head"])
    token = csrf(client, "/self-inspection")
    resp = client.post("/self-inspection", data={"csrf_token": token, "name": "区第三人民医院", "item_code": "2.4",
                                                 "manifestation": "药剂科设小金库，私分返利三万元", "found_on": "2026-11-02",
                                                 "measures": "清退资金，处理相关人员"})
    assert resp.status_code == 302
    ref = resp.headers["Location"].rsplit("/", 1)[-1]
    case = case_of(session, ref)
    assert case.how_found == "self_inspection" and case.lead_unit == "health" and case.status == "in_progress"
    page = client.get(f"/cases/{ref}").get_data(as_text=True)
    assert "区第三人民医院" in page and "自查自纠" in page
    bad = client.post("/self-inspection", data={"csrf_token": token, "name": "某院", "item_code": "2.4",
                                                "manifestation": "", "found_on": ""})
    assert bad.status_code == 422 and "某院" in bad.get_data(as_text=True)


def test_tab_counts_equal_each_tabs_total(app, session, ctx, staff):
    from casework.queue import QueueFilters, queue_page, tabs_for
    for text in (INSURANCE, KICKBACK, RED, "医院门口停车收费太贵了，保安态度也不好，希望有人管一管这件事情。"):
        submit(app, session, ctx, text=text)
    for user in (staff["medinsure_handler"], staff["health_head"], staff["coordinator"]):
        counts = queue_page(session, user, QueueFilters(tab="all")).counts
        for tab in tabs_for(user):
            assert counts[tab] == queue_page(session, user, QueueFilters(tab=tab)).total, (user.username, tab)
        assert sum(counts[t] for t in ("to_accept", "in_progress", "closed")) >= 1


def test_a_close_second_reading_is_offered_and_only_a_person_adds_its_unit(app, client, session, ctx, staff):
    from casework.models import Classification
    filed = submit(app, session, ctx, text=RED)
    case = case_of(session, filed.reference)
    assert case.lead_unit == "health" and "medinsure" not in case.assist_units
    stored = session.scalar(select(Classification).where(Classification.report_id == case.report_id))
    # as the classifier stores a close second reading (routing.classifier, Two readings): 4.5 is led by medinsure
    stored.candidates = [{**stored.candidates[0], "second_reading": False},
                         {"item": "4.5", "score": 0.3, "evidence": [], "rule_score": 0.0, "second_reading": True}]
    session.commit()
    log_in(client, staff["coordinator"])
    page = client.get(f"/cases/{filed.reference}").get_data(as_text=True)
    assert 'data-testid="second-reading"' in page and 'name="unit" value="medinsure"' in page
    assert "4.5" in page and "(30 %)" in page
    assert case_of(session, filed.reference).assist_units == case.assist_units   # the matrix added nothing
    resp = act(client, filed.reference, "assist", unit="medinsure", note="第二种解读：条目 4.5")
    assert resp.status_code in (302, 303)
    assert "medinsure" in case_of(session, filed.reference).assist_units
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "case.assistance_requested"))
    assert event.detail["unit"] == "medinsure" and event.actor_id == staff["coordinator"].id
    # once the unit assists, the offer is gone
    assert 'data-testid="second-reading"' not in client.get(f"/cases/{filed.reference}").get_data(as_text=True)


def test_no_second_reading_offer_without_one(app, client, session, ctx, staff):
    filed = submit(app, session, ctx, text=RED)
    log_in(client, staff["coordinator"])
    page = client.get(f"/cases/{filed.reference}").get_data(as_text=True)
    from casework.models import Classification
    stored_has_second = any(c.get("second_reading") for c in session.scalar(select(Classification)).candidates)
    assert ('data-testid="second-reading"' in page) == stored_has_second
