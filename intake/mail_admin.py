"""Admins see the email channel's state on a page: each mailbox's last run and error, quarantined
messages waiting for a clerk, and mail the outbox could not deliver (never its content)."""
from __future__ import annotations

from flask import Blueprint, Flask, render_template
from sqlalchemy import func, select

from core.db import get_session
from core.roles import roles_required
from intake.mail_models import MailboxState, MailMessage, OutboxMessage

bp = Blueprint("mail_admin", __name__, url_prefix="/admin")


@bp.get("/mail")
@roles_required("admin", "coordinator")
def mail_state():
    session = get_session()
    return render_template(
        "admin/mail.html",
        mailboxes=session.scalars(select(MailboxState).order_by(MailboxState.mailbox)).all(),
        message_counts=dict(session.execute(select(MailMessage.status, func.count()).group_by(MailMessage.status)).all()),
        quarantined=session.scalars(select(MailMessage).where(MailMessage.status == "quarantined")
                                    .order_by(MailMessage.id.desc()).limit(200)).all(),
        outbox_counts=dict(session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()),
        failed=session.scalars(select(OutboxMessage).where(OutboxMessage.status.in_(("failed", "pending")),
                                                           OutboxMessage.attempts > 0)
                               .order_by(OutboxMessage.id.desc()).limit(200)).all())


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
