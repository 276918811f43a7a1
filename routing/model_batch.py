"""The corpus model read on a batch of reports at once (issue 16, speed): what ``CorpusModel.features``,
``proba_array``, ``unit_proba`` and ``lead_proba`` compute for one report, computed for many with a few
numpy calls over the whole batch instead of a dozen per report.

The character 1-3-grams of every text are keyed together (texts joined by NUL, which no normalised text
holds, so a gram across two texts is in no vocabulary), the words of every text are looked up through one
token table, and every report's features are counted, weighted and normalised at once; one sparse product
(scipy.sparse) with the stacked weights (items, accused unit, lead unit) gives every report's logits. A ``Reading`` holds one
report's answer; ``routing.classifier.classify`` takes it instead of computing it again. The figures are
those of the one-report path up to float rounding (tests/routing/test_model_batch.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import chain, repeat

import numpy as np
from scipy.sparse import csr_matrix

from routing.model import CorpusModel, gram_keys

SEP = "\x00"


@dataclass(frozen=True)
class Reading:
    """One report's reading by the corpus model: its features and the model's probabilities."""
    idx: np.ndarray          # feature indices
    vals: np.ndarray         # their l2-normalised sublinear tf-idf values
    proba: np.ndarray        # P(class) in model.classes order, the model alone (float64)
    units: dict              # unit_proba: P(unit of an accused official)
    leads: dict              # lead_proba: P(lead unit) read directly


def _char_features(model: CorpusModel, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(report number, feature index) of every character gram occurrence in the vocabulary."""
    joined = SEP.join(texts)
    if not joined or not len(model._keys):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    keys = gram_keys(joined)
    n = len(joined)
    # gram_keys lays out the 1-grams, then the 2-grams, then the 3-grams: their start positions
    starts = np.concatenate([np.arange(n), np.arange(max(n - 1, 0)), np.arange(max(n - 2, 0))])
    pos = np.minimum(np.searchsorted(model._keys, keys), len(model._keys) - 1)
    known = model._keys[pos] == keys
    bounds = np.cumsum([len(t) + 1 for t in texts])      # one past each text's separator
    report = np.searchsorted(bounds, starts[known], side="right")
    return report, model._key_index[pos[known]]


def _word_features(model: CorpusModel, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(report number, feature index) of every word and word pair in the vocabulary."""
    if not model.word_terms:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    import rjieba

    cuts = [rjieba.cut(t, False) for t in texts]
    lengths = np.fromiter(map(len, cuts), dtype=np.int64, count=len(cuts))
    total = int(lengths.sum())
    tid = np.fromiter(map(model._tokens.get, chain.from_iterable(cuts), repeat(-1)), dtype=np.int64, count=total)
    report = np.repeat(np.arange(len(texts)), lengths)
    single = model._tok_feature[tid[tid >= 0]]
    out_r, out_f = [report[tid >= 0][single >= 0]], [single[single >= 0]]
    if total >= 2 and len(model._pair_keys):
        a, b = tid[:-1], tid[1:]
        both = (a >= 0) & (b >= 0) & (report[:-1] == report[1:])
        keys = a[both] * len(model._tokens) + b[both]
        pos = np.minimum(np.searchsorted(model._pair_keys, keys), len(model._pair_keys) - 1)
        hit = model._pair_keys[pos] == keys
        out_r.append(report[:-1][both][hit])
        out_f.append(model._pair_index[pos[hit]])
    return np.concatenate(out_r), np.concatenate(out_f)


def _softmax(z: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = z.astype(np.float64) / temperature
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def _stacked(model: CorpusModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The item, unit and lead weights side by side (built once per model), with the idf of every feature."""
    cached = getattr(model, "_batch_arrays", None)
    if cached is None:
        blocks = [model.weights] + [w for w in (model.unit_weights, model.lead_weights) if w is not None]
        stacked = np.ascontiguousarray(np.hstack(blocks), dtype=np.float32)
        word_idf = model.word_idf if model.word_terms else np.zeros(0, np.float32)
        idf = np.concatenate([model.idf, word_idf]).astype(np.float32)
        is_word = np.arange(len(idf)) >= len(model.terms)
        cached = model._batch_arrays = (stacked, idf, is_word)
    return cached


CHUNK = 128   # reports read together at most (their gram keys: a few MB)


def read_many(model: CorpusModel, texts: list[str]) -> list[Reading]:
    """The model's reading of each normalised text (routing.model.model_text), in order."""
    return [r for i in range(0, len(texts), CHUNK) for r in _read_chunk(model, texts[i:i + CHUNK])]


def _read_chunk(model: CorpusModel, texts: list[str]) -> list[Reading]:
    if not texts:
        return []
    stacked, idf, is_word = _stacked(model)
    n_features = len(idf)
    cr, cf = _char_features(model, texts)
    wr, wf = _word_features(model, texts)
    has_chars = np.bincount(cr, minlength=len(texts)) > 0    # as features(): no known gram, no features
    wr, wf = wr[has_chars[wr]], wf[has_chars[wr]]
    combined, tf = np.unique(np.concatenate([cr, wr]) * n_features + np.concatenate([cf, wf]),
                             return_counts=True)                 # sorted by report, then feature
    report, feat = np.divmod(combined, n_features)
    v = (1.0 + np.log(tf.astype(np.float32))) * idf[feat]
    block = report * 2 + is_word[feat]                             # (report, characters | words)
    norms = np.sqrt(np.bincount(block, weights=v.astype(np.float64) ** 2, minlength=2 * len(texts)))
    scale = np.where(is_word[feat], np.float32(model.word_scale), np.float32(1.0))
    v = (v * scale / norms[block].astype(np.float32)).astype(np.float32)
    bounds = np.searchsorted(report, np.arange(len(texts) + 1))
    logits = csr_matrix((v, feat, bounds), shape=(len(texts), n_features)) @ stacked
    k, u = len(model.classes), len(model.unit_classes)
    proba = _softmax(logits[:, :k] + model.intercept)
    units = (_softmax(logits[:, k:k + u] + model.unit_intercept, model.unit_temperature)
             if model.unit_classes else None)
    leads = _softmax(logits[:, k + u:] + model.lead_intercept) if model.lead_classes else None
    out = []
    for i in range(len(texts)):
        lo, hi = bounds[i], bounds[i + 1]
        out.append(Reading(feat[lo:hi], v[lo:hi], proba[i],
                           dict(zip(model.unit_classes, units[i].tolist())) if units is not None else {},
                           dict(zip(model.lead_classes, leads[i].tolist())) if leads is not None else {}))
    return out
