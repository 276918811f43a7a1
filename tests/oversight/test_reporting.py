"""The official ledgers as .xlsx (Attachments 3 and 4, checked cell by cell against the plan), the weekly
report cycle, the monthly bulletin's figures against hand-counted cases, the dashboard, demo data, and
the audit record of every export."""
import io
from datetime import date, datetime, timedelta

import openpyxl
import pyotp
import pytest
from sqlalchemy import func, select

from casework import workflow as casework
from casework.models import Case, Referral
from casework.rules import InvalidState, NotAllowed
from casework.deadline_models import Supervision
from casework.models import LedgerInstitution, LedgerPerson
from core.accounts import User
from core.audit import AuditEvent
from oversight.bulletin import month_figures
from oversight.ledger_export import LedgerExportError, export_ledger
from oversight.weekly import submit_weekly, week_figures
from tests.support.staff import Team, login, make_user, open_case, otp_code
from tests.support.web import hidden_fields

SECRET = pyotp.random_base32()
# Typed from ../shared/seeds/xinglongtai-work-plan.txt, 附件3 and 附件4 (not imported from the code under test).
ATT3_TITLE = "兴隆台区医药领域腐败问题集中整治工作台账（机构）"
ATT3 = ["序号", "存在问题机构名称", "主管部门", "违反腐败问题负面清单条目", "腐败问题具体表现", "发现途径", "发现问题日期",
        "整治措施", "处理意见", "处理政策依据", "整改是否完成", "整改完成日期", "整改部门负责人", "手机号码"]
ATT4_TITLE = "兴隆台区医药领域腐败问题集中整治工作台账（个人）"
ATT4 = ["序号", "存在问题人员姓名", "所属单位", "所属单位主管部门", "违反腐败问题负面清单条目", "腐败问题具体表现", "发现途径",
        "发现问题日期", "整治措施", "处理意见", "处理政策依据", "整改是否完成", "整改完成日期", "整治工作负责人", "手机号码"]
ITEM_64 = "6.4 利用医疗资源损公肥私或收受患者及其家属“红包”等牟取个人不当利益的行风问题。"  # the plan's wording


@pytest.fixture
def team(session):
    return Team(session)


def ledger_case(app, session, ctx, team, **report):
    case, _ = open_case(app, session, ctx, **report)
    casework.accept(session, team.handler, case)
    return case


def rows_of(data: bytes) -> list[tuple]:
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    return [tuple(c for c in row) for row in ws.iter_rows(values_only=True)]


def fields(**extra):
    base = {"item_code": "6.4", "manifestation": "收受患者红包五千元", "how_found": "群众举报", "found_on": date(2026, 11, 2),
            "measures": "退还红包，全院通报", "handling_opinion": "诫勉谈话", "policy_basis": "《医疗机构工作人员廉洁从业九项准则》",
            "rectified": True, "rectified_on": date(2026, 11, 10), "responsible_person": "院长 赵某",
            "phone": "13900001111"}
    base.update(extra)
    return base


def test_attachment_3_and_4_exactly_in_the_plans_form(app, session, ctx, team):
    case = ledger_case(app, session, ctx, team)
    casework.add_ledger_institution(session, team.handler, case, name="区人民医院", supervising_dept="区卫生健康局",
                                    **fields())
    casework.add_ledger_person(session, team.handler, case, name="张某", employer="区人民医院",
                               employer_supervisor="区卫生健康局",
                               **fields(rectified=False, rectified_on=None, found_on=date(2026, 11, 1)))
    out = io.BytesIO()
    assert export_ledger(session, team.head, "institution", out, unit="health", person="李填报",
                         contact="0427-2811536") == 1
    rows = rows_of(out.getvalue())
    assert rows[0][0] == ATT3_TITLE and len(rows[2]) == 14
    assert (rows[1][0], rows[1][5], rows[1][10]) == ("填报单位：兴隆台区卫生健康局", "填报人：李填报", "联系方式：0427-2811536")
    assert list(rows[2]) == ATT3
    assert rows[3] == (1, "区人民医院", "区卫生健康局", ITEM_64, "收受患者红包五千元", "群众举报", datetime(2026, 11, 2),
                       "退还红包，全院通报", "诫勉谈话", "《医疗机构工作人员廉洁从业九项准则》", "是", datetime(2026, 11, 10),
                       "院长 赵某", "13900001111")
    ws = openpyxl.load_workbook(io.BytesIO(out.getvalue())).active
    assert ws["G4"].is_date and ws["G4"].number_format == "yyyy-mm-dd"  # dates as dates
    out = io.BytesIO()
    export_ledger(session, team.head, "individual", out, unit="health", person="李填报", contact="")
    rows = rows_of(out.getvalue())
    assert rows[0][0] == ATT4_TITLE and list(rows[2]) == ATT4 and len(rows) == 4
    assert rows[3][:5] == (1, "张某", "区人民医院", "区卫生健康局", ITEM_64)
    assert rows[3][11:13] == ("否", None)
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "ledger.exported")).all()
    assert [(e.detail["kind"], e.detail["unit"], e.detail["rows"]) for e in events] == \
        [("institution", "health", 1), ("individual", "health", 1)]


