"""Data retention: an ended case is announced to the coordinators RETENTION_NOTICE_HOURS before its
reporters' identities and evidence go; then the identities are deleted and the files overwritten and
removed, and the purge is audited. Nothing is purged without its notice, and a reopened case is kept."""
from datetime import datetime, timedelta

from sqlalchemy import func, select

from casework import workflow as casework
from core.audit import AuditEvent
from intake.mail_models import OutboxMessage
from intake.match_keys import ReportMatchKey
from intake.models import Attachment, ReporterIdentity
from oversight.retention import RetentionPolicy, retention_pass
from tests.support.files import PNG
from tests.support.staff import Team, make_user, open_case

POLICY = RetentionPolicy(days=1095, notice_hours=72)


def closed_case(app, session, ctx, team, closed_at: datetime, **report):
    case, _ = open_case(app, session, ctx, anonymous=False, reporter_name="赵保密", reporter_phone="13700001234",
                        files=[("证据.png", PNG)], **report)
    casework.accept(session, team.handler, case)
    casework.record_findings(session, team.handler, case, "unfounded")
    casework.close(session, team.handler, case, result="经核查，问题已处理。")
    case.closed_at = closed_at
    session.commit()
    return case


def run(app, session, now):
    ctx = app.extensions["intake"]
    return retention_pass(session, ctx.store, ctx.cipher, POLICY, now, site_url="https://xlt.example.cn")


def test_notice_first_then_identities_and_files_are_destroyed(app, session, ctx):
    team = Team(session)
    make_user(session, "coord", role="coordinator", unit="taskforce")
    closed = datetime(2026, 1, 10, 8)
    case = closed_case(app, session, ctx, team, closed)
    attachment = session.scalar(select(Attachment))
    path = ctx.store.path(attachment.stored_name)
    assert path.exists()

    def reporter_keys():
        return session.scalar(select(func.count()).select_from(ReportMatchKey).where(ReportMatchKey.kind == "reporter"))

    assert reporter_keys() > 0
    assert run(app, session, closed + timedelta(days=1000)).warned == []  # far from the end
    purge_day = closed + timedelta(days=1095)
    result = run(app, session, purge_day - timedelta(hours=10))  # inside the notice period
    assert result.warned == [case.report.reference] and result.purged == []
    notices = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "retention_notice")).all()
    assert len(notices) == 1
    text = ctx.cipher.decrypt_json(notices[0].envelope)["text"]
    assert case.report.reference in text and "赵保密" not in text
    assert run(app, session, purge_day + timedelta(hours=1)).purged == []  # not 72 hours since the notice yet

    result = run(app, session, purge_day - timedelta(hours=10) + timedelta(hours=73))
    assert result.purged == [case.report.reference] and (result.identities, result.files) == (1, 1)
    assert not path.exists()
    assert session.scalar(select(func.count()).select_from(ReporterIdentity)) == 0
    assert session.scalar(select(func.count()).select_from(Attachment)) == 0
    assert reporter_keys() == 0  # the keyed hashes of the phone and e-mail go with the identity
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "retention.purged"))
    assert event.case_id == case.id and event.detail == {"identities": 1, "files": 1}
    assert run(app, session, purge_day + timedelta(days=30)).purged == []  # once


def test_a_reopened_case_is_kept_and_its_notice_ends(app, session, ctx):
    team = Team(session)
    closed = datetime(2026, 1, 10, 8)
    case = closed_case(app, session, ctx, team, closed)
    notice_time = closed + timedelta(days=1094)
    assert run(app, session, notice_time).warned == [case.report.reference]
    casework.reopen(session, team.head, case, "举报人补充了新的证据")
    assert run(app, session, notice_time + timedelta(days=5)).purged == []
    assert session.scalar(select(func.count()).select_from(ReporterIdentity)) == 1
    assert case.purge_warned_at is None


def test_shredding_overwrites_before_removing(ctx, tmp_path):
    stored = ctx.store.save(__import__("io").BytesIO(PNG * 10), 10_000_000)
    path = ctx.store.path(stored.stored_name)
    handle = open(path, "rb")  # a reader that still holds the file sees zeros, not the evidence
    try:
        assert ctx.store.shred(stored.stored_name) and not path.exists()
        assert set(handle.read()) == {0}
    finally:
        handle.close()


def test_a_held_mail_put_on_the_case_loses_its_sender_and_text_with_the_purge(app, session, ctx):
    from intake.mail_models import MailMessage, MailReview
    from oversight.retention import purge_case
    case = closed_case(app, session, ctx, Team(session), datetime(2026, 1, 10, 8))
    mail = MailMessage(mailbox="health", uidvalidity=1, uid=1, message_key="<m@x>", status="attached",
                       report_id=case.report_id)
    session.add(mail)
    session.flush()
    review = MailReview(mail_message_id=mail.id, report_id=case.report_id, resolution="attached",
                        envelope=ctx.cipher.encrypt_json({"from_addr": "sender@example.cn", "text": "…"}))
    session.add(review)
    session.commit()
    purge_case(session, ctx.store, case, datetime(2029, 1, 10))
    session.commit()
    session.refresh(review)
    assert review.envelope is None and review.resolution == "attached"
