"""The words for casework's codes (core/labels.py): case statuses, not-accepted reasons, audit events,
identity-reveal states, findings; and the routing note written in words instead of the router's shorthand."""
from __future__ import annotations

import re

from flask_babel import gettext as _

from core.labels import label, register


def _case_statuses() -> dict[str, str]:
    return {"triage": _("Triage"), "to_accept": _("To accept"), "in_progress": _("In progress"),
            "closed": _("Closed"), "not_accepted": _("Not accepted"), "transferred": _("Transferred"),
            "merged": _("Merged")}


def _not_accepted() -> dict[str, str]:
    return {"not_corruption": _("Not about corruption in the medical sector"),
            "outside_jurisdiction": _("Outside our jurisdiction"), "insufficient_detail": _("Too little detail to act on"),
            "duplicate": _("Duplicate of another report"), "already_handled": _("Already handled"),
            "other": _("Other (explain in the note)")}


def _actions() -> dict[str, str]:
    return {"case.accepted": _("Accepted"), "case.not_accepted": _("Not accepted"), "case.assigned": _("Assigned"),
            "case.assistance_requested": _("Assistance requested"), "case.transferred": _("Transferred"),
            "case.referred": _("Referred"), "case.plan_recorded": _("Five fixes (五定)"),
            "case.findings_recorded": _("Findings"), "case.rectified": _("Rectification done"),
            "case.closed": _("Close (销号)"), "case.reopened": _("Reopen"), "case.message_sent": _("Write to the reporter"),
            "case.notice_recorded": _("Record a notice"), "ledger.institution_added": _("Add an institution"),
            "ledger.person_added": _("Add a person"), "case.linked": _("Link"), "case.merged": _("Merge"),
            "case.corrected": _("Correct item or lead unit"), "identity.reveal_requested": _("Identity reveal requested"),
            "identity.reveal_decided": _("Identity reveal decided"), "identity.viewed": _("Identity viewed"),
            "identity.key_rotated": _("Identity key rotated"), "case.viewed": _("Case viewed"),
            "report.registered": _("Report registered"), "ledger.exported": _("Ledger exported"),
            "bulletin.exported": _("Bulletin exported"), "weekly.exported": _("Weekly reports exported"),
            "weekly.submitted": _("Weekly report sent"), "reports.exported": _("Reports exported"),
            "queue.exported": _("Queue exported"), "supervision.exported": _("Supervision list exported"),
            "weekly.reminded": _("Weekly report reminder sent"),
            "attachment.downloaded": _("Attachment downloaded"),
            "case.self_inspection_recorded": _("Self-inspection (自查自纠)"),
            "case.deadline_extended": _("Extend the handling period"), "case.clock_paused": _("Stop the clock"),
            "case.clock_resumed": _("Start the clock again"),
            "case.personal_reminder_set": _("Remind me on a date"),
            "case.police_referral_proposed": _("Propose a referral to the police (移送公安)"),
            "case.police_referral_declined": _("Decide not to refer to the police"),
            "mail.attached": _("A clerk attached a mail (staff note)"),
            "receipt.replaced": _("Receipt code replaced through the follow-up"),
            "case.return_call_recorded": _("Return call (回访)"), "case.objection_received": _("Objection (复查 request)"),
            "case.review_decided": _("Decide the review"), "queue.listed": _("Queue listed"),
            "audit.sealed": _("Audit trail sealed"), "recusal.lifted": _("Recusal lifted"),
            "audit.chain_keyed": _("Audit trail keyed"), "login.failed": _("Failed sign-in"),
            "login.locked": _("Account locked"), "login.ok": _("Signed in"), "mail.dismissed": _("Mail dismissed"),
            "mail.listed": _("Held mail listed"), "mail.made_report": _("Mail made a report"),
            "mail.read": _("Held mail read"), "password.changed": _("Password changed"),
            "retention.announced": _("Retention notice sent"), "retention.purged": _("Data purged after retention"),
            "totp.enrolled": _("Authenticator set up"), "user.created": _("Account created"),
            "user.password_set": _("Password set"), "user.updated": _("Account changed"),
            "recusal.reinstated": _("Recusal in force again"),
            "case.handler_recused": _("Handler taken off the case (named in it)"),
            "case.wall_lifted": _("Restriction lifted"), "reporter.message": _("Message from the reporter"),
            "case.repeat_registered": _("Repeat report registered (重复件)"),
            "reports.related_listed": _("Related reports listed")}