def test_a_unit_exports_its_own_ledger_and_the_task_force_all(app, session, ctx, team):
    case = ledger_case(app, session, ctx, team)
    casework.add_ledger_institution(session, team.handler, case, name="区人民医院", **fields())
    with pytest.raises(LedgerExportError):
        export_ledger(session, team.market_head, "institution", io.BytesIO(), unit="health", person="x", contact="")
    with pytest.raises(LedgerExportError):
        export_ledger(session, team.market_head, "institution", io.BytesIO(), unit=None, person="x", contact="")
    assert export_ledger(session, team.market_head, "institution", io.BytesIO(), unit="market", person="x",
                         contact="") == 0
    out = io.BytesIO()
    assert export_ledger(session, team.coordinator, "institution", out, unit=None, person="专班", contact="") == 1
    assert rows_of(out.getvalue())[1][0] == "填报单位：兴隆台区医药领域腐败问题集中整治工作专班"


def test_ledger_export_command_writes_the_file_and_the_audit_trail(app, session, ctx, team, runner, tmp_path):
    case = ledger_case(app, session, ctx, team)
    casework.add_ledger_person(session, team.handler, case, name="张某", employer="区人民医院", **fields())
    target = tmp_path / "ledger.xlsx"
    result = runner.invoke(args=["ledger", "export", "--kind", "individual", "--unit", "health", "--out", str(target),
                                 "--filled-by", "王填报"])
    assert result.exit_code == 0, result.output
    assert "1 row(s)" in result.output and list(rows_of(target.read_bytes())[2]) == ATT4
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "ledger.exported"))
    assert event.actor == "cli:王填报" and event.detail["rows"] == 1
    bad = runner.invoke(args=["ledger", "export", "--kind", "individual", "--unit", "nowhere", "--out", str(target)])
    assert bad.exit_code != 0 and "unknown unit" in bad.output


def test_the_weekly_cycle_figures_submission_and_who_has_not(app, session, ctx, team):
    monday = date.today() - timedelta(days=date.today().weekday())
    first = ledger_case(app, session, ctx, team)
    second, _ = open_case(app, session, ctx, text="区人民医院另一名医生收受患者家属红包两千元，不给就拖延手术安排。")
    casework.not_accept(session, team.handler, second, "duplicate", result="经核查，问题已处理。")
    casework.refer(session, team.head, first, "discipline", date.today(), "兴纪〔2026〕3号")
    figures = week_figures(session, "health", monday, date.today())
    assert figures == {"new": 2, "accepted": 1, "not_accepted": 1, "referred": 1, "closed": 0, "overdue": 0}
    report = submit_weekly(session, team.head, "本周新收 2 件，受理 1 件，移送纪检 1 件。", date.today())
    assert report.figures == figures and report.week_of == monday
    with pytest.raises(InvalidState):
        submit_weekly(session, team.head, "再报一次", date.today())
    session.rollback()
    with pytest.raises(NotAllowed):
        submit_weekly(session, team.handler, "承办人不能报", date.today())


def login_as(client, user, otp=False):
    resp = login(client, user.username, otp=otp_code(SECRET) if otp else None)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]


