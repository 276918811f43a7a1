"""Ledger rows of a case: the institutions (Attachment 3) and individuals (Attachment 4) found with
problems. The reporting unit is the case's lead unit; 主动说明 and 发现途径 default from the case."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from casework.models import Case, LedgerInstitution, LedgerPerson, NegativeListItem
from casework.rules import (
    InvalidInput,
    MissingInput,
    commit_action,
    lock,
    optional_text,
    past_date,
    require_status,
    require_worker,
    required_text,
)
from core.accounts import User
from intake.validate import validate_phone

LEDGER_STATUSES = ("in_progress", "closed", "transferred")
HOW_FOUND_LABELS = {"report": "群众举报", "self_inspection": "自查自纠", "disclosure": "主动说明"}
TEXT_LIMIT = 5000
# field -> (limit, single line); name, item_code and the dates/flags are handled apart
COMMON_FIELDS = {"manifestation": (TEXT_LIMIT, False), "how_found": (100, True), "measures": (TEXT_LIMIT, False),
                 "handling_opinion": (TEXT_LIMIT, False), "policy_basis": (TEXT_LIMIT, False),
                 "responsible_person": (100, True), "phone": (40, True)}
INSTITUTION_FIELDS = {**COMMON_FIELDS, "supervising_dept": (200, True)}
PERSON_FIELDS = {**COMMON_FIELDS, "employer": (200, True), "employer_supervisor": (200, True)}
FLAGS_AND_DATES = ("found_on", "rectified", "rectified_on", "own_disclosure")


def ledger_values(session: Session, case: Case, fields: dict, text_fields: dict, name_limit: int) -> dict:
    """Check and clean the fields of one ledger row (raises MissingInput / InvalidInput)."""
    unknown = set(fields) - set(text_fields) - set(FLAGS_AND_DATES) - {"name", "item_code"}
    if unknown:
        raise InvalidInput(f"unknown ledger fields: {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    values = {"name": required_text(fields.get("name"), name_limit, line=True, field="name")}
    item_code = (fields.get("item_code") or "").strip()
    if not item_code:
        raise MissingInput("the negative-list item is required", field="item_code")
    if session.get(NegativeListItem, item_code) is None:
        raise InvalidInput(f"unknown negative-list item {item_code!r}", field="item_code")
    values["item_code"] = item_code
    for name, (limit, line) in text_fields.items():
        values[name] = optional_text(fields.get(name), limit, line=line, field=name)
    if values["phone"] and not validate_phone(values["phone"]):
        raise InvalidInput("the phone number is not valid", field="phone")
    values["how_found"] = values["how_found"] or HOW_FOUND_LABELS.get(case.how_found, "")
    values["found_on"] = past_date(fields.get("found_on"), field="found_on", required=False)
    values["rectified_on"] = past_date(fields.get("rectified_on"), field="rectified_on", required=False)
    values["rectified"] = bool(fields.get("rectified")) or values["rectified_on"] is not None
    if values["rectified"] and values["rectified_on"] is None:
        raise MissingInput("a rectification marked done needs its date", field="rectified_on")
    own = fields.get("own_disclosure")
    values["own_disclosure"] = case.how_found == "disclosure" if own is None else bool(own)
    return values


def _add(session: Session, actor: User, case: Case, model, text_fields: dict, name_limit: int, action: str,
         fields: dict):
    lock(session, case)
    require_worker(session, actor, case)
    require_status(case, *LEDGER_STATUSES)
    values = ledger_values(session, case, fields, text_fields, name_limit)
    row = model(case_id=case.id, unit_code=case.lead_unit, **values)
    session.add(row)
    session.flush()
    commit_action(session, action, actor, case, row_id=row.id, item_code=row.item_code,
                  unit=row.unit_code, rectified=row.rectified)
    return row


def add_ledger_institution(session: Session, actor: User, case: Case, **fields) -> LedgerInstitution:
    """An Attachment 3 row: name and item_code required; other columns as LedgerInstitution's."""
    return _add(session, actor, case, LedgerInstitution, INSTITUTION_FIELDS, 200, "ledger.institution_added", fields)


def add_ledger_person(session: Session, actor: User, case: Case, **fields) -> LedgerPerson:
    """An Attachment 4 row: name and item_code required; other columns as LedgerPerson's."""
    return _add(session, actor, case, LedgerPerson, PERSON_FIELDS, 100, "ledger.person_added", fields)


def mark_ledger_rectified(session: Session, case: Case, done_on: date) -> int:
    """Mark the case's ledger rows not yet rectified as rectified on `done_on` (caller commits)."""
    count = 0
    for model in (LedgerInstitution, LedgerPerson):
        result = session.execute(update(model).where(model.case_id == case.id, model.rectified.is_(False))
                                 .values(rectified=True, rectified_on=done_on)
                                 .execution_options(synchronize_session="fetch"))
        count += result.rowcount or 0
    return count


def ledger_rows(session: Session, case: Case) -> tuple[list[LedgerInstitution], list[LedgerPerson]]:
    return (list(session.scalars(select(LedgerInstitution).where(LedgerInstitution.case_id == case.id))),
            list(session.scalars(select(LedgerPerson).where(LedgerPerson.case_id == case.id))))
