"""The case page's actions: each reads its form fields and calls casework.workflow (which checks
permission, records the audit event and commits). Returns the translated confirmation."""
from __future__ import annotations

from datetime import date

from flask import current_app
from flask_babel import gettext as _

from casework import deadline_actions, lifting, reveal
from casework import workflow as casework
from casework.action_messages import action_error_message  # noqa: F401 (the pages import it from here)
from casework.models import Case
from casework.opening import UNCHANGED
from core.accounts import User


class FormProblem(casework.CaseActionError):
    code = "missing_input"


class NotADate(casework.CaseActionError):
    code = "invalid_input"


def _date(form, name: str, required: bool = True) -> date | None:
    value = (form.get(name) or "").strip()
    if not value:
        if required:
            raise FormProblem(field=name, problem="required")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise NotADate(field=name, problem="not_a_date") from None


def _missing():
    raise FormProblem()


def _text(form, name: str, limit: int = 5000) -> str:
    return (form.get(name) or "").strip()[:limit]


def _case_by_reference(session, actor, reference: str) -> Case:
    from casework.access import case_for
    return case_for(session, actor, reference.strip())


def accept(session, actor, case, form):
    casework.accept(session, actor, case)
    return _("Accepted.")


def not_accept(session, actor, case, form):
    casework.not_accept(session, actor, case, form.get("reason_code", ""), _text(form, "note"),
                        result=_text(form, "result", 20000))
    return _("Recorded as not accepted.")


def assign(session, actor, case, form):
    raw = form.get("handler") or ""
    handler = (session.get(User, int(raw)) if raw.isdigit() else None) or _missing()
    casework.assign(session, actor, case, handler)
    return _("Assigned.")


def assist(session, actor, case, form):
    casework.request_assistance(session, actor, case, form.get("unit", ""), _text(form, "note"))
    return _("Assistance requested.")


def transfer(session, actor, case, form):
    casework.transfer(session, actor, case, form.get("unit", ""), _text(form, "reason"))
    return _("Transferred.")


def refer(session, actor, case, form):
    casework.refer(session, actor, case, form.get("target", ""), _date(form, "referred_on"),
                   _text(form, "document_no", 100), _text(form, "note"), result=_text(form, "result", 20000))
    return _("Referral recorded.")


def plan(session, actor, case, form):
    casework.record_plan(session, actor, case, problem=_text(form, "problem"), measures=_text(form, "measures"),
                         responsible=_text(form, "responsible", 200), goal=_text(form, "goal"),
                         deadline=_date(form, "deadline"))
    return _("The five-fixes plan (五定) was recorded.")


def findings(session, actor, case, form):
    casework.record_findings(session, actor, case, form.get("findings", ""), _text(form, "note"))
    return _("Findings recorded.")


def rectified(session, actor, case, form):
    casework.record_rectification(session, actor, case, _date(form, "done_on"), _text(form, "note"))
    return _("Rectification recorded.")


def close(session, actor, case, form):
    casework.close(session, actor, case, result=_text(form, "result", 20000), confirmed=form.get("confirm") == "y")
    return _("Closed (销号).")


def reopen(session, actor, case, form):
    casework.reopen(session, actor, case, _text(form, "reason"))
    return _("Reopened.")


def message(session, actor, case, form):
    casework.message_reporter(session, actor, case, _text(form, "text", 20000))
    return _("Message sent to the reporter.")


def notice(session, actor, case, form):
    casework.record_notice(session, actor, case, form.get("kind", ""), _date(form, "given_on"),
                           form.get("method", ""), _text(form, "note"))
    return _("Notice recorded.")


def _ledger_fields(form) -> dict:
    return {"item_code": form.get("item_code", ""), "manifestation": _text(form, "manifestation"),
            "how_found": _text(form, "how_found", 100), "found_on": _date(form, "found_on", required=False),
            "measures": _text(form, "measures"), "handling_opinion": _text(form, "handling_opinion"),
            "policy_basis": _text(form, "policy_basis"), "rectified": form.get("rectified") == "y",
            "rectified_on": _date(form, "rectified_on", required=False),
            "responsible_person": _text(form, "responsible_person", 100), "phone": _text(form, "phone", 40)}


