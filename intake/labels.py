"""The words for intake's codes (core/labels.py): channels, the reporter's statuses, outbox states."""
from __future__ import annotations

from flask_babel import gettext as _

from core.labels import label, register


def _channels() -> dict[str, str]:
    return {"web": _("Website"), "app": _("App"), "phone": _("Phone"), "letter": _("Letter"),
            "visit": _("Visit in person"), "email": _("Email"), "self": _("Self-inspection"),
            "message": _("Follow-up message"), "api": _("App")}


def _report_statuses() -> dict[str, str]:
    return {"received": _("Received"), "accepted": _("Accepted"), "in_progress": _("In progress"),
            "closed": _("Closed"), "not_accepted": _("Not accepted")}


def _outbox_states() -> dict[str, str]:
    return {"pending": _("Waiting to be sent"), "sent": _("Sent"), "failed": _("Delivery failed"),
            "no_address": _("no email address")}


def _mail_states() -> dict[str, str]:
    return {"report": _("Filed as a report"), "reply": _("Added to a report"), "duplicate": _("Duplicate"),
            "skipped": _("Skipped (automatic mail)"), "quarantined": _("Quarantined"),
            "unmatched": _("Unmatched replies"), "attached": _("Attached to a case"), "dismissed": _("Dismissed")}


def _mail_kinds() -> dict[str, str]:
    return {"acknowledgement": _("Acknowledgement"), "monthly_bulletin": _("Monthly bulletin (月通报)"),
            "personal": _("Personal reminder"), "reminder": _("Reminder"), "retention_notice": _("Retention notice"),
            "weekly_report": _("Weekly report")}


register("channel", _channels, table=True)
register("mail", _mail_states, table=True)
register("mail_kind", _mail_kinds, table=True)
register("report_status", _report_statuses, table=True)
register("outbox", _outbox_states, table=True)


def channel_label(code: str) -> str:
    return label(code, "channel")


def status_label(status: str) -> str:
    return label(status, "report_status")
