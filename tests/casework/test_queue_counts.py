"""The queue's tab counts from the stored deltas (casework.queue_counts, migration 0021's triggers) equal a
count over the cases themselves, with the walls applied, after every kind of write: routing, accept, close,
reopen, transfer, assistance, correction, merge, recusal, a bulk UPDATE that bypasses the ORM, a delete;
and again after the deltas are folded."""
import random
from datetime import date

from sqlalchemy import delete, func, select, update

from casework import links, workflow
from casework.access import visible_clause
from casework.assignment import move_lead, request_assistance, transfer
from casework.models import Case, CaseUnit
from casework.queue_count_models import QueueCount
from casework.queue_counts import compact
from casework.queue_tabs import _tab_clause, tab_counts, tabs_for
from casework.recusal_models import CaseExcludedUnit, CaseWall, Recusal
from core.db import utcnow
from core.localtime import local_today
from tests.support.staff import HONGBAO_TEXT, INSURANCE_TEXT, Team, make_user, open_case

FEES = "兴隆台区某诊所乱收费，一次普通检查收八百元，还不给开发票，好几个病人都被这样收过。"


def counted_over_cases(session, user, today: date) -> dict[str, int]:
    """Each tab's count the slow way: every case the user may see that the tab's condition holds for."""
    return {tab: int(session.scalar(select(func.count()).select_from(Case).where(
        visible_clause(session, user), _tab_clause(user, tab, today))) or 0) for tab in tabs_for(user)}


def check(session, users) -> None:
    session.flush()
    today = local_today()
    for user in users:
        assert tab_counts(session, user, today) == counted_over_cases(session, user, today), user.username


def test_counts_follow_every_kind_of_write(app, session, ctx):
    team = Team(session)
    named = make_user(session, "t-named", role="handler", unit="health", display_name="王德顺")
    users = [team.handler, team.head, team.market_handler, team.medinsure_handler, team.coordinator, named]
    check(session, users)
    red, _ = open_case(app, session, ctx, text=HONGBAO_TEXT)
    ins, _ = open_case(app, session, ctx, title="挂床住院", text=INSURANCE_TEXT)  # medinsure leads, health assists
    fees, _ = open_case(app, session, ctx, title="乱收费", text=FEES)
    about, _ = open_case(app, session, ctx, title="红包", text="区人民医院外科医生王德顺收受患者家属红包三千元，不给红包就不安排手术。",
                         accused_name="王德顺")
    assert "health" in ins.assist_units
    check(session, users)  # routed; the named handler does not count the case about them
    assert tab_counts(session, named, local_today())["to_accept"] == tab_counts(
        session, team.handler, local_today())["to_accept"] - 1
    # the other walls: the task force's leadership accused (coordinators only), a unit's leadership accused
    session.add(CaseWall(case_id=ins.id, rule="taskforce_leadership", coordinators_only=True, reason="测试"))
    session.add(CaseExcludedUnit(case_id=about.id, unit_code="health"))
    check(session, users)
    assert tab_counts(session, team.handler, local_today())["to_accept"] == 1 + (fees.lead_unit == "health")
    workflow.accept(session, team.head, red)
    check(session, users)
    request_assistance(session, team.head, red, "market", "需要市场监管局配合")
    check(session, users)
    transfer(session, team.coordinator, fees, "market" if fees.lead_unit != "market" else "health", "属于该单位职责")
    check(session, users)
    session.execute(update(Case).where(Case.id == red.id).values(status="closed"))  # a bulk UPDATE: no ORM event
    session.expire_all()
    check(session, users)
    workflow.reopen(session, team.coordinator, session.get(Case, red.id), "回访不满意，重新办理")
    check(session, users)
    links.merge(session, team.coordinator, session.get(Case, fees.id), session.get(Case, about.id))
    check(session, users)
    recusal = session.scalar(select(Recusal).where(Recusal.user_id == named.id))
    recusal.lifted_at = utcnow()  # a namesake: the coordinator lifts it
    check(session, users)
    session.execute(delete(CaseUnit).where(CaseUnit.case_id == ins.id, CaseUnit.role == "assist"))
    check(session, users)
    session.delete(session.get(Case, ins.id))  # cascades to its units
    check(session, users)
    folded = compact(session)
    assert folded > 0
    rows = session.scalars(select(QueueCount)).all()
    assert len(rows) == len({(r.unit_code, r.status) for r in rows}) and all(r.n for r in rows)
    check(session, users)
    assert compact(session) == len(rows)  # nothing new: the folded rows fold into themselves
    check(session, users)


def test_counts_hold_through_random_moves_and_bulk_updates(app, session, ctx):
    team = Team(session)
    users = [team.handler, team.market_handler, team.medinsure_handler, team.coordinator]
    cases = [open_case(app, session, ctx, title=f"第{i}件", text=text)[0]
             for i, text in enumerate([HONGBAO_TEXT, INSURANCE_TEXT, FEES] * 3)]
    rnd = random.Random(18)
    statuses = ["triage", "to_accept", "in_progress", "closed", "not_accepted", "transferred"]
    for step in range(40):
        case = rnd.choice(cases)
        if step % 3 == 0:  # a bulk UPDATE (no ORM event) of the status
            session.execute(update(Case).where(Case.id == case.id).values(status=rnd.choice(statuses)))
            session.expire_all()
        elif step % 3 == 1:  # the lead moves, and sometimes a unit comes to assist (its case_units row with it)
            fresh = session.get(Case, case.id)
            target = rnd.choice([u for u in ("health", "market", "medinsure") if u != fresh.lead_unit])
            move_lead(fresh, target, session)  # an assisting unit's row becomes the lead row (an UPDATE)
            spare = [u for u in ("health", "market", "medinsure") if u not in {x.unit_code for x in fresh.units}]
            if spare and rnd.random() < 0.5:
                fresh.units.append(CaseUnit(unit_code=spare[0], role="assist"))
        else:
            fresh = session.get(Case, case.id)
            fresh.status = rnd.choice(statuses)
        if step % 10 == 9:
            compact(session)
        check(session, users)
