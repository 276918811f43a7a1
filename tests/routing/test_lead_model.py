"""The direct lead-unit model and its mix with the items' P(unit) (routing.matrix.mix_leads,
routing.train_model.fit_lead_mix): pure functions on constructed data, and the stored model."""
import numpy as np
import pytest

from routing.classifier import classify
from routing.matrix import lead_probabilities, mix_leads, route
from routing.model import CorpusModel, shipped_model
from routing.train_model import fit_lead_mix, lead_of_correction

TEXT = "医保中心稽核科的人收了药店老板的购物卡，检查的时候就睁一只眼闭一只眼。"


def test_without_a_direct_model_the_items_sums_are_kept():
    items = {"health": 0.7, "medinsure": 0.2, "taskforce": 0.1}
    assert mix_leads(items, {}, (0.6, 0.6)) is items
    assert mix_leads(items, {"health": 0.1, "medinsure": 0.9}, (1.0, 0.0)) is items


def test_the_mix_follows_its_exponents():
    items = {"health": 0.6, "medinsure": 0.3, "taskforce": 0.1}
    direct = {"health": 0.2, "medinsure": 0.7, "market": 0.05, "taskforce": 0.05}
    alone = mix_leads(items, direct, (0.0, 1.0))
    assert alone == pytest.approx(direct)
    both = mix_leads(items, direct, (1.0, 1.0))
    raw = {u: items.get(u, 1e-6) * direct[u] for u in direct}
    assert both == pytest.approx({u: v / sum(raw.values()) for u, v in raw.items()})
    assert sum(both.values()) == pytest.approx(1.0) and both["medinsure"] > both["health"]


def test_fit_lead_mix_weighs_a_direct_model_by_what_it_knows():
    rng = np.random.default_rng(3)
    units = ["health", "market", "medinsure", "taskforce"]
    truth = [units[i] for i in rng.integers(0, 4, 400)]

    def dist(right, sure):
        q = {u: (1 - sure) / 3 for u in units}
        q[right] = sure
        return q
    noisy_items = [dist(t if rng.random() < 0.6 else units[rng.integers(0, 4)], 0.7) for t in truth]
    good_direct = [dist(t, 0.8) for t in truth]
    noise = [dist(units[rng.integers(0, 4)], 0.8) for _ in truth]
    a, b = fit_lead_mix(noisy_items, good_direct, truth)
    assert b > a and b > 0.5
    a0, b0 = fit_lead_mix(noisy_items, noise, truth)
    assert b0 < 0.1 and a0 > 0.5
    assert fit_lead_mix(noisy_items[:10], good_direct[:10], truth[:10]) == (1.0, 0.0)   # too few rows


def test_a_correction_gives_a_lead_unless_the_unit_depends_on_the_accused(tax):
    assert lead_of_correction(tax, "4.1") == "medinsure" and lead_of_correction(tax, "5.2") == "market"
    assert lead_of_correction(tax, "2.3") == "health" and lead_of_correction(tax, None) == "taskforce"
    assert lead_of_correction(tax, "1.1") is None


def test_the_shipped_model_reads_the_lead_directly_and_stores_it(tax):
    model = shipped_model()
    assert model.lead_classes == ["health", "market", "medinsure", "taskforce"]
    a, b = model.lead_mix
    assert a > 0 and b > 0
    again = CorpusModel.from_bytes(model.to_bytes())
    assert again.lead_classes == model.lead_classes and again.lead_mix == model.lead_mix
    c = classify(tax, title="", text=TEXT, learned=again)
    assert c.lead_model and max(c.lead_model, key=c.lead_model.get) == "medinsure"
    leads = lead_probabilities(tax, c, title="", text=TEXT)
    assert sum(leads.values()) == pytest.approx(1.0)
    r = route(tax, c, title="", text=TEXT)
    assert r.lead_probability == pytest.approx(leads[r.lead_unit], abs=1e-3)
    assert r.triage == (r.lead_probability < model.threshold)
    plain = CorpusModel.from_bytes(model.to_bytes())
    plain.lead_mix = (1.0, 0.0)                   # the items' sums alone
    c0 = classify(tax, title="", text=TEXT, learned=plain)
    items_only = lead_probabilities(tax, c0, title="", text=TEXT)
    assert sum(items_only.values()) == pytest.approx(sum(c0.item_probabilities.values())
                                                     + c0.out_of_scope_probability, abs=1e-3)


def _toy_model():
    """Four features, three classes (the last 'none'), weights that read feature j as class j."""
    w = np.zeros((4, 3), np.float32)
    w[0, 0] = w[1, 1] = w[2, 2] = 4.0
    return CorpusModel(["甲", "乙", "丙", "丁"], np.ones(4, np.float32), w, np.zeros(3, np.float32),
                       ["1.1", "2.1", "none"], "toy")


def test_the_residual_learns_corrections_on_top_of_the_model_and_keeps_the_rest():
    from routing.train_model import fit_residual

    m = _toy_model()
    new = (np.array([3]), np.array([1.0], np.float32))          # a feature the model gives no class
    old = (np.array([0]), np.array([1.0], np.float32))
    assert m.proba_array(*new).argmax() != 1
    strong = fit_residual(CorpusModel.from_bytes(m.to_bytes()), [new] * 4, np.array([1] * 4), 0.001)
    assert strong.proba_array(*new).argmax() == 1                # learnt
    assert strong.proba_array(*old).argmax() == 0                # what it knew is kept
    assert strong.weights[0, 0] == pytest.approx(4.0, abs=0.05)  # features the corrections lack are untouched
    weak = fit_residual(CorpusModel.from_bytes(m.to_bytes()), [new] * 4, np.array([1] * 4), 100.0)
    assert weak.proba_array(*new)[1] < strong.proba_array(*new)[1]   # the penalty holds it back
    # a correction the model already reads right moves it little
    same = fit_residual(CorpusModel.from_bytes(m.to_bytes()), [old] * 4, np.array([0] * 4), 0.001)
    assert abs(same.weights[0, 0] - 4.0) < 2.0 and same.proba_array(*old).argmax() == 0
    assert fit_residual(m, [], np.array([], int), 0.01) is m


def test_the_penalty_is_chosen_on_held_out_corrections():
    from routing.train_model import DEFAULT_PENALTY, PENALTIES, choose_penalty, fit_residual

    m = _toy_model()
    few = [(np.array([3]), np.array([1.0], np.float32))] * 5
    assert choose_penalty(m, few, np.array([1] * 5)) == DEFAULT_PENALTY
    # a consistent new cue, weak in each report (as tf-idf values are), next to what the model knows
    many = [(np.array([3, 0]), np.array([0.15, 0.05], np.float32))] * 12 + [(np.array([0]), np.array([1.0]))] * 12
    y = np.array([1] * 12 + [0] * 12)
    pen = choose_penalty(m, many, y)
    assert pen in PENALTIES and m.proba_array(*many[0]).argmax() == 0
    learnt = fit_residual(CorpusModel.from_bytes(m.to_bytes()), many, y, pen)
    assert learnt.proba_array(*many[0]).argmax() == 1 and learnt.proba_array(*many[-1]).argmax() == 0
    right = [(np.array([0]), np.array([1.0], np.float32))] * 20  # nothing to learn: the smallest change
    assert choose_penalty(m, right, np.array([0] * 20)) == max(PENALTIES)
