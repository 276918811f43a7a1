"""Related reports found on arrival (线索归集): each kind of relation found, and not found for unrelated
reports (two people who share a surname; the same text about two different hospitals); access and recusal
applied to what a viewer is shown; repeats (重复件) registered on the open case; merging from a candidate;
多人反映; the `reports related` command."""
import json
from datetime import timedelta
from pathlib import Path

import opencc
import pytest
from sqlalchemy import func, select

from casework import workflow as casework
from casework.models import Case, CaseReport
from casework.related import RelatedPolicy, shingles, signature, similarity
from casework.related_models import CaseRepeat, RelatedCandidate
from casework.related_views import many_reporters, related_cases
from casework.rules import can_see
from core.audit import AuditEvent
from core.db import utcnow
from intake.followup import find_by_receipt, public_view
from intake.match_keys import ReportMatchKey
from tests.support.staff import Team, make_user, open_case

ORTHO = "区人民医院骨科主任每用一套进口耗材就从医药代表那里拿两千元回扣，科室里的护士和医生都知道这件事，病人多花了很多钱。"
PHARMACY = "区人民医院药剂科采购人员与某医药公司私下约定，线下采购高价非挂网药品，价格比挂网高出三成，已经持续半年。"
BEDS = "兴隆台区某医院长期挂床住院，病人白天回家，晚上也不在病房，医院照样记住院天数向医保报销。"
MARKET = "医药代表以讲课费名义给医生回扣，每月按处方量结算推广费，涉及多家医药公司和药店。"
HONGBAO = "外科医生收受患者红包五千元，手术前暗示家属不给红包就往后排，病房里的病人都知道。"
NUMBERS = "医生在门诊开单按检查数量提成，每开一张CT单拿五十元，科室每月统计后发现金，从不入账。"


@pytest.fixture
def team(session):
    return Team(session)


def related_of(session, case, user=None):
    return {r.case.id: r for r in related_cases(session, case, user)}


def reasons(session, case, other):
    return related_of(session, case).get(other.id).reasons if other.id in related_of(session, case) else []


def test_signatures_ignore_traditional_characters_punctuation_and_spaces():
    traditional = opencc.OpenCC("s2t").convert(ORTHO)
    assert traditional != ORTHO
    assert similarity(signature(ORTHO), signature(traditional.replace("，", " ， "))) == 1.0
    edited = ORTHO.replace("两千元", "两千五百元")
    assert similarity(signature(ORTHO), signature(edited)) >= 0.75
    assert similarity(signature(ORTHO), signature(PHARMACY)) < 0.3
    assert shingles("") == [] and signature("  ，。") is None


def test_the_same_accused_person_is_found_and_a_namesake_surname_is_not(app, session, ctx):
    first, _ = open_case(app, session, ctx, text=ORTHO, accused_name="王小明", accused_institution="区人民医院")
    same, _ = open_case(app, session, ctx, text=HONGBAO, accused_name="王 小明", accused_institution="")
    traditional, _ = open_case(app, session, ctx, text=NUMBERS, accused_name="王·小明、李四",
                               accused_institution="區人民醫院")
    other_person, _ = open_case(app, session, ctx, text=MARKET, accused_name="王大明", accused_institution="区人民医院")
    elsewhere, _ = open_case(app, session, ctx, text=BEDS, accused_name="王小明", accused_institution="区中医院")
    assert "same_person" in reasons(session, same, first)
    assert "same_person" in reasons(session, traditional, first)
    assert "same_person" in reasons(session, traditional, same)
    assert "same_person" not in reasons(session, other_person, first)
    assert "same_person" not in reasons(session, elsewhere, first)  # another named institution: another 王小明
    assert "same_person" in reasons(session, elsewhere, same)  # the one without an institution may be either