def institution(session, actor, case, form):
    casework.add_ledger_institution(session, actor, case, name=_text(form, "name", 200),
                                    supervising_dept=_text(form, "supervising_dept", 200), **_ledger_fields(form))
    return _("Institution added to the ledger.")


def person(session, actor, case, form):
    casework.add_ledger_person(session, actor, case, name=_text(form, "name", 100), employer=_text(form, "employer", 200),
                               employer_supervisor=_text(form, "employer_supervisor", 200), **_ledger_fields(form))
    return _("Person added to the ledger.")


def correct(session, actor, case, form):
    item = form.get("item", "__keep__")
    item = UNCHANGED if item == "__keep__" else (None if item == "none" else item)
    casework.correct(session, actor, case, item=item, lead_unit=form.get("lead_unit") or None,
                     reason=_text(form, "reason"), tax=current_app.extensions["routing"].taxonomy,
                     related=current_app.extensions["routing"].related)
    return _("Classification corrected; the case was re-routed.")


def link(session, actor, case, form):
    other = _case_by_reference(session, actor, form.get("other", ""))
    casework.link(session, actor, case, other, _text(form, "note", 300))
    return _("Cases linked.")


def merge(session, actor, case, form):
    into = _case_by_reference(session, actor, form.get("into", ""))
    casework.merge(session, actor, case, into)
    return _("Merged; every reporter's receipt keeps working.")


def merge_here(session, actor, case, form):
    """A related case merged into this one (the related list's one-click merge)."""
    other = _case_by_reference(session, actor, form.get("other", ""))
    casework.merge(session, actor, other, case)
    return _("Merged into this case; every reporter's receipt keeps working.")


def request_identity(session, actor, case, form):
    reveal.request_reveal(session, actor, case, _text(form, "reason"))
    return _("Your request was sent to the coordinator.")


def extend(session, actor, case, form):
    deadline_actions.extend_handling(session, actor, case, form.get("days", ""), _text(form, "reason"))
    return _("The handling period was extended.")


def pause(session, actor, case, form):
    deadline_actions.pause_clock(session, actor, case, _text(form, "reason"))
    return _("The clock is stopped while the case waits on the reporter.")


def resume(session, actor, case, form):
    deadline_actions.resume_clock(session, actor, case)
    return _("The clock runs again; the deadlines moved by the time it stood still.")


def remind(session, actor, case, form):
    deadline_actions.add_personal_reminder(session, actor, case, _date(form, "remind_on"), _text(form, "note", 300))
    return _("You will be reminded of this case on that day.")


def propose_police(session, actor, case, form):
    deadline_actions.propose_police_referral(session, actor, case, _text(form, "reason"))
    return _("The referral to the police was proposed; the unit head decides.")


def decline_police(session, actor, case, form):
    deadline_actions.decline_police_referral(session, actor, case, _text(form, "reason"))
    return _("Recorded: no referral to the police.")


def lift_recusal(session, actor, case, form):
    raw = form.get("user") or ""
    lifting.lift_recusal(session, actor, case, int(raw) if raw.isdigit() else None, _text(form, "reason", 2000))
    return _("The recusal was lifted for this person on this case; the reason is in the timeline.")


def lift_wall(session, actor, case, form):
    lifting.lift_wall(session, actor, case, form.get("unit", ""), _text(form, "reason", 2000))
    return _("The restriction was lifted; the reason is in the timeline.")


ACTIONS = {"accept": accept, "not_accept": not_accept, "assign": assign, "assist": assist, "transfer": transfer,
           "refer": refer, "plan": plan, "findings": findings, "rectified": rectified, "close": close,
           "reopen": reopen, "message": message, "notice": notice, "institution": institution, "person": person,
           "correct": correct, "link": link, "merge": merge, "merge_here": merge_here,
           "request_identity": request_identity,
           "extend": extend, "pause": pause, "resume": resume, "remind": remind, "propose_police": propose_police,
           "decline_police": decline_police, "lift_recusal": lift_recusal, "lift_wall": lift_wall}
