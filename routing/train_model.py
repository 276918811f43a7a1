"""Fitting the corpus model (scikit-learn, at training time only).

1. K-fold on the train rows: fit the logistic regression (character 1-3-grams and words, see
   routing.model) on K-1 folds, predict the held-out fold (out-of-fold model probabilities, and
   the 1.x unit model's); the rules' distribution of every row.
   The unit model's temperature by log loss on the out-of-fold 1.x rows it decides.
2. Calibration (a, b, bias_none, temperature) by log loss on those out-of-fold rows
   (routing.combine.fit_calibration).
3. θ on P(lead unit) from the same out-of-fold rows (routing.combine.choose_threshold).
4. The final regression on all train rows; calibration, unit temperature and θ stored with it.
5. People's corrections on top (fit_residual): weights added to the final model's, fitted on the
   corrections with the model's scores as offset and an L2 penalty chosen by CV on the corrections.

Nothing here reads routing/data/blind/.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from routing.classifier import Classification, rules_distribution
from routing.combine import choose_threshold, combine, fit_calibration, order_classes, rules_array, threshold_table
from routing.matrix import accused_unit, lead_probabilities, mix_leads, units_for_item
from routing.model import NGRAMS, Calibration, CorpusModel, item_of, label_of, model_text, words
from routing.taxonomy import ACCUSED

TRAIN_DIR = Path(__file__).resolve().parent / "data" / "train"
MAX_FEATURES = 40000
MAX_WORD_FEATURES = 20000   # word and word-bigram features (routing.model.words); 0: none
WORD_SCALE = 0.5            # the word block's norm next to the characters' 1 (chosen out of fold)
MIN_DF = 2
C = 50.0                    # chosen with registers held out (FOLD_GROUPS) and stratified, 2026-12-03
UNIT_C = 50.0
CLASS_WEIGHT = None
FIT_UNIT_TEMPERATURE = True
LEAD_MODEL = True           # a direct lead-unit model mixed with the items' P(unit) (fitted out of fold)
LEAD_C = 10.0
FOLDS = 5
FOLD_GROUPS = None          # "register": whole registers held out together (unseen voices), else stratified
CORRECTION_WEIGHT = 3.0     # only with RESIDUAL = False: corrections as rows of the regression
RESIDUAL = True             # corrections learnt on top of the corpus model (fit_residual), not as rows
PENALTIES = (0.1, 0.03, 0.01, 0.003, 0.001)   # fit_residual's L2 penalty, chosen by CV on the corrections
DEFAULT_PENALTY = 0.01      # with fewer than 10 corrections
SECOND_RATIO = 0.5


def load_train(directory: Path = TRAIN_DIR) -> list[dict]:
    rows = []
    for path in sorted(directory.glob("*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            rows.extend(json.loads(line) for line in fh if line.strip())
    return rows


def _fit_lr(texts: list[str], labels: list[str], weights: np.ndarray, classes: list[str],
            units: list[str | None] | None = None, leads: list[str | None] | None = None,
            n_vocab: int | None = None):
    """The corpus model fitted on ``texts``; the vocabularies and idf from the first ``n_vocab`` of
    them only when given (the corpus rows: corrections then add weight to the corpus's features and
    bring in none of their own)."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(analyzer="char", ngram_range=NGRAMS, sublinear_tf=True,
                          lowercase=False, min_df=MIN_DF, max_features=MAX_FEATURES,
                          dtype=np.float32)
    vocab = texts if n_vocab is None else texts[:n_vocab]
    x = vec.fit(vocab).transform(texts)
    wvec = None
    if MAX_WORD_FEATURES:
        wvec = TfidfVectorizer(analyzer=words, sublinear_tf=True, lowercase=False, min_df=MIN_DF,
                               max_features=MAX_WORD_FEATURES, dtype=np.float32)
        x = hstack([x, wvec.fit(vocab).transform(texts) * np.float32(WORD_SCALE)]).tocsr()
    lr = LogisticRegression(C=C, max_iter=150, class_weight=CLASS_WEIGHT)
    lr.fit(x, labels, sample_weight=weights)
    order = [list(lr.classes_).index(c) for c in classes if c in lr.classes_]
    if len(order) != len(classes):
        raise ValueError("every class needs at least one training example in each fit")
    terms = [t for t, _ in sorted(vec.vocabulary_.items(), key=lambda kv: kv[1])]
    word_terms = [t for t, _ in sorted(wvec.vocabulary_.items(), key=lambda kv: kv[1])] if wvec else []
    model = CorpusModel(terms, vec.idf_.astype(np.float32),
                        lr.coef_[order].T.astype(np.float32),
                        lr.intercept_[order].astype(np.float32), classes, version="fold",
                        word_terms=word_terms, word_scale=WORD_SCALE,
                        word_idf=wvec.idf_.astype(np.float32) if wvec else None)
    rows = [i for i, u in enumerate(units or []) if u]
    if len({units[i] for i in rows}) >= 2:   # which unit's official a 1.x report accuses
        ulr = LogisticRegression(C=UNIT_C, max_iter=300).fit(x[rows], [units[i] for i in rows])
        model.unit_classes = [str(u) for u in ulr.classes_]
        coef = ulr.coef_ if len(ulr.classes_) > 2 else np.vstack([-ulr.coef_[0], ulr.coef_[0]])
        icpt = ulr.intercept_ if len(ulr.classes_) > 2 else np.r_[-ulr.intercept_, ulr.intercept_]
        model.unit_weights = coef.T.astype(np.float32)
        model.unit_intercept = icpt.astype(np.float32)
    rows = [i for i, u in enumerate(leads or []) if u]
    if LEAD_MODEL and len({leads[i] for i in rows}) >= 3:   # the lead unit, read directly
        llr = LogisticRegression(C=LEAD_C, max_iter=300).fit(x[rows], [leads[i] for i in rows],
                                                              sample_weight=weights[rows])
        model.lead_classes = [str(u) for u in llr.classes_]
        model.lead_weights = llr.coef_.T.astype(np.float32)
        model.lead_intercept = llr.intercept_.astype(np.float32)
    return model