def test_the_same_institution_and_area_within_the_window(app, session, ctx):
    old, _ = open_case(app, session, ctx, text=HONGBAO, accused_institution="区中医院",
                       received_at=utcnow() - timedelta(days=200))
    first, _ = open_case(app, session, ctx, text=HONGBAO.replace("五千元", "三千元").replace("病房里", "科室里"),
                         accused_institution="区中医院", accused_name="")
    second, _ = open_case(app, session, ctx, text=NUMBERS, accused_institution="区 中医院")
    other_area, _ = open_case(app, session, ctx, text=BEDS, accused_institution="区中医院")
    assert first.area == second.area == 6 and other_area.area == 4
    found = reasons(session, second, first)
    assert ("same_institution_item" if first.item_code == second.item_code else "same_institution_area") in found
    assert not {"same_institution_item", "same_institution_area"} & set(reasons(session, first, old))  # 200 days
    assert not {"same_institution_item", "same_institution_area"} & set(reasons(session, other_area, first))
    assert RelatedPolicy.from_config(Path(app.config["CONFIG_DIR"]) / "related.toml").window_days == 180


def test_near_duplicate_text_and_the_same_text_about_another_hospital(app, session, ctx):
    first, _ = open_case(app, session, ctx, text=ORTHO)
    copy, _ = open_case(app, session, ctx, text=opencc.OpenCC("s2t").convert(ORTHO).replace("，", "。 "))
    unrelated, _ = open_case(app, session, ctx, text=PHARMACY)
    assert "near_duplicate" in reasons(session, copy, first)
    assert first.id not in related_of(session, unrelated)

    people, _ = open_case(app, session, ctx, text=MARKET, accused_institution="区人民医院")
    zhongyi, _ = open_case(app, session, ctx, text=MARKET, accused_institution="区中医院")
    assert people.id not in related_of(session, zhongyi)  # same words, other facts: not related
    again, _ = open_case(app, session, ctx, text=MARKET + "。", accused_institution="區人民醫院")
    assert "near_duplicate" in reasons(session, again, people)
    score = related_of(session, again)[people.id].score
    assert 0 < score <= 1


def test_the_same_reporter_by_phone_or_email_and_no_identity_kept(app, session, ctx):
    first, _ = open_case(app, session, ctx, text=ORTHO, anonymous=False, reporter_name="张三",
                         reporter_phone="13812345678")
    phone, _ = open_case(app, session, ctx, text=BEDS, anonymous=False, reporter_name="张三",
                         reporter_phone="+86 138-1234-5678", reporter_email="zs@example.com")
    email, _ = open_case(app, session, ctx, text=MARKET, anonymous=False, reporter_name="张三",
                         reporter_phone="13700000000", reporter_email="ZS@Example.com")
    stranger, _ = open_case(app, session, ctx, text=NUMBERS, anonymous=False, reporter_name="李四",
                            reporter_phone="13900000000")
    assert "same_reporter" in reasons(session, phone, first)
    assert "same_reporter" in reasons(session, email, phone)
    assert "same_reporter" not in reasons(session, email, first)
    assert first.id not in related_of(session, stranger)
    stored = " ".join(session.scalars(select(ReportMatchKey.key).where(ReportMatchKey.kind == "reporter")))
    assert "1381234" not in stored and "zs@" not in stored and len(stored.split()) == 6


def test_a_repeat_by_the_same_reporter_is_registered_on_the_open_case(app, session, ctx, team):
    first, first_receipt = open_case(app, session, ctx, text=ORTHO, anonymous=False, reporter_name="张三",
                                     reporter_phone="13812345678")
    casework.accept(session, team.handler, first)
    repeat, receipt = open_case(app, session, ctx, text=ORTHO + "请尽快处理！", anonymous=False,
                                reporter_name="张三", reporter_phone="138 1234 5678")
    assert repeat.status == "merged" and repeat.merged_into_id == first.id
    assert session.scalar(select(CaseReport.case_id).where(CaseReport.report_id == repeat.report_id)) == first.id
    assert session.scalar(select(CaseRepeat.case_id).where(CaseRepeat.report_id == repeat.report_id)) == first.id
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "case.repeat_registered")).all()
    assert event.case_id == first.id and event.report_id == repeat.report_id
    view = public_view(find_by_receipt(session, ctx, receipt.receipt))
    # a repeat is matched on contact details nobody verified: its receipt does not follow the case it joined
    # (not answered again as new; tests/casework/test_repeat_attacks.py)
    assert view.status == "received"
    assert public_view(find_by_receipt(session, ctx, first_receipt.receipt)).status == "accepted"

    someone_else, _ = open_case(app, session, ctx, text=ORTHO, anonymous=False, reporter_name="李四",
                                reporter_phone="13900000000")
    assert someone_else.status != "merged" and "near_duplicate" in reasons(session, someone_else, first)
    casework.record_findings(session, team.handler, first, "unfounded")
    casework.close(session, team.handler, first, result="经核查，问题不实。")
    after_close, _ = open_case(app, session, ctx, text=ORTHO, anonymous=False, reporter_name="张三",
                               reporter_phone="13812345678")
    assert after_close.status != "merged"  # a closed case is not reopened by a repeat: a new case
    assert {"same_reporter", "near_duplicate"} <= set(reasons(session, after_close, first))
    assert session.scalar(select(func.count()).select_from(CaseRepeat)) == 1


