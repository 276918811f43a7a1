"""Demonstration data for `make run` and benchmarks: staff of every unit, and cases across every
negative-list item, channel and state — with 五定 plans, findings, ledger rows, notices, referrals, overdue
and closed cases, results with ratings, 回访, objections and reviews — routed by the real matrix and given their real deadlines. Never in production (the
command refuses). Receipts of demo reports are random and thrown away: nobody can follow them up."""
from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.deadlines import sync_deadlines
from casework.models import Case, CaseNotice, CaseReport, CaseUnit, LedgerInstitution, LedgerPerson, Referral
from casework.runtime import routing_runtime
from core.accounts import User, create_user
from core.auth import set_totp_secret
from core.localtime import LOCAL_TZ, local_today
from core.units import Unit
from demo.deadline_history import add_past_deadlines
from demo.feedback_seed import add_feedback
from intake.models import Report
from intake.submit import IntakeContext, next_reference
from routing.matrix import units_for_item

PASSWORD = "demo-password-2026"
TOTP_SECRET = "XLTDEMOCOORDINATORKEYFORDEMOONLY"  # the demo coordinator's and admin's authenticator (README)
ROLE_WORDS = {"unit_head": "负责人", "handler": "承办人", "clerk": "登记员", "coordinator": "专班协调人", "admin": "管理员"}
UNITS = ("health", "market", "medinsure", "police", "audit")
CHANNELS = ("web", "web", "web", "app", "phone", "phone", "letter", "email", "visit")
INSTITUTIONS = ("区人民医院", "区中医院", "兴隆台街道社区卫生服务中心", "某民营医院", "某口腔诊所", "某药店", "区妇幼保健院",
                "某医疗器械公司", "某医药公司", "区疾控中心")
PEOPLE = ("张某", "王某", "李某", "赵某", "刘某", "陈某", "杨某", "周某")
ROLES = ("科主任", "医生", "院长", "药剂科主任", "采购负责人", "医药代表", "护士长", "医保办主任")
DETAILS = {1: "利用审批监管职权为医药企业提供便利，收受好处费{amount}元。",
           2: "在药品耗材采购中收受回扣，每使用一批返现{amount}元，科室人员均知情。",
           3: "医药代表以学术会议名义安排旅游并支付费用约{amount}元，换取处方量。",
           4: "组织病人挂床住院、虚开检查项目套取医保基金约{amount}元。",
           5: "企业通过虚高定价和商业贿赂推销产品，向相关人员输送利益{amount}元。",
           6: "收受患者家属红包{amount}元，不给红包就拖延手术安排。"}


@dataclass
class Seeded:
    cases: int = 0
    users: int = 0
    ledger_rows: int = 0
    password: str = PASSWORD


def _staff(session: Session) -> tuple[dict[str, list[User]], int]:
    """Two handlers, a head and a clerk per unit; a coordinator and an administrator in the task force (their
    authenticator secret is TOTP_SECRET); reused if they exist."""
    made, team = 0, {}
    for unit in UNITS + ("taskforce",):
        wanted = [("coordinator", f"demo-{unit}-coord", ""), ("admin", "demo-admin", "")] if unit == "taskforce" else \
            [("unit_head", f"demo-{unit}-head", ""), ("handler", f"demo-{unit}-h1", "甲"),
             ("handler", f"demo-{unit}-h2", "乙"), ("clerk", f"demo-{unit}-clerk", "")]
        short = session.get(Unit, unit)
        for role, username, mark in wanted:
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                user = create_user(session, username=username, unit=unit, role=role,
                                   email=f"{username}@demo.invalid", password=PASSWORD,
                                   display_name=f"演示·{short.name if short else ''}{ROLE_WORDS[role]}{mark}")
                made += 1
            if role in ("coordinator", "admin") and not user.totp_confirmed:
                set_totp_secret(user, TOTP_SECRET)
                user.totp_confirmed = True
            team.setdefault(unit, []).append(user)
    session.commit()
    return team, made