def fit_residual(model: CorpusModel, feats: list[tuple[np.ndarray, np.ndarray]], y: np.ndarray,
                 penalty: float) -> CorpusModel:
    """Learn people's corrections on top of a fitted corpus model: weights ΔW (on the features the
    corrections have) and Δb added to the model's, fitted by log loss of the corrections with the
    model's own scores as the offset and ``penalty`` · ½‖ΔW‖² + ½‖Δb‖²: the corpus model is the
    prior, and a correction it already reads right moves little. In place; returns the model."""
    from scipy.optimize import minimize
    from scipy.sparse import csr_matrix

    if not len(y):
        return model
    cols = np.unique(np.concatenate([ix for ix, _ in feats]))
    pos = {int(c): j for j, c in enumerate(cols)}
    data, ind, ptr = [], [], [0]
    for ix, v in feats:
        data.extend(v.tolist())
        ind.extend(pos[int(c)] for c in ix)
        ptr.append(len(data))
    x = csr_matrix((np.asarray(data), np.asarray(ind), np.asarray(ptr)), shape=(len(feats), len(cols)))
    z0 = np.stack([model.scores(ix, v) for ix, v in feats]).astype(np.float64)
    k = z0.shape[1]
    onehot = np.eye(k)[y]

    def loss(theta):
        w, b = theta[:-k].reshape(len(cols), k), theta[-k:]
        z = z0 + x @ w + b
        z -= z.max(1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(1, keepdims=True)
        g = (p - onehot) / len(y)
        value = -np.log(np.maximum(p[np.arange(len(y)), y], 1e-300)).mean()
        value += 0.5 * penalty * (w ** 2).sum() + 0.5 * (b ** 2).sum()
        grad = np.concatenate([(x.T @ g + penalty * w).ravel(), g.sum(0) + b])
        return value, grad

    res = minimize(loss, np.zeros(len(cols) * k + k), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    w, b = res.x[:-k].reshape(len(cols), k), res.x[-k:]
    weights = model.weights.astype(np.float32).copy()
    weights[cols] += w.astype(np.float32)
    model.weights = weights
    model.intercept = (model.intercept + b).astype(np.float32)
    return model


def choose_penalty(model: CorpusModel, feats: list, y: np.ndarray, penalties=PENALTIES,
                   folds: int = 5) -> float:
    """fit_residual's penalty by the accuracy on held-out corrections (K-fold over the corrections,
    seed 0; ties go to the larger penalty, the smaller change): the corrections of a new voice stand
    for the reports of that voice still to come. DEFAULT_PENALTY below 10 corrections."""
    from sklearn.model_selection import KFold

    if len(y) < 10:
        return DEFAULT_PENALTY
    splits = list(KFold(min(folds, len(y)), shuffle=True, random_state=0).split(feats))
    best, best_right = None, -1
    for pen in sorted(penalties, reverse=True):
        right = 0
        for tr, te in splits:
            m = fit_residual(replace(model), [feats[i] for i in tr], y[tr], pen)
            right += sum(int(m.proba_array(*feats[i]).argmax() == y[i]) for i in te)
        if right > best_right:
            best, best_right = pen, right
    return float(best)


def lead_of_correction(tax, item: str | None) -> str | None:
    """The lead unit a correction's item implies (None for 1.x: the accused official's unit is not known)."""
    if item is None:
        return tax.matrix.triage_unit
    lead = tax.matrix.entries[item].lead
    return None if lead == ACCUSED else lead


def fit_lead_mix(item_units: list[dict], direct: list[dict], truth: list[str]) -> tuple[float, float]:
    """(a, b) of mix_leads by log loss of the true lead unit over the given rows."""
    from scipy.optimize import minimize

    if len(truth) < 20 or not any(direct):
        return (1.0, 0.0)
    units = sorted({u for d in item_units + direct for u in d} | set(truth))
    li = np.log(np.maximum([[d.get(u, 0.0) for u in units] for d in item_units], 1e-6))
    ld = np.log(np.maximum([[d.get(u, 0.0) for u in units] for d in direct], 1e-6))
    y = np.asarray([units.index(t) for t in truth])

    def loss(ab):
        z = ab[0] * li + ab[1] * ld
        z -= z.max(1, keepdims=True)
        return float(-(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(1))).mean())

    res = minimize(loss, x0=[1.0, 0.5], method="Nelder-Mead", options={"xatol": 1e-3, "fatol": 1e-6})
    a, b = (max(0.0, float(v)) for v in res.x)
    return (round(a, 5), round(b, 5))


def _lead_info(tax, row: dict, p: np.ndarray, classes: list[str | None], accused_units: dict):
    """(the lead of the top item, the items' P(unit), always triaged) for one row's calibrated p."""
    dist = dict(zip(classes, p.tolist()))
    items = [c for c in classes if c is not None]
    best = max(items, key=lambda c: dist[c])
    title, text = row.get("title", ""), row.get("text", "")
    accused = row.get("accused")
    if dist[None] >= 0.5:
        return tax.matrix.triage_unit, {}, True
    cls = Classification(best, [], True, dist[best], tax.rules_version,
                         item_probabilities={c: dist[c] for c in items if dist[c] >= 5e-4},
                         out_of_scope_probability=dist[None], lead_threshold=0.0,
                         accused_units=accused_units)
    lead, _ = units_for_item(tax, best, title=title, text=text, accused=accused,
                             accused_units=accused_units)
    return lead, lead_probabilities(tax, cls, title=title, text=text, accused=accused), False


def out_of_fold(tax, rows: list[dict], corrections: list[tuple[str, str | None]] = (),
                folds: int = FOLDS, seed: int = 0, log_rules: np.ndarray | None = None) -> dict:
    """Stratified K-fold on ``rows`` (corrections in every fold's fit): the out-of-fold
    model probabilities, the calibration fitted on them, the calibrated p, and θ chosen
    on P(lead unit). ``log_rules`` (rules_array of every row) may be passed precomputed."""
    from sklearn.model_selection import StratifiedKFold

    texts = [model_text(r.get("title", ""), r.get("text", ""), tax.typo_fixer) for r in rows]
    labels = [label_of(r["expect"].get("item")) for r in rows]
    c_texts = [model_text("", t, tax.typo_fixer) for t, _ in corrections]
    c_labels = [label_of(i) for _, i in corrections]
    classes = order_classes(sorted(set(labels) | set(c_labels)))
    item_classes = [item_of(c) for c in classes]
    if log_rules is None:
        log_rules = np.stack([rules_array(rules_distribution(
            tax, title=r.get("title", ""), text=r.get("text", ""), accused=r.get("accused"))[0],
            item_classes, Calibration().eps) for r in rows])
    units = [r["expect"].get("lead_unit") if (r["expect"].get("item") or "").startswith("1.") else None
             for r in rows]
    leads = [r["expect"].get("lead_unit") for r in rows]
    c_leads = [lead_of_correction(tax, item_of(lab)) for lab in c_labels]
    oof = np.zeros((len(rows), len(classes)))
    oof_units: list[dict] = [{} for _ in rows]
    oof_leads: list[dict] = [{} for _ in rows]
    y = np.asarray([classes.index(lab) for lab in labels])
    if FOLD_GROUPS:
        from sklearn.model_selection import GroupKFold
        groups = [str(r.get(FOLD_GROUPS) or "") for r in rows]
        splits = GroupKFold(folds).split(texts, y, groups)
    else:
        splits = StratifiedKFold(folds, shuffle=True, random_state=seed).split(texts, y)
    for tr, te in splits:
        m = _fit_lr([texts[i] for i in tr] + c_texts, [labels[i] for i in tr] + c_labels,
                    np.r_[np.ones(len(tr)), np.full(len(c_texts), CORRECTION_WEIGHT)], classes,
                    [units[i] for i in tr] + [None] * len(c_texts), [leads[i] for i in tr] + c_leads)
        for i in te:
            idx, vals = m.features(texts[i], normalised=True)
            oof[i] = m.proba_array(idx, vals)
            oof_units[i] = m.unit_proba(idx, vals)
            oof_leads[i] = m.lead_proba(idx, vals)
    unit_t = fit_unit_temperature(tax, rows, units, oof_units) if FIT_UNIT_TEMPERATURE else 1.0
    oof_units = [tempered(u, unit_t) for u in oof_units]
    cal = fit_calibration(log_rules, oof, y)
    p = combine(log_rules, oof, cal)
    info = [_lead_info(tax, r, p[i], item_classes, oof_units[i]) for i, r in enumerate(rows)]
    always = np.asarray([i[2] for i in info])
    sel = [i for i in range(len(rows)) if not always[i]]
    mix = fit_lead_mix([info[i][1] for i in sel], [oof_leads[i] for i in sel], [leads[i] for i in sel])
    lead_p = np.asarray([0.0 if always[i] else mix_leads(info[i][1], oof_leads[i], mix).get(info[i][0], 0.0)
                         for i in range(len(rows))])
    lead_ok = np.asarray([info[i][0] == leads[i] for i in range(len(rows))])
    return dict(unit_temperature=unit_t, texts=texts, labels=labels, c_texts=c_texts, c_labels=c_labels,
                classes=classes, units=units, leads=leads, c_leads=c_leads, y=y, oof=oof, cal=cal, p=p,
                lead_p=lead_p, lead_ok=lead_ok, lead_mix=mix, oof_leads=oof_leads, info=info,
                always=always, chosen=choose_threshold(lead_p, lead_ok, always))


def tempered(dist: dict, t: float) -> dict:
    """A unit distribution at temperature t (softmax of the logits / t)."""
    if not dist or t == 1.0:
        return dist
    z = np.log(np.maximum(np.asarray(list(dist.values())), 1e-300)) / t
    q = np.exp(z - z.max())
    return dict(zip(dist, (q / q.sum()).tolist()))


def fit_unit_temperature(tax, rows: list[dict], units: list, oof_units: list[dict]) -> float:
    """The unit model's temperature by log loss on the out-of-fold 1.x rows it decides (those
    whose text names no unit), 1.0 with fewer than 20 of them."""
    fallback = tax.matrix.accused_fallback
    sel = [i for i, u in enumerate(units) if u and oof_units[i] and u in oof_units[i]
           and accused_unit(tax, title=rows[i].get("title", ""), text=rows[i].get("text", ""),
                            accused=rows[i].get("accused")) == fallback]
    if len(sel) < 20:
        return 1.0
    grid = np.exp(np.linspace(np.log(0.05), np.log(2.0), 75))
    loss = [-np.mean([np.log(max(tempered(oof_units[i], t)[units[i]], 1e-12)) for i in sel]) for t in grid]
    return round(float(grid[int(np.argmin(loss))]), 5)


def train(tax, rows: list[dict], corrections: list[tuple[str, str | None]] = (),
          folds: int = FOLDS, seed: int = 0) -> CorpusModel:
    """The corpus model from labelled rows (dev_reports format), calibrated and thresholded out of fold
    on them, plus corrections (text, item) learnt on top of it (fit_residual, the penalty chosen by
    cross-validation on the corrections); with RESIDUAL False, corrections are rows weighted
    CORRECTION_WEIGHT (the way before 2026-12-03: a new voice's register took class weight)."""
    o = out_of_fold(tax, rows, () if RESIDUAL else corrections, folds, seed)
    texts, labels, classes = o["texts"], o["labels"], o["classes"]
    c_texts = [model_text("", t, tax.typo_fixer) for t, _ in corrections]
    c_labels = [label_of(i) for _, i in corrections]
    p, y, chosen, cal = o["p"], o["y"], o["chosen"], o["cal"]
    lead_p, lead_ok, always = o["lead_p"], o["lead_ok"], o["always"]
    if RESIDUAL:
        model = _fit_lr(texts, labels, np.ones(len(texts)), classes, o["units"], o["leads"])
    else:
        model = _fit_lr(texts + c_texts, labels + c_labels,
                        np.r_[np.ones(len(texts)), np.full(len(c_texts), CORRECTION_WEIGHT)], classes,
                        o["units"] + [None] * len(c_texts), o["leads"] + o["c_leads"])
    penalty = None
    known = [i for i, lab in enumerate(c_labels) if lab in classes]
    if RESIDUAL and known:
        feats = [model.features(c_texts[i], normalised=True) for i in known]
        cy = np.asarray([classes.index(c_labels[i]) for i in known])
        penalty = choose_penalty(model, feats, cy)
        fit_residual(model, feats, cy, penalty)
    digest = hashlib.sha256(json.dumps([sorted(zip(texts, labels)), sorted(zip(c_texts, c_labels))],
                                       ensure_ascii=False).encode("utf-8")).hexdigest()[:12]
    model.version = f"{'lrw' if model.word_terms else 'lr'}-{len(texts)}+{len(c_texts)}-{digest}"
    model.n_examples = len(texts) + len(c_texts)
    model.calibration = cal
    model.threshold = round(chosen["threshold"], 5)
    model.second_ratio = SECOND_RATIO
    model.unit_temperature = o["unit_temperature"]
    model.lead_mix = o["lead_mix"] if model.lead_classes else (1.0, 0.0)
    model.meta = {"folds": folds, "train_rows": len(texts), "corrections": len(c_texts),
                  "corrections_learnt": "residual" if RESIDUAL else "rows", "residual_penalty": penalty,
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
