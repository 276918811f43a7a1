"""防止"灯下黑", from submission to every unit's views: a report that accuses the leadership of a member
unit (web form) is never led, assisted or seen by that unit — the task force works it, and correcting,
transferring, asking assistance or merging cannot hand it back unless a coordinator states why; a
report on the task force's own leader (API) goes to discipline inspection and only the coordinators it
does not name see it. On SQLite and PostgreSQL."""
from __future__ import annotations

import json
from datetime import date

import pyotp
import pytest
from sqlalchemy import select

from casework import workflow as casework
from casework.models import Case, Referral
from casework.recusal_models import CaseExcludedUnit, CaseWall
from casework.rules import NotAllowed, UnitExcluded
from core.audit import AuditEvent
from core.units import UNIT_CODES
from intake.models import Report
from tests.support.staff import make_user
from tests.support.visibility import Viewer
from tests.support.web import reference_on, report_form_data

SECRET = pyotp.random_base32()
MEMBER_UNITS = [u for u in UNIT_CODES if u != "taskforce"]
MARKET_DEPUTY = ("区市场监管局一位姓赵的副局长，长期收受某医药公司的购物卡和现金，每逢过节送两万元，"
                 "这家公司被举报虚假宣传和商业贿赂，他打招呼压下了处罚。")


@pytest.fixture
def staff(session):
    people = {}
    for unit in MEMBER_UNITS:
        people[f"{unit}_head"] = make_user(session, f"{unit}-head", role="unit_head", unit=unit,
                                           display_name=f"{unit}负责人")
        people[f"{unit}_handler"] = make_user(session, f"{unit}-h", role="handler", unit=unit,
                                              display_name=f"{unit}承办人")
    people["tf_handler"] = make_user(session, "tf-h", role="handler", unit="taskforce", display_name="专班承办人")
    people["coordinator"] = make_user(session, "coord", role="coordinator", unit="taskforce", totp_secret=SECRET,
                                      display_name="专班协调员")
    people["admin"] = make_user(session, "admin1", role="admin", unit="taskforce", totp_secret=SECRET,
                                display_name="系统管理员")
    return people


def who_sees(app, staff, reference: str) -> set[str]:
    return {key for key, user in staff.items() if Viewer(app, user, SECRET).sees(reference)}


def case_of(session, reference: str) -> Case:
    session.expire_all()
    return session.scalar(select(Case).join(Report, Report.id == Case.report_id).where(Report.reference == reference))


def test_a_report_on_a_units_leadership_is_worked_by_the_task_force_without_it(app, client, session, staff):
    resp = client.post("/report", data=report_form_data(client, title="市场监管局领导受贿", text=MARKET_DEPUTY))
    assert resp.status_code == 200
    reference = reference_on(resp.get_data(as_text=True))
    case = case_of(session, reference)
    assert case.lead_unit == "taskforce" and "market" not in case.assist_units
    assert [r.unit_code for r in session.scalars(select(CaseExcludedUnit).where(CaseExcludedUnit.case_id == case.id))] \
        == ["market"]
    seen = who_sees(app, staff, reference)
    assert "market_head" not in seen and "market_handler" not in seen
    assert {"tf_handler", "coordinator", "admin"} <= seen
    page = Viewer(app, staff["tf_handler"]).page(f"/cases/{reference}")
    assert 'data-testid="case-wall"' in page and "区市场监督管理局" in page and "灯下黑" in page  # the reason shown

    coordinator = staff["coordinator"]
    for attempt in (lambda: casework.transfer(session, coordinator, case, "market", "业务对口"),
                    lambda: casework.request_assistance(session, coordinator, case, "market", "协助"),
                    lambda: casework.correct(session, coordinator, case, lead_unit="market", reason="改由市场监管局",
                                             tax=app.extensions["routing"].taxonomy)):
        with pytest.raises(UnitExcluded):
            attempt()
        session.rollback()
    casework.correct(session, coordinator, case, item="5.1", reason="属于商业贿赂", tax=app.extensions["routing"].taxonomy)
    case = case_of(session, reference)
    assert case.item_code == "5.1" and case.lead_unit == "taskforce" and "market" not in case.assist_units
    market_case_ref = reference_on(client.post("/report", data=report_form_data(
        client, text="某医药公司医药代表以学术推广费的名义给区人民医院医生回扣，每开一盒药返现二十元，月底现金结算。")
    ).get_data(as_text=True))
    with pytest.raises(UnitExcluded):  # its reports would reach the market unit through a merge
        casework.merge(session, coordinator, case, case_of(session, market_case_ref))
    session.rollback()
    viewer = Viewer(app, coordinator, SECRET)  # the web form says why in words
    viewer.post(f"/cases/{reference}/transfer", unit="market", reason="业务对口")
    assert "不得牵头" in viewer.page(f"/cases/{reference}") and case_of(session, reference).lead_unit == "taskforce"

    # a coordinator states why the unit may after all: audited, then the transfer goes through
    assert viewer.post(f"/cases/{reference}/lift_wall", unit="market", reason="经核实被举报人已调离市场监管局").status_code == 302
    lifted = session.scalar(select(AuditEvent).where(AuditEvent.action == "case.wall_lifted"))
    assert lifted.detail["reason"] == "经核实被举报人已调离市场监管局" and lifted.actor_id == coordinator.id
    casework.transfer(session, coordinator, case_of(session, reference), "market", "已调离，由市场监管局办理")
    assert Viewer(app, staff["market_head"]).sees(reference)


