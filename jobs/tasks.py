"""The scheduled jobs, each one plain function of the app: the scheduler process and the CLI call the
same code (`reminders run`, `mail send`, `mail fetch`)."""
from __future__ import annotations

import logging
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, render_template

from casework.opening import route_pending
from casework.queue_counts import compact
from casework.runtime import routing_runtime
from core.accounts import User
from core.audit import AnchorRefused, take_anchor
from core.db import new_session
from intake.mail_cli import fetch_all, send_all
from intake.mailboxes import mailboxes_from
from intake.outbox import OutgoingMail
from oversight.reminders import Due, PassResult, ReminderContext, run_pass
from routing.pool import Ahead

log = logging.getLogger(__name__)

PHASES_ZH = {"before": "即将到期", "due": "今日到期", "escalate": "已逾期，列入督办", "personal": "个人提醒",
             "weekly_report": "请于今日下班前报送本周工作进展和台账（周调度）"}
PHASES_EN = {"before": "due soon", "due": "due today", "escalate": "overdue, now on the supervision list (督办)",
             "personal": "your reminder", "weekly_report": "send this week's progress and ledger before the end of work"}


def _phase(phase: str, table: dict) -> str:
    if phase.startswith("overdue"):
        return "已逾期" if table is PHASES_ZH else "overdue"
    return table.get(phase, phase)


def reminder_context(app: Flask) -> ReminderContext:
    policy, site = app.extensions["deadline_policy"], app.config["SITE_URL"]

    def render(user: User, dues: list[Due]) -> OutgoingMail:
        items = []
        for d in dues:
            if d.stage == "monthly_bulletin":
                items.append({"link": f"{site}/bulletin?month={d.reference}",
                              "title_zh": f"{d.reference} 月通报数据已齐，请审阅并印发",
                              "title_en": f"The bulletin for {d.reference} is ready to review and issue"})
                continue
            if d.stage == "weekly_report":
                items.append({"link": f"{site}/weekly",
                              "title_zh": f"{d.reference or d.unit_code}：{_phase(d.phase, PHASES_ZH)}",
                              "title_en": f"{d.unit_code}: {_phase(d.phase, PHASES_EN)}"})
                continue
            stage_zh = "个人提醒" if d.stage == "personal" else policy.label(d.stage, "zh")
            stage_en = "Personal reminder" if d.stage == "personal" else policy.label(d.stage, "en")
            items.append({"link": f"{site}/cases/{d.reference}",
                          "title_zh": f"案件 {d.reference} {stage_zh}（{d.due_on:%Y-%m-%d}）{_phase(d.phase, PHASES_ZH)}",
                          "title_en": f"Case {d.reference}: {stage_en} ({d.due_on:%Y-%m-%d}) {_phase(d.phase, PHASES_EN)}"})
        if len(dues) == 1:
            subject = f"【时限提醒】{items[0]['title_zh']}"
        else:
            subject = f"【时限提醒】{len(dues)} 项待办 / {len(dues)} reminders"
        values = {"greeting": f"{user.display_name or user.username}，您好：", "reminders": items}
        return OutgoingMail(to=user.email, subject=subject[:200], text=render_template("mail/reminder.txt", **values),
                            html=render_template("mail/reminder.html", **values))

    return ReminderContext(policy=policy, calendar=app.extensions["workcalendar"], cipher=app.extensions["intake"].cipher,
                           render=render, mail_domain=app.config["MAIL_FROM"].split("@")[-1] or "localhost")


def local_now(app: Flask) -> datetime:
    return datetime.now(ZoneInfo(app.config["TIMEZONE"])).replace(tzinfo=None)


def reminders_job(app: Flask, now: datetime | None = None) -> PassResult:
    ctx = reminder_context(app)
    with new_session() as session:
        result = run_pass(session, ctx, now or local_now(app))
    busy = result.synced or result.reminders or result.escalated
    log.log(logging.INFO if busy else logging.DEBUG, "reminders: %s", result.summary())
    return result


def retention_job(app: Flask, now=None):
    from core.db import utcnow
    from oversight.retention import RetentionPolicy, retention_pass
    ctx = app.extensions["intake"]
    with new_session() as session:
        return retention_pass(session, ctx.store, ctx.cipher,
                              RetentionPolicy(app.config["RETENTION_DAYS"], app.config["RETENTION_NOTICE_HOURS"]),
                              now or utcnow(), site_url=app.config["SITE_URL"],
                              mail_domain=app.config["MAIL_FROM"].split("@")[-1] or "localhost")


def routing_job(app: Flask, batch: int = 500, max_seconds: float = 30.0) -> int:
    """Route what intake queued since the last run, oldest first, a batch at a time until the queue
    is empty (or `max_seconds` passed: the next run goes on)."""
    runtime, routed, stop = routing_runtime(app), 0, time.monotonic() + max_seconds
    ahead = Ahead()  # with ROUTING_WORKERS, the next batch is classified while one is written
    with new_session() as session:
        learned = runtime.learned_model(session)
        try:
            while True:
                done = route_pending(session, runtime.taxonomy, learned, limit=batch, related=runtime.related,
                                     workers=app.config["ROUTING_WORKERS"], ahead=ahead)
                routed += done
                if done < batch or time.monotonic() > stop:
                    break
        finally:
            ahead.discard()
    if routed:
        log.info("routing: %d report(s) routed", routed)
    return routed


def queue_counts_job(app: Flask) -> int:
    """Fold the queue's count deltas (casework.queue_counts), so that a tab's count stays a sum of a few rows."""
    with new_session() as session:
        folded = compact(session)
        session.commit()
    return folded


def audit_anchor_job(app: Flask) -> str | None:
    """Write the audit trail's head to the log once a day (`flask audit anchor` prints the same line): kept
    outside the database, it lets `flask audit verify --anchor LINE` find a cut tail or a restored copy."""
    with new_session() as session:
        try:
            line = take_anchor(session).line()
        except AnchorRefused as exc:
            log.error("audit anchor refused: %s", exc)
            return None
        session.commit()
    log.info("audit anchor: %s", line)
    return line


def outbox_job(app: Flask) -> None:
    if not app.config["SMTP_URL"]:
        return
    result = send_all(app)
    if result.sent or result.deferred or result.failed:
        log.info("outbox: sent %d, deferred %d, failed %d", result.sent, result.deferred, result.failed)


def mail_fetch_job(app: Flask) -> None:
    if not mailboxes_from(app.config):
        return
    for stats in fetch_all(app):
        if stats.counts or stats.error:
            log.info("mail fetch %s: %s %s", stats.mailbox, dict(stats.counts), stats.error or "")
