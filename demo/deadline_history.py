"""The deadlines a demo case has already been through. `demo seed` writes each case's whole life at once, so
sync_deadlines sees only the stages running today; the acceptance decision and the handling period that
ended in the past are written here as met deadline rows, ended when the case says they ended. Without them
the three rates (oversight.rates) of a demo would count only the limits still open, i.e. the late ones."""
from __future__ import annotations

from casework.deadline_models import CaseDeadline
from casework.deadlines import current_rules
from casework.models import Case
from core.localtime import local_date


def add_past_deadlines(session, case: Case, received_at) -> int:
    """Met rows for the acceptance decision (from receipt) and, for a closed case, the handling period
    (from acceptance); the number added. Decisions not yet made leave their stage to sync_deadlines."""
    if case.accepted_at is None:
        return 0
    policy, calendar = current_rules()
    stages = [("acceptance", local_date(received_at), case.accepted_at)]
    if case.closed_at is not None and case.status == "closed":
        stages.append(("handling", local_date(case.accepted_at), case.closed_at))
    added = 0
    for stage, start, ended_at in stages:
        if stage not in policy.stages:
            continue
        due = policy.due(calendar, stage, start, item=case.item_code, unit=case.lead_unit)
        session.add(CaseDeadline(case_id=case.id, stage=stage, unit_code=case.lead_unit, starts_on=start,
                                 due_on=due.due, state="met", extension_days=0, extension_reason="", paused=0,
                                 uncertain=due.uncertain, ended_at=ended_at))
        added += 1
    return added
