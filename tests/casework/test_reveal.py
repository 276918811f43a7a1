"""The reporter's identity: asked for by the handler, decided by a coordinator, every view logged with
its reason, the identity itself never in the audit trail."""
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from casework import workflow as casework
from casework.models import RevealRequest
from casework.reveal import decide_reveal, request_reveal, reveal_identity
from casework.rules import InvalidState, MissingInput, NotAllowed
from core.audit import AuditEvent, verify
from core.db import utcnow
from intake.identity import Identity
from tests.support.staff import INSURANCE_TEXT, Team, open_case

NAME, PHONE, EMAIL = "李四", "13800000000", "li4@example.com"
REAL_NAME = {"anonymous": False, "reporter_name": NAME, "reporter_phone": PHONE, "reporter_email": EMAIL}


@pytest.fixture
def team(session):
    return Team(session)


@pytest.fixture
def cipher(ctx):
    return ctx.cipher


def views(session, case_id) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "identity.viewed",
                                                         AuditEvent.case_id == case_id).order_by(AuditEvent.seq)))


def assert_identity_never_logged(session):
    for event in session.scalars(select(AuditEvent)):
        logged = json.dumps([event.actor, event.action, event.detail], ensure_ascii=False)
        assert NAME not in logged and PHONE not in logged and EMAIL not in logged


def real_name_case(app, session, ctx, team):
    case, _ = open_case(app, session, ctx, **REAL_NAME)
    casework.accept(session, team.handler, case)
    return case


def test_request_refuse_then_approve_and_view(app, session, ctx, team, cipher):
    case = real_name_case(app, session, ctx, team)
    for outsider in (team.handler2, team.market_handler, team.clerk):
        with pytest.raises(NotAllowed):
            request_reveal(session, outsider, case, "需要核实")
    with pytest.raises(MissingInput):
        request_reveal(session, team.handler, case, " ")
    with pytest.raises(NotAllowed):  # nothing approved yet
        reveal_identity(session, team.handler, case, "核实", cipher)

    first = request_reveal(session, team.handler, case, "需要当面核实就诊经过")
    assert first.status == "pending"
    with pytest.raises(InvalidState):  # one pending request at a time
        request_reveal(session, team.head, case, "我也要")
    with pytest.raises(NotAllowed):
        decide_reveal(session, team.head, first, True, "同意")
    with pytest.raises(MissingInput):
        decide_reveal(session, team.coordinator, first, False, "")
    decide_reveal(session, team.coordinator, first, False, "可通过留言联系，无需身份")
    assert first.status == "refused" and first.decided_by_id == team.coordinator.id and first.decided_at
    with pytest.raises(InvalidState):
        decide_reveal(session, team.coordinator, first, True, "改主意")
    with pytest.raises(NotAllowed):
        reveal_identity(session, team.handler, case, "核实", cipher)

    second = request_reveal(session, team.handler, case, "举报人不回复留言，需电话联系")
    decide_reveal(session, team.admin, second, True, "同意，仅限电话核实")
    shown = reveal_identity(session, team.handler, case, None, cipher)
    assert shown == Identity(NAME, PHONE, EMAIL)
    assert reveal_identity(session, team.handler, case, "再次核实", cipher) == shown
    with pytest.raises(NotAllowed):  # approval is personal
        reveal_identity(session, team.head, case, "看看", cipher)
    logged = views(session, case.id)
    assert [(e.actor_id, e.detail["reason"], e.detail["request_id"], e.detail["shown"]) for e in logged] == [
        (team.handler.id, "举报人不回复留言，需电话联系", second.id, True),
        (team.handler.id, "再次核实", second.id, True)]
    decided = session.scalars(select(AuditEvent).where(AuditEvent.action == "identity.reveal_decided")).all()
    assert [e.detail["approved"] for e in decided] == [False, True]
    assert len(session.scalars(select(AuditEvent).where(AuditEvent.action == "identity.reveal_requested")).all()) == 2
    assert_identity_never_logged(session)
    assert verify(session).ok


