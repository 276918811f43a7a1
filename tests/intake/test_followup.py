"""Anonymous follow-up with the receipt code on the web."""
import time

from sqlalchemy import select

from intake.models import Attachment, Message, Report, StatusChange
from intake.receipts import format_receipt
from tests.support.factories import file_report
from tests.support.files import PNG
from tests.support.web import hidden_fields, receipt_on, text_of, with_files


def lookup(client, receipt):
    data = hidden_fields(client.get("/followup").get_data(as_text=True))
    data["receipt"] = receipt
    return client.post("/followup", data=data)


def test_status_messages_and_reply(client, session, ctx):
    receipt = file_report(session, ctx)
    report = session.get(Report, receipt.report_id)
    report.status = "accepted"
    report.status_history.append(StatusChange(status="accepted"))
    session.add(Message(report_id=report.id, author="staff", body="请问具体是哪一天？<b>谢谢</b>"))
    session.add(Message(report_id=report.id, author="staff", body="内部备注", visible_to_reporter=False))
    session.commit()

    resp = lookup(client, format_receipt(receipt.receipt))
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/followup/status")
    page = client.get("/followup/status").get_data(as_text=True)
    assert receipt.reference in page and "已受理" in page and "已收到" in page
    assert "请问具体是哪一天？&lt;b&gt;谢谢&lt;/b&gt;" in page and "内部备注" not in page

    form = hidden_fields(page)
    form["text"] = "是十月十二日，下午三点左右。"
    resp = client.post("/followup/reply", data=with_files(form, [("补充.png", PNG)]), content_type="multipart/form-data")
    assert resp.status_code == 302
    page = client.get("/followup/status").get_data(as_text=True)
    assert "您的回复已收到" in page and "是十月十二日" in page and "补充.png" in page
    message = session.scalar(select(Message).where(Message.author == "reporter"))
    assert message.report_id == report.id
    assert session.scalar(select(Attachment).where(Attachment.message_id == message.id)).report_id == report.id


def test_receipt_accepts_spaces_and_full_width_digits(client, session, ctx):
    receipt = file_report(session, ctx)
    spaced = " ".join(receipt.receipt[i:i + 4] for i in range(0, 16, 4))
    full_width = spaced.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    assert lookup(client, full_width).status_code == 302


def test_wrong_receipts_get_one_generic_answer(client, session, ctx):
    """A well-formed wrong code gets one answer (nothing tells codes apart); a wrong-length one is told a
    code has 16 digits and how many it had."""
    file_report(session, ctx)
    answers = set()
    for wrong in ("1111-2222-3333-4444", "９" * 16, "0000 0000 0000 0001"):
        resp = lookup(client, wrong)
        assert resp.status_code == 404, wrong
        answers.add(text_of(resp.get_data(as_text=True)).split("没有与此查询码对应的举报")[0][-20:])
    assert len(answers) == 1
    for wrong, entered in (("12", 2), ("<script>", 0), ("' OR 1=1 --", 2), ("1234-5678-9012-345", 15), ("x" * 5000, 0)):
        resp = lookup(client, wrong)
        assert resp.status_code in (404, 400), wrong
        if resp.status_code == 404:
            assert f"回执码为16位数字，您输入了{entered}位" in text_of(resp.get_data(as_text=True)), wrong


def test_status_page_needs_a_lookup_first_and_expires(app, client, session, ctx):
    assert client.get("/followup/status").status_code == 302
    receipt = file_report(session, ctx)
    lookup(client, receipt.receipt)
    assert client.get("/followup/status").status_code == 200
    with client.session_transaction() as s:
        s["followup"]["at"] = time.time() - app.config["PERMANENT_SESSION_LIFETIME"] - 1
    assert client.get("/followup/status").status_code == 302


def test_exit_forgets_the_report_on_this_device(client, session, ctx):
    receipt = file_report(session, ctx)
    lookup(client, receipt.receipt)
    page = client.get("/followup/status").get_data(as_text=True)
    exit_token = hidden_fields(page[page.index('class="exit"'):])["csrf_token"]
    client.post("/followup/exit", data={"csrf_token": exit_token})
    assert client.get("/followup/status").status_code == 302


def test_a_message_quoting_the_receipt_is_refused(client, session, ctx):
    receipt = file_report(session, ctx)
    lookup(client, receipt.receipt)
    form = hidden_fields(client.get("/followup/status").get_data(as_text=True))
    form["text"] = f"我的查询码是 {format_receipt(receipt.receipt)}，请回复"
    resp = client.post("/followup/reply", data=form)
    assert resp.status_code == 422
    assert "您的留言中含有查询码" in resp.get_data(as_text=True)
    assert session.scalar(select(Message)) is None


