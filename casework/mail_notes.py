"""A clerk attaches a held mail (unmatched: it may not speak for the reporter) to the case whose reference
they type, with a note. It goes on the case as a staff note that the reporter never sees, never as the
reporter's message; its files and the original go with it; the sender's address does not (it stays in the
encrypted review row and the original). Audited on the case's timeline."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.access import is_recused
from casework.models import Case, CaseReport
from core.audit import record
from core.db import utcnow
from intake.errors import MailOriginalMissing, NoSuchCase
from intake.mail_ingest import save_original, store_mail_files, strip_quoted
from intake.mail_replies import report_by_reference
from intake.mail_review import HeldMail, checked_note, claim, loose_mail, original
from intake.models import Message, Report
from intake.receipts import redact_receipts
from intake.submit import IntakeContext, attachment_rows, discard_stored

NOTE_LIMIT = 5000


def case_of_report(session: Session, report: Report) -> Case | None:
    return session.scalar(select(Case).join(CaseReport, CaseReport.case_id == Case.id)
                          .where(CaseReport.report_id == report.id)) \
        or session.scalar(select(Case).where(Case.report_id == report.id))


def note_body(note: str, summary: dict) -> str:
    """The staff note as handlers read it: the clerk's words, then the mail's subject and new text (receipts
    hidden). Neither the sender's address nor their name: whether the sender is the reporter is not known."""
    text = redact_receipts(strip_quoted(summary.get("text") or ""))
    return (f"{note}\n\n——— 登记员附上的邮件（未核实是否来自举报人）———\n"
            f"主题：{clean(summary.get('subject'))}\n\n{text or '（邮件无正文）'}")


def clean(value) -> str:
    return str(value or "").strip() or "（无）"


def attach_to_case(session: Session, ctx: IntakeContext, actor, held: HeldMail, reference: str, note: str,
                   own_addresses: set[str] = frozenset()) -> tuple[Report, Case | None]:
    """Put the held mail on the report with this reference as a staff note (not visible to the reporter).
    An unknown reference and a case the clerk is recused from give the same NoSuchCase."""
    note = checked_note(note, field="note", limit=NOTE_LIMIT)
    report = report_by_reference(session, reference)
    case = case_of_report(session, report) if report is not None else None
    if report is None or (case is not None and is_recused(session, actor, case)):
        raise NoSuchCase()
    stored = []
    try:
        raw = original(ctx, held.row)
    except MailOriginalMissing:
        raw = None
    if raw is not None:
        kept, _notes = store_mail_files(ctx, loose_mail(raw, own_addresses))
        stored = kept + [save_original(ctx, raw)]
    try:
        message = Message(report_id=report.id, author="staff", author_user_id=actor.id,
                          body=note_body(note, held.summary), visible_to_reporter=False, created_at=utcnow())
        session.add(message)
        session.flush()
        for row in attachment_rows(stored, message_id=message.id):
            row.report_id = report.id
            session.add(row)
        claim(session, held, actor, "attached", report.id, note)
        record(session, "mail.attached", actor=actor, case_id=case.id if case else None, report_id=report.id,
               mail=held.row.id, message_id=message.id, files=len(stored))
        session.commit()
    except BaseException:
        session.rollback()
        discard_stored(ctx, stored)
        raise
    session.expire(report, ["messages", "attachments"])
    return report, case

