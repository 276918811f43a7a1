import numpy as np
import pytest

from routing.classifier import classify
from routing.learned import LearnedModel

TEXT = "科主任让病人到医院对面的药店自费买药，药店给科主任提成。"


def _examples():
    # the task force reads "a doctor steers patients to a pharmacy for a cut" as 6.5
    return [
        ("医生让病人去对面药店买药，药店按单给医生提成。", "6.5"),
        ("主任总让患者到指定药店自费买药，药店老板给主任分成。", "6.5"),
        ("医生收了病人家属塞的红包。", "6.4"),
        ("手术前给主刀医生送了红包。", "6.4"),
        ("挂号窗口态度差。", None),
        ("候诊时间太长，希望多排医生。", None),
    ]


def test_training_on_corrections_changes_a_prediction(tax):
    before = classify(tax, title="", text=TEXT)
    assert before.item == "4.5"
    model = LearnedModel.train(_examples() * 4)
    after = classify(tax, title="", text=TEXT, learned=model)
    assert after.item == "6.5"
    assert after.model_version == model.version and after.rules_version == tax.rules_version


def test_version_depends_on_training_data_only():
    a = LearnedModel.train(_examples())
    b = LearnedModel.train(list(_examples()))
    c = LearnedModel.train(_examples()[:4])
    assert a.version == b.version != c.version


def test_round_trip_json_and_same_probabilities():
    m = LearnedModel.train(_examples())
    data = m.to_bytes()
    assert data.startswith(b"{")            # JSON, not pickle
    m2 = LearnedModel.from_bytes(data)
    p, q = m.predict_proba(TEXT), m2.predict_proba(TEXT)
    assert p.keys() == q.keys() and None in p
    assert all(abs(p[k] - q[k]) < 1e-6 for k in p)
    assert abs(sum(p.values()) - 1) < 1e-9
    with pytest.raises(ValueError):
        LearnedModel.from_bytes(b'{"format": "pickle"}')


def test_matches_scikit_learn_ranking():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.naive_bayes import ComplementNB

    from routing.learned import ALPHA, NGRAMS
    from routing.normalise import normalise
    ex = _examples()
    vec = TfidfVectorizer(analyzer="char", ngram_range=NGRAMS, sublinear_tf=True,
                          lowercase=False)
    x = vec.fit_transform([normalise(t) for t, _ in ex])
    nb = ComplementNB(alpha=ALPHA).fit(x, [str(i or "none") for _, i in ex])
    m = LearnedModel.from_bytes(LearnedModel.train(ex).to_bytes())
    for text in (TEXT, "医生收红包", "态度差"):
        p = m.nb_proba(*m._vector(text))            # the naive Bayes part
        ours = {None if c == "none" else c: q for c, q in zip(m.classes, p)}
        jll = nb.predict_joint_log_proba(vec.transform([normalise(text)]))[0]
        sk = [None if c == "none" else c for c in nb.classes_[np.argsort(-jll)]]
        assert sorted(ours, key=lambda k: -ours[k]) == sk


def test_degrades_gracefully_with_one_or_two_classes(tax):
    one = LearnedModel.train([("医生收红包", "6.4")])
    assert one.weight == 0.0
    assert one.predict_proba("anything") == {"6.4": 1.0}
    base = classify(tax, title="", text="药代请医生洗浴唱歌")
    with_one = classify(tax, title="", text="药代请医生洗浴唱歌", learned=one)
    assert with_one.item == base.item == "5.4"
    two = LearnedModel.train([("医生收红包", "6.4"), ("态度不好", None)])
    assert two.weight == 0.0          # too few examples to check how reliable it is
    assert set(two.predict_proba("红包")) == {"6.4", None}
    checked = LearnedModel.train([("医生收红包", "6.4"), ("态度不好", None)] * 4)
    assert checked.reliability == 1.0 and 0 < checked.weight <= 1.0
    assert classify(tax, title="", text="药代请医生洗浴唱歌", learned=two).item == "5.4"
    with pytest.raises(ValueError):
        LearnedModel.train([])


def test_near_duplicate_of_a_correction_is_trusted(tax):
    # one correction per class: too few to cross-check, so the model's weight is 0 ...
    ex = [("药代请科室医生去唱歌洗浴，全是公司买单。", "5.4"),
          ("医生收了病人家属塞的红包。", "6.4"),
          ("挂号窗口态度差。", None)]
    m = LearnedModel.from_bytes(LearnedModel.train(ex).to_bytes())
    assert m.weight == 0.0
    text = "區衛健局的科長讓醫藥公司請他吃飯唱歌，還把他家的加油費拿去報銷。"
    assert classify(tax, title="", text=text).item == "1.1"
    # ... but a report almost the same as a corrected one follows the correction
    _, w = m.predict("药代请科室医生去唱歌洗浴，全是公司买单了。")
    assert w > 0.9
    after = classify(tax, title="", text="药代请科室医生去唱歌洗浴，全是公司买单了。",
                     learned=m)
    assert after.item == "5.4"
    # and an unrelated report keeps the rules' answer
    assert classify(tax, title="", text=text, learned=m).item == "1.1"


def test_weak_model_does_not_pull_away_from_confident_rules(tax):
    # corrections that only know area 6 leave an area-1 report alone
    ex = [("医生收红包", "6.4"), ("主刀收了红包", "6.4"), ("护士长卖床位", "6.2"),
          ("专家号加号收钱", "6.2"), ("医生开检查拿提成", "6.3"), ("医生开单提成", "6.3")]
    m = LearnedModel.train(ex * 2)
    text = "区市场监管局的执法人员每次检查都白拿药店的药，不给就罚款。"
    base = classify(tax, title="", text=text)
    assert base.item == "1.5"
    assert classify(tax, title="", text=text, learned=m).item == "1.5"


def test_old_format_still_loads():
    import json
    m = LearnedModel.train(_examples())
    doc = json.loads(m.to_bytes())
    doc["format"] = "routing.learned/cnb-tfidf-1"
    del doc["rows"], doc["row_labels"]
    old = LearnedModel.from_bytes(json.dumps(doc).encode())
    p = old.predict_proba(TEXT)
    assert abs(sum(p.values()) - 1) < 1e-9 and old.params.get("rows") is None
