"""The corpus model: stored as data, calibrated, abstaining on purpose, explaining itself.

Every figure here is measured on the TRAIN split (routing/data/train) only: the blind split is
never read by a test."""
import gzip
import json
import subprocess
import sys

import numpy as np
import pytest

from routing.classifier import classify
from routing.combine import choose_threshold, combine, rules_array
from routing.learned import LearnedModel
from routing.matrix import lead_probabilities, route
from routing.model import FORMATS, SHIPPED, Calibration, CorpusModel, load_model, model_text, shipped_model, words
from routing.train_model import load_train, reliability_bins, train

GIFT = "我妈住院做手术前，主刀的李大夫收了我们塞的信封，里面两千块钱，说这样才给排前面。"


@pytest.fixture(scope="module")
def shipped():
    model = shipped_model()
    assert model is not None, "routing/data/model.json.gz is shipped with the code"
    return model


@pytest.fixture(scope="module")
def small(tax):
    """A model fitted on part of the train split, and rows of the train split it never saw. 1,500 rows: a
    900-row model's calibration, fitted on 3 folds of 900, was noisy enough that one draw of the 5,334-row
    corpus missed the calibration check by 0.01 in one bin while the next two draws passed it by 0.04-0.07
    (each bin's error changing sign from draw to draw: noise, not a bias); at 1,500 all three passed by 0.06+."""
    rows = load_train()
    rng = np.random.default_rng(7)
    order = rng.permutation(len(rows))
    fit = [rows[i] for i in order[:1500]]
    held = [rows[i] for i in order[1500:2100]]
    return train(tax, fit, folds=3), held


def test_the_shipped_file_is_gzip_json_without_pickle_and_small(shipped):
    data = SHIPPED.read_bytes()
    assert len(data) < 5 * 1024 * 1024
    doc = json.loads(gzip.decompress(data))
    assert doc["format"] in FORMATS and doc["weights"]["dtype"] == "float16"
    assert bool(doc.get("word_terms")) == (doc["format"] == "routing.model/lr-char13-words12-1")
    assert b"pickle" not in data and not gzip.decompress(data).startswith(b"\x80")


def test_round_trip_gives_the_same_probabilities(shipped):
    again = CorpusModel.from_bytes(shipped.to_bytes())
    assert again.version == shipped.version and again.calibration == shipped.calibration
    a, b = shipped.predict_proba(GIFT), again.predict_proba(GIFT)
    assert a.keys() == b.keys() and max(abs(a[k] - b[k]) for k in a) < 1e-6


def test_a_model_with_word_features_round_trips(small):
    model, held = small
    assert model.word_terms and any(" " in t for t in model.word_terms)   # words and word pairs
    again = CorpusModel.from_bytes(model.to_bytes())
    assert again.word_terms == model.word_terms and again.word_scale == model.word_scale
    for row in held[:20]:
        a, b = model.predict_proba(row["text"]), again.predict_proba(row["text"])
        assert max(abs(a[k] - b[k]) for k in a) < 2e-3     # weights are stored as float16


def test_word_features_at_predict_time_are_what_scikit_learn_computed():
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [model_text("", t) for t in (GIFT, "医保中心的人收了药店老板的钱，给他多报了",
                                         "药店老板给医保中心稽核科的人送购物卡")]
    cv = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, lowercase=False)
    wv = TfidfVectorizer(analyzer=words, sublinear_tf=True, lowercase=False)
    xc, xw = cv.fit_transform(texts), wv.fit_transform(texts)
    terms = sorted(cv.vocabulary_, key=cv.vocabulary_.get)
    word_terms = sorted(wv.vocabulary_, key=wv.vocabulary_.get)
    m = CorpusModel(terms, cv.idf_.astype(np.float32), np.zeros((len(terms) + len(word_terms), 2), np.float32),
                    np.zeros(2, np.float32), ["1.1", "none"], "t", word_terms=word_terms,
                    word_idf=wv.idf_.astype(np.float32), word_scale=0.5)
    for i, text in enumerate(texts):
        idx, vals = m.features(text, normalised=True)
        got = np.zeros(len(terms) + len(word_terms))
        got[idx] = vals
        want = np.r_[xc[i].toarray()[0], 0.5 * xw[i].toarray()[0]]
        assert np.allclose(got, want, atol=1e-5)
    assert "医保中心" in words(texts[1]) or "医保" in words(texts[1])
    with pytest.raises(ValueError):     # a word idf that does not match the word terms
        CorpusModel(terms, cv.idf_, np.zeros((len(terms), 2)), np.zeros(2), ["1.1", "none"], "t",
                    word_terms=word_terms, word_idf=wv.idf_[:-1])