def test_the_same_in_traditional_characters_for_the_health_bureau(app, client, session, staff):
    text = "區衛健局黨組成員李某收受民營醫院老闆的紅包三萬元，幫醫院違規通過醫美科室的設置審批。"
    reference = reference_on(client.post("/report", data=report_form_data(client, text=text)).get_data(as_text=True))
    case = case_of(session, reference)
    assert case.lead_unit == "taskforce" and session.get(CaseWall, case.id).rule == "unit_leadership"
    seen = who_sees(app, staff, reference)
    assert not seen & {"health_head", "health_handler"} and "tf_handler" in seen


def test_a_report_on_the_task_force_leader_goes_to_discipline_and_only_unnamed_coordinators_see_it(
        app, client, session, staff):
    named = make_user(session, "coord-gai", role="coordinator", unit="taskforce", totp_secret=SECRET,
                      display_name="蓋波")
    body = {"title": "举报卫健局局长", "text": "区卫生健康局局长盖  波收受医药公司的现金和购物卡，为其产品进院打招呼，"
            "金额在二十万元以上。", "anonymous": True,
            "accused": {"name": "盖 波", "institution": "区卫生健康局", "position": "党组书记、局长"}}
    resp = client.post("/api/v1/reports", data=json.dumps(body), content_type="application/json")
    assert resp.status_code == 201, resp.get_data(as_text=True)
    reference = resp.json["reference"]
    case = case_of(session, reference)
    wall = session.get(CaseWall, case.id)
    assert wall.rule == "taskforce_leadership" and wall.coordinators_only and "纪检监察" in wall.reason
    assert (case.lead_unit, case.assist_units, case.status) == ("taskforce", [], "triage")
    [referral] = session.scalars(select(Referral).where(Referral.case_id == case.id)).all()
    assert referral.target == "discipline" and referral.document_no == ""
    everyone = dict(staff, named=named)
    assert who_sees(app, everyone, reference) == {"coordinator"}
    page = Viewer(app, staff["coordinator"], SECRET).page(f"/cases/{reference}")
    assert "纪检监察" in page and 'value="discipline" selected' in page
    with pytest.raises(NotAllowed):  # nobody else can be given it
        casework.assign(session, staff["coordinator"], case, staff["tf_handler"])
    with pytest.raises(UnitExcluded):
        casework.transfer(session, staff["coordinator"], case, "health", "交卫健局")
    session.rollback()
    casework.refer(session, staff["coordinator"], case_of(session, reference), "discipline", date.today(),
                   "兴纪移〔2026〕1号", "已移送区纪委监委")
    [referral] = session.scalars(select(Referral).where(Referral.case_id == case.id)).all()
    assert referral.document_no == "兴纪移〔2026〕1号"  # the same referral, completed


def test_a_merge_carries_the_walls_with_the_reports(app, client, session, staff):
    walled = reference_on(client.post("/report", data=report_form_data(client, text=MARKET_DEPUTY)).get_data(as_text=True))
    plain = reference_on(client.post("/report", data=report_form_data(
        client, text="区人民医院外科医生收受患者红包五千元，手术前暗示家属不给红包就往后排。")).get_data(as_text=True))
    into = case_of(session, plain)
    casework.transfer(session, staff["coordinator"], into, "taskforce", "并案前由专班牵头")
    casework.merge(session, staff["coordinator"], case_of(session, walled), case_of(session, plain))
    assert "market" in {r.unit_code for r in session.scalars(select(CaseExcludedUnit)
                                                              .where(CaseExcludedUnit.case_id == into.id))}
    with pytest.raises(UnitExcluded):
        casework.request_assistance(session, staff["coordinator"], case_of(session, plain), "market", "协助")
