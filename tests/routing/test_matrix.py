import pytest

from routing.classifier import Classification, classify
from routing.matrix import accused_unit, out_of_district, route

# DOMAIN.md, responsibility matrix
EXPECTED = {
    **{f"2.{n}": ("health", a) for n, a in
       [(1, ["audit"]), (2, []), (3, ["medinsure"]), (4, ["audit"]), (5, ["medinsure"])]},
    **{f"3.{n}": ("health", ["market"]) for n in range(1, 6)},
    **{f"4.{n}": ("medinsure", ["health"]) for n in (1, 2, 4, 5)},
    "4.3": ("medinsure", ["health", "police"]),
    **{f"5.{n}": ("market", ["police", "health"]) for n in range(1, 5)},
    "5.5": ("medinsure", ["market", "police"]),
    **{f"6.{n}": ("health", []) for n in (1, 2, 4, 5)},
    "6.3": ("health", ["medinsure"]),
}


def _sure(tax, item):
    return Classification(item, [], True, 0.99, tax.rules_version)


@pytest.mark.parametrize("item", sorted(EXPECTED))
def test_matrix_items(tax, item):
    r = route(tax, _sure(tax, item), title="", text="")
    assert (r.lead_unit, sorted(r.assist_units)) == (EXPECTED[item][0], sorted(EXPECTED[item][1]))
    assert not r.triage and not r.transfer


@pytest.mark.parametrize("item", [f"1.{n}" for n in range(1, 6)])
@pytest.mark.parametrize("text,unit", [
    ("区卫健局医政科的科长", "health"),
    ("区卫生健康局卫生监督所的人", "health"),
    ("医保分中心稽核股的股长", "medinsure"),
    ("市医保中心的工作人员", "medinsure"),
    ("区市场监督管理局某市场所所长", "market"),
    ("药监的执法人员", "market"),
    ("一个管事的领导，不知道哪个部门", "taskforce"),
])
def test_area_one_lead_is_accused_unit(tax, item, text, unit):
    r = route(tax, _sure(tax, item), title="", text=text)
    assert r.lead_unit == unit
    assert r.assist_units == ([] if unit == "taskforce" else ["taskforce"])


def test_accused_fields_win_over_text(tax):
    assert accused_unit(tax, title="", text="他以前在卫健局工作",
                        accused={"institution": "区市场监管局"}) == "market"


def test_all_thirty_items_have_an_entry(tax):
    assert sorted(tax.matrix.entries) == sorted(tax.items) and len(tax.items) == 30


def test_triage_when_out_of_scope_or_low_confidence(tax):
    out = Classification(None, [], False, 0.9, tax.rules_version)
    r = route(tax, out, title="", text="")
    assert r.triage and r.lead_unit == "taskforce" and r.assist_units == []
    low = Classification("6.4", [], True, tax.classifier.threshold / 2, tax.rules_version)
    r = route(tax, low, title="", text="")
    assert r.triage and r.lead_unit == "taskforce" and "threshold" in r.reason


def test_real_report_routes(tax):
    text = "市场监管局的两名执法人员检查时查出过期药，老板请吃饭送信封后就不了了之。"
    c = classify(tax, title="", text=text)
    r = route(tax, c, title="", text=text)
    assert c.item == "1.5" and r.lead_unit == "market" and not r.triage


def test_transfer_suggestion(tax):
    text = "大洼区某卫生院院长私设小金库，把账外收入私分。"
    c = classify(tax, title="", text=text)
    r = route(tax, c, title="", text=text)
    assert c.item == "2.4" and r.transfer and r.lead_unit == "health"
    assert "transfer" in r.reason
    # a trip to another city is not an institution outside the district
    assert not out_of_district(tax, title="", text="药企请兴隆台某医院医生去沈阳旅游")
    assert not out_of_district(tax, title="", text="盘锦市某医院医生收红包")
    assert out_of_district(tax, title="", text="沈阳某医院的医生收红包")
    # both named: the district's institution keeps it here
    assert not out_of_district(tax, title="", text="兴隆台区医院的医生把病人转到双台子区医院")
    assert r.to_dict()["transfer"] is True