def _utc(day: date, rnd: random.Random) -> datetime:
    moment = datetime.combine(day, time(8 + rnd.randrange(10), rnd.randrange(60)), LOCAL_TZ)
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def seed(session: Session, ctx: IntakeContext, count: int, *, random_seed: int = 2026, days: int = 180) -> Seeded:
    rnd = random.Random(random_seed)
    tax = routing_runtime().taxonomy
    team, made = _staff(session)
    result = Seeded(users=made)
    today = local_today()
    items = sorted(tax.items)
    objections = 0
    for n in range(count):
        item = rnd.choice(items)
        area = tax.items[item].area
        if n % 10 == 0:  # a tenth in the current month, so its charts show something even on the 1st
            received = today - timedelta(days=rnd.randint(0, today.day - 1))
        else:
            received = today - timedelta(days=int(rnd.triangular(0, days, days * 0.25)))
        institution, person, role = rnd.choice(INSTITUTIONS), rnd.choice(PEOPLE), rnd.choice(ROLES)
        text = f"{institution}{role}{person}{DETAILS[area].format(amount=rnd.choice((800, 2000, 5000, 20000, 100000)))}"
        title = tax.items[item].title[:60]
        anonymous = rnd.random() < 0.7
        at = _utc(received, rnd)
        report = Report(reference=next_reference(session, ctx.reference_prefix, received.year), channel=rnd.choice(CHANNELS),
                        received_at=at, title=title, text=text, accused_name=person, accused_institution=institution,
                        accused_position=role, anonymous=anonymous, status="received", status_changed_at=at,
                        receipt_hash=secrets.token_bytes(32), created_at=at)
        session.add(report)
        session.flush()
        lead, assist = units_for_item(tax, item, title=title, text=text)
        triage = rnd.random() < 0.04
        case = Case(report_id=report.id, status="triage" if triage else "to_accept", item_code=None if triage else item,
                    area=None if triage else area, lead_unit="taskforce" if triage else lead, in_scope=True,
                    routing_reason="demo data", created_at=at, updated_at=at, how_found="report")
        case.units = [CaseUnit(unit_code=case.lead_unit, role="lead")] + \
            ([] if triage else [CaseUnit(unit_code=u, role="assist") for u in assist if u != lead])
        session.add(case)
        session.flush()
        session.add(CaseReport(case_id=case.id, report_id=report.id))
        if not triage:
            result.ledger_rows += _work(session, rnd, case, report, team.get(lead, []), received, today, anonymous)
            clerk = next((u for u in team.get(lead, []) if u.role == "clerk"), None)
            objections += add_feedback(session, rnd, case, report, team["taskforce"][0], clerk, today,
                                       objection_wanted=not objections)
        sync_deadlines(session, case, today=today)
        add_past_deadlines(session, case, report.received_at)
        result.cases += 1
        if n % 200 == 199:
            session.commit()
    session.commit()
    return result


def _work(session: Session, rnd: random.Random, case: Case, report: Report, staff: list[User], received: date,
          today: date, anonymous: bool) -> int:
    """Move the case along as its age suggests; the number of ledger rows added."""
    age = (today - received).days
    handlers = [u for u in staff if u.role == "handler"] or staff
    if age < 2 or rnd.random() < 0.15:
        return 0  # still to accept (some of them overdue)
    if rnd.random() < 0.1:
        case.status, case.not_accepted_reason = "not_accepted", rnd.choice(("not_corruption", "insufficient_detail"))
        report.status = "not_accepted"
        return 0
    accepted = received + timedelta(days=rnd.randint(1, min(age, 14)))
    case.status, case.handler_id = "in_progress", rnd.choice(handlers).id if handlers else None
    case.accepted_at = _utc(accepted, rnd)
    case.handling_from = accepted
    report.status = "accepted"
    if not anonymous:
        session.add(CaseNotice(case_id=case.id, kind="acceptance", given_on=accepted, method="phone"))
    if (today - accepted).days < 5:
        return 0
    case.plan_problem, case.plan_measures = report.text[:80], "约谈当事人，退还违规所得，全院通报，完善制度"
    case.plan_responsible, case.plan_goal = f"{report.accused_institution}负责人", "问题整改到位，建立长效机制"
    case.plan_deadline = accepted + timedelta(days=rnd.choice((30, 45, 60)))
    report.status = "in_progress"
    if rnd.random() < 0.35:
        return 0  # in progress; overdue if its deadlines have passed
    case.findings = rnd.choice(("substantiated", "substantiated", "partly", "unfounded"))
    rows = 0
    if case.findings != "unfounded":
        found = accepted + timedelta(days=rnd.randint(1, 20))
        rectified = min(found + timedelta(days=rnd.randint(5, 40)), today)
        common = dict(case_id=case.id, unit_code=case.lead_unit, item_code=case.item_code,
                      manifestation=report.text[:120], how_found="群众举报", found_on=found, measures=case.plan_measures,
                      handling_opinion=rnd.choice(("诫勉谈话", "通报批评", "退还违规所得并罚款", "移送纪检监察机关")),
                      policy_basis="《医疗机构工作人员廉洁从业九项准则》", rectified=True, rectified_on=rectified,
                      responsible_person=case.plan_responsible, phone=f"0427-28{rnd.randrange(10000, 99999)}")
        session.add(LedgerInstitution(name=report.accused_institution, supervising_dept="兴隆台区卫生健康局", **common))
        session.add(LedgerPerson(name=report.accused_name, employer=report.accused_institution,
                                 employer_supervisor="兴隆台区卫生健康局", **common))
        rows = 2
        case.rectified_on = rectified
        if rnd.random() < 0.1:
            session.add(Referral(case_id=case.id, target=rnd.choice(("discipline", "police")), referred_on=rectified,
                                 document_no=f"兴医整移〔{rectified.year}〕{rnd.randint(1, 99)}号"))
    if rnd.random() < 0.75:
        closed = (case.rectified_on or accepted) + timedelta(days=rnd.randint(0, 5))
        case.status, case.closed_at, report.status = "closed", _utc(min(closed, today), rnd), "closed"
        if not anonymous and rnd.random() < 0.7:
            session.add(CaseNotice(case_id=case.id, kind="result", given_on=min(closed, today), method="phone"))
    return rows
