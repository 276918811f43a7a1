import json

from tests.support.factories import file_report


def test_reports_export_prints_every_report_without_identity(app, runner, session, ctx):
    file_report(session, ctx, anonymous=False, reporter_name="孙丽华", reporter_phone="13712345678",
                reporter_email="slh@example.com", title="红包")
    file_report(session, ctx, channel="phone", received_by="health", title="电话记录")
    result = runner.invoke(args=["reports", "export", "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["title"] for r in rows] == ["红包", "电话记录"]
    assert {"reference", "channel", "received_by", "received_at", "title", "text", "status"} <= set(rows[0])
    assert rows[1]["channel"] == "phone" and rows[1]["received_by"] == "health"
    for secret in ("孙丽华", "13712345678", "slh@example.com"):
        assert secret not in result.output


def test_the_export_is_recorded_in_the_audit_trail(runner, session, ctx):
    from sqlalchemy import select

    from core.audit import AuditEvent, verify
    file_report(session, ctx)
    assert runner.invoke(args=["reports", "export"]).exit_code == 0
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "reports.exported"))
    assert event.detail["count"] == 1 and event.actor == "cli" and verify(session).ok
