"""防止"灯下黑", pure: name keys that no spelling dodges, and reports that accuse the leadership of a
member unit (or the task force's own leader or deputy) routed around it — by the accused fields, the
text or a name Attachment 1 lists — while reports about a part of a unit, a hospital's 主任 or a
mere mention of a unit stay with the matrix."""
import re
import tomllib

import pytest

from routing.classifier import Classification
from routing.leadership import LeadershipConfigError, detect, parse_leadership
from routing.matrix import leadership_walls, route
from routing.names import content_key, field_named, is_real_name, name_key, sentence_key
from routing.taxonomy import UNITS, TaxonomyError, load_taxonomy
from tests.routing.conftest import ROOT

PLAN = ROOT.parent / "shared" / "seeds" / "xinglongtai-work-plan.txt"
if not PLAN.exists():
    PLAN = ROOT.parents[1] / "work" / "shared" / "seeds" / "xinglongtai-work-plan.txt"


@pytest.mark.parametrize("spelling", ["王小明", "王 小明", "王  小 明", "王·小明", "王・小明", "王•小明", "王‧小明",
                                      "王ꞏ小明", "王\u3000小明", "王\u200b小明", "王(小)明", "王-小-明", "王小明",
                                      "王小明\n", "\t王 小明 "])
def test_every_spelling_of_a_name_has_one_key(spelling):
    assert name_key(spelling) == "王小明"


def test_traditional_full_width_and_compatibility_forms_fold():
    assert name_key("黃龍慶") == name_key("黄龙庆") == "黄龙庆"
    assert name_key("金曉峯") == name_key("金晓峰")          # a variant character, too
    assert name_key("\uf90a晓峰") == "金晓峰"                 # CJK compatibility ideograph
    assert name_key("ＷＡＮＧ Ｌｉ") == name_key("wang li") == "wangli"


def test_different_people_have_different_keys():
    assert name_key("王小明") != name_key("王晓明")
    assert field_named(name_key("王小明"), content_key(["王某", "王大明收受红包"])) is None


def test_a_name_is_found_in_one_field_only():
    content = content_key(["", "区人民医院", "", "举报王", "小明收受红包"])
    assert field_named(name_key("王小明"), content) is None  # not across the title and the text
    assert field_named(name_key("王小明"), content_key(["", "", "", "", "他叫王 · 小明"])) == 4
    assert field_named("王", content_key(["王"])) is None      # a one-character key names nobody


def test_real_names_have_two_characters_at_least():
    assert is_real_name("张伟") and is_real_name("欧阳 娜娜")
    for not_a_name in ("", " ", "·", "王", "王·", "・・", "\u200b王"):
        assert not is_real_name(not_a_name)


def test_sentence_key_keeps_sentence_ends_only():
    assert sentence_key("卫健局，副局长！他  说：“好”。\n然后") == "卫健局副局长。他说好。然后"


def _finding(tax, text="", title="", **accused):
    return detect(tax.leadership, title=title, text=text, accused=accused or None,
                  extra_aliases=tax.matrix.accused_units)


@pytest.mark.parametrize("accused,unit,discipline", [
    ({"institution": "区市场监管局", "position": "副局长"}, "market", False),
    ({"institution": "市監局", "position": "黨組成員"}, "market", False),
    ({"institution": "兴隆台区医疗保障事务服务中心", "position": "主任"}, "medinsure", False),
    ({"institution": "医保分中心", "position": "副书记"}, "medinsure", False),
    ({"institution": "区审计局", "position": "局长"}, "audit", False),
    ({"institution": "公安分局", "position": "政委"}, "police", False),
    ({"institution": "卫健委", "position": "党组成员"}, "health", False),
    ({"institution": "区卫生健康局", "position": "局长"}, "health", True),
    ({"institution": "衛健局", "position": "副局長"}, "health", True),
    ({"institution": "区卫健局", "position": "党组书记"}, "health", True),
    ({"institution": "", "position": "卫健局副局长"}, "health", True),
])
def test_accused_fields_name_a_units_leadership(tax, accused, unit, discipline):
    finding = _finding(tax, "收受企业购物卡两万元", **accused)
    assert finding is not None and finding.units == (unit,) and finding.discipline is discipline
    assert "accused_fields" in finding.rules


