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
        ours = m.predict_proba(text)
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
