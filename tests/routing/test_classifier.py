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


def test_neutral_phrases_mask_the_cues_inside(tax):
    from routing.matching import matcher_for
    m = matcher_for(tax)
    hits = m.scan("来电人不愿透露姓名，称医院泄露了招标信息")
    assert hits.get("透露") is None                 # inside 不愿透露姓名
    assert "泄露" in hits
    hits = m.scan("有人透露了评分细则，来电人不愿透露姓名")
    assert len(hits["透露"]) == 1                   # the free occurrence is kept
    c = classify(tax, title="", text="来电人称在药店工作，不愿透露姓名，店里医保卡能刷日用品。")
    assert not any(e.term == "透露" for cd in c.candidates for e in cd.evidence)


def test_pair_with_a_one_character_part(tax):
    from routing.matching import matcher_for
    m = matcher_for(tax)
    assert "钱" in m.singles
    hits = m.scan("都得先给主任钱")
    assert m.pair_hit(("主任", "钱"), hits) is not None
    assert m.pair_hit(("主任", "钱"), m.scan("主任说了算，其他的事情都好说好说好说好说，钱")) is None


def test_area_gate_and_needs(tax):
    # the same entertainment words: a company treating doctors is 5.4 ...
    c = classify(tax, title="", text="医药代表请科室医生吃饭唱歌洗浴，全是他们买单。")
    assert c.item == "5.4"
    # ... a company treating officials is 1.1 (5.4 needs a medical beneficiary)
    c = classify(tax, title="", text="医药公司请市场监管局的科长吃饭唱歌洗浴，全是公司买单。")
    assert c.item == "1.1"
    # an award without a society is no 3.5 (area gate): a thank-you letter
    c = classify(tax, title="感谢信", text="感谢心内科的医生护士，希望领导给予表彰。")
    assert not c.in_scope


def test_first_named_actor_decides_close_calls(tax):
    c = classify(tax, title="医生常年拿药企讲课费", text="药代每次把讲课费转到他爱人的卡上。")
    assert c.item == "6.1"
    c = classify(tax, title="药企给医生讲课费", text="药代按处方量把讲课费转到医生卡上。")
    assert c.item == "5.1"


def test_medical_report_with_money_is_in_scope(tax):
    for text in ("病房里想早点做检查都得先给主任钱，不给就往后排。",
                 "有人在医院门口收老人用医保开的药，转手卖给药店。",
                 "批资质的领导跟一家检验所老板关系很铁，条件不够也批了。"):
        assert classify(tax, title="", text=text).in_scope, text
    for text in ("想问一下医保住院报销比例是多少？谢谢解答。",
                 "接到自称医保局的电话让把钱转到安全账户，被骗了，已经报警。",
                 "护士打针时一直玩手机，态度恶劣，很不耐烦。"):
        assert not classify(tax, title="", text=text).in_scope, text