@pytest.mark.parametrize("text,unit,discipline", [
    ("区卫健局的副局长收受医院老板的购物卡两万元", "health", True),
    ("區衛健局一位副局長收了好處", "health", True),
    ("医保分中心主任违规干预定点医院的费用审核拨付", "medinsure", False),
    ("市监局的一把手收钱包庇企业", "market", False),
    ("来访人说那人是监管局的党组书记，经常在电视上露面", "market", False),   # 监管局 alone (a fifth-set report)
    ("区市场监督管理局党组成员王某收受礼金", "market", False),
    ("审计局副局长接受被审计医院宴请", "audit", False),
    ("工作专班的组长收了医药公司的钱", "health", True),
    ("专班副组长打招呼压下举报", "health", True),
])
def test_the_text_names_a_unit_and_close_after_it_a_leadership_post(tax, text, unit, discipline):
    finding = _finding(tax, text)
    assert finding is not None and unit in finding.units and finding.discipline is discipline


@pytest.mark.parametrize("text,unit", [
    ("去年有人把这事反映到区市场监督管理局，结果不了了之。据说是该局一位副局长和老板是亲戚，把线索压下了。",
     "market"),
    ("请不要转给医保分中心。上次反映过，分中心的一位副主任是门诊部老板的连襟，早就打过招呼。", "medinsure"),
    ("我去卫健局问过，局里的副局长说这事别管了", "health"),
    ("審計局來查過帳，後來該局的局長收了醫院的購物卡", "audit"),
])
def test_a_word_that_refers_back_to_the_unit_named_before_and_a_post(tax, text, unit):
    """该局 / 分中心 / 局里 refer to the unit the report named last: its post after them accuses that unit's
    leadership as its name would (the sixth blind set had two such reports routed to the accused unit)."""
    finding = _finding(tax, text)
    assert finding is not None and unit in finding.units and "text" in finding.rules


@pytest.mark.parametrize("text", [
    "该局一位副局长收了好处",                            # no unit named before: refers to nothing known
    "向医保分中心反映过，该院院长说没事",                # 该院: the hospital, not the unit
    "医保分中心的工作人员说，分中心稽核股股长吃拿卡要",  # a section's head after the word
    "我向卫健局反映过。局里说骨科主任的事他们不管",      # a hospital's post, and not close after
])
def test_a_word_that_refers_back_without_a_leadership_post_is_no_accusation(tax, text):
    assert _finding(tax, text) is None


@pytest.mark.parametrize("text", [
    "卫健局医政科主任接受宴请",                        # a section's head, not the bureau's
    "区卫生健康局综合办公室主任报销私人费用",            # an office's head (the plan's liaison)
    "区人民医院骨科主任收受医药代表回扣",                # a hospital
    "某医院主任医师收红包，医保分中心不管",              # a rank, and no post after the unit
    "医保分中心主任科员张某收好处",                      # a civil-service rank
    "我向卫健局反映过。外科主任收红包还不退",            # another sentence
    "尊敬的医保中心领导：某医院串换药品骗保",            # a salutation
    "医保分中心稽核股股长吃拿卡要",                      # a section's head
    "卫健局下属医院院长收回扣",                          # a hospital under the bureau
])
def test_a_part_of_a_unit_a_hospital_or_a_mention_is_not_its_leadership(tax, text):
    assert _finding(tax, text) is None


@pytest.mark.parametrize("text,unit,discipline", [
    ("盖  波收了医药公司的好处", "health", True),    # the plan's own spacing
    ("蓋波收了好處", "health", True),
    ("听说盖·波打了招呼", "health", True),
    ("黄龙庆副组长包庇", "health", True),
    ("王大庆包庇企业", "market", False),
    ("張 宇收钱", "medinsure", False),
    ("王东川插手案件", "police", False),
    ("许静改审计结论", "audit", False),
])
def test_a_listed_leader_named_anywhere(tax, text, unit, discipline):
    finding = _finding(tax, text)
    assert finding is not None and unit in finding.units and finding.discipline is discipline


def test_a_listed_liaison_is_not_their_units_leadership(tax):
    assert _finding(tax, "刘宇新吃拿卡要") is None and _finding(tax, "张曦收钱") is None


