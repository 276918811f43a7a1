"""A second model, retrained from human corrections (text, item code or None).

Fitting uses scikit-learn: character 1-2-gram TF-IDF (sublinear tf, l2) on the
normalised text, and a complement naive Bayes classifier (good with few examples). The fitted parameters
(vocabulary, idf, per-class feature totals) are stored as JSON - no pickle - and
prediction runs on numpy from those parameters alone, so loading a stored model needs no
scikit-learn and executes no code. ``None`` (out of scope) is a class like the others,
stored as the label "none".
"""
from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from routing.normalise import normalise

FORMAT = "routing.learned/cnb-tfidf-1"
NONE_LABEL = "none"
NGRAMS = (1, 2)
ALPHA = 0.3
SHARPNESS = 2.0
MAX_WEIGHT = 1.0   # the most a learned model weighs against the rules


def _grams(text: str) -> Counter:
    s = normalise(text)
    lo, hi = NGRAMS
    return Counter(s[i:i + n] for n in range(lo, hi + 1) for i in range(len(s) - n + 1))


def _cross_validate(texts: list[str], labels: list[str], fit, folds: int = 5) -> float:
    """Accuracy of ``fit`` on held-out folds (fixed seed); 0 below 5 examples."""
    from sklearn.model_selection import KFold

    if len(texts) < 5 or len(set(labels)) < 2:
        return 0.0
    right = 0
    for tr, te in KFold(min(folds, len(texts)), shuffle=True, random_state=0).split(texts):
        ys = [labels[i] for i in tr]
        if len(set(ys)) < 2:
            continue
        vec, nb = fit([texts[i] for i in tr], ys)
        pred = nb.predict(vec.transform([texts[i] for i in te]))
        right += sum(p == labels[i] for p, i in zip(pred, te))
    return right / len(texts)


def _label(item: str | None) -> str:
    return NONE_LABEL if item is None else item


def _item(label: str) -> str | None:
    return None if label == NONE_LABEL else label


@dataclass(eq=False)
class LearnedModel:
    vocabulary: dict[str, int]
    idf: np.ndarray                 # (n_features,)
    classes: list[str]              # labels; "none" for out of scope
    class_log_prior: np.ndarray     # (n_classes,)
    feature_log_prob: np.ndarray    # (n_classes, n_features), complement weights
    n_examples: int
    version: str
    reliability: float = 0.0        # cross-validated accuracy on the corrections
    params: dict = field(default_factory=dict)

    # --- training ---------------------------------------------------------------------
    @classmethod
    def train(cls, examples: list[tuple[str, str | None]]) -> "LearnedModel":
        """Fit on (text, item) pairs; works from one example and one class on."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.naive_bayes import ComplementNB

        if not examples:
            raise ValueError("no training examples")
        texts = [normalise(t) for t, _ in examples]
        labels = [_label(i) for _, i in examples]

        def fit(xs, ys):
            vec = TfidfVectorizer(analyzer="char", ngram_range=NGRAMS, sublinear_tf=True,
                                  lowercase=False)
            return vec, ComplementNB(alpha=ALPHA).fit(vec.fit_transform(xs), ys)

        vec, nb = fit(texts, labels)
        digest = hashlib.sha256(json.dumps(sorted(zip(texts, labels)), ensure_ascii=False)
                                .encode("utf-8")).hexdigest()[:12]
        vocab = {k: int(v) for k, v in vec.vocabulary_.items()}
        return cls(vocab, vec.idf_.astype(float), [str(c) for c in nb.classes_],
                   nb.class_log_prior_.astype(float), nb.feature_log_prob_.astype(float),
                   len(examples), f"cnb-{len(examples)}-{digest}",
                   _cross_validate(texts, labels, fit), {"feature_count": nb.feature_count_})

    # --- prediction -------------------------------------------------------------------
    @property
    def weight(self) -> float:
        """How much the rules defer to this model: its cross-validated accuracy above
        chance, scaled to MAX_WEIGHT; 0 with one class or too few examples to check."""
        k = len(self.classes)
        if k < 2:
            return 0.0
        chance = 1.0 / k
        return MAX_WEIGHT * max(0.0, (self.reliability - chance) / (1.0 - chance))

    def _vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        counts = _grams(text)
        idx, vals = [], []
        for g, c in counts.items():
            j = self.vocabulary.get(g)
            if j is not None:
                idx.append(j)
                vals.append((1.0 + math.log(c)) * self.idf[j])
        if not idx:
            return np.zeros(0, dtype=int), np.zeros(0)
        v = np.asarray(vals)
        return np.asarray(idx), v / np.linalg.norm(v)

    def predict_proba(self, text: str) -> dict[str | None, float]:
        """Probability of each class seen in training (None = out of scope)."""
        idx, vals = self._vector(text)
        jll = (self.feature_log_prob[:, idx] @ vals if len(idx)
               else np.zeros(len(self.classes)))
        if len(self.classes) == 1:
            jll = jll + self.class_log_prior
        # complement-NB scores are close together: standardise, then soft-max with
        # SHARPNESS so that a clear winner gets a clear probability
        spread = float(jll.std())
        z = (jll - jll.max()) / spread if spread > 1e-12 else jll - jll.max()
        p = np.exp(SHARPNESS * z)
        p = p / p.sum()
        return {_item(c): float(q) for c, q in zip(self.classes, p)}

    # --- storage (JSON, no pickle) ----------------------------------------------------
    def to_bytes(self) -> bytes:
        fc = self.params.get("feature_count")
        if fc is None:
            raise ValueError("a loaded model keeps no counts; store the original bytes")
        sparse = [{str(j): round(float(c), 9) for j, c in enumerate(row) if c}
                  for row in np.asarray(fc)]
        doc = {"format": FORMAT, "version": self.version, "n_examples": self.n_examples,
               "alpha": ALPHA, "classes": self.classes, "reliability": self.reliability,
               "class_log_prior": [float(v) for v in self.class_log_prior],
               "idf": [round(float(v), 8) for v in self.idf],
               "vocabulary": self.vocabulary, "feature_count": sparse}
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> "LearnedModel":
        doc = json.loads(data.decode("utf-8"))
        if doc.get("format") != FORMAT:
            raise ValueError(f"unknown learned-model format {doc.get('format')!r}")
        n = len(doc["vocabulary"])
        fc = np.zeros((len(doc["classes"]), n))
        for i, row in enumerate(doc["feature_count"]):
            for j, c in row.items():
                fc[i, int(j)] = c
        return cls._from_counts(doc, fc)

    @classmethod
    def _from_counts(cls, doc: dict, fc: np.ndarray) -> "LearnedModel":
        # ComplementNB (norm=False): weights = -log(complement counts share)
        comp = fc.sum(axis=0, keepdims=True) + doc["alpha"] - fc
        flp = -(np.log(comp) - np.log(comp.sum(axis=1, keepdims=True)))
        return cls(dict(doc["vocabulary"]), np.asarray(doc["idf"], dtype=float),
                   list(doc["classes"]), np.asarray(doc["class_log_prior"], dtype=float),
                   flp, int(doc["n_examples"]), doc["version"],
                   float(doc.get("reliability", 0.0)), {"feature_count": fc})
