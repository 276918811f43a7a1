"""A refused case action as the person reads it: what is missing or wrong, in which field. The workflow
raises named errors with `field` (and `problem`: required, future, past, not_a_date, too_long); this maps
them to translated text at the edge. Only a CSRF failure is an expired form (core.web.csrf_error)."""
from __future__ import annotations

from flask_babel import gettext as _

from core.localtime import local_today


def field_labels() -> dict[str, str]:
    return {
        "problem": _("Problem (定问题表现)"), "measures": _("Measures (定整改措施)"),
        "responsible": _("Responsible person (定责任人员)"), "goal": _("Expected goal (定预期目标)"),
        "deadline": _("Time limit (定工作时限)"), "done_on": _("Date of the rectification"),
        "referred_on": _("Date of the referral"), "given_on": _("Date of the notice"),
        "remind_on": _("Date of the reminder"), "found_on": _("Date the problem was found"),
        "rectified_on": _("Date the rectification was completed"), "reason": _("Reason"), "text": _("Text"),
        "name": _("Name"), "item_code": _("Negative-list item"), "phone": _("Phone"), "note": _("Note"),
        "findings": _("Findings"), "unit": _("Unit"), "lead_unit": _("Lead unit"), "handler": _("Handler"),
        "target": _("To"), "document_no": _("Document number"), "kind": _("Kind"),
        "progress": _("The week's progress"), "result": _("Result for the reporter"),
    }


def action_error_message(exc: Exception) -> str:
    code = getattr(exc, "code", "")
    detail = getattr(exc, "detail", None) or {}
    label = field_labels().get(detail.get("field") or "")
    problem = detail.get("problem") or ""
    today = local_today().isoformat()
    if code == "invalid_input" and detail.get("field") == "deadline" and problem == "past":
        return _("The time limit (定工作时限) cannot be before today (%(today)s). Choose today or a later date.",
                 today=today)
    if code == "invalid_state" and detail.get("missing") == "findings":
        return _("销号 is not possible yet: record the findings (核查结论) first.")
    if code == "invalid_state" and detail.get("missing") == "rectification":
        return _("销号 is not possible yet: record the completed rectification (整改完成) first, "
                 "or findings of \"unfounded\".")
    if code == "missing_input" and detail.get("field") == "confirm":
        return _("销号 needs your confirmation: tick “I confirm …” above the button, then press 销号 again.")
    if code == "missing_input" and detail.get("field") == "result":
        return _("销号 is not possible yet: write the result for the reporter (反馈结果) first.")
    if label and code == "invalid_input":
        if problem == "future":
            return _("“%(field)s” cannot be in the future (today is %(today)s).", field=label, today=today)
        if problem == "past":
            return _("“%(field)s” cannot be before today (%(today)s).", field=label, today=today)
        if problem == "not_a_date":
            return _("“%(field)s” is not a date. Enter it as year-month-day, for example %(today)s.",
                     field=label, today=today)
        if problem == "too_long":
            return _("“%(field)s” is too long.", field=label)
        return _("“%(field)s”: this value is not acceptable.", field=label)
    if label and code == "missing_input":
        return _("Please fill in “%(field)s”.", field=label)
    return {
        "not_allowed": _("You are not allowed to do this."),
        "invalid_state": _("This action is not possible in the case's current state."),
        "missing_input": _("Please fill in the required fields."),
        "invalid_input": _("A value was not acceptable; please check the form."),
        "named_in_case": _("Refused: the person is named in this case's reports. Nobody named in a report asks for, "
                           "decides on or sees the reporter's identity."),
        "no_real_name": _("This account has no real name on record: it cannot be assigned cases until an "
                          "administrator sets it."),
        "unit_excluded": _("This case accuses the leadership of that unit: it may not lead, assist or see it. A "
                           "coordinator must first state why it may (防止“灯下黑”)."),
        "result_names_someone": _("The result for the reporter contains the name of the accused or of the "
                                  "reporter. Write it so that it names nobody (for example 该医生, 相关人员)."),
    }.get(code, _("The action could not be carried out."))