def test_task_force_pages_and_downloads(app, client, session, ctx, team):
    coordinator = make_user(session, "coord", role="coordinator", unit="taskforce", totp_secret=SECRET)
    case = ledger_case(app, session, ctx, team)
    casework.add_ledger_institution(session, team.handler, case, name="区人民医院", **fields())
    login_as(client, coordinator, otp=True)
    assert client.get("/dashboard").status_code == 200
    page = client.get("/bulletin").get_data(as_text=True)
    assert "<svg" in page and "<script" not in page
    download = client.get("/bulletin.xlsx")
    assert download.status_code == 200 and download.mimetype.endswith("sheet")
    assert rows_of(download.data)[0][0].startswith("兴隆台区医药领域腐败问题集中整治工作月通报")
    weekly = client.get("/weekly.xlsx")
    assert ("兴隆台区卫生健康局", "未报送") in [r[:2] for r in rows_of(weekly.data)]
    bundle = client.get("/weekly.zip")
    assert bundle.status_code == 200 and bundle.mimetype == "application/zip"
    import zipfile
    with zipfile.ZipFile(io.BytesIO(bundle.data)) as z:
        names = z.namelist()
        assert len(names) == 1 + 5 * 2  # the reports, and each unit's two ledgers
        health = rows_of(z.read("兴隆台区卫生健康局-工作台账（机构）.xlsx"))
        assert list(health[2]) == ATT3 and health[3][1] == "区人民医院"
    form = hidden_fields(client.get("/ledgers").get_data(as_text=True))
    xlsx = client.post("/ledgers/export", data={**form, "kind": "institution", "unit": "all", "person": "专班",
                                                "contact": "0427-0000000"})
    assert xlsx.status_code == 200 and rows_of(xlsx.data)[3][1] == "区人民医院"
    actions = set(session.scalars(select(AuditEvent.action)))
    assert {"bulletin.exported", "weekly.exported", "ledger.exported"} <= actions


def test_unit_staff_get_their_own_ledger_and_no_task_force_pages(app, client, session, ctx, team):
    login_as(client, team.market_handler)
    for path in ("/dashboard", "/bulletin", "/bulletin.xlsx", "/weekly.xlsx", "/supervision"):
        assert client.get(path).status_code == 403, path
    form = hidden_fields(client.get("/ledgers").get_data(as_text=True))
    refused = client.post("/ledgers/export", data={**form, "kind": "institution", "unit": "health"})
    assert refused.status_code == 302  # back to the form with a message, nothing written
    own = client.post("/ledgers/export", data={**form, "kind": "institution", "unit": "market"})
    assert own.status_code == 200 and rows_of(own.data)[1][0] == "填报单位：兴隆台区市场监督管理局"
    assert client.post("/ledgers/export", data={"kind": "institution", "unit": "market"}).status_code == 400  # CSRF


