"""The one submit path, without HTTP: storage, encryption, receipts, replay, events."""
import io

import pytest
from sqlalchemy import func, select

from intake.errors import AlreadySubmitted, StorageUnavailable, ValidationFailed
from intake.models import Attachment, Report, ReporterIdentity
from intake.receipts import format_receipt, parse_receipt, receipt_candidates
from intake.signals import report_received
from intake.submit import IncomingFile, submit_report
from tests.support.factories import TEXT, file_report, report_input
from tests.support.files import EXE, PDF, PNG


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_report_is_stored_with_reference_and_hashed_receipt(session, ctx):
    receipt = file_report(session, ctx)
    report = session.get(Report, receipt.report_id)
    assert report.reference.startswith("XLT-") and report.reference.endswith("-000001")
    assert len(receipt.receipt) == 16 and receipt.receipt.isdigit()
    assert report.receipt_hash == ctx.hasher.hash(receipt.receipt)
    assert receipt.receipt.encode() not in report.receipt_hash
    assert report.status == "received" and [h.status for h in report.status_history] == ["received"]
    second = file_report(session, ctx)
    assert second.reference.endswith("-000002") and second.receipt != receipt.receipt


def test_real_name_identity_is_encrypted_at_rest(session, ctx):
    receipt = file_report(session, ctx, anonymous=False, reporter_name="王秀兰", reporter_phone="13800001111",
                          reporter_email="wang@example.com")
    row = session.get(ReporterIdentity, receipt.report_id)
    for secret in ("王秀兰".encode(), b"13800001111", b"wang@example.com"):
        assert secret not in row.ciphertext
    identity = ctx.cipher.decrypt(row.ciphertext)
    assert (identity.name, identity.phone, identity.email) == ("王秀兰", "13800001111", "wang@example.com")


def test_anonymous_report_keeps_no_identity_even_if_typed(session, ctx):
    receipt = file_report(session, ctx, anonymous=True, reporter_name="王秀兰", reporter_phone="138")
    assert session.get(ReporterIdentity, receipt.report_id) is None


def test_files_are_stored_by_content_under_random_names(session, ctx):
    receipt = file_report(session, ctx, files=[("../../etc/passwd.pdf", PDF), ("照片.png", PNG)])
    rows = session.scalars(select(Attachment).where(Attachment.report_id == receipt.report_id)).all()
    assert [(r.display_name, r.extension) for r in rows] == [("passwd.pdf", "pdf"), ("照片.png", "png")]
    for row in rows:
        path = ctx.store.path(row.stored_name)
        assert path.read_bytes() in (PDF, PNG)
        assert "passwd" not in str(path) and row.stored_name.isalnum()


@pytest.mark.parametrize("name,data,code", [
    ("invoice.pdf", EXE, "file_type"),
    ("empty.pdf", b"", "file_empty"),
])
def test_bad_files_refuse_the_whole_report_and_leave_no_file(session, ctx, name, data, code):
    with pytest.raises(ValidationFailed) as exc:
        file_report(session, ctx, files=[("ok.png", PNG), (name, data)])
    assert exc.value.errors["files"].code == code
    assert count(session, Report) == 0
    assert not any(p.is_file() for p in ctx.store.root.rglob("*")) if ctx.store.root.exists() else True


def test_oversize_file_is_refused(session, ctx):
    ctx.limits.__class__  # limits are frozen; use a small store limit through a replaced context
    from dataclasses import replace
    small = replace(ctx, limits=replace(ctx.limits, max_file_bytes=1024))
    with pytest.raises(ValidationFailed) as exc:
        file_report(session, small, files=[("big.pdf", PDF + b"0" * 2048)])
    assert exc.value.errors["files"].code == "file_too_large"
    assert count(session, Report) == 0


def test_validation_reports_every_field(session, ctx):
    with pytest.raises(ValidationFailed) as exc:
        submit_report(session, ctx, report_input(text="太短", anonymous=False, reporter_email="not-an-email",
                                                  consent=False, title="x" * 201))
    assert set(exc.value.errors) == {"text", "reporter_name", "reporter_phone", "reporter_email", "consent", "title"}


def test_control_and_bidi_characters_are_removed(session, ctx):
    receipt = file_report(session, ctx, title="正常\u202e标题\x00", accused_name="张\u200b三")
    report = session.get(Report, receipt.report_id)
    assert report.title == "正常标题" and report.accused_name == "张三"


def test_replayed_submission_returns_the_same_receipt_and_one_report(session, ctx):
    first = file_report(session, ctx, token="tok-" + "a" * 40)
    again = file_report(session, ctx, token="tok-" + "a" * 40)
    assert again.replayed and (again.reference, again.receipt) == (first.reference, first.receipt)
    assert count(session, Report) == 1


