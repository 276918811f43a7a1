import json

from routing.classifier import Classification, accused_text, classify


def test_basic_item_and_evidence_offsets(tax):
    title = "醫生收紅 包"
    text = "手术前主刀医生收了我们5000元红包。"
    c = classify(tax, title=title, text=text)
    assert isinstance(c, Classification)
    assert c.item == "6.4" and c.in_scope
    ev = c.candidates[0].evidence
    assert ev, "evidence expected"
    for e in ev:
        src = {"title": title, "text": text}[e.field]
        assert 0 <= e.start < e.end <= len(src)
        assert src[e.start:e.end] == e.matched
    # 收红包 (title, traditional, with a space) shadows the shorter 红包 of the same item
    assert any(e.term == "收红包" and e.field == "title" and e.matched == "收紅 包"
               for e in ev)


def test_candidates_ranked_and_scores_in_range(tax):
    c = classify(tax, title="", text="药代每月按处方量给科室医生返点，名义是讲课费和推广费。")
    scores = [cd.score for cd in c.candidates]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert 0.0 <= c.confidence <= 1.0
    assert c.item == "5.1"
    assert len(c.candidates) <= 5


def test_against_terms_lower_an_item(tax):
    # 发红包 (handing out bonuses) argues against 6.4 (receiving red envelopes)
    c = classify(tax, title="", text="院长把账外收入存起来，年底给班子成员发红包私分。")
    assert c.item == "2.4"


def test_out_of_scope(tax):
    c = classify(tax, title="态度差", text="挂号窗口的工作人员态度恶劣，很不耐烦，希望道歉。")
    assert not c.in_scope and c.item is None
    c = classify(tax, title="", text="我家楼道被邻居堆满杂物，物业不管。")
    assert not c.in_scope and c.item is None


def test_versions_recorded_and_json(tax):
    c = classify(tax, title="", text="统方：药代买医生用药数据")
    assert c.rules_version == tax.rules_version and "+" in c.rules_version
    assert c.model_version is None
    d = c.to_dict()
    json.dumps(d, ensure_ascii=False)
    assert d["item"] == c.item and d["candidates"][0]["evidence"][0]["field"] in ("title", "text")


def test_accused_field_used(tax):
    accused = {"name": "张某", "institution": "区卫健局", "position": "科长"}
    assert accused_text(accused) == "张某 区卫健局 科长"
    c = classify(tax, title="", text="逢年过节收购物卡和礼金。", accused=accused)
    assert c.item == "1.2"
    assert any(e.field == "accused" for cd in c.candidates for e in cd.evidence)


def test_traditional_and_typos_classify_like_simplified(tax):
    a = classify(tax, title="", text="药代请医生去洗浴唱歌，还出钱旅游。")
    b = classify(tax, title="", text="藥代請醫生去洗浴唱歌，還出錢旅遊。")
    assert a.item == b.item == "5.4"
    c = classify(tax, title="", text="医药代表统放，买医生的用药量数据。")
    assert c.item == "5.3"
