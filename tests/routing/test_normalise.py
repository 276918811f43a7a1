from routing.normalise import TypoFixer, cn_number, extract_amounts, normalise, prepare


def test_traditional_to_simplified():
    assert normalise("醫院護士長收紅包") == "医院护士长收红包"
    assert normalise("醫保統籌基金被騙") == "医保统筹基金被骗"


def test_full_width_to_half_width_and_case():
    assert normalise("ＣＴ檢查３次ＫＴＶ") == "ct检查3次ktv"


def test_spacing_and_punctuation_noise_removed():
    assert normalise("回 扣") == "回扣"
    assert normalise("红-包") == "红包"
    assert normalise("“统·方”") == "统方"


def test_homophone_typos_fixed_from_config(tax):
    assert normalise("医生收会扣和红苞", tax.typo_fixer) == "医生收回扣和红包"
    assert normalise("药代搞统放", tax.classifier.typos) == "药代搞统方"
    assert normalise("医生收会扣") == "医生收会扣"  # no map, no change


def test_offsets_map_back_to_original():
    p = prepare("醫生收 紅-包！", TypoFixer({}))
    i = p.text.index("红包")
    s, e = p.span(i, i + 2)
    assert p.original[s:e] == "紅-包"


def test_typo_offsets_stay_inside_original():
    p = prepare("他收了會 扣", TypoFixer({"会扣": "回扣"}))
    i = p.text.index("回扣")
    s, e = p.span(i, i + 2)
    assert p.original[s:e] == "會 扣"


def test_amounts_in_comparable_form():
    for text in ("3万", "30000元", "叁万", "三万元", "3万元", "３万元", "3.0万"):
        assert [a.yuan for a in extract_amounts(text)] == [30000.0], text


def test_amount_variants():
    assert extract_amounts("一万八")[0].yuan == 18000
    assert extract_amounts("合计约1.2万元")[0].yuan == 12000
    big = extract_amounts("六十多万")[0]
    assert big.yuan == 600000 and big.approximate
    assert extract_amounts("十几万")[0].approximate
    assert cn_number("壹拾贰万") == 120000
    assert extract_amounts("三天会议、第一名") == []


def test_amount_offsets_point_into_original():
    text = "塞了兩千塊錢的紅包"
    a = extract_amounts(text)[0]
    assert a.yuan == 2000 and text[a.start:a.end] == "兩千塊錢"