def _related_reasons() -> dict[str, str]:
    return {"same_person": _("Same accused person"), "same_institution_item": _("Same institution, same item"),
            "same_institution_area": _("Same institution, neighbouring item"),
            "near_duplicate": _("Nearly the same text"), "same_reporter": _("Same reporter")}


def _reveal_states() -> dict[str, str]:
    return {"pending": _("Waiting for a decision"), "approved": _("Approved"), "refused": _("Refused")}


def _findings() -> dict[str, str]:
    return {"substantiated": _("Substantiated"), "partly": _("Partly substantiated"), "unfounded": _("Unfounded")}


def _tabs() -> dict[str, str]:
    return {"to_accept": _("To accept"), "in_progress": _("In progress"), "due_soon": _("Due soon"),
            "overdue": _("Overdue"), "closed": _("Closed"), "assisting": _("Assisting"), "triage": _("Triage"),
            "all": _("All units")}


register("status", _case_statuses, table=True)
register("queue_tab", _tabs, table=True)
register("not_accepted", _not_accepted, table=True)
register("event", _actions, table=True)
register("reveal", _reveal_states, table=True)
register("findings", _findings, table=True)
register("related", _related_reasons, table=True)


def action_label(action: str) -> str:
    return label(action, "event")


def not_accepted_label(code: str) -> str:
    return label(code, "not_accepted")


_ITEM = re.compile(r"^item (?P<item>\d\.\d)(?::| below confidence threshold (?P<got>[\d.]+) < (?P<need>[\d.]+):) ?(?P<how>[^;]*)")


def routing_note(reason: str | None) -> str:
    """The stored routing reason (the router's shorthand, e.g. "item 6.4: matrix") as a sentence."""
    if not reason:
        return ""
    text = reason.strip()
    transfer = "; outside the district: suggest transfer" in text
    text = text.replace("; outside the district: suggest transfer", "")
    match = _ITEM.match(text)
    if text == "out of scope or no item fits: manual triage":
        note = _("No item of the negative list fits, or the report is outside the campaign: the task force triages it.")
    elif text == "classifier error: manual triage":
        note = _("The classifier could not read the report: the task force triages it.")
    elif text == "demo data":
        note = _("Demonstration case.")
    elif match and match["got"]:
        note = _("Item %(item)s, but with too little certainty (%(got)s of the %(need)s needed): the task force "
                 "triages it.", item=match["item"], got=match["got"], need=match["need"])
    elif match and match["how"].strip() == "matrix":
        note = _("Item %(item)s: lead unit from the responsibility matrix.", item=match["item"])
    elif match and match["how"].strip() == "accused official's unit":
        note = _("Item %(item)s: led by the unit of the accused official.", item=match["item"])
    elif match and match["how"].strip() == "accused official's unit not named":
        note = _("Item %(item)s: the accused official's unit is not named, so the task force leads.", item=match["item"])
    elif text.startswith("corrected by "):
        who, _sep, why = text[len("corrected by "):].partition(": ")
        note = _("Corrected by %(who)s: %(why)s", who=who, why=why)
    elif text.startswith("self-inspection recorded by "):
        note = _("Self-inspection findings recorded by %(who)s.", who=text[len("self-inspection recorded by "):])
    else:
        note = text
    if transfer:
        note += " " + _("The report names a place outside the district: consider a transfer.")
    return note
