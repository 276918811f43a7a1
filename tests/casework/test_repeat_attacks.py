"""重复件 as an attacker would try it (review of 2026-12-02): the person a repeat names must not reach the
repeat's leftover case row, and a receipt matched to an open case only by contact details nobody verified
must not follow that case (its status, its result, a rating or an objection)."""
import pytest
from sqlalchemy import select

from casework import workflow as casework
from casework.access import visible_clause
from casework.models import Case
from casework.queue import QueueFilters, queue_page
from casework.recusal_models import Recusal
from casework.related_models import CaseRepeat
from core.localtime import local_today
from intake.errors import NoResultYet
from intake.feedback import public_result, rate_result
from intake.followup import find_by_receipt, public_view
from intake.models import Report
from tests.support.staff import Team, login, make_user, open_case

TEXT = ("区人民医院骨科主任王小明每用一套进口耗材就从医药代表那里拿两千元回扣，科室里的护士和医生都知道这件事，"
        "病人多花了很多钱。")
VICTIM_TEXT = TEXT.replace("王小明", "")


def test_the_person_a_repeat_names_cannot_reach_its_leftover_case(app, client, session, ctx):
    team = Team(session)
    named = make_user(session, "wxm", role="handler", unit="health", display_name="王小明")
    first, _ = open_case(app, session, ctx, title="骨科主任王小明收回扣", text=TEXT, anonymous=False,
                         reporter_name="张三", reporter_phone="13812345678")
    casework.accept(session, team.handler, first)
    leftover, _ = open_case(app, session, ctx, title="骨科主任王小明收回扣（再次反映）", text=TEXT + "请尽快处理！",
                            anonymous=False, reporter_name="张三", reporter_phone="13812345678")
    session.expire_all()
    leftover = session.get(Case, leftover.id)
    assert leftover.status == "merged" and leftover.merged_into_id == first.id  # registered as a repeat
    assert session.scalar(select(Recusal.id).where(Recusal.case_id == leftover.id, Recusal.user_id == named.id))
    assert session.scalar(select(Case.id).where(Case.id == leftover.id, visible_clause(session, named))) is None
    closed = queue_page(session, named, QueueFilters(tab="closed"))
    assert closed.rows == [] and closed.counts.get("closed", 0) == 0
    reference = session.get(Report, leftover.report_id).reference
    assert login(client, "wxm").status_code == 302
    assert client.get(f"/cases/{reference}").status_code == 404
    jump = client.get("/queue", query_string={"q": reference})
    assert "/cases/" not in jump.headers.get("Location", "")  # the same "not found" as a missing reference


def test_whoever_is_recused_from_the_case_a_repeat_joins_is_kept_off_its_leftover_too(app, session, ctx):
    team = Team(session)
    named = make_user(session, "wxm", role="handler", unit="health", display_name="王小明")
    first, _ = open_case(app, session, ctx, text=VICTIM_TEXT, accused_name="王小明", anonymous=False,
                         reporter_name="张三", reporter_phone="13812345678")
    casework.accept(session, team.handler, first)
    assert session.scalar(select(Recusal.id).where(Recusal.case_id == first.id, Recusal.user_id == named.id))
    leftover, _ = open_case(app, session, ctx, text=VICTIM_TEXT + "请尽快处理！", anonymous=False,
                            reporter_name="张三", reporter_phone="13812345678")  # this one names nobody
    session.expire_all()
    assert session.get(Case, leftover.id).merged_into_id == first.id
    assert session.scalar(select(Case.id).where(Case.id == leftover.id, visible_clause(session, named))) is None


@pytest.mark.parametrize("phone", ["138-1234-5678"])
def test_a_receipt_matched_on_a_phone_nobody_verified_does_not_follow_the_case(app, session, ctx, phone):
    team = Team(session)
    victim, victim_receipt = open_case(app, session, ctx, text=VICTIM_TEXT, anonymous=False, reporter_name="张三",
                                       reporter_phone="13812345678")
    casework.accept(session, team.handler, victim)
    # another name, the victim's phone, the words with a sentence added
    leftover, receipt = open_case(app, session, ctx, text=VICTIM_TEXT + "望尽快查处。", anonymous=False,
                                  reporter_name="李四", reporter_phone=phone)
    assert leftover.status == "merged" and leftover.merged_into_id == victim.id
    assert session.scalar(select(CaseRepeat.case_id).where(CaseRepeat.report_id == leftover.report_id)) == victim.id
    _control, control_receipt = open_case(app, session, ctx, text=VICTIM_TEXT + "望尽快查处。", anonymous=False,
                                          reporter_name="李四", reporter_phone="13900000000")
    mine = public_view(find_by_receipt(session, ctx, receipt.receipt)).status
    assert mine == public_view(find_by_receipt(session, ctx, control_receipt.receipt)).status  # no oracle
    casework.record_findings(session, team.handler, session.get(Case, victim.id), "unfounded")
    casework.close(session, team.handler, session.get(Case, victim.id), result="经核查，反映的问题不属实。")
    session.expire_all()
    assert public_view(find_by_receipt(session, ctx, victim_receipt.receipt)).status == "closed"
    report = find_by_receipt(session, ctx, receipt.receipt)
    assert report.status != "closed" and public_result(session, report, local_today()) is None
    with pytest.raises(NoResultYet):
        rate_result(session, report, "unsatisfied", source="web")
    victim_report = find_by_receipt(session, ctx, victim_receipt.receipt)
    assert public_result(session, victim_report, local_today()).text == "经核查，反映的问题不属实。"