def test_the_approval_ends_with_the_case_or_the_assignment(app, session, ctx, team, cipher):
    case = real_name_case(app, session, ctx, team)
    request = request_reveal(session, team.handler, case, "需电话核实")
    decide_reveal(session, team.coordinator, request, True, "同意")
    assert reveal_identity(session, team.handler, case, "核实", cipher).name == NAME
    casework.assign(session, team.head, case, team.handler2)
    with pytest.raises(NotAllowed):
        reveal_identity(session, team.handler, case, "核实", cipher)
    casework.assign(session, team.head, case, team.handler)
    casework.record_findings(session, team.handler, case, "unfounded")
    casework.close(session, team.handler, case, result="经核查，问题已处理。")
    with pytest.raises(InvalidState):
        reveal_identity(session, team.handler, case, "结案后", cipher)
    with pytest.raises(InvalidState):
        request_reveal(session, team.handler, case, "结案后")
    assert len(views(session, case.id)) == 1


def test_the_coordinator_reveals_directly_with_a_reason(app, session, ctx, team, cipher):
    case = real_name_case(app, session, ctx, team)
    with pytest.raises(MissingInput):
        reveal_identity(session, team.coordinator, case, None, cipher)
    with pytest.raises(MissingInput):
        reveal_identity(session, team.coordinator, case, "  ", cipher)
    assert views(session, case.id) == []
    assert reveal_identity(session, team.coordinator, case, "督办需要", cipher) == Identity(NAME, PHONE, EMAIL)
    [event] = views(session, case.id)
    assert event.actor_id == team.coordinator.id and event.detail == {"reason": "督办需要", "request_id": None,
                                                                       "shown": True}
    with pytest.raises(NotAllowed):  # no request was approved for the unit head
        reveal_identity(session, team.head, case, "督办需要", cipher)
    assert_identity_never_logged(session)


def test_an_anonymous_report_reveals_nothing_but_the_look_is_logged(app, session, ctx, team, cipher):
    case, _ = open_case(app, session, ctx)
    casework.accept(session, team.handler, case)
    with pytest.raises(InvalidState):  # nothing to ask for
        request_reveal(session, team.handler, case, "想知道是谁")
    assert reveal_identity(session, team.coordinator, case, "核实是否匿名", cipher) is None
    [event] = views(session, case.id)
    assert event.detail["shown"] is False and event.detail["reason"] == "核实是否匿名"


def test_recused_and_assisting_users_cannot_ask_or_see(app, session, ctx, team, cipher):
    coordinator = team.coordinator
    coordinator.display_name = "王建国"
    session.commit()
    case, _ = open_case(app, session, ctx, accused_name="王建国", accused_institution="区卫生健康局工作专班",
                        **REAL_NAME)
    with pytest.raises(NotAllowed):
        reveal_identity(session, coordinator, case, "督办", cipher)
    casework.accept(session, team.handler, case)
    request = request_reveal(session, team.handler, case, "需电话核实")
    with pytest.raises(NotAllowed):  # a recused coordinator does not decide either
        decide_reveal(session, coordinator, request, True, "同意")
    decide_reveal(session, team.admin, request, True, "同意")

    assisted, _ = open_case(app, session, ctx, text=INSURANCE_TEXT, **REAL_NAME)  # health assists
    casework.accept(session, team.medinsure_handler, assisted)
    for assisting in (team.head, team.handler):
        with pytest.raises(NotAllowed):
            request_reveal(session, assisting, assisted, "协查需要")
    assert_identity_never_logged(session)


def test_an_approval_expires_and_the_requester_asks_again(app, session, ctx, team, cipher):
    """An approval is for the step it was asked for: 72 hours after the decision the requester can no
    longer view the identity with it, and a new request goes through the coordinator again."""
    case = real_name_case(app, session, ctx, team)
    request = request_reveal(session, team.handler, case, "需电话核实")
    decide_reveal(session, team.coordinator, request, True, "同意")
    assert reveal_identity(session, team.handler, case, "核实", cipher).name == NAME
    request.decided_at = utcnow() - RevealRequest.APPROVAL_VALID + timedelta(minutes=5)
    session.commit()
    assert reveal_identity(session, team.handler, case, "再核实", cipher).name == NAME  # still inside the window
    request.decided_at = utcnow() - RevealRequest.APPROVAL_VALID - timedelta(minutes=1)
    session.commit()
    with pytest.raises(NotAllowed):
        reveal_identity(session, team.handler, case, "过期后再看", cipher)
    again = request_reveal(session, team.handler, case, "仍需电话核实")
    assert again.status == "pending"
    decide_reveal(session, team.coordinator, again, True, "同意")
    assert reveal_identity(session, team.handler, case, None, cipher).name == NAME
