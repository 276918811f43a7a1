"""Everyday words: officials' units named loosely, 帐/账 variants, set phrases of the
genre, and complaints outside the campaign."""
import tomllib
from pathlib import Path

import pytest

from routing.classifier import Classification, classify
from routing.matrix import accused_unit, route
from routing.normalise import normalise
from routing.taxonomy import TaxonomyError, load_taxonomy

CONFIG = Path(__file__).resolve().parents[2] / "config"


@pytest.mark.parametrize("text,unit", [
    ("医保的人每次来检查都要吃饭", "medinsure"),
    ("工商所的两个人来店里转了一圈", "market"),
    ("市监局来的执法人员", "market"),
    ("卫健的人来查消毒记录", "health"),
    ("穿制服的来检查，没说哪个单位", "taskforce"),
])
def test_everyday_words_name_the_accused_unit(tax, text, unit):
    assert accused_unit(tax, title="", text=text) == unit
    r = route(tax, Classification("1.1", [], True, 0.99, tax.rules_version),
              title="", text=text)
    assert r.lead_unit == unit


def test_accused_units_extend_the_matrix_and_reject_unknown_units(tax, tmp_path):
    matrix = tomllib.loads((CONFIG / "matrix.toml").read_text("utf-8"))
    for term in matrix["accused"]["units"]["medinsure"]:
        assert term in tax.matrix.accused_units["medinsure"]       # kept
    assert "医保的人" in tax.matrix.accused_units["medinsure"]      # added
    for name in ("negative_list.toml", "matrix.toml", "leadership.toml"):
        (tmp_path / name).write_bytes((CONFIG / name).read_bytes())
    clf = (CONFIG / "classifier.toml").read_text("utf-8")
    (tmp_path / "classifier.toml").write_text(
        clf.replace("[accused_units]", "[accused_units]\nnobody = [\"某局\"]"), "utf-8")
    with pytest.raises(TaxonomyError):
        load_taxonomy(tmp_path)


def test_zhang_variant_of_account_words(tax):
    assert normalise("钱没入帐，帐上没有", tax.typo_fixer) == "钱没入账账上没有"
    assert normalise("帐篷", tax.typo_fixer) == "帐篷"       # only account words


def test_fee_for_attending_is_not_membership_fee(tax):
    c = classify(tax, title="学会收参会费", text="护理学会通知每人交参会费一千二，不去也得交，按人头摊。")
    assert c.item == "3.1"


def test_question_about_how_to_report_is_out_of_scope(tax):
    c = classify(tax, title="请问怎么实名举报",
                 text="想问一下如果要举报一个医生收红包，需要提供什么材料？会不会泄露我的信息？")
    assert not c.in_scope


@pytest.mark.parametrize("title,text", [
    ("銀行亂收費", "信用卡說好免年費，結果扣了三百元年費，客服一直推脫。"),
    ("饭店卫生", "一家烧烤店后厨很脏，有老鼠，吃完拉肚子，请有关部门检查。"),
])
def test_other_sectors_are_out_of_scope(tax, title, text):
    assert not classify(tax, title=title, text=text).in_scope


def test_official_treated_by_regulated_party_is_area_one(tax):
    c = classify(tax, title="医保的人让药店老板请客",
                 text="医保分中心管稽核的人每次检查完都让老板带他去钓鱼，酒店也是老板刷的卡。")
    assert c.item == "1.1"
    assert route(tax, c, title="", text="医保的人").lead_unit == "medinsure"
