"""Fitting the corpus model (scikit-learn, at training time only).

1. K-fold on the train rows: fit the logistic regression on K-1 folds, predict the held-out
   fold (out-of-fold model probabilities); the rules' distribution of every row.
2. Calibration (a, b, bias_none, temperature) by log loss on those out-of-fold rows
   (routing.combine.fit_calibration).
3. θ on P(lead unit) from the same out-of-fold rows (routing.combine.choose_threshold).
4. The final regression on all train rows; calibration and θ stored with it.

Nothing here reads routing/data/blind/.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from routing.classifier import Classification, rules_distribution
from routing.combine import (choose_threshold, combine, fit_calibration, order_classes,
                             rules_array, threshold_table)
from routing.matrix import lead_probabilities, units_for_item
from routing.model import NGRAMS, Calibration, CorpusModel, item_of, label_of, model_text

TRAIN_DIR = Path(__file__).resolve().parent / "data" / "train"
MAX_FEATURES = 40000
MIN_DF = 2
C = 10.0
FOLDS = 5
CORRECTION_WEIGHT = 3.0
SECOND_RATIO = 0.5


def load_train(directory: Path = TRAIN_DIR) -> list[dict]:
    rows = []
    for path in sorted(directory.glob("*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            rows.extend(json.loads(line) for line in fh if line.strip())
    return rows


def _fit_lr(texts: list[str], labels: list[str], weights: np.ndarray, classes: list[str],
            units: list[str | None] | None = None):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(analyzer="char", ngram_range=NGRAMS, sublinear_tf=True,
                          lowercase=False, min_df=MIN_DF, max_features=MAX_FEATURES,
                          dtype=np.float32)
    x = vec.fit_transform(texts)
    lr = LogisticRegression(C=C, max_iter=150, class_weight=None)
    lr.fit(x, labels, sample_weight=weights)
    order = [list(lr.classes_).index(c) for c in classes if c in lr.classes_]
    if len(order) != len(classes):
        raise ValueError("every class needs at least one training example in each fit")
    terms = [t for t, _ in sorted(vec.vocabulary_.items(), key=lambda kv: kv[1])]
    model = CorpusModel(terms, vec.idf_.astype(np.float32),
                        lr.coef_[order].T.astype(np.float32),
                        lr.intercept_[order].astype(np.float32), classes, version="fold")
    rows = [i for i, u in enumerate(units or []) if u]
    if len({units[i] for i in rows}) >= 2:   # which unit's official a 1.x report accuses
        ulr = LogisticRegression(C=C, max_iter=300).fit(x[rows], [units[i] for i in rows])
        model.unit_classes = [str(u) for u in ulr.classes_]
        coef = ulr.coef_ if len(ulr.classes_) > 2 else np.vstack([-ulr.coef_[0], ulr.coef_[0]])
        icpt = ulr.intercept_ if len(ulr.classes_) > 2 else np.r_[-ulr.intercept_, ulr.intercept_]
        model.unit_weights = coef.T.astype(np.float32)
        model.unit_intercept = icpt.astype(np.float32)
    return model


def _lead_info(tax, row: dict, p: np.ndarray, classes: list[str | None], accused_units: dict):
    """(P(lead of the top item), lead correct, always triaged) for one row's calibrated p."""
    dist = dict(zip(classes, p.tolist()))
    items = [c for c in classes if c is not None]
    best = max(items, key=lambda c: dist[c])
    title, text = row.get("title", ""), row.get("text", "")
    accused = row.get("accused")
    if dist[None] >= 0.5:
        return 0.0, row["expect"].get("lead_unit") == tax.matrix.triage_unit, True
    cls = Classification(best, [], True, dist[best], tax.rules_version,
                         item_probabilities={c: dist[c] for c in items if dist[c] >= 5e-4},
                         out_of_scope_probability=dist[None], lead_threshold=0.0,
                         accused_units=accused_units)
    lead, _ = units_for_item(tax, best, title=title, text=text, accused=accused,
                             accused_units=accused_units)
    p_lead = lead_probabilities(tax, cls, title=title, text=text, accused=accused).get(lead, 0.0)
    return p_lead, lead == row["expect"].get("lead_unit"), False


