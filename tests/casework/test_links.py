"""Cases in relation: correcting the routing (re-routes, retrains), linking two cases, merging one
into another with every reporter's receipt still working."""
import pytest
from sqlalchemy import func, select

from casework import workflow as casework
from casework.models import CaseLink, CaseReport, LearnedModelRecord, RoutingCorrection
from casework.opening import UNCHANGED
from casework.rules import InvalidInput, InvalidState, MissingInput, NotAllowed, can_see
from core.audit import AuditEvent, verify
from intake.followup import find_by_receipt, public_view
from tests.support.staff import Team, open_case

MARKET_TEXT = "医药代表以讲课费名义给医生回扣，每月按处方量结算推广费，涉及多家医药公司。"


@pytest.fixture
def team(session):
    return Team(session)


@pytest.fixture
def tax(app):
    return app.extensions["routing"].taxonomy


def events(session, action):
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def test_a_correction_reroutes_retrains_and_is_audited(app, session, ctx, team, tax):
    case, _ = open_case(app, session, ctx)
    casework.accept(session, team.handler, case)
    assert (case.item_code, case.lead_unit, case.handler_id) == ("6.4", "health", team.handler.id)
    with pytest.raises(NotAllowed):
        casework.correct(session, team.handler, case, item="4.1", reason="实为骗保", tax=tax)
    with pytest.raises(NotAllowed):
        casework.correct(session, team.market_head, case, item="4.1", reason="实为骗保", tax=tax)
    with pytest.raises(MissingInput):
        casework.correct(session, team.coordinator, case, item="4.1", reason=" ", tax=tax)
    with pytest.raises(InvalidInput):
        casework.correct(session, team.coordinator, case, item="9.9", reason="x", tax=tax)
    with pytest.raises(InvalidInput):
        casework.correct(session, team.coordinator, case, lead_unit="court", reason="x", tax=tax)
    assert session.scalar(select(func.count()).select_from(RoutingCorrection)) == 0

    casework.correct(session, team.coordinator, case, item="4.1", reason="实为骗保", tax=tax)
    assert (case.item_code, case.area, case.lead_unit) == ("4.1", 4, "medinsure")
    assert case.handler_id is None and case.status == "in_progress"  # the health handler left with the lead
    correction = session.scalar(select(RoutingCorrection))
    assert (correction.old_item, correction.new_item, correction.corrected_by_user_id) == ("6.4", "4.1",
                                                                                           team.coordinator.id)
    assert session.scalar(select(func.count()).select_from(LearnedModelRecord)) == 1
    [event] = events(session, "case.corrected")
    assert event.case_id == case.id and event.detail["reason"] == "实为骗保"
    assert (event.detail["old_lead"], event.detail["new_lead"], event.detail["handler_cleared"]) == \
        ("health", "medinsure", True)

    casework.correct(session, team.medinsure_head, case, lead_unit="health", reason="由卫健局牵头", tax=tax)
    assert case.lead_unit == "health" and case.item_code == "4.1"
    assert verify(session).ok


def test_a_correction_moves_a_triage_case_to_a_unit(app, session, ctx, team, tax):
    case, _ = open_case(app, session, ctx, title="服务态度差",
                        text="昨天在医院挂号排队两个小时，窗口的工作人员态度很差，还对我老母亲大声嚷嚷。")
    assert case.status == "triage"
    casework.correct(session, team.coordinator, case, item="6.4", reason="实为索要红包", tax=tax)
    assert (case.status, case.lead_unit) == ("to_accept", "health")
    casework.correct(session, team.head, case, item=UNCHANGED, lead_unit="market", reason="涉药企", tax=tax)
    assert case.lead_unit == "market" and case.item_code == "6.4"
    assert not can_see(session, team.handler, case)


def test_linking_two_cases(app, session, ctx, team):
    first, _ = open_case(app, session, ctx)
    second, _ = open_case(app, session, ctx, title="同一医院")
    market, _ = open_case(app, session, ctx, text=MARKET_TEXT)
    with pytest.raises(NotAllowed):
        casework.link(session, team.handler, first, second, "同一医院")
    with pytest.raises(NotAllowed):  # the health case is not visible to the market unit head
        casework.link(session, team.market_head, market, first, "")
    with pytest.raises(InvalidInput):
        casework.link(session, team.head, first, first, "")
    row = casework.link(session, team.head, first, second, "同一医院同一科室")
    assert (row.case_id, row.other_id, row.note) == (first.id, second.id, "同一医院同一科室")
    with pytest.raises(InvalidState):
        casework.link(session, team.head, second, first, "again")
    casework.link(session, team.coordinator, first, market, "同一医药代表")
    assert session.scalar(select(func.count()).select_from(CaseLink)) == 2
    assert sorted(e.case_id for e in events(session, "case.linked")) == sorted([first.id, second.id, first.id,
                                                                                 market.id])


def test_merging_keeps_every_receipt_working_and_follows_the_target(app, session, ctx, team):
    source, source_receipt = open_case(app, session, ctx, title="外科红包")
    target, target_receipt = open_case(app, session, ctx, title="外科医生红包")
    casework.accept(session, team.handler, target)
    market, _ = open_case(app, session, ctx, text=MARKET_TEXT)
    with pytest.raises(NotAllowed):
        casework.merge(session, team.handler, source, target)
    with pytest.raises(NotAllowed):  # the health case is not visible to the market unit head
        casework.merge(session, team.market_head, market, source)
    with pytest.raises(InvalidInput):
        casework.merge(session, team.head, source, source)

    casework.merge(session, team.head, source, target)
    assert source.status == "merged" and source.merged_into_id == target.id
    held = set(session.scalars(select(CaseReport.report_id).where(CaseReport.case_id == target.id)))
    assert held == {source.report_id, target.report_id}
    for receipt in (source_receipt, target_receipt):
        assert public_view(find_by_receipt(session, ctx, receipt.receipt)).status == "accepted"
    with pytest.raises(InvalidState):
        casework.accept(session, team.head, source)
    with pytest.raises(InvalidState):
        casework.merge(session, team.head, target, source)
    with pytest.raises(InvalidState):
        casework.message_reporter(session, team.head, source, "你好")

    casework.message_reporter(session, team.handler, target, "请补充时间", report_id=source.report_id)
    casework.record_findings(session, team.handler, target, "unfounded")
    casework.close(session, team.handler, target, result="经核查，问题已处理。")
    for receipt in (source_receipt, target_receipt):
        view = public_view(find_by_receipt(session, ctx, receipt.receipt))
        assert view.status == "closed" and view.history[-1][0] == "closed"
    assert [m.body for m in public_view(find_by_receipt(session, ctx, source_receipt.receipt)).messages] == ["请补充时间"]
    assert sorted(e.case_id for e in events(session, "case.merged")) == sorted([source.id, target.id])
    assert verify(session).ok


def test_a_merged_report_naming_a_user_recuses_them_from_the_target(app, session, ctx, team):
    head = team.head
    target, _ = open_case(app, session, ctx)
    casework.assign(session, head, target, team.handler)
    team.handler.display_name = "王建国"
    session.commit()
    source, _ = open_case(app, session, ctx, accused_name="王建国", accused_institution="兴隆台区卫生健康局")
    assert can_see(session, team.handler, target)
    casework.merge(session, team.coordinator, source, target)
    assert not can_see(session, team.handler, target)
    with pytest.raises(NotAllowed):
        casework.accept(session, team.handler, target)
    casework.assign(session, head, target, team.handler2)
    casework.accept(session, team.handler2, target)
    assert target.status == "in_progress"
