import pytest

from routing.evaluate import evaluate, format_report, load_rows
from routing.model import CorpusModel, shipped_model


def test_dev_set_targets(tax, dev_reports):
    if not dev_reports.exists():
        pytest.skip("dev_reports.jsonl not available")
    r = evaluate(tax, load_rows(dev_reports))
    assert r["rows"] == 75
    assert r["area_accuracy"] >= 0.95
    assert r["item_accuracy_at_1"] >= 0.85
    assert r["item_accuracy_at_3"] >= 0.95
    assert r["lead_unit_accuracy"] >= 0.92
    assert r["out_of_scope_recall"] >= 0.80
    assert r["in_scope_called_out_share"] <= 0.03
    assert r["item_accuracy_at_1_lenient"] >= r["item_accuracy_at_1"]
    text = format_report(r)
    assert "item accuracy @1 (strict)" in text and "lead-unit accuracy" in text


def test_own_reports_reasonable(tax, own_reports):
    """Reports written for this module in other styles (traditional characters, typos,
    rambling, several issues): a guard against rules fitted to the dev sentences."""
    rows = [row for path in own_reports for row in load_rows(path)]
    r = evaluate(tax, rows)
    assert r["rows"] == 55
    assert r["item_accuracy_at_1_lenient"] >= 0.85
    assert r["area_accuracy"] >= 0.85
    assert r["lead_unit_accuracy"] >= 0.85
    assert r["out_of_scope_recall"] == 1.0
    assert r["in_scope_called_out_share"] <= 0.10


def test_definitions_on_tiny_set(tax):
    rows = [
        {"id": "a", "title": "", "text": "医生收了病人家属的红包",
         "expect": {"item": "6.4", "also": [], "lead_unit": "health", "in_scope": True}},
        {"id": "b", "title": "", "text": "医生收了病人家属的红包",
         "expect": {"item": "6.2", "also": ["6.4"], "lead_unit": "health", "in_scope": True}},
        {"id": "c", "title": "", "text": "窗口工作人员态度恶劣",
         "expect": {"item": None, "also": [], "lead_unit": "taskforce", "in_scope": False}},
    ]
    r = evaluate(tax, rows)
    assert r["item_accuracy_at_1"] == pytest.approx(2 / 3)
    assert r["item_accuracy_at_1_lenient"] == 1.0
    assert r["out_of_scope_recall"] == 1.0 and r["out_of_scope_precision"] == 1.0
    assert r["lead_unit_accuracy"] == 1.0
    assert [m["id"] for m in r["misses"]] == ["b"]
    # rules alone: the out-of-scope row is the only one triaged, and it is not an abstention
    assert r["triaged_share"] == r["triaged_called_out_share"] == pytest.approx(1 / 3)
    assert r["abstained_share"] == 0.0 and r["triaged_share_of_in_scope_rows"] == 0.0
    assert "of which called out of scope" in format_report(r)


def test_triage_is_split_into_called_out_and_abstained(tax):
    """With the corpus model: an in-scope answer under the threshold is an abstention, counted apart
    from the reports called out of scope; the in-scope rows' triage share ignores the out-of-scope rows."""
    gift = {"id": "g", "title": "", "text": "我妈住院做手术前，主刀的李大夫收了我们塞的信封，里面两千块钱。",
            "expect": {"item": "6.4", "also": [], "lead_unit": "health", "in_scope": True}}
    # labelled in scope, but its text is about parking: the classifier calls it out
    vague = {"id": "v", "title": "", "text": "医院停车场收费太贵，保安态度也不好",
             "expect": {"item": "1.1", "also": [], "lead_unit": "taskforce", "in_scope": True}}
    rude = {"id": "r", "title": "", "text": "窗口工作人员态度恶劣，排队两个小时",
            "expect": {"item": None, "also": [], "lead_unit": "taskforce", "in_scope": False}}
    model = shipped_model()
    strict = CorpusModel.from_bytes(model.to_bytes())
    strict.threshold = 1.01  # nothing is sure enough: every in-scope answer abstains
    r = evaluate(tax, [gift, vague, rude], learned=strict)
    assert r["triaged_share"] == 1.0 and r["triaged_called_out_share"] == pytest.approx(2 / 3)
    assert r["abstained_share"] == pytest.approx(1 / 3)
    assert r["triaged_share_of_in_scope_rows"] == 1.0
    lax = CorpusModel.from_bytes(model.to_bytes())
    lax.threshold = 0.0
    r = evaluate(tax, [gift, vague, rude], learned=lax)
    assert r["triaged_share"] == pytest.approx(2 / 3) and r["abstained_share"] == 0.0
    assert r["triaged_share_of_in_scope_rows"] == pytest.approx(1 / 2)
