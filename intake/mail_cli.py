"""Commands: `flask --app wsgi mail fetch` (poll each configured mailbox once), `mail send` (drain the
outbox once), `mail status` (mailboxes, quarantine, failed mail). The scheduler calls the same code."""
from __future__ import annotations

from datetime import timedelta

import click
from flask import Flask, current_app, render_template
from sqlalchemy import func, select

from core.db import new_session
from intake.mail_fetch import fetch_mailbox
from intake.mail_ingest import MailSettings
from intake.mail_models import MailboxState, MailMessage, OutboxMessage
from intake.mailboxes import MailConfigError, mailboxes_from, parse_smtp_url
from intake.outbox import OutgoingMail, drain, message_id_keys
from intake.receipts import format_receipt


def mail_settings(app: Flask) -> MailSettings:
    ctx = app.extensions["intake"]
    own = {app.config["MAIL_FROM"].lower()} | {b.user.lower() for b in mailboxes_from(app.config) if "@" in b.user}

    def render_ack(report, receipt: str) -> OutgoingMail:
        values = {"reference": report.reference, "receipt": format_receipt(receipt), "site_url": app.config["SITE_URL"]}
        return OutgoingMail(to="", subject=f"举报已登记 Report registered: {report.reference}",
                            text=render_template("mail/acknowledgement.txt", **values),
                            html=render_template("mail/acknowledgement.html", **values))

    msgid_keys = message_id_keys(ctx.cipher)
    return MailSettings(own_addresses=own, msgid_key=msgid_keys[0], msgid_previous_keys=tuple(msgid_keys[1:]),
                        mail_domain=app.config["MAIL_FROM"].split("@")[-1] or "localhost",
                        render_ack=render_ack, max_message_bytes=app.config["MAIL_MAX_MESSAGE_BYTES"])


def fetch_all(app: Flask) -> list:
    settings = mail_settings(app)
    results = []
    for box in mailboxes_from(app.config):
        with new_session() as session:
            results.append(fetch_mailbox(session, app.extensions["intake"], settings, box,
                                         max_messages=app.config["MAIL_FETCH_MAX_MESSAGES"],
                                         max_seconds=app.config["MAIL_FETCH_MAX_SECONDS"]))
    return results


def send_all(app: Flask):
    if not app.config["SMTP_URL"]:
        raise MailConfigError("SMTP_URL is not set: the outbox keeps its mail until it is")
    with new_session() as session:
        return drain(session, app.extensions["intake"].cipher, parse_smtp_url(app.config["SMTP_URL"]),
                     app.config["MAIL_FROM"], sender_name=app.config["MAIL_SENDER_NAME"],
                     max_attempts=app.config["MAIL_MAX_ATTEMPTS"],
                     lease=timedelta(seconds=app.config["MAIL_CLAIM_SECONDS"]))


def init_app(app: Flask) -> None:
    @app.cli.group("mail")
    def mail_group():
        """The email channel: fetch the mailboxes, send the outbox, show the state."""

    @mail_group.command("fetch")
    def fetch_command():
        """Poll each configured mailbox once (MAILBOX_HEALTH, MAILBOX_MARKET, MAILBOX_MEDINSURE)."""
        try:
            results = fetch_all(current_app)
        except MailConfigError as exc:
            raise click.ClickException(str(exc))
        if not results:
            click.echo("no mailbox configured (set MAILBOX_HEALTH / MAILBOX_MARKET / MAILBOX_MEDINSURE)")
        for stats in results:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(stats.counts.items())) or "nothing new"
            click.echo(f"{stats.mailbox}: {counts}" + (f" — {stats.error}" if stats.error else ""))
        if any(s.error and not s.counts for s in results):
            raise SystemExit(1)

    @mail_group.command("send")
    def send_command():
        """Drain the outbox once over SMTP_URL (retries with backoff)."""
        try:
            result = send_all(current_app)
        except MailConfigError as exc:
            raise click.ClickException(str(exc))
        click.echo(f"sent {result.sent}, deferred {result.deferred}, failed {result.failed}")

    @mail_group.command("status")
    def status_command():
        """Mailboxes, quarantined messages and undelivered mail (for admins)."""
        with new_session() as session:
            for state in session.scalars(select(MailboxState).order_by(MailboxState.mailbox)):
                click.echo(f"mailbox {state.mailbox}: last run {state.last_run_at}, error {state.last_error or '-'}")
            for status, count in session.execute(select(MailMessage.status, func.count()).group_by(MailMessage.status)):
                click.echo(f"messages {status}: {count}")
            for row in session.scalars(select(MailMessage).where(MailMessage.status == "quarantined")):
                click.echo(f"  quarantined {row.mailbox} uid {row.uid}: {row.reason} (original: {row.raw_name or 'on server'})")
            for status, count in session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)):
                click.echo(f"outbox {status}: {count}")
            for row in session.scalars(select(OutboxMessage).where(OutboxMessage.status == "failed")):
                click.echo(f"  failed #{row.id} {row.kind} after {row.attempts} attempts: {row.last_error}")
