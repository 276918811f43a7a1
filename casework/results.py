"""The result written for the reporter when a case ends (销号, 不予受理, transfer): required, short, and
naming nobody. The text is checked against the accused's and the reporter's names and the persons of
the case's ledger, compared by routing.names.name_key (no spaces, dots or punctuation, traditional
characters as simplified, full-width folded), so "張 三" in a result is found for the accused 张三."""
from __future__ import annotations

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.models import Case, LedgerPerson
from casework.rules import InvalidInput, MissingInput, answered_reports, case_reports
from core.localtime import local_today
from intake.feedback_models import ReportResult
from intake.text import clean_text
from routing.names import name_key  # the one name comparison (recusal, leadership rule, results)

RESULT_LIMIT = 2000


class NamesSomeone(InvalidInput):
    """The result text contains a name it must not show."""
    code = "result_names_someone"


def _reporter_names(session: Session, case: Case) -> list[str]:
    """The real-name reporters' names, decrypted for this check only (never shown, never stored)."""
    if not has_app_context() or "intake" not in current_app.extensions:
        return []
    cipher = current_app.extensions["intake"].cipher
    names = []
    for report in case_reports(session, case):
        if report.identity is not None and not report.anonymous:
            try:
                names.append(cipher.decrypt(report.identity.ciphertext).name or "")
            except Exception:  # an identity under a retired key: nothing to compare  # noqa: BLE001
                continue
    return names


def forbidden_names(session: Session, case: Case) -> list[str]:
    reports = case_reports(session, case)
    names = [r.accused_name for r in reports] + _reporter_names(session, case)
    names += list(session.scalars(select(LedgerPerson.name).where(LedgerPerson.case_id == case.id)))
    return [n for n in names if len(name_key(n)) >= 2]


def check_result_text(session: Session, case: Case, text: object) -> str:
    """The cleaned result, or MissingInput / InvalidInput / NamesSomeone (field "result")."""
    body = clean_text(text if isinstance(text, str) else "")
    if not body:
        raise MissingInput("a result for the reporter is required", field="result")
    if len(body) > RESULT_LIMIT:
        raise InvalidInput(f"the result is longer than {RESULT_LIMIT} characters", field="result")
    key = name_key(body)
    if any(name_key(n) in key for n in forbidden_names(session, case)):
        raise NamesSomeone("the result names the accused or the reporter", field="result")
    return body


def write_results(session: Session, case: Case, kind: str, text: str, author_id: int | None) -> None:
    """One result row for every report the case answers (each reporter reads it with their own receipt;
    automatic repeats are not answered again: rules.answered_reports)."""
    today = local_today()
    for report in answered_reports(session, case):
        session.add(ReportResult(report_id=report.id, case_id=case.id, kind=kind, text=text, decided_on=today,
                                 author_id=author_id))
