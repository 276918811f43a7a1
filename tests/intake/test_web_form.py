"""The public web form, through HTTP as a browser sends it."""
from sqlalchemy import func, select

from intake.models import Attachment, Report
from tests.support.files import EXE, PDF, PNG
from tests.support.web import post_large_multipart, receipt_on, reference_on, report_form_data, text_of, with_files


def reports(session):
    return session.scalar(select(func.count()).select_from(Report))


def test_home_and_form_speak_chinese_first_and_english_on_request(client):
    home = client.get("/").get_data(as_text=True)
    assert "举报医药领域腐败问题" in home and 'lang="zh-CN"' in home
    form = client.get("/report").get_data(as_text=True)
    assert "提交举报" in form and "匿名" in form
    english = client.get("/report?lang=en").get_data(as_text=True)
    assert "Submit report" in english
    client.get("/lang/en?next=/report")
    assert "Submit report" in client.get("/report").get_data(as_text=True)


def test_pages_load_nothing_from_elsewhere(client):
    for path in ("/", "/report", "/channels", "/followup"):
        page = client.get(path).get_data(as_text=True)
        assert "http://" not in page and "https://" not in page and "//cdn" not in page, path


def test_channels_page_lists_every_published_channel(client):
    page = text_of(client.get("/channels").get_data(as_text=True))
    for value in ("0427-2811536", "0427-2912011", "0427-2969119", "634240857@qq.com", "xltscjdd@163.com",
                  "657574256@qq.com", "兴油支路96号", "稽核股", "诬告陷害"):
        assert value in page


def test_submit_shows_reference_and_receipt_once_with_a_printable_proof(client, session, ctx):
    resp = client.post("/report", data=with_files(report_form_data(client, title="耗材回扣"),
                                                  [("发票.pdf", PDF)]), content_type="multipart/form-data")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    receipt, reference = receipt_on(page), reference_on(page)
    assert len(receipt) == 19 and reference.startswith("XLT-")
    report = session.scalar(select(Report))
    assert report.reference == reference and report.channel == "web" and report.title == "耗材回扣"
    assert report.receipt_hash == ctx.hasher.hash(receipt.replace("-", ""))
    assert [a.display_name for a in report.attachments] == ["发票.pdf"]
    proof = page[page.index('id="proof"'):page.index("</section>", page.index('id="proof"'))]
    assert "骨科" not in proof and "耗材回扣" not in proof  # nothing of the content on the proof
    assert "print.js" in page and "<script>" not in page


def test_errors_keep_the_text_and_are_translated(client, session):
    data = report_form_data(client, text="太短了", identity="realname", reporter_email="bad@", consent="")
    resp = client.post("/report", data=data)
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "太短了" in page
    for msg in ("请至少用 20 个字描述事情经过", "此项为必填项", "电子邮箱地址无效", "请确认您已阅读上述说明"):
        assert msg in page
    assert reports(session) == 0


def test_real_name_needs_name_and_phone_and_stores_them_encrypted(client, session, ctx):
    data = report_form_data(client, identity="realname", reporter_name="李明", reporter_phone="0427-1234567",
                            reporter_email="li@example.com")
    assert client.post("/report", data=data).status_code == 200
    report = session.scalar(select(Report))
    assert report.anonymous is False
    assert ctx.cipher.decrypt(report.identity.ciphertext).name == "李明"


def test_hostile_files_are_refused_with_a_clear_message(client, session):
    cases = [("invoice.pdf", EXE, "类型不被接受"), ("empty.pdf", b"", "是空的"),
             ("../../../etc/cron.d/x.png", b"#!/bin/sh\nrm -rf /", "类型不被接受")]
    for name, content, message in cases:
        resp = client.post("/report", data=with_files(report_form_data(client), [(name, content)]),
                           content_type="multipart/form-data")
        assert resp.status_code == 422, name
        page = resp.get_data(as_text=True)
        assert message in page and "骨科主任" in page
    assert reports(session) == 0


def test_a_21_mb_file_is_refused_and_the_text_kept(client, session):
    big = PDF + b"0" * (21 * 1024 * 1024)
    resp = post_large_multipart(client, "/report", with_files(report_form_data(client), [("big.pdf", big)]))
    assert resp.status_code == 413
    page = resp.get_data(as_text=True)
    assert "超过 20 MB" in page and "骨科主任" in page
    assert reports(session) == 0 and session.scalar(select(func.count()).select_from(Attachment)) == 0


def test_a_path_in_the_file_name_is_only_display_text(client, session, ctx):
    resp = client.post("/report", data=with_files(report_form_data(client), [("../../x/证据.png", PNG)]),
                       content_type="multipart/form-data")
    assert resp.status_code == 200
    att = session.scalar(select(Attachment))
    assert att.display_name == "证据.png" and ctx.store.path(att.stored_name).is_file()


def test_too_many_files(client, session):
    files = [(f"{i}.png", PNG) for i in range(6)]
    resp = client.post("/report", data=with_files(report_form_data(client), files), content_type="multipart/form-data")
    assert resp.status_code == 422 and "最多 5 个文件" in resp.get_data(as_text=True)
    assert reports(session) == 0


def test_replayed_post_creates_one_report_and_shows_the_same_receipt(client, session):
    data = report_form_data(client)
    first = client.post("/report", data=data).get_data(as_text=True)
    second = client.post("/report", data=data).get_data(as_text=True)
    assert receipt_on(first) == receipt_on(second)
    assert reports(session) == 1


def test_missing_or_stale_csrf_token_keeps_the_text(client, session):
    data = report_form_data(client)
    data["csrf_token"] = "forged"
    resp = client.post("/report", data=data)
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "表单已过期" in page and "骨科主任" in page
    assert reports(session) == 0


def test_honeypot_filled_is_refused(client, session):
    resp = client.post("/report", data=report_form_data(client, website="http://spam.example"))
    assert resp.status_code == 400 and reports(session) == 0


def test_hostile_text_is_shown_escaped_on_errors(client):
    resp = client.post("/report", data=report_form_data(client, text="<script>alert(1)</script>", consent=""))
    page = resp.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_security_headers(client):
    resp = client.get("/report")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"


def test_unknown_page_is_a_translated_404(client):
    resp = client.get("/nope")
    assert resp.status_code == 404 and "此地址没有内容" in resp.get_data(as_text=True)


def test_storage_failure_keeps_the_text_and_acknowledges_nothing(app, client, session, tmp_path):
    from intake.storage import AttachmentStore
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    app.extensions["intake"].store = AttachmentStore(blocker / "u")
    resp = client.post("/report", data=with_files(report_form_data(client), [("a.png", PNG)]),
                       content_type="multipart/form-data")
    assert resp.status_code == 503
    page = resp.get_data(as_text=True)
    assert "文件暂时无法保存" in page and "骨科主任" in page
    assert reports(session) == 0