def test_replay_after_the_window_does_not_show_the_receipt(session, ctx):
    from dataclasses import replace
    first = file_report(session, ctx, token="tok-" + "b" * 40)
    report = session.get(Report, first.report_id)
    report.replay_seal = b"expired-or-cleared"
    session.commit()
    with pytest.raises(AlreadySubmitted) as exc:
        file_report(session, replace(ctx), token="tok-" + "b" * 40)
    assert exc.value.params["reference"] == first.reference
    assert count(session, Report) == 1


def test_report_received_event_follows_the_commit_and_its_failure_loses_nothing(session, ctx):
    seen = []

    def ok(sender, report_id):
        seen.append((report_id, session.get(Report, report_id) is not None))

    def broken(sender, report_id):
        raise RuntimeError("classifier down")

    report_received.connect(ok)
    report_received.connect(broken)
    try:
        receipt = file_report(session, ctx)
    finally:
        report_received.disconnect(ok)
        report_received.disconnect(broken)
    assert seen == [(receipt.report_id, True)]
    assert count(session, Report) == 1


def test_storage_failure_acknowledges_nothing(session, ctx, tmp_path):
    from dataclasses import replace

    from intake.storage import AttachmentStore
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    broken = replace(ctx, store=AttachmentStore(blocker / "uploads"))
    with pytest.raises(StorageUnavailable):
        submit_report(session, broken, report_input(), [IncomingFile("a.png", io.BytesIO(PNG))])
    assert count(session, Report) == 0


def test_receipt_parsing_and_candidates():
    assert parse_receipt("1234-5678-9012-3456") == "1234567890123456"
    assert parse_receipt(" １２３４ ５６７８ ９０１２ ３４５６ ") == "1234567890123456"
    assert parse_receipt("1234") is None and parse_receipt(1234567890123456) is None
    assert parse_receipt("x" * 100) is None
    assert format_receipt("1234567890123456") == "1234-5678-9012-3456"
    assert "1234567890123456" in receipt_candidates("我的码是 1234 5678 9012 3456 请查")


def test_text_is_kept_as_typed(session, ctx):
    text = TEXT + "\n<script>alert(1)</script> ' OR 1=1 --"
    receipt = file_report(session, ctx, text=text)
    assert session.get(Report, receipt.report_id).text == text


def test_a_new_text_under_an_old_form_token_is_a_new_report(session, ctx):
    first = file_report(session, ctx, token="tok-" + "c" * 40)
    second = file_report(session, ctx, token="tok-" + "c" * 40, text="另一件事：某卫生院院长让药企报销家庭旅游费用，共计两万元。")
    assert not second.replayed and second.reference != first.reference
    assert count(session, Report) == 2


def test_references_count_per_year_and_past_a_million(session, ctx):
    """The year comes from when the report was received (a clerk may enter last year's letter); each
    year starts at 000001; past 999,999 the number simply grows (the same on both databases)."""
    from datetime import datetime

    from sqlalchemy import text

    from casework.models import Case
    from intake.models import PendingRouting, ReferenceCounter, StatusChange
    from intake.submit import submit_report as submit
    this_year = file_report(session, ctx)
    late_letter = submit(session, ctx, report_input(channel="letter", received_by="health", received_via="信箱",
                                                    received_at=datetime(2025, 12, 30, 9, 0)))
    assert late_letter.reference == "XLT-2025-000001"
    assert this_year.reference.endswith("-000001") and not this_year.reference.startswith("XLT-2025")
    if session.get_bind().dialect.name == "postgresql":  # a sequence per year there
        session.execute(text("SELECT setval('report_number_2025', 999999)"))
    else:
        session.get(ReferenceCounter, 2025).last = 999_999
    session.commit()
    big = submit(session, ctx, report_input(channel="letter", received_by="health", received_via="信箱",
                                            received_at=datetime(2025, 12, 31, 9, 0)))
    assert big.reference == "XLT-2025-1000000"
    # every report got its first public status and its place in the routing queue, in the same commit
    for receipt in (this_year, late_letter, big):
        assert session.scalar(select(StatusChange.status).where(StatusChange.report_id == receipt.report_id)) == "received"
        assert session.get(Report, receipt.report_id).reference == receipt.reference
        routed = session.scalar(select(Case.id).where(Case.report_id == receipt.report_id)) is not None
        assert routed != (session.get(PendingRouting, receipt.report_id) is not None)  # one or the other


def test_concurrent_submissions_get_distinct_consecutive_references(app, ctx):
    """Eight writers at once: every report gets its own number, none is skipped (nothing failed)."""
    from core.db import new_session
    from tests.support.concurrency import run_in_threads
    references = []

    def writer():
        with app.app_context(), new_session() as own:
            for _ in range(10):
                references.append(file_report(own, ctx).reference)

    assert run_in_threads(writer, 8) == []
    assert sorted(int(r.rsplit("-", 1)[1]) for r in references) == list(range(1, 81))