def test_candidates_are_limited_to_cases_the_viewer_may_see(app, session, ctx, team):
    health, _ = open_case(app, session, ctx, text=HONGBAO, accused_name="赵四海")
    market, _ = open_case(app, session, ctx, text=MARKET, accused_name="赵四海")
    assert (health.lead_unit, market.lead_unit) == ("health", "market")
    assert market.id in related_of(session, health, team.coordinator)
    assert health.id in related_of(session, market, team.coordinator)
    assert not can_see(session, team.market_handler, health)
    assert related_of(session, market, team.market_handler) == {}  # the health-only case is not the market's
    named = make_user(session, "tf-li", role="coordinator", unit="taskforce", display_name="李建国")
    recused, _ = open_case(app, session, ctx, text=NUMBERS + "李建国也收过钱。", accused_name="赵四海")
    assert recused.id in related_of(session, health, team.coordinator)
    assert recused.id not in related_of(session, health, named)  # named in it: recused
    assert market.id in related_of(session, health, named)


def test_merge_from_a_candidate(app, session, ctx, team):
    first, _ = open_case(app, session, ctx, text=ORTHO)
    copy, copy_receipt = open_case(app, session, ctx, text=ORTHO + "补充一句。")
    [candidate] = related_cases(session, first, team.head)
    assert candidate.case.id == copy.id and "near_duplicate" in candidate.reasons
    casework.merge(session, team.head, candidate.case, first)
    assert copy.status == "merged" and related_cases(session, first, team.head) == []
    assert public_view(find_by_receipt(session, ctx, copy_receipt.receipt)).status == "received"


def test_many_reporters(app, session, ctx, team):
    policy = RelatedPolicy()
    texts = [ORTHO, HONGBAO, NUMBERS, BEDS]
    for i, phone in enumerate(["13800000001", "13800000002", "13800000001"]):
        open_case(app, session, ctx, text=texts[i], accused_name="赵四海", accused_institution="区中医院",
                  anonymous=False, reporter_name="张三", reporter_phone=phone)
    assert many_reporters(session, team.coordinator, policy, utcnow()) == []  # two reporters so far
    open_case(app, session, ctx, text=texts[3], accused_name="赵四海", accused_institution="区第二医院")
    rows = {(r.kind, r.name): r for r in many_reporters(session, team.coordinator, policy, utcnow())}
    assert set(rows) == {("person", "赵四海")}  # an anonymous report is a reporter of its own
    assert rows[("person", "赵四海")].reporters == 3 and len(rows[("person", "赵四海")].cases) == 4
    assert many_reporters(session, team.market_handler, policy, utcnow()) == []  # none of them the market's


def test_the_reports_related_command(app, session, ctx, runner):
    first, _ = open_case(app, session, ctx, text=ORTHO, accused_name="王小明")
    copy, _ = open_case(app, session, ctx, text=ORTHO + "补充。", accused_name="王小明")
    reference = session.get(Case, copy.id).report.reference
    result = runner.invoke(args=["reports", "related", reference])
    assert result.exit_code == 0, result.output
    [line] = [json.loads(x) for x in result.output.splitlines()]
    assert line["reference"] == first.report.reference
    assert line["reasons"] == ["same_person", "near_duplicate"] and 0.6 < line["score"] <= 1
    assert session.scalar(select(func.count()).select_from(RelatedCandidate)) == 1
    missing = runner.invoke(args=["reports", "related", "XLT-1999-000001"])
    assert missing.exit_code == 1 and "XLT-1999-000001" in missing.output