def test_clerk_issued_receipt_must_be_replaced_at_first_follow_up(client, session, ctx):
    issued = file_report(session, ctx, channel="phone", receipt_must_reset=True)
    resp = lookup(client, issued.receipt)
    assert resp.headers["Location"].endswith("/followup/new-receipt")
    assert client.get("/followup/status").headers["Location"].endswith("/followup/new-receipt")
    page = client.get("/followup/new-receipt").get_data(as_text=True)
    assert "登记人员" in page
    page = client.post("/followup/new-receipt", data=hidden_fields(page)).get_data(as_text=True)
    new = receipt_on(page)
    assert new.replace("-", "") != issued.receipt
    client.get("/lang/zh_CN")
    assert lookup(client, issued.receipt).status_code == 410  # the clerk's code no longer works, and says so
    assert lookup(client, new).headers["Location"].endswith("/followup/status")


def test_reply_with_an_expired_form_keeps_the_text(client, session, ctx):
    receipt = file_report(session, ctx)
    lookup(client, receipt.receipt)
    resp = client.post("/followup/reply", data={"csrf_token": "stale", "text": "我还有一段补充说明"})
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "我还有一段补充说明" in page and "表单已过期" in page


def test_the_stored_receipt_hash_is_keyed(session, ctx):
    """HMAC under the receipt key: the plain hash of the code, or the code under another key, is not
    what the database holds, so a stolen database alone cannot test a single guess."""
    import hashlib
    import hmac as hmac_module

    from intake.receipts import ReceiptHasher
    receipt = file_report(session, ctx)
    stored = session.get(Report, receipt.report_id).receipt_hash
    digits = receipt.receipt.encode()
    assert stored != hashlib.sha256(digits).digest()
    assert stored not in {hmac_module.new(k, digits, hashlib.sha256).digest() for k in (b"", b"\0" * 32)}
    assert stored != ReceiptHasher(b"another key").hash(receipt.receipt)
    assert not session.get(Report, receipt.report_id).receipt_legacy


def make_legacy(session, ctx, receipt):
    """A report as stored before migration 0008: its receipt hashed with scrypt."""
    report = session.get(Report, receipt.report_id)
    report.receipt_hash = ctx.hasher.legacy_hash(receipt.receipt)
    report.receipt_legacy = True
    session.commit()
    return report


def test_a_receipt_issued_before_the_hmac_still_opens_its_report_and_is_restored(client, session, ctx):
    old = file_report(session, ctx)
    new = file_report(session, ctx)
    report = make_legacy(session, ctx, old)
    scrypt_hash = report.receipt_hash

    assert lookup(client, "0000-0000-0000-0000").status_code == 404  # a wrong code: still refused
    resp = lookup(client, format_receipt(old.receipt))
    assert resp.status_code == 302
    page = client.get("/followup/status").get_data(as_text=True)
    assert old.reference in page
    session.expire_all()
    report = session.get(Report, old.report_id)
    assert not report.receipt_legacy and report.receipt_hash == ctx.hasher.hash(old.receipt) != scrypt_hash

    other = client.application.test_client()
    assert lookup(other, format_receipt(old.receipt)).status_code == 302  # now found by its HMAC
    assert lookup(other, format_receipt(new.receipt)).status_code == 302


def test_a_legacy_receipt_quoted_in_a_reply_is_refused(session, ctx):
    from intake.errors import ValidationFailed
    from intake.followup import add_reporter_message
    old = file_report(session, ctx)
    report = make_legacy(session, ctx, old)
    try:
        add_reporter_message(session, ctx, report, f"我的回执码是 {format_receipt(old.receipt)}，请查收")
    except ValidationFailed as exc:
        assert "text" in exc.errors
    else:
        raise AssertionError("a reply quoting the receipt was accepted")


def test_an_empty_reply_is_told_it_is_empty(client, session, ctx):
    receipt = file_report(session, ctx)
    assert lookup(client, format_receipt(receipt.receipt)).status_code == 302
    form = hidden_fields(client.get("/followup/status").get_data(as_text=True))
    form["text"] = "   \n "
    resp = client.post("/followup/reply", data=form)
    assert resp.status_code in (200, 400, 422)
    assert "回复内容为空" in text_of(resp.get_data(as_text=True))
    assert session.scalar(select(Message).where(Message.author == "reporter")) is None
