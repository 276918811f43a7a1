"""Data retention: an ended case (closed, not accepted, transferred) keeps its reporters' identities and
its evidence files for RETENTION_DAYS. RETENTION_NOTICE_HOURS before they go, the coordinators are told
which cases (once); then the identities are deleted, the files overwritten and removed, and each purge is
in the audit trail. A case reopened in between is not purged, and ends its notice. Never a surprise:
a case is purged only after its notice went out at least the notice period before."""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from casework.access import hidden_case_ids
from casework.models import Case, CaseReport
from core.accounts import User
from core.audit import record
from intake.identity import IdentityCipher
from intake.mail_models import MailMessage, MailReview
from intake.match_keys import ReportMatchKey
from intake.models import Attachment, Report, ReporterIdentity
from intake.outbox import OutgoingMail, enqueue
from intake.storage import AttachmentStore

log = logging.getLogger(__name__)
ENDED = ("closed", "not_accepted", "transferred")
BATCH = 500


@dataclass
class RetentionResult:
    warned: list[str] = field(default_factory=list)   # references told about
    purged: list[str] = field(default_factory=list)
    identities: int = 0
    files: int = 0

    def summary(self) -> str:
        return (f"{len(self.warned)} case(s) announced for purge, {len(self.purged)} purged "
                f"({self.identities} identities, {self.files} files overwritten and removed)")


@dataclass(frozen=True)
class RetentionPolicy:
    days: int
    notice_hours: int = 72


def _ended_at():
    return func.coalesce(Case.closed_at, Case.updated_at)


def retention_pass(session: Session, store: AttachmentStore, cipher: IdentityCipher, policy: RetentionPolicy,
                   now: datetime, *, site_url: str = "", mail_domain: str = "localhost") -> RetentionResult:
    """`now` is naive UTC, like every stored time. Commits."""
    result = RetentionResult()
    if policy.days <= 0:
        return result
    due = now - timedelta(days=policy.days)
    notice = timedelta(hours=policy.notice_hours)
    base = (select(Case, Report.reference).join(Report, Report.id == Case.report_id)
            .where(Case.status.in_(ENDED), Case.purged_at.is_(None)))
    announce = list(session.execute(base.where(Case.purge_warned_at.is_(None), _ended_at() <= due + notice)
                                    .order_by(Case.id).limit(BATCH)))
    if announce:
        for case, reference in announce:
            case.purge_warned_at = now
            result.warned.append(reference)
        _tell_coordinators(session, cipher, [(case.id, reference) for case, reference in announce], now + notice,
                           site_url, mail_domain)
        record(session, "retention.announced", actor="system", cases=result.warned,
               purge_from=(now + notice).isoformat(timespec="minutes"))
        session.commit()
    for case, reference in session.execute(base.where(Case.purge_warned_at <= now - notice, _ended_at() <= due)
                                           .order_by(Case.id).limit(BATCH)).all():
        identities, files = purge_case(session, store, case, now)
        result.purged.append(reference)
        result.identities += identities
        result.files += files
        session.commit()
    if result.warned or result.purged:
        log.info("retention: %s", result.summary())
    return result


def purge_case(session: Session, store: AttachmentStore, case: Case, now: datetime) -> tuple[int, int]:
    """Delete the identities of every report the case holds, overwrite and remove their files (the
    original mail too), mark the case purged and record it. The caller commits."""
    report_ids = list(session.scalars(select(CaseReport.report_id).where(CaseReport.case_id == case.id)))
    identities = files = 0
    for identity in session.scalars(select(ReporterIdentity).where(ReporterIdentity.report_id.in_(report_ids))):
        session.delete(identity)
        identities += 1
    session.execute(delete(ReportMatchKey).where(ReportMatchKey.report_id.in_(report_ids),
                                                 ReportMatchKey.kind == "reporter"))  # derived from the identity
    for attachment in session.scalars(select(Attachment).where(Attachment.report_id.in_(report_ids))):
        files += store.shred(attachment.stored_name)
        session.delete(attachment)
    for mail in session.scalars(select(MailMessage).where(MailMessage.report_id.in_(report_ids),
                                                          MailMessage.raw_name.is_not(None))):
        files += store.shred(mail.raw_name)
        mail.raw_name = None
    for review in session.scalars(select(MailReview).where(MailReview.report_id.in_(report_ids),
                                                           MailReview.envelope.is_not(None))):
        review.envelope = None  # a held mail's sender and text, once it was put on this case
    case.purged_at = now
    record(session, "retention.purged", actor="system", case_id=case.id, report_id=case.report_id,
           identities=identities, files=files)
    return identities, files


def _tell_coordinators(session: Session, cipher: IdentityCipher, cases: list[tuple[int, str]], purge_from: datetime,
                       site_url: str, mail_domain: str) -> None:
    """One mail to each coordinator: which cases (none hidden from them: casework.access), from when, how
    to keep one (reopen it)."""
    for user in session.scalars(select(User).where(User.role == "coordinator", User.active.is_(True),
                                                   User.email != "")).all():
        hidden = hidden_case_ids(session, user)
        if hidden is None:
            continue
        references = [ref for case_id, ref in cases if case_id not in hidden]
        if references:
            _tell(session, cipher, user, references, purge_from, site_url, mail_domain)


def _tell(session: Session, cipher: IdentityCipher, user: User, references: list[str], purge_from: datetime,
          site_url: str, mail_domain: str) -> None:
    listed = "\n".join(f"  {ref}  {site_url}/cases/{ref}" for ref in references[:200])
    more = f"\n  … 另 {len(references) - 200} 件" if len(references) > 200 else ""
    text = (f"以下 {len(references)} 件已办结案件保存期限届满，将于 {purge_from:%Y-%m-%d %H:%M}（UTC）后删除举报人身份信息和证据材料：\n"
            f"{listed}{more}\n\n如需保留，请在此之前重新打开相应案件并说明理由。本邮件由系统自动发送。\n\n----\n"
            f"{len(references)} ended case(s) reach the end of their retention period: their reporters' identities "
            f"and evidence files will be removed after {purge_from:%Y-%m-%d %H:%M} UTC. Reopen a case to keep it.")
    enqueue(session, cipher, OutgoingMail(to=user.email, subject=f"【数据保存期限】{len(references)} 件案件将删除身份信息",
                                          text=text), kind="retention_notice",
            message_id=f"<xlt.retention.{secrets.token_hex(12)}@{mail_domain}>")