def _sure(tax, item):
    return Classification(item, [], True, 0.99, tax.rules_version)


def test_a_unit_leadership_report_goes_to_the_task_force_without_that_unit(tax):
    r = route(tax, _sure(tax, "5.1"), title="", text="区市场监管局副局长收受药企回扣，帮企业压下处罚")
    assert r.lead_unit == "taskforce" and "market" not in r.assist_units and r.excluded_units == ["market"]
    assert set(r.assist_units) == {"police", "health"} and not r.discipline and not r.triage
    assert "区市场监督管理局" in r.explanation and "灯下黑" in r.explanation and "工作专班牵头" in r.explanation
    r = route(tax, _sure(tax, "1.2"), title="", text="医保分中心主任收受定点药店礼金",
              accused={"name": "", "institution": "", "position": ""})
    assert (r.lead_unit, r.assist_units, r.excluded_units) == ("taskforce", [], ["medinsure"])


def test_a_report_on_the_task_force_leader_goes_to_discipline_inspection(tax):
    r = route(tax, _sure(tax, "1.2"), title="举报盖波", text="区卫生健康局主要负责人收受医药公司礼金")
    assert r.discipline and r.lead_unit == "taskforce" and r.assist_units == [] and "health" in r.excluded_units
    assert "纪检监察" in r.explanation and "协调员" in r.explanation


def test_the_routing_explanation_says_which_rule_applied_in_chinese(tax):
    assert "按责任矩阵由区卫生健康局牵头" in route(tax, _sure(tax, "6.4"), title="", text="医生收红包").explanation
    assert "被举报人所在单位区市场监督管理局牵头" in route(
        tax, _sure(tax, "1.5"), title="", text="市场监管局执法人员吃拿卡要").explanation
    assert "人工分办" in route(tax, Classification(None, [], False, 0.9, tax.rules_version), title="", text="").explanation
    low = route(tax, Classification("6.4", [], True, 0.1, tax.rules_version), title="", text="")
    assert "把握不足" in low.explanation and low.triage


def test_walls_fail_closed_when_detection_breaks(tax, monkeypatch):
    import routing.matrix
    monkeypatch.setattr(routing.matrix, "detect", lambda *a, **k: 1 / 0)
    walls = leadership_walls(tax, title="", text="随便")
    assert walls["coordinators_only"] is True and walls["discipline"] is False


def test_config_names_exactly_the_people_of_attachment_one(tax):
    if not PLAN.exists():
        pytest.skip("the work plan is not available")
    section = PLAN.read_text("utf-8").split("组成人员", 1)[1].split("附件 2", 1)[0]
    listed = set()
    for line in section.splitlines():
        line = re.sub(r"^\s*(组\s*长|副组长|成\s*员|联络员)\s*[：:]", "", line).strip()
        name = re.match(r"^(\S\s*\S{1,2})\s", line + " ")
        if name and not line.startswith("五"):
            listed.add(name_key(name.group(1)))
    configured = {p.key: p for p in tax.leadership.people}
    assert listed == set(configured) and len(listed) == 11
    assert configured["盖波"].role == "leader" and configured["黄龙庆"].role == "deputy"
    assert configured["盖波"].unit == configured["黄龙庆"].unit == tax.leadership.taskforce_unit == "health"


def test_bad_leadership_config_is_refused():
    data = tomllib.loads((ROOT / "config" / "leadership.toml").read_text("utf-8"))
    parse_leadership(data, UNITS)
    for broken in ({**data, "unit": {**data["unit"], "nowhere": {"positions": ["局长"]}}},
                   {**data, "person": [{"name": "某", "unit": "health", "role": "boss"}]},
                   {**data, "unit": {**data["unit"], "audit": {"aliases": ["审计局"], "positions": []}}}):
        with pytest.raises(LeadershipConfigError):
            parse_leadership(broken, UNITS)


def test_the_taxonomy_refuses_a_broken_leadership_file(tmp_path):
    for name in ("negative_list.toml", "matrix.toml", "classifier.toml"):
        (tmp_path / name).write_bytes((ROOT / "config" / name).read_bytes())
    (tmp_path / "leadership.toml").write_text('[taskforce]\nunit = "health"\n', "utf-8")
    with pytest.raises(TaxonomyError):
        load_taxonomy(tmp_path)