def test_a_tampered_or_foreign_payload_is_refused(shipped):
    doc = shipped.to_doc()
    with pytest.raises(ValueError):
        CorpusModel.from_bytes(gzip.compress(json.dumps({**doc, "format": "pickle"}).encode()))
    bad = {**doc, "weights": {**doc["weights"], "dtype": "object"}}
    with pytest.raises(ValueError):
        CorpusModel.from_bytes(gzip.compress(json.dumps(bad).encode()))
    with pytest.raises(ValueError):
        CorpusModel.from_bytes(gzip.compress(json.dumps({**doc, "terms": doc["terms"][:-1]}).encode()))


def test_the_old_correction_only_format_still_loads():
    old = LearnedModel.train([("医生收红包", "6.4"), ("挂号难", None)])
    assert isinstance(load_model(old.to_bytes()), LearnedModel)


def test_loading_and_predicting_needs_no_scikit_learn():
    code = ("import sys; from routing.model import shipped_model; from routing.taxonomy import load_taxonomy;"
            "from routing.classifier import classify; m = shipped_model();"
            "c = classify(load_taxonomy('config'), title='', text='医生收红包', learned=m);"
            "assert c.probability is not None;"
            "assert not any(k.startswith(('sklearn', 'scipy')) for k in sys.modules), 'imported'; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_combination_follows_its_exponents():
    log_r = np.log(np.array([0.7, 0.2, 0.1]) + 1e-3)
    model_p = np.array([0.1, 0.8, 0.1])
    rules_only = combine(log_r, model_p, Calibration(a=1.0, b=0.0))
    model_only = combine(log_r, model_p, Calibration(a=0.0, b=1.0))
    assert rules_only.argmax() == 0 and model_only.argmax() == 1
    assert np.allclose(model_only, model_p) and abs(rules_only.sum() - 1) < 1e-9
    hotter = combine(log_r, model_p, Calibration(a=0.0, b=1.0, temperature=2.0))
    assert hotter.max() < model_only.max()            # a higher temperature is less sure
    less_none = combine(log_r, model_p, Calibration(a=0.0, b=1.0, bias_none=-2.0))
    assert less_none[-1] < model_only[-1]             # None is the last class
    assert rules_array({"1.1": 0.5, None: 0.5}, ["1.1", "1.2", None], 1e-3)[1] == pytest.approx(np.log(1e-3))


def test_probabilities_are_calibrated_on_held_out_train_rows(tax, small):
    model, held = small
    classes = model.item_classes
    p, y = [], []
    for row in held:
        c = classify(tax, title=row["title"], text=row["text"], learned=model)
        dist = {**c.item_probabilities, None: c.out_of_scope_probability}
        p.append([dist.get(k, 0.0) for k in classes])
        y.append(classes.index(row["expect"]["item"]))
    bins = reliability_bins(np.asarray(p), np.asarray(y))
    for b in bins:
        if b["n"] >= 40:   # mean predicted probability tracks accuracy, within 0.12 or the bin's sampling
            # noise (2.5 binomial standard errors: a bin of 45 rows at 50 % is ±0.19 by chance alone)
            noise = 2.5 * (b["accuracy"] * (1 - b["accuracy"]) / b["n"]) ** 0.5
            assert abs(b["mean_probability"] - b["accuracy"]) <= max(0.12, noise), bins


def test_threshold_respects_its_constraints_on_the_data_it_was_chosen_on(small):
    model, _ = small
    chosen = model.meta["out_of_fold"]["threshold"]
    assert chosen["threshold"] == pytest.approx(model.threshold, abs=1e-4)
    assert chosen["triage_share"] <= 0.20 + 1e-9
    if chosen["met"]:
        assert chosen["wrong_rate"] <= 0.03


def test_choose_threshold_on_constructed_data():
    p = np.array([0.95, 0.9, 0.85, 0.8, 0.6, 0.55, 0.5, 0.4, 0.3, 0.2])
    ok = np.array([1, 1, 1, 1, 0, 1, 0, 1, 0, 0], dtype=bool)
    never = np.zeros(10, dtype=bool)
    got = choose_threshold(p, ok, never, max_wrong=0.0, max_triage=0.7)
    assert got == {"threshold": 0.8, "triage_share": pytest.approx(0.6), "wrong_rate": 0.0, "met": True}
    tight = choose_threshold(p, ok, never, max_wrong=0.0, max_triage=0.3)   # cannot meet both
    assert not tight["met"] and tight["triage_share"] <= 0.3 + 1e-9
    oos = np.array([0, 0, 0, 0, 1, 0, 1, 0, 1, 1], dtype=bool)   # always triaged, whatever θ
    ok[7] = False
    assert choose_threshold(p, ok, oos, max_wrong=0.0, max_triage=0.5)["threshold"] == 0.55
    assert not choose_threshold(p, ok, oos, max_wrong=0.0, max_triage=0.45)["met"]


def test_lead_probability_sums_the_items_of_a_unit_and_triage_uses_it(tax, shipped):
    # the items' sums alone (the direct lead-unit model's mix: tests/routing/test_lead_model.py)
    shipped = CorpusModel.from_bytes(shipped.to_bytes())
    shipped.lead_mix = (1.0, 0.0)
    c = classify(tax, title="", text=GIFT, learned=shipped)
    assert c.item and c.item.startswith("6.") and c.probability is not None
    leads = lead_probabilities(tax, c, title="", text=GIFT)
    matrix_health = sum(p for k, p in c.item_probabilities.items() if k.split(".")[0] in "236")
    officials = sum(p for k, p in c.item_probabilities.items() if k.startswith("1."))  # shared by unit
    assert matrix_health - 1e-6 <= leads["health"] <= matrix_health + officials + 1e-6
    assert sum(leads.values()) == pytest.approx(sum(c.item_probabilities.values())
                                                + c.out_of_scope_probability, abs=1e-6)
    r = route(tax, c, title="", text=GIFT)
    assert r.lead_probability == pytest.approx(leads["health"], abs=1e-3)
    assert r.triage == (r.lead_probability < shipped.threshold)
    strict = classify(tax, title="", text=GIFT, learned=shipped)
    object.__setattr__(strict, "lead_threshold", 0.9999)
    assert route(tax, strict, title="", text=GIFT).triage and "P(lead unit)" in \
        route(tax, strict, title="", text=GIFT).reason


def test_top_terms_explain_the_chosen_item(tax, shipped):
    c = classify(tax, title="", text=GIFT, learned=shipped)
    assert c.model_terms and all(t["weight"] > 0 for t in c.model_terms)
    weights = [t["weight"] for t in c.model_terms]
    assert weights == sorted(weights, reverse=True)
    read = model_text("", GIFT)     # character n-grams and words (pairs joined by a space) of it
    assert all(t["term"].replace(" ", "") in read for t in c.model_terms)


def test_a_close_second_reading_is_kept_and_a_far_one_is_not(tax, shipped):
    both = "医生收了病人家属的红包，还让病人去外面的药店买药，药店给他提成。"
    c = classify(tax, title="", text=both, learned=shipped)
    if c.second_item is not None:
        assert c.item_probabilities[c.second_item] >= shipped.second_ratio * c.probability
        assert [cd.item for cd in c.candidates if cd.second_reading] == [c.second_item]
    close = CorpusModel.from_bytes(shipped.to_bytes())
    close.second_ratio = 0.0                     # everything counts as close
    assert classify(tax, title="", text=both, learned=close).second_item is not None
    close.second_ratio = 1.01                    # nothing does
    assert classify(tax, title="", text=both, learned=close).second_item is None