def train(tax, rows: list[dict], corrections: list[tuple[str, str | None]] = (),
          folds: int = FOLDS, seed: int = 0) -> CorpusModel:
    """The corpus model from labelled rows (dev_reports format) plus corrections
    (text, item) weighted CORRECTION_WEIGHT; calibrated and thresholded out of fold."""
    from sklearn.model_selection import StratifiedKFold

    texts = [model_text(r.get("title", ""), r.get("text", ""), tax.typo_fixer) for r in rows]
    labels = [label_of(r["expect"].get("item")) for r in rows]
    c_texts = [model_text("", t, tax.typo_fixer) for t, _ in corrections]
    c_labels = [label_of(i) for _, i in corrections]
    classes = order_classes(sorted(set(labels) | set(c_labels)))
    item_classes = [item_of(c) for c in classes]
    log_rules = np.stack([rules_array(rules_distribution(
        tax, title=r.get("title", ""), text=r.get("text", ""), accused=r.get("accused"))[0],
        item_classes, Calibration().eps) for r in rows])
    units = [r["expect"].get("lead_unit") if (r["expect"].get("item") or "").startswith("1.") else None
             for r in rows]
    oof = np.zeros((len(rows), len(classes)))
    oof_units: list[dict] = [{} for _ in rows]
    y = np.asarray([classes.index(lab) for lab in labels])
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=seed).split(texts, y):
        m = _fit_lr([texts[i] for i in tr] + c_texts, [labels[i] for i in tr] + c_labels,
                    np.r_[np.ones(len(tr)), np.full(len(c_texts), CORRECTION_WEIGHT)], classes,
                    [units[i] for i in tr] + [None] * len(c_texts))
        for i in te:
            idx, vals = m.features(texts[i], normalised=True)
            oof[i] = m.proba_array(idx, vals)
            oof_units[i] = m.unit_proba(idx, vals)
    cal = fit_calibration(log_rules, oof, y)
    p = combine(log_rules, oof, cal)
    info = [_lead_info(tax, r, p[i], item_classes, oof_units[i]) for i, r in enumerate(rows)]
    lead_p = np.asarray([i[0] for i in info])
    lead_ok = np.asarray([i[1] for i in info])
    always = np.asarray([i[2] for i in info])
    chosen = choose_threshold(lead_p, lead_ok, always)
    model = _fit_lr(texts + c_texts, labels + c_labels,
                    np.r_[np.ones(len(texts)), np.full(len(c_texts), CORRECTION_WEIGHT)], classes,
                    units + [None] * len(c_texts))
    digest = hashlib.sha256(json.dumps([sorted(zip(texts, labels)), sorted(zip(c_texts, c_labels))],
                                       ensure_ascii=False).encode("utf-8")).hexdigest()[:12]
    model.version = f"lr-{len(texts)}+{len(c_texts)}-{digest}"
    model.n_examples = len(texts) + len(c_texts)
    model.calibration = cal
    model.threshold = round(chosen["threshold"], 5)
    model.second_ratio = SECOND_RATIO
    model.meta = {"folds": folds, "train_rows": len(texts), "corrections": len(c_texts),
                  "out_of_fold": {
                      "log_loss": float(-np.log(p[np.arange(len(y)), y]).mean()),
                      "item_accuracy_at_1": float((p.argmax(1) == y).mean()),
                      "threshold": chosen,
                      "table": threshold_table(lead_p, lead_ok, always)},
                  "oof_reliability": reliability_bins(p, y)}
    return model


def reliability_bins(p: np.ndarray, y: np.ndarray, bins: int = 5) -> list[dict]:
    """Mean predicted probability of the answer vs its accuracy, in bins of the former."""
    conf = p.max(1)
    ok = p.argmax(1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (conf >= lo) & ((conf < hi) | (hi == 1.0))
        if sel.any():
            out.append({"from": round(float(lo), 2), "to": round(float(hi), 2), "n": int(sel.sum()),
                        "mean_probability": float(conf[sel].mean()), "accuracy": float(ok[sel].mean())})
    return out
