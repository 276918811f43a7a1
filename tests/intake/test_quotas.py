"""A flood from one receipt: replies, files and bytes stop at the report's quota with a clear message, and
nothing of the refused reply is stored (no row, no file on disk)."""
import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from core.db import utcnow
from intake.models import Attachment, Message
from intake.receipts import format_receipt
from tests.support.concurrency import run_in_threads
from tests.support.factories import file_report
from tests.support.files import PNG
from tests.support.web import hidden_fields, with_files
from tests.system.test_multi_instance import multipart

QUOTAS = {"REPORT_MAX_MESSAGES_PER_DAY": 3, "REPORT_MAX_MESSAGES_TOTAL": 5, "REPORT_MAX_FILES_PER_DAY": 3,
          "REPORT_MAX_FILES_TOTAL": 10, "REPORT_MAX_BYTES_PER_DAY": 10 * 1024 * 1024,
          "REPORT_MAX_BYTES_TOTAL": 100 * 1024 * 1024}


def quota_app(app_factory, **overrides):
    return app_factory(**{**QUOTAS, **overrides})


def filed(app, files=()):
    session = app.extensions["db_sessionmaker"]()
    receipt = file_report(session, app.extensions["intake"], files=list(files))
    session.close()
    return receipt


def counts(app, report_id):
    session = app.extensions["db_sessionmaker"]()
    try:
        messages = session.scalar(select(func.count()).select_from(Message).where(Message.report_id == report_id))
        files = session.scalar(select(func.count()).select_from(Attachment).where(Attachment.report_id == report_id))
        return messages, files
    finally:
        session.close()


def files_on_disk(app) -> int:
    return sum(1 for p in Path(app.config["UPLOAD_DIR"]).rglob("*") if p.is_file())


def api_reply(client, receipt, text="补充情况：当天还有两名医药代表在场。", files=()):
    if not files:
        return client.post("/api/v1/reports/messages", data=json.dumps({"receipt": receipt, "text": text}),
                           content_type="application/json")
    body, content_type = multipart({"report": json.dumps({"receipt": receipt, "text": text})},
                                   [("files", name, data) for name, data in files])
    return client.post("/api/v1/reports/messages", data=body, content_type=content_type)


def test_a_flood_of_api_replies_stops_at_the_daily_quota(app_factory):
    app = quota_app(app_factory)
    receipt = filed(app)
    client = app.test_client()
    code = format_receipt(receipt.receipt)
    assert [api_reply(client, code, f"第{i}次补充：还有新的情况。").status_code for i in range(3)] == [201] * 3
    resp = api_reply(client, code)
    assert resp.status_code == 429 and resp.json["error"] == "quota_exceeded"
    assert "24 小时内最多可接收 3 条回复" in resp.json["message"] and "未被保存" in resp.json["message"]
    assert counts(app, receipt.report_id) == (3, 0)


def test_the_total_quota_holds_across_days(app_factory):
    app = quota_app(app_factory)
    receipt = filed(app)
    session = app.extensions["db_sessionmaker"]()
    for i in range(5):  # five replies, on earlier days
        session.add(Message(report_id=receipt.report_id, author="reporter", body=f"旧回复{i}",
                            created_at=utcnow() - timedelta(days=2 + i)))
    session.commit()
    session.close()
    resp = api_reply(app.test_client(), format_receipt(receipt.receipt))
    assert resp.status_code == 429 and "已接收最多 5 条回复" in resp.json["message"]
    assert "举报电话" in resp.json["message"]


def test_files_over_the_quota_are_refused_whole_and_leave_nothing_on_disk(app_factory):
    app = quota_app(app_factory)
    receipt = filed(app, files=[("原件.png", PNG)])  # the report's own file counts
    client = app.test_client()
    code = format_receipt(receipt.receipt)
    assert api_reply(client, code, files=[("一.png", PNG)]).status_code == 201
    on_disk = files_on_disk(app)
    resp = api_reply(client, code, files=[("二.png", PNG), ("三.png", PNG)])  # 2 + 2 > 3 in 24 hours
    assert resp.status_code == 429 and "最多可接收 3 个文件" in resp.json["message"]
    assert counts(app, receipt.report_id) == (1, 2) and files_on_disk(app) == on_disk


def test_bytes_over_the_quota_stop_the_copy_and_nothing_is_half_stored(app_factory):
    app = quota_app(app_factory, REPORT_MAX_BYTES_PER_DAY=1024 * 1024)
    receipt = filed(app)
    client = app.test_client()
    code = format_receipt(receipt.receipt)
    small, big = PNG + b"\0" * 400_000, PNG + b"\0" * 700_000
    assert api_reply(client, code, files=[("小.png", small)]).status_code == 201
    on_disk = files_on_disk(app)
    resp = api_reply(client, code, files=[("小二.png", small), ("大.png", big)])
    assert resp.status_code == 429 and "24 小时内最多可接收 1 MB 文件" in resp.json["message"]
    assert resp.json["error"] == "quota_exceeded"
    assert counts(app, receipt.report_id) == (1, 1) and files_on_disk(app) == on_disk
    assert not list(Path(app.config["UPLOAD_DIR"]).rglob("*.part"))


def test_the_follow_up_page_says_why_the_reply_was_not_taken(app_factory):
    app = quota_app(app_factory, REPORT_MAX_FILES_PER_DAY=1)
    receipt = filed(app)
    client = app.test_client()
    data = hidden_fields(client.get("/followup").get_data(as_text=True))
    data["receipt"] = format_receipt(receipt.receipt)
    assert client.post("/followup", data=data).status_code == 302
    form = hidden_fields(client.get("/followup/status").get_data(as_text=True))
    form["text"] = "两张照片。"
    resp = client.post("/followup/reply", data=with_files(form, [("一.png", PNG), ("二.png", PNG)]),
                       content_type="multipart/form-data")
    assert resp.status_code == 429
    assert "本举报 24 小时内最多可接收 1 个文件" in resp.get_data(as_text=True)
    assert counts(app, receipt.report_id) == (0, 0) and files_on_disk(app) == 0


def test_replies_sent_at_the_same_moment_cannot_both_take_the_last_place(app_factory):
    app = quota_app(app_factory, REPORT_MAX_MESSAGES_PER_DAY=1)
    receipt = filed(app)
    code = format_receipt(receipt.receipt)
    statuses = []

    def send():
        statuses.append(api_reply(app.test_client(), code, files=[("证据.png", PNG)]).status_code)

    assert run_in_threads(send, 4) == []
    assert sorted(statuses) == [201, 429, 429, 429]
    assert counts(app, receipt.report_id) == (1, 1) and files_on_disk(app) == 1
