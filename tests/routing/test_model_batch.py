"""The corpus model read on a batch at once (routing.model_batch, classify_many): the same figures and the same
decisions as one report at a time, on the corpus and on hostile text, and one bad report holds up no other."""
import random

import numpy as np
import pytest

from routing import classifier
from routing.classifier import classify, classify_many, model_readings
from routing.matrix import route
from routing.model import model_text, shipped_model
from routing.model_batch import CHUNK, read_many
from routing.normalise import normalise
from routing.train_model import load_train
from tests.routing.test_fast_paths import _texts


@pytest.fixture(scope="module")
def model():
    m = shipped_model()
    assert m is not None and m.word_terms and m.unit_classes and m.lead_classes
    return m


@pytest.fixture(scope="module")
def rows():
    return load_train()[::9]     # 497 reports of every area and register, long transcripts included


def _single(model, s):
    ix, v = model.features(s, normalised=True)
    order = np.argsort(ix)
    return ix[order], v[order], model.proba_array(ix, v), model.unit_proba(ix, v), model.lead_proba(ix, v)


def test_a_batch_reads_every_report_as_one_report_alone_would(tax, model, rows):
    rng = random.Random(11)
    hostile = [normalise(t) for t in _texts(rng, 150)]
    texts = [model_text(r["title"], r["text"], tax.typo_fixer) for r in rows] + hostile + ["", "钱", "abc", "的的的"]
    readings = read_many(model, texts)
    assert len(readings) == len(texts) > 2 * CHUNK        # more than one chunk, in order
    for s, r in zip(texts, readings):
        ix, v, p, units, leads = _single(model, s)
        assert (ix == r.idx).all(), s
        assert np.allclose(v, r.vals, atol=1e-6), s
        assert np.abs(p - r.proba).max() < 1e-5, s
        assert units.keys() == r.units.keys() and leads.keys() == r.leads.keys()
        assert max(abs(units[k] - r.units[k]) for k in units) < 1e-5
        assert max(abs(leads[k] - r.leads[k]) for k in leads) < 1e-5
    assert len(readings[-4].idx) == 0 and abs(readings[-4].proba.sum() - 1) < 1e-9   # empty: the intercepts
    assert any(len(r.idx) for r in readings[len(rows):-4])     # the hostile texts were read, not all skipped


def test_no_gram_reaches_across_two_reports_of_a_batch(model):
    """Texts are joined by NUL, which normalising always drops: the gram made of one text's end and the
    next one's start is in no report's features."""
    assert "\x00" not in normalise("医\x00保\x00") and normalise("医\x00保") == "医保"
    alone = read_many(model, ["医"])[0], read_many(model, ["保"])[0]
    pair = read_many(model, ["医", "保"])
    for a, b in zip(alone, pair):
        assert (a.idx == b.idx).all() and np.allclose(a.vals, b.vals)


def test_classify_many_decides_every_report_as_classify_does(tax, model, rows):
    reports = [{"title": r["title"], "text": r["text"], "channel": r.get("channel", "web")} for r in rows]
    reports.append({"title": "", "text": "", "channel": "web"})
    reports.append({"title": "院长", "text": "卫健局局长收了回扣", "channel": "app",
                    "accused": {"name": "张三", "institution": "卫健局", "position": "局长"}})
    batch = classify_many(tax, reports, model)
    assert len(batch) == len(reports)
    for r, b in zip(reports, batch):
        one = classify(tax, title=r["title"], text=r["text"], channel=r["channel"], accused=r.get("accused"),
                       learned=model)
        assert (b.item, b.in_scope, b.second_item) == (one.item, one.in_scope, one.second_item), r["text"][:40]
        assert abs(b.probability - one.probability) < 1e-4
        assert [t["term"] for t in b.model_terms] == [t["term"] for t in one.model_terms]   # ties broken alike
        rb = route(tax, b, title=r["title"], text=r["text"], accused=r.get("accused"))
        ro = route(tax, one, title=r["title"], text=r["text"], accused=r.get("accused"))
        assert (rb.lead_unit, rb.triage, rb.excluded_units) == (ro.lead_unit, ro.triage, ro.excluded_units)
    assert route(tax, batch[-1], title="院长", text="卫健局局长收了回扣",
                 accused=reports[-1]["accused"]).excluded_units == ["health"]   # the walls, batched too


def test_one_report_that_raises_is_its_own_answer_and_the_others_are_decided(tax, model, monkeypatch):
    real = classifier.classify

    def failing(tax, *, title, text, **kw):
        if "BOOM" in text:
            raise RuntimeError("the rules exploded")
        return real(tax, title=title, text=text, **kw)

    monkeypatch.setattr(classifier, "classify", failing)
    reports = [{"title": "", "text": t} for t in ("医保卡被人套现了", "BOOM 医院", "医生收红包")]
    out = classify_many(tax, reports, model)
    assert isinstance(out[1], RuntimeError)
    assert out[0].item is not None and out[2].item is not None and out[0].probability is not None


def test_a_batch_the_model_cannot_read_is_read_report_by_report(tax, model, monkeypatch):
    import routing.model_batch as batch

    def broken(model, texts):
        raise MemoryError("no room for the batch")

    monkeypatch.setattr(batch, "read_many", broken)
    reports = [{"title": "", "text": "医保卡被人套现了"}, {"title": "", "text": "医生收红包"}]
    assert model_readings(tax, reports, model) == [None, None]
    for r, c in zip(reports, classify_many(tax, reports, model)):
        one = classify(tax, title="", text=r["text"], learned=model)
        assert (c.item, c.probability) == (one.item, one.probability)


def test_without_the_corpus_model_classify_many_is_the_rules(tax):
    reports = [{"title": "", "text": "医保卡被人套现了"}]
    assert model_readings(tax, reports, None) == [None]
    (c,) = classify_many(tax, reports, None)
    assert c == classify(tax, title="", text="医保卡被人套现了")


def test_a_report_that_spoils_the_batch_costs_only_its_own_reading(tax, model):
    """A lone surrogate (JSON allows one) cannot be normalised: the batch is read again one by one and only
    that report goes without a reading."""
    reports = [{"title": "", "text": "医保卡被人套现了"}, {"title": "", "text": "医院\ud800收红包"},
               {"title": "", "text": "医生收红包"}]
    readings = model_readings(tax, reports, model)
    assert readings[1] is None and readings[0] is not None and readings[2] is not None
    alone = read_many(model, [model_text("", "医生收红包", tax.typo_fixer)])[0]
    assert (readings[2].idx == alone.idx).all()