def test_the_bulletin_matches_hand_counted_cases(app, session, ctx, team):
    """October 2026: five reports. Two accepted after 2 and 4 days, one of them closed 6 days later; one
    not accepted; one in triage; one to accept. One referral to the police in October. One report from
    September and one from November, for the trend."""
    def filed(received: datetime, text: str, **report):
        case, _ = open_case(app, session, ctx, text=text, **report)
        case.report.received_at = received
        session.commit()
        return case

    texts = ["区人民医院外科医生张某收受患者红包五千元，手术前暗示家属不给红包就往后排。",
             "区中医院医生李某收受患者家属红包三千元，不给红包就拖延安排床位。",
             "区妇幼保健院医生王某收受产妇家属红包两千元，暗示不给就不好好接生。",
             "某社区卫生服务中心医生赵某收受红包一千元，多次向患者家属索要。",
             "医院门口停车收费太贵了，保安态度也不好，希望有人管一管。另外排队太久。",
             "区人民医院医生陈某九月份收受患者红包四千元。", "区人民医院医生周某十一月收受红包六千元。"]
    a = filed(datetime(2026, 10, 5, 2), texts[0])
    b = filed(datetime(2026, 10, 12, 2), texts[1])
    c = filed(datetime(2026, 10, 20, 2), texts[2])
    d = filed(datetime(2026, 10, 28, 2), texts[3])
    e = filed(datetime(2026, 10, 30, 2), texts[4])
    filed(datetime(2026, 9, 15, 2), texts[5])
    filed(datetime(2026, 11, 3, 2), texts[6])
    for case, days in ((a, 2), (b, 4)):
        casework.accept(session, team.handler, case)
        case.accepted_at = case.report.received_at + timedelta(days=days)
    a.findings, a.rectified_on = "substantiated", date(2026, 10, 10)
    session.commit()
    casework.close(session, team.handler, a, result="经核查，问题已处理。")
    a.closed_at = a.accepted_at + timedelta(days=6)
    casework.not_accept(session, team.handler, c, "not_corruption", result="经核查，问题已处理。")
    session.add(Referral(case_id=b.id, target="police", referred_on=date(2026, 10, 25), document_no="1"))
    session.commit()
    assert e.status == "triage" and d.status == "to_accept"
    f = month_figures(session, date(2026, 10, 1), date(2026, 11, 23))
    assert f.received == 5 and f.accepted == 2 and f.not_accepted == 1 and f.closed == 1
    assert f.acceptance_rate == round(100 * 2 / 3, 1) and f.closure_rate == 50.0
    assert f.median_days_to_accept == 3.0 and f.median_days_to_close == 6.0
    assert f.by_status == {"closed": 1, "in_progress": 1, "not_accepted": 1, "to_accept": 1, "triage": 1}
    assert f.by_unit == {"health": 4, "taskforce": 1} and f.by_channel == {"web": 5}
    assert f.by_area == {6: 4, 0: 1} and f.referrals == {"police": 1}
    trend = {m: (r, acc, cl) for m, r, acc, cl in f.trend_rows}
    assert trend[date(2026, 9, 1)][0] == 1 and trend[date(2026, 10, 1)] == (5, 2, 1)
    assert date(2026, 11, 1) not in trend  # the trend ends with the bulletin's month


def test_demo_seed_fills_every_state_and_is_refused_in_production(app, session, runner):
    result = runner.invoke(args=["demo", "seed", "--cases", "120"])
    assert result.exit_code == 0, result.output
    statuses = set(session.scalars(select(Case.status)))
    assert {"triage", "to_accept", "in_progress", "closed", "not_accepted"} <= statuses
    assert session.scalar(select(func.count(func.distinct(Case.item_code)))) >= 20
    assert session.scalar(select(func.count()).select_from(Case).where(Case.next_due_on < date.today())) > 0
    from casework.return_call_models import ReturnCall
    from intake.feedback_models import ReportObjection, ReportRating, ReportResult
    ended = session.scalar(select(func.count()).select_from(Case).where(Case.status.in_(("closed", "not_accepted"))))
    assert session.scalar(select(func.count()).select_from(ReportResult)) == ended  # every ended case has its result
    assert set(session.scalars(select(ReportRating.rating))) == {"satisfied", "basically_satisfied", "unsatisfied"}
    assert session.scalar(select(func.count()).select_from(ReturnCall)) > 0
    assert session.scalar(select(func.count()).select_from(ReportObjection)) > 0
    # issue 17, point 11: the reminders pass ran, so 督办 and the dashboard have something; ledger rows carry
    # their case's item; clerks exist; the coordinator's authenticator is the README's known secret
    assert session.scalar(select(func.count()).select_from(Supervision)) > 0
    for model in (LedgerInstitution, LedgerPerson):
        pairs = session.execute(select(model.item_code, Case.item_code).join(Case, Case.id == model.case_id)).all()
        assert pairs and all(row == case for row, case in pairs)
    roles = dict(session.execute(select(User.username, User.role)).all())
    assert roles["demo-health-clerk"] == "clerk" and roles["demo-admin"] == "admin"
    assert "health" not in session.scalar(select(User.display_name).where(User.username == "demo-health-h1"))
    assert "XLTDEMOCOORDINATORKEYFORDEMOONLY" in result.output
    client = app.test_client()
    assert login(client, "demo-taskforce-coord", "demo-password-2026",
                 otp=otp_code("XLTDEMOCOORDINATORKEYFORDEMOONLY")).status_code == 302
    assert "暂无督办案件" not in client.get("/supervision").get_data(as_text=True)
    app.config["APP_ENV"] = "production"
    refused = runner.invoke(args=["demo", "seed", "--cases", "5"])
    assert refused.exit_code != 0 and "never" in refused.output
    assert session.scalar(select(func.count()).select_from(Case)) == 120
