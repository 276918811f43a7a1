"""The stages after a result in the reminders pass: the review of an objection (复查) reminds the task
force, never one who handled the case, and goes on the 督办 list when late; the 回访 owed to a real-name
phone reporter reminds the receiving unit's clerks. Each reminder once (the same keys as every stage)."""
from datetime import datetime, time

import pytest
from sqlalchemy import select

from casework import workflow as casework
from casework.deadline_models import CaseDeadline, Supervision
from casework.return_calls import record_return_call
from core.localtime import local_today
from intake.receipts import format_receipt
from oversight.reminders import supervision_list
from tests.casework.test_feedback import RESULT, closed_case
from tests.oversight.test_reminders import DUE, at, run, sent, workdays
from tests.support.staff import Team, make_user



@pytest.fixture
def team(session):
    return Team(session)


def stage_due_on(session, case, stage):
    session.expire_all()
    row = session.scalar(select(CaseDeadline).where(CaseDeadline.case_id == case.id, CaseDeadline.stage == stage,
                                                    CaseDeadline.state == "open"))
    assert row is not None, f"no open {stage} deadline"
    row.due_on, row.next_remind_on = DUE, workdays(DUE, -3)
    session.commit()
    return row


def test_the_review_reminds_the_task_force_and_is_supervised_when_late(app, client, session, ctx, team):
    other = make_user(session, "t-coordinator2", role="coordinator", unit="taskforce", display_name="另一协调员")
    case, receipt = closed_case(app, session, ctx, team)
    casework.reopen(session, other, case, "再查一下")  # the second coordinator acted on the case
    casework.close(session, team.handler, case, result=RESULT)
    team.coordinator  # noqa: B018
    resp = client.post("/api/v1/reports/objection", json={"receipt": format_receipt(receipt.receipt),
                                                          "text": "红包没有退还，处理结果不实，请复查。"})
    assert resp.status_code == 201
    stage_due_on(session, case, "review")
    run(app, session, at(workdays(DUE, -3)))
    assert sent(session) == [("review:before", "t-coordinator", DUE.isoformat())]  # not t-coordinator2
    run(app, session, at(workdays(DUE, -3), 15))
    assert len(sent(session)) == 1  # once
    run(app, session, at(workdays(DUE, 5)))
    assert ("review:escalate", "t-coordinator", DUE.isoformat()) in sent(session)
    assert session.scalar(select(Supervision.stage).where(Supervision.case_id == case.id)) == "review"
    assert [s.stage for s, _c, _r in supervision_list(session, team.coordinator)] == ["review"]  # closed, still supervised


def test_a_return_call_is_due_to_the_receiving_units_clerks(app, session, ctx, team):
    case, receipt = closed_case(app, session, ctx, team, channel="phone", received_by="health", anonymous=False,
                           reporter_name="钱七", reporter_phone="13700000000")
    team.clerk, team.head  # noqa: B018
    make_user(session, "market-clerk", role="clerk", unit="market", display_name="市场登记员")
    stage_due_on(session, case, "return_call")
    run(app, session, at(DUE))
    assert [(k, u) for k, u, _ in sent(session) if k.startswith("return_call")] == [("return_call:due", "t-clerk")]
    from intake.models import Report
    record_return_call(session, team.clerk, session.get(Report, receipt.report_id), caller_name="李登记",
                       called_at=datetime.combine(local_today(), time(0, 1)), rating="basically_satisfied", words="还行")
    run(app, session, at(workdays(DUE, 5)))
    calls = [k for k, _u, _d in sent(session) if k.startswith("return_call")]
    assert calls == ["return_call:due"]  # the call is recorded: no more reminders
    assert session.scalar(select(Supervision).where(Supervision.stage == "return_call")) is None  # never 督办