def test_the_same_reporter_is_found_after_an_identity_key_rotation(app_factory, session, ctx):
    from cryptography.fernet import Fernet

    from tests.conftest import IDENTITY_KEY
    new_key = Fernet.generate_key().decode()
    old_app = app_factory()
    first, _ = open_case(old_app, session, ctx, text=ORTHO, anonymous=False, reporter_name="张三",
                         reporter_phone="13812345678")
    rotated = app_factory(env={"IDENTITY_KEY": new_key, "IDENTITY_KEY_PREVIOUS": IDENTITY_KEY})
    assert rotated.test_cli_runner().invoke(args=["identity", "rotate"]).exit_code == 0
    retired = app_factory(env={"IDENTITY_KEY": new_key})  # the old key removed
    later, _ = open_case(retired, session, retired.extensions["intake"], text=BEDS, anonymous=False,
                         reporter_name="张三", reporter_phone="138 1234 5678")
    assert "same_reporter" in reasons(session, later, first)


def test_a_routing_correction_finds_the_related_reports_again(app, session, ctx):
    """Whether two reports about one institution belong together depends on their items: after a person
    corrects the item, the relation follows the corrected item, in both directions."""
    from casework.opening import correct_routing
    tax = app.extensions["routing"].taxonomy
    first, _ = open_case(app, session, ctx, text=HONGBAO, accused_institution="区中医院", accused_name="")
    beds, _ = open_case(app, session, ctx, text=BEDS, accused_institution="区 中医院", accused_name="")
    assert first.area != beds.area
    beds_area = beds.area
    assert not {"same_institution_item", "same_institution_area"} & set(reasons(session, beds, first))
    correct_routing(session, tax, beds, item=first.item_code, reason="其实是收红包", by="专班",
                    related=RelatedPolicy())
    assert "same_institution_item" in reasons(session, beds, first)
    assert "same_institution_item" in reasons(session, first, beds)  # seen from the older case too
    other_item = next(code for code, item in tax.items.items() if item.area == beds_area)
    correct_routing(session, tax, beds, item=other_item, reason="还是挂床", by="专班")
    assert not {"same_institution_item", "same_institution_area"} & set(reasons(session, beds, first))
    assert not {"same_institution_item", "same_institution_area"} & set(reasons(session, first, beds))


def test_a_failure_while_finding_them_again_does_not_undo_the_correction(app, session, ctx, monkeypatch):
    from casework import opening
    tax = app.extensions["routing"].taxonomy
    first, _ = open_case(app, session, ctx, text=HONGBAO, accused_institution="区中医院", accused_name="")
    beds, _ = open_case(app, session, ctx, text=BEDS, accused_institution="区中医院", accused_name="")

    def broken(*_args, **_kw):
        raise RuntimeError("boom")
    from casework import related_refresh
    monkeypatch.setattr(related_refresh, "refresh_candidates", broken)
    opening.correct_routing(session, tax, beds, item=first.item_code, reason="其实是收红包", by="专班")
    session.expire_all()
    assert session.get(Case, beds.id).item_code == first.item_code


def test_after_a_merge_or_a_correction_the_related_reports_of_every_report_of_the_case_are_found(app, session, ctx, team):
    """A case that holds a merged report keeps the relations that report brought, after a correction."""
    from casework.opening import correct_routing
    tax = app.extensions["routing"].taxonomy
    kept, _ = open_case(app, session, ctx, text=ORTHO, accused_name="")
    merged, _ = open_case(app, session, ctx, text=PHARMACY, accused_name="钱多多")
    elsewhere, _ = open_case(app, session, ctx, text=NUMBERS, accused_name="钱多多")
    assert not related_of(session, kept).get(elsewhere.id)  # found for the case that is about to be merged
    casework.merge(session, team.coordinator, merged, kept)
    session.commit()
    assert "same_person" in reasons(session, kept, elsewhere)  # the merge brought the relation along
    correct_routing(session, tax, kept, item=kept.item_code, lead_unit=kept.lead_unit, reason="复核", by="专班")
    assert "same_person" in reasons(session, kept, elsewhere)  # and a correction keeps it
