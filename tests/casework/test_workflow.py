"""The case workflow (casework.workflow): accept, 五定 plan, findings, rectification, 销号, reopen,
not accepted, assignment, assistance, transfer, referral, messages, notices — each with its
permission rules, the reporter's public status and the audit trail."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from casework import workflow as casework
from casework.models import CaseNotice, CaseUnit, Referral
from casework.rules import InvalidInput, InvalidState, MissingInput, NotAllowed
from core.audit import AuditEvent, verify
from core.localtime import local_today
from intake.followup import find_by_receipt, public_view
from intake.models import Message, Report
from tests.support.staff import INSURANCE_TEXT, Team, make_user, open_case

PLAN = {"problem": "收受红包", "measures": "退还红包，全院通报", "responsible": "院长 赵某", "goal": "杜绝红包",
        "deadline": local_today() + timedelta(days=30)}  # the district's today: a past time limit is refused
REAL_NAME = {"anonymous": False, "reporter_name": "李四", "reporter_phone": "13800000000",
             "reporter_email": "li4@example.com"}


@pytest.fixture
def team(session):
    return Team(session)


def actions(session, case_id) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).where(AuditEvent.case_id == case_id)
                                .order_by(AuditEvent.seq)))


def history(session, report_id) -> list[str]:
    report = session.get(Report, report_id)
    session.refresh(report)
    return [h.status for h in report.status_history]


def in_progress(app, session, ctx, team, **report):
    case, receipt = open_case(app, session, ctx, **report)
    casework.accept(session, team.handler, case)
    return case, receipt


def test_the_full_path_from_acceptance_to_closure(app, session, ctx, team):
    case, receipt = open_case(app, session, ctx)
    assert (case.status, case.lead_unit, case.handler_id) == ("to_accept", "health", None)
    casework.accept(session, team.handler, case)
    assert case.status == "in_progress" and case.accepted_at is not None
    assert case.handler_id == team.handler.id  # a handler accepting an unassigned case takes it
    assert public_view(find_by_receipt(session, ctx, receipt.receipt)).status == "accepted"

    casework.record_plan(session, team.handler, case, **PLAN)
    assert case.plan_deadline == PLAN["deadline"] and case.plan_responsible == "院长 赵某"
    casework.record_findings(session, team.handler, case, "substantiated", "属实")
    casework.record_rectification(session, team.handler, case, local_today(), "已退还")
    casework.close(session, team.handler, case, result="经核查，问题已处理。")
    assert case.status == "closed" and case.closed_at is not None and case.rectified_on == local_today()

    view = public_view(find_by_receipt(session, ctx, receipt.receipt))
    assert view.status == "closed"
    assert [s for s, _at in view.history] == ["received", "accepted", "in_progress", "closed"]
    assert history(session, receipt.report_id) == ["received", "accepted", "in_progress", "closed"]
    assert actions(session, case.id) == ["case.accepted", "case.plan_recorded", "case.findings_recorded",
                                         "case.rectified", "case.closed"]
    assert verify(session).ok


def test_closing_needs_the_rectification_unless_the_findings_are_unfounded(app, session, ctx, team):
    case, _ = in_progress(app, session, ctx, team)
    with pytest.raises(InvalidState):
        casework.close(session, team.handler, case, result="经核查，问题已处理。")
    casework.record_findings(session, team.handler, case, "substantiated")
    with pytest.raises(InvalidState) as err:
        casework.close(session, team.handler, case, result="经核查，问题已处理。")
    assert err.value.code == "invalid_state"
    session.rollback()
    casework.record_findings(session, team.handler, case, "unfounded", "查无实据")
    casework.close(session, team.handler, case, result="经核查，问题已处理。")
    assert case.status == "closed" and case.rectified_on is None


def test_rectification_needs_the_plan_and_a_date_not_in_the_future(app, session, ctx, team):
    case, _ = in_progress(app, session, ctx, team)
    with pytest.raises(InvalidState):
        casework.record_rectification(session, team.handler, case, local_today(), "")
    casework.record_plan(session, team.handler, case, **PLAN)
    row = casework.add_ledger_institution(session, team.handler, case, name="区人民医院", item_code="6.4")
    assert row.rectified is False
    with pytest.raises(InvalidInput):
        casework.record_rectification(session, team.handler, case, local_today() + timedelta(days=2), "")
    with pytest.raises(MissingInput):
        casework.record_rectification(session, team.handler, case, None, "")
    casework.record_rectification(session, team.handler, case, local_today() - timedelta(days=1), "")
    session.refresh(row)
    assert row.rectified is True and row.rectified_on == local_today() - timedelta(days=1)


def test_the_plan_needs_all_five_and_an_accepted_case(app, session, ctx, team):
    case, _ = open_case(app, session, ctx)
    with pytest.raises(InvalidState):
        casework.record_plan(session, team.head, case, **PLAN)
    casework.accept(session, team.head, case)
    assert case.handler_id is None  # a unit head accepting does not become the handler
    for missing in PLAN:
        with pytest.raises(MissingInput):
            casework.record_plan(session, team.head, case, **{**PLAN, missing: None if missing == "deadline" else " "})
    assert case.plan_deadline is None and "case.plan_recorded" not in actions(session, case.id)


def test_findings_must_be_one_of_the_three(app, session, ctx, team):
    case, _ = in_progress(app, session, ctx, team)
    with pytest.raises(InvalidInput):
        casework.record_findings(session, team.handler, case, "maybe")
    with pytest.raises(MissingInput):
        casework.record_findings(session, team.handler, case, "")
    casework.record_findings(session, team.handler, case, "partly", "部分属实")
    assert case.findings == "partly" and case.findings_note == "部分属实"
    assert public_view(session.get(Report, case.report_id)).status == "in_progress"


def test_reopen_by_the_unit_head_with_a_reason(app, session, ctx, team):
    case, receipt = in_progress(app, session, ctx, team)
    casework.record_findings(session, team.handler, case, "unfounded")
    casework.close(session, team.handler, case, result="经核查，问题已处理。")
    with pytest.raises(NotAllowed):
        casework.reopen(session, team.handler, case, "新证据")
    with pytest.raises(MissingInput):
        casework.reopen(session, team.head, case, "  ")
    casework.reopen(session, team.head, case, "举报人提供新证据")
    assert case.status == "in_progress" and case.closed_at is None
    with pytest.raises(InvalidState):
        casework.reopen(session, team.head, case, "again")
    assert history(session, receipt.report_id)[-2:] == ["closed", "in_progress"]
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "case.reopened"))
    assert event.detail["reason"] == "举报人提供新证据" and event.detail["previous"] == "closed"


def test_not_accepted_with_a_reason_and_reopened(app, session, ctx, team):
    case, receipt = open_case(app, session, ctx)
    with pytest.raises(MissingInput):
        casework.not_accept(session, team.handler, case, "", result="经核查，问题已处理。")
    with pytest.raises(InvalidInput):
        casework.not_accept(session, team.handler, case, "boring", result="经核查，问题已处理。")
    with pytest.raises(MissingInput):
        casework.not_accept(session, team.handler, case, "other", "  ", result="经核查，问题已处理。")
    casework.not_accept(session, team.handler, case, "other", "已由法院受理", result="经核查，问题已处理。")
    assert case.status == "not_accepted" and case.not_accepted_reason == "other"
    assert public_view(find_by_receipt(session, ctx, receipt.receipt)).status == "not_accepted"
    with pytest.raises(InvalidState):
        casework.accept(session, team.handler, case)
    casework.reopen(session, team.coordinator, case, "误判")
    assert case.status == "in_progress" and case.not_accepted_reason == "" and case.accepted_at is not None
    assert history(session, receipt.report_id) == ["received", "not_accepted", "accepted"]
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "case.not_accepted"))
    assert event.detail == {"reason_code": "other", "reason": "已由法院受理", "public_status": "not_accepted",
                            "reports_updated": [receipt.report_id]}


@pytest.mark.parametrize("reason", [r for r in casework.NOT_ACCEPTED_REASONS if r != "other"])
def test_every_not_accepted_reason_is_taken_without_a_note(app, session, ctx, team, reason):
    case, _ = open_case(app, session, ctx)
    casework.not_accept(session, team.head, case, reason, result="经核查，问题已处理。")
    assert case.not_accepted_reason == reason


def test_not_accepting_is_decided_before_acceptance_only(app, session, ctx, team):
    case, _ = in_progress(app, session, ctx, team)
    with pytest.raises(InvalidState):
        casework.not_accept(session, team.handler, case, "duplicate", result="经核查，问题已处理。")


def test_people_outside_the_lead_unit_cannot_act(app, session, ctx, team):
    case, _ = open_case(app, session, ctx, text=INSURANCE_TEXT)  # medinsure leads, health assists
    assert case.lead_unit == "medinsure" and "health" in case.assist_units
    for outsider in (team.handler, team.head, team.market_handler, team.clerk):
        with pytest.raises(NotAllowed) as err:
            casework.accept(session, outsider, case)
        assert err.value.code == "not_allowed"
    with pytest.raises(NotAllowed):
        casework.request_assistance(session, team.head, case, "audit", "")
    casework.accept(session, team.medinsure_handler, case)
    second = make_user(session, "t-medinsure-2", role="handler", unit="medinsure")
    for outsider in (team.handler, team.head, team.clerk, team.market_head, second):  # second: not assigned
        with pytest.raises(NotAllowed):
            casework.record_findings(session, outsider, case, "unfounded")
    casework.record_findings(session, team.medinsure_head, case, "unfounded")  # the unit head may
    assert case.findings == "unfounded"


def test_a_user_named_as_the_accused_never_acts_nor_is_assigned(app, session, ctx, team):
    head, handler = team.head, team.handler
    head.display_name, handler.display_name = "王建国", "王建国"
    session.commit()
    case, _ = open_case(app, session, ctx, accused_name="王建国", accused_institution="兴隆台区卫生健康局",
                        accused_position="科长")
    assert case.lead_unit == "health"
    with pytest.raises(NotAllowed):
        casework.accept(session, handler, case)
    with pytest.raises(NotAllowed):
        casework.accept(session, head, case)
    with pytest.raises(NotAllowed):
        casework.assign(session, team.coordinator, case, handler)
    casework.assign(session, team.coordinator, case, team.handler2)
    assert case.handler_id == team.handler2.id
    # the same name at another unit is not the accused
    namesake = team.market_handler
    namesake.display_name = "王建国"
    session.commit()
    casework.accept(session, team.handler2, case)
    assert case.status == "in_progress"


def test_assignment_by_the_unit_head_or_the_task_force(app, session, ctx, team):
    case, _ = open_case(app, session, ctx)
    with pytest.raises(NotAllowed):
        casework.assign(session, team.handler, case, team.handler)
    with pytest.raises(NotAllowed):
        casework.assign(session, team.market_head, case, team.handler)
    for unfit in (team.market_handler, team.clerk):
        with pytest.raises(NotAllowed):
            casework.assign(session, team.head, case, unfit)
    team.handler2.active = False
    session.commit()
    with pytest.raises(NotAllowed):
        casework.assign(session, team.head, case, team.handler2)
    with pytest.raises(MissingInput):
        casework.assign(session, team.head, case, None)
    casework.assign(session, team.head, case, team.handler)
    assert case.handler_id == team.handler.id
    casework.assign(session, team.coordinator, case, team.tf_handler)  # the task force may work any case
    assert case.handler_id == team.tf_handler.id
    with pytest.raises(NotAllowed):  # no longer the handler
        casework.accept(session, team.handler, case)
    casework.accept(session, team.tf_handler, case)
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "case.assigned")
                            .order_by(AuditEvent.seq)).all()[-1]
    assert event.detail["handler_id"] == team.tf_handler.id and event.detail["previous_handler_id"] == team.handler.id


def test_bulk_assignment_is_all_or_nothing(app, session, ctx, team):
    first, _ = open_case(app, session, ctx)
    second, _ = open_case(app, session, ctx, title="又一个红包")
    market, _ = open_case(app, session, ctx, text="医药代表以讲课费名义给医生回扣，每月按处方量结算推广费，涉及多家医药公司。")
    assert market.lead_unit == "market"
    with pytest.raises(NotAllowed):
        casework.bulk_assign(session, team.head, [first, second, market], team.handler)
    session.rollback()
    assert first.handler_id is None and second.handler_id is None
    with pytest.raises(NotAllowed):  # the handler is not of the market case's lead unit
        casework.bulk_assign(session, team.coordinator, [first, market], team.handler)
    session.rollback()
    assert first.handler_id is None
    with pytest.raises(MissingInput):
        casework.bulk_assign(session, team.head, [], team.handler)
    assert casework.bulk_assign(session, team.head, [first, second, first], team.handler) == 2
    assert first.handler_id == second.handler_id == team.handler.id
    assert actions(session, first.id) == actions(session, second.id) == ["case.assigned"]


def test_assistance_lets_another_unit_see_but_not_change(app, session, ctx, team):
    case, _ = in_progress(app, session, ctx, team)
    with pytest.raises(InvalidInput):
        casework.request_assistance(session, team.handler, case, "nowhere", "")
    with pytest.raises(InvalidState):
        casework.request_assistance(session, team.handler, case, "health", "")
    casework.request_assistance(session, team.handler, case, "market", "请核查医药代表")
    assert case.assist_units == ["market"]
    with pytest.raises(InvalidState):
        casework.request_assistance(session, team.handler, case, "market", "")
    from casework.rules import can_see
    assert can_see(session, team.market_handler, case) and can_see(session, team.market_head, case)
    for assisting in (team.market_handler, team.market_head):
        with pytest.raises(NotAllowed):
            casework.message_reporter(session, assisting, case, "你好")
        with pytest.raises(NotAllowed):
            casework.record_plan(session, assisting, case, **PLAN)


def test_transfer_moves_the_lead_clears_the_handler_and_keeps_assisting_units(app, session, ctx, team):
    case, _ = open_case(app, session, ctx)
    casework.assign(session, team.head, case, team.handler)
    casework.request_assistance(session, team.head, case, "market", "")
    casework.request_assistance(session, team.head, case, "audit", "")
    with pytest.raises(NotAllowed):
        casework.transfer(session, team.handler, case, "market", "属商业贿赂")
    with pytest.raises(MissingInput):
        casework.transfer(session, team.head, case, "market", "")
    with pytest.raises(InvalidState):
        casework.transfer(session, team.head, case, "health", "原地")
    casework.transfer(session, team.head, case, "market", "属商业贿赂")
    assert case.lead_unit == "market" and case.handler_id is None and case.status == "to_accept"
    assert sorted((u.unit_code, u.role) for u in session.scalars(select(CaseUnit).where(CaseUnit.case_id == case.id))) \
        == [("audit", "assist"), ("market", "lead")]
    with pytest.raises(NotAllowed):
        casework.accept(session, team.handler, case)
    casework.accept(session, team.market_handler, case)
    assert case.handler_id == team.market_handler.id
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "case.transferred"))
    assert event.detail["from_unit"] == "health" and event.detail["to_unit"] == "market"


def test_referrals_to_discipline_police_and_out_of_the_district(app, session, ctx, team):
    case, receipt = in_progress(app, session, ctx, team)
    with pytest.raises(NotAllowed):
        casework.refer(session, team.handler, case, "police", local_today(), "公移〔2026〕1号")
    with pytest.raises(MissingInput):
        casework.refer(session, team.head, case, "discipline", local_today(), "")
    with pytest.raises(InvalidInput):
        casework.refer(session, team.head, case, "court", local_today(), "x")
    with pytest.raises(InvalidInput):
        casework.refer(session, team.head, case, "police", local_today() + timedelta(days=1), "x")
    referral = casework.refer(session, team.head, case, "discipline", local_today(), "纪移〔2026〕3号", "涉嫌违纪")
    assert referral.target == "discipline" and case.status == "in_progress"
    other, other_receipt = open_case(app, session, ctx)
    casework.refer(session, team.coordinator, other, "transfer", local_today(), "", result="经核查，问题已处理。")
    assert other.status == "transferred" and other.closed_at is not None
    assert public_view(find_by_receipt(session, ctx, other_receipt.receipt)).status == "closed"
    assert session.scalar(select(func.count()).select_from(Referral)) == 2
    with pytest.raises(InvalidState):
        casework.accept(session, team.handler, other)
    assert actions(session, case.id)[-1] == "case.referred"


def test_messages_to_the_reporter(app, session, ctx, team):
    case, receipt = in_progress(app, session, ctx, team)
    unrelated, _ = open_case(app, session, ctx)
    with pytest.raises(MissingInput):
        casework.message_reporter(session, team.handler, case, " \n ")
    with pytest.raises(InvalidInput):
        casework.message_reporter(session, team.handler, case, "长" * 20_001)
    with pytest.raises(InvalidInput):
        casework.message_reporter(session, team.handler, case, "你好", report_id=unrelated.report_id)
    with pytest.raises(NotAllowed):
        casework.message_reporter(session, team.clerk, case, "你好")
    message = casework.message_reporter(session, team.handler, case, "您的举报已受理，请补充就诊时间。")
    assert (message.author, message.author_user_id, message.visible_to_reporter) == ("staff", team.handler.id, True)
    view = public_view(find_by_receipt(session, ctx, receipt.receipt))
    assert [m.body for m in view.messages] == ["您的举报已受理，请补充就诊时间。"]
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "case.message_sent"))
    assert event.detail["message_id"] == message.id and "请补充" not in str(event.detail)
    assert session.scalar(select(func.count()).select_from(Message)) == 1


def test_notices_are_recorded_for_real_name_reporters_only(app, session, ctx, team):
    anonymous, _ = in_progress(app, session, ctx, team)
    with pytest.raises(InvalidState):
        casework.record_notice(session, team.handler, anonymous, "acceptance", local_today(), "phone")
    case, _ = open_case(app, session, ctx, **REAL_NAME)
    with pytest.raises(InvalidState):  # not decided yet
        casework.record_notice(session, team.head, case, "acceptance", local_today(), "phone")
    casework.accept(session, team.handler, case)
    with pytest.raises(InvalidInput):
        casework.record_notice(session, team.handler, case, "apology", local_today(), "phone")
    with pytest.raises(InvalidInput):
        casework.record_notice(session, team.handler, case, "acceptance", local_today(), "pigeon")
    with pytest.raises(MissingInput):
        casework.record_notice(session, team.handler, case, "acceptance", None, "phone")
    notice = casework.record_notice(session, team.handler, case, "acceptance", local_today(), "phone", "已电话告知")
    assert notice.kind == "acceptance"
    with pytest.raises(InvalidState):  # no result yet
        casework.record_notice(session, team.handler, case, "result", local_today(), "letter")
    casework.record_findings(session, team.handler, case, "unfounded")
    casework.record_notice(session, team.handler, case, "result", local_today(), "letter")
    assert session.scalar(select(func.count()).select_from(CaseNotice)) == 2
    assert actions(session, case.id).count("case.notice_recorded") == 2


def test_a_triage_case_is_accepted_once_it_has_a_lead_unit(app, session, ctx, team):
    case, _ = open_case(app, session, ctx, title="服务态度差",
                        text="昨天在医院挂号排队两个小时，窗口的工作人员态度很差，还对我老母亲大声嚷嚷。")
    assert case.status == "triage" and case.lead_unit == "taskforce"
    with pytest.raises(InvalidState):
        casework.accept(session, team.coordinator, case)
    with pytest.raises(NotAllowed):
        casework.accept(session, team.handler, case)
    casework.transfer(session, team.coordinator, case, "health", "由卫健局核实")
    assert case.status == "to_accept"
    casework.accept(session, team.handler, case)
    assert case.status == "in_progress"
    assert verify(session).ok


def test_ledger_rows_are_checked_and_filled_from_the_case(app, session, ctx, team):
    waiting, _ = open_case(app, session, ctx)
    with pytest.raises(InvalidState):
        casework.add_ledger_institution(session, team.head, waiting, name="区人民医院", item_code="6.4")
    case, _ = in_progress(app, session, ctx, team)
    bad = [({"item_code": "6.4"}, MissingInput), ({"name": "区人民医院"}, MissingInput),
           ({"name": "区人民医院", "item_code": "9.9"}, InvalidInput),
           ({"name": "区人民医院", "item_code": "6.4", "colour": "red"}, InvalidInput),
           ({"name": "区人民医院", "item_code": "6.4", "found_on": local_today() + timedelta(days=1)}, InvalidInput),
           ({"name": "区人民医院", "item_code": "6.4", "rectified": True}, MissingInput),
           ({"name": "区人民医院", "item_code": "6.4", "phone": "call me"}, InvalidInput),
           ({"name": "院" * 201, "item_code": "6.4"}, InvalidInput)]
    for fields, error in bad:
        with pytest.raises(error):
            casework.add_ledger_institution(session, team.handler, case, **fields)
    for outsider in (team.clerk, team.market_handler, team.handler2):
        with pytest.raises(NotAllowed):
            casework.add_ledger_institution(session, outsider, case, name="区人民医院", item_code="6.4")
    row = casework.add_ledger_institution(session, team.handler, case, name="区人民医院", item_code="6.4",
                                          supervising_dept="区卫生健康局", manifestation="外科医生收受红包",
                                          found_on=local_today(), measures="退还", responsible_person="赵某",
                                          phone="0427-2811536")
    assert (row.unit_code, row.how_found, row.own_disclosure, row.rectified) == ("health", "群众举报", False, False)
    person = casework.add_ledger_person(session, team.handler, case, name="张某", employer="区人民医院",
                                        item_code="6.4", rectified_on=local_today())
    assert person.rectified is True and person.unit_code == "health"
    with pytest.raises(InvalidInput):
        casework.add_ledger_person(session, team.handler, case, name="张某", item_code="6.4", supervising_dept="x")
    assert actions(session, case.id)[-2:] == ["ledger.institution_added", "ledger.person_added"]


def test_a_voluntary_disclosure_marks_its_ledger_rows_as_own_disclosure(app, session, ctx, team):
    case, _ = in_progress(app, session, ctx, team, own_conduct=True,
                          text="本人系区人民医院外科医生，曾收受患者红包三千元，现主动说明情况并退还。")
    assert case.how_found == "disclosure"
    person = casework.add_ledger_person(session, team.handler, case, name="张某", item_code="6.4")
    assert person.own_disclosure is True and person.how_found == "主动说明"
    other = casework.add_ledger_person(session, team.handler, case, name="李某", item_code="6.4",
                                       own_disclosure=False, how_found="群众举报")
    assert other.own_disclosure is False and other.how_found == "群众举报"


def test_self_inspection_opens_one_case_with_its_ledger_row(app, session, ctx, team):
    from casework.models import Case, CaseReport, Classification, LedgerInstitution
    from casework.self_inspection import record_self_inspection
    from intake.models import Report
    fields = {"institution": "区中医院", "item_code": "2.4", "manifestation": "设立小金库，私分检查费",
              "measures": "清退资金，追责", "found_on": local_today(), "supervising_dept": "区卫生健康局"}
    before = session.scalar(select(func.count()).select_from(Report))
    with app.app_context():
        with pytest.raises(NotAllowed):
            record_self_inspection(session, ctx, team.handler, **fields)
        with pytest.raises(InvalidInput):
            record_self_inspection(session, ctx, team.head, **{**fields, "item_code": "7.1"})
        with pytest.raises(MissingInput):
            record_self_inspection(session, ctx, team.head, **{**fields, "found_on": None})
        with pytest.raises(MissingInput):
            record_self_inspection(session, ctx, team.head, **{**fields, "manifestation": ""})
        assert session.scalar(select(func.count()).select_from(Report)) == before
        case = record_self_inspection(session, ctx, team.head, **fields)
    report = session.get(Report, case.report_id)
    assert (report.channel, report.received_by, report.anonymous) == ("self", "health", True)
    assert session.scalar(select(func.count()).select_from(Case).where(Case.report_id == report.id)) == 1
    assert session.scalar(select(func.count()).select_from(Classification)
                          .where(Classification.report_id == report.id)) == 0  # routing left it alone
    assert (case.status, case.lead_unit, case.how_found, case.item_code, case.area) == \
        ("in_progress", "health", "self_inspection", "2.4", 2)
    assert case.accepted_at is not None and [(u.unit_code, u.role) for u in case.units] == [("health", "lead")]
    assert session.scalar(select(CaseReport.case_id).where(CaseReport.report_id == report.id)) == case.id
    row = session.scalar(select(LedgerInstitution).where(LedgerInstitution.case_id == case.id))
    assert (row.name, row.how_found, row.unit_code, row.item_code, row.found_on) == \
        ("区中医院", "自查自纠", "health", "2.4", local_today())
    assert actions(session, case.id) == ["case.self_inspection_recorded"]
    casework.record_plan(session, team.head, case, **PLAN)  # worked like any other case
    assert verify(session).ok


def test_closing_too_early_says_which_step_is_missing(app, session, ctx, team):
    from casework.action_messages import action_error_message
    case, _ = in_progress(app, session, ctx, team)
    casework.record_plan(session, team.handler, case, **PLAN)
    with pytest.raises(InvalidState) as no_findings:
        casework.close(session, team.handler, case)
    casework.record_findings(session, team.handler, case, "substantiated", "属实")
    with pytest.raises(InvalidState) as no_rectification:
        casework.close(session, team.handler, case)
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert "核查结论" in action_error_message(no_findings.value)
        assert "整改完成" in action_error_message(no_rectification.value)
