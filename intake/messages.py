"""Intake errors → translated text, at the edge (web form, API)."""
from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _

from intake.errors import IntakeError, ValidationFailed


def message_for(error: IntakeError) -> str:
    p = error.params
    mb = current_app.config["MAX_FILE_BYTES"] // (1024 * 1024)
    name = p.get("filename", "")
    texts = {
        "text_too_short": lambda: _("The reply is empty: write a message or attach a file.") if p.get("empty") else
        _("Please describe what happened in at least %(min)s characters.", min=p.get("min", 20)),
        "text_too_long": lambda: _("The text is too long: at most %(max)s characters (you wrote %(length)s).",
                                   max=p.get("max"), length=p.get("length")),
        "field_too_long": lambda: _("At most %(max)s characters.", max=p.get("max")),
        "required": lambda: _("This field is required."),
        "invalid_email": lambda: _("This is not a valid email address."),
        "invalid_phone": lambda: _("Please enter a phone number we can call (digits, at least 7)."),
        "consent_missing": lambda: _("Please confirm that you have read the notice."),
        "too_many_files": lambda: _("At most %(max)s files.", max=p.get("max")),
        "file_too_large": lambda: _("The file %(name)s is larger than %(mb)s MB.", name=name, mb=mb),
        "file_empty": lambda: _("The file %(name)s is empty.", name=name),
        "file_type": lambda: _("The file %(name)s is not of an accepted type (PDF, JPG, PNG, HEIC, Word, "
                               "Excel, MP3, M4A, AMR, MP4). The type is checked by content, not by name.",
                               name=name),
        "storage_unavailable": lambda: _("Files cannot be stored at the moment. Nothing was submitted; "
                                         "please try again later."),
        "not_found": lambda: _("No report matches this receipt code. Check the code and try again."),
        "receipt_in_message": lambda: _("Your message contains your receipt code. Please remove it: "
                                        "the code is your key and must never be sent to anyone."),
        "already_submitted": lambda: _("This report was already received (reference %(reference)s). "
                                       "For your safety its receipt code is not shown a second time.",
                                       reference=p.get("reference", "")),
        "receipt_must_reset": lambda: _("This receipt code was issued by a clerk and must first be replaced "
                                        "by a new one (POST /api/v1/reports/receipt, or the follow-up page)."),
        "received_in_future": lambda: _("The time received cannot be in the future: it is now %(now)s in the "
                                        "district. Check the date, or leave the field empty for now.",
                                        now=p.get("now", "")),
        "receipt_replaced": lambda: _("This receipt code was replaced by a new one on %(date)s, and no longer opens "
                                      "the report. If you did not replace it yourself, someone else may hold your "
                                      "new code: call %(phones)s (the published line of the unit that received "
                                      "your report; “How to report” lists them all).",
                                      date=p.get("replaced_on", ""), phones=" / ".join(p.get("phones") or [])),
        "invalid_type": lambda: _("Field %(field)s has the wrong type.", field=p.get("field", "")),
        "malformed_json": lambda: _("The request body is not valid JSON."),
        "mail_not_waiting": lambda: _("This mail is no longer waiting: someone else has already dealt with it."),
        "mail_original_missing": lambda: _("The original of this mail was left on the mail server because it "
                                           "is too large; it cannot be made into a report here. Open it in the "
                                           "mailbox and register it by hand, then dismiss it here."),
        "no_such_case": lambda: _("No case has this reference. Check the reference (for example XLT-2026-000123)."),
        "no_result_yet": lambda: _("There is no result to rate or object to yet: the case is still being handled."),
        "feedback_window_closed": lambda: _("A rating or an objection is taken within %(days)s days of the result; "
                                            "that time has passed.", days=p.get("days", 30)),
        "already_rated": lambda: _("This result has already been rated. A result is rated once."),
        "already_objected": lambda: _("An objection to this report has already been filed. Under the Regulations on "
                                      "Letters and Visits (信访工作条例), the same facts are not taken up again "
                                      "(同一事实不再受理)."),
        "invalid_rating": lambda: _("Please choose satisfied, basically satisfied or unsatisfied."),
    }
    if error.code == "quota_exceeded":
        return quota_message(p.get("kind"), p.get("period"), p.get("limit"))
    make = texts.get(error.code)
    return make() if make else _("The request could not be understood.")


def quota_message(kind: str | None, period: str | None, limit) -> str:
    mb = (limit or 0) // (1024 * 1024)
    texts = {
        ("messages", "day"): lambda: _("This report can take at most %(n)s replies in 24 hours. Nothing of this "
                                       "reply was stored; please send it later.", n=limit),
        ("messages", "total"): lambda: _("This report has taken all the %(n)s replies it can. Nothing of this reply "
                                         "was stored; please call the published phone line of the unit (see "
                                         "“How to report”).", n=limit),
        ("files", "day"): lambda: _("This report can take at most %(n)s files in 24 hours. Nothing of this reply "
                                    "was stored; please send the files later.", n=limit),
        ("files", "total"): lambda: _("This report has taken all the %(n)s files it can. Nothing of this reply was "
                                      "stored; please call the published phone line of the unit (see “How to report”).",
                                      n=limit),
        ("bytes", "day"): lambda: _("This report can take at most %(mb)s MB of files in 24 hours. Nothing of this "
                                    "reply was stored; please send the files later.", mb=mb),
        ("bytes", "total"): lambda: _("This report has taken all the %(mb)s MB of files it can. Nothing of this "
                                      "reply was stored; please call the published phone line of the unit (see "
                                      "“How to report”).", mb=mb),
    }
    make = texts.get((kind, period))
    return make() if make else _("The request could not be understood.")


def field_messages(error: ValidationFailed) -> dict[str, str]:
    return {field: message_for(err) for field, err in error.errors.items()}
