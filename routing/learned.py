"""A second model, retrained from human corrections (text, item code or None).

Two parts on the same features - character 1-2-gram TF-IDF (sublinear tf, l2) of the
normalised text, fitted with scikit-learn:

- a complement naive Bayes classifier (good with few examples), and
- a nearest-neighbour vote: the cosine similarity of the report to each correction, the
  K most similar ones voting with similarity ** KNN_POWER (a correction that is almost
  the same report decides; vague likeness does not).

``predict_proba`` mixes them (KNN_SHARE). The fitted parameters (vocabulary, idf,
per-class feature totals, the corrections' sparse TF-IDF rows - bags of n-grams, not
the texts) are stored as JSON - no pickle - and prediction runs on numpy from those
parameters alone, so loading a stored model needs no scikit-learn and executes no code.
``None`` (out of scope) is a class like the others, stored as the label "none".
Models stored in the first format (naive Bayes only) still load.
"""
from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from routing.normalise import normalise

FORMAT = "routing.learned/cnb-knn-2"
FORMATS = ("routing.learned/cnb-tfidf-1", FORMAT)
NONE_LABEL = "none"
NGRAMS = (1, 2)
ALPHA = 0.3
SHARPNESS = 2.0
MAX_WEIGHT = 1.0   # the most a learned model weighs against the rules
KNN_K = 5
KNN_POWER = 4.0
KNN_SHARE = 0.5    # share of the neighbour vote in predict_proba
NEAR = (0.5, 0.9)  # similarity from which a correction is trusted, and fully


def _grams(text: str) -> Counter:
    s = normalise(text)
    lo, hi = NGRAMS
    return Counter(s[i:i + n] for n in range(lo, hi + 1) for i in range(len(s) - n + 1))


def _label(item: str | None) -> str:
    return NONE_LABEL if item is None else item


def _item(label: str) -> str | None:
    return None if label == NONE_LABEL else label


def _fit(texts: list[str], labels: list[str]) -> dict:
    """Fit on normalised texts; the stored document (without reliability)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.naive_bayes import ComplementNB

    vec = TfidfVectorizer(analyzer="char", ngram_range=NGRAMS, sublinear_tf=True,
                          lowercase=False)
    x = vec.fit_transform(texts).tocsr()
    nb = ComplementNB(alpha=ALPHA).fit(x, labels)
    classes = [str(c) for c in nb.classes_]
    return {"format": FORMAT, "alpha": ALPHA, "classes": classes,
            "class_log_prior": [float(v) for v in nb.class_log_prior_],
            "idf": [round(float(v), 8) for v in vec.idf_],
            "vocabulary": {k: int(v) for k, v in vec.vocabulary_.items()},
            "feature_count": nb.feature_count_,
            "rows": [{str(j): round(float(v), 6) for j, v in
                      zip(x.indices[x.indptr[i]:x.indptr[i + 1]],
                          x.data[x.indptr[i]:x.indptr[i + 1]])} for i in range(x.shape[0])],
            "row_labels": [classes.index(lab) for lab in labels]}


def _cross_validate(texts: list[str], labels: list[str], folds: int = 5) -> float:
    """Accuracy of the combined model on held-out folds (fixed seed), counted over the
    held-out examples whose class the fold's model has seen (a class it never saw gets
    a neutral share in the blend, so it cannot be wrong about it); 0 below 5 examples,
    with one class, or with fewer than 3 examples to check."""
    from sklearn.model_selection import KFold

    if len(texts) < 5 or len(set(labels)) < 2:
        return 0.0
    right = checked = 0
    for tr, te in KFold(min(folds, len(texts)), shuffle=True, random_state=0).split(texts):
        ys = [labels[i] for i in tr]
        if len(set(ys)) < 2:
            continue
        m = LearnedModel._from_doc(_fit([texts[i] for i in tr], ys))
        for i in te:
            if labels[i] not in m.classes:
                continue
            p = m.predict_proba(texts[i], normalised=True)
            right += _label(max(p, key=p.get)) == labels[i]
            checked += 1
    return right / checked if checked >= 3 else 0.0


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
        if not examples:
            raise ValueError("no training examples")
        texts = [normalise(t) for t, _ in examples]
        labels = [_label(i) for _, i in examples]
        doc = _fit(texts, labels)
        digest = hashlib.sha256(json.dumps(sorted(zip(texts, labels)), ensure_ascii=False)
                                .encode("utf-8")).hexdigest()[:12]
        doc.update(version=f"cnb-{len(examples)}-{digest}", n_examples=len(examples),
                   reliability=_cross_validate(texts, labels))
        return cls._from_doc(doc)

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

    def _vector(self, text: str, normalised: bool = False) -> tuple[np.ndarray, np.ndarray]:
        counts = _grams(text) if not normalised else Counter(
            text[i:i + n] for n in range(NGRAMS[0], NGRAMS[1] + 1)
            for i in range(len(text) - n + 1))
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

    def nb_proba(self, idx: np.ndarray, vals: np.ndarray) -> np.ndarray:
        """Complement naive Bayes part, per class (same ranking as scikit-learn)."""
        jll = (self.feature_log_prob[:, idx] @ vals if len(idx)
               else np.zeros(len(self.classes)))
        if len(self.classes) == 1:
            jll = jll + self.class_log_prior
        # complement-NB scores are close together: standardise, then soft-max with
        # SHARPNESS so that a clear winner gets a clear probability
        spread = float(jll.std())
        z = (jll - jll.max()) / spread if spread > 1e-12 else jll - jll.max()
        p = np.exp(SHARPNESS * z)
        return p / p.sum()

    def knn_proba(self, idx: np.ndarray,
                  vals: np.ndarray) -> tuple[np.ndarray, float] | None:
        """Nearest-neighbour vote per class and the best similarity; None without
        stored rows or without any overlap."""
        rows = self.params.get("rows")
        if rows is None or not len(idx):
            return None
        indptr, indices, data, labels = rows
        q = np.zeros(len(self.idf))
        q[idx] = vals
        prod = np.append(data * q[indices], 0.0)      # the 0 keeps reduceat in range
        sims = np.add.reduceat(prod, indptr[:-1])
        sims[indptr[:-1] == indptr[1:]] = 0.0          # empty rows
        top = np.argsort(-sims)[:KNN_K]
        votes = np.zeros(len(self.classes))
        np.add.at(votes, labels[top], np.clip(sims[top], 0.0, 1.0) ** KNN_POWER)
        total = votes.sum()
        if total <= 1e-9:
            return None
        # a vote of similarity s leaves (1 - s) to the naive Bayes part
        return votes / total, float(np.clip(sims[top].max(), 0.0, 1.0))

    def predict(self, text: str,
                normalised: bool = False) -> tuple[dict[str | None, float], float]:
        """(probability of each class seen in training, the weight this model deserves
        for this report): ``weight``, raised towards MAX_WEIGHT when a correction is
        nearly the same report (similarity from NEAR[0], fully at NEAR[1])."""
        idx, vals = self._vector(text, normalised)
        p = self.nb_proba(idx, vals)
        knn = self.knn_proba(idx, vals)
        weight = self.weight
        if knn is not None:
            votes, best = knn
            share = KNN_SHARE * (0.5 + 0.5 * best)
            p = (1.0 - share) * p + share * votes
            near = (best - NEAR[0]) / (NEAR[1] - NEAR[0])
            if len(self.classes) > 1:
                weight = max(weight, MAX_WEIGHT * min(1.0, max(0.0, near)))
        return {_item(c): float(q) for c, q in zip(self.classes, p)}, weight

    def predict_proba(self, text: str, normalised: bool = False) -> dict[str | None, float]:
        """Probability of each class seen in training (None = out of scope)."""
        return self.predict(text, normalised)[0]

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
               "vocabulary": self.vocabulary, "feature_count": sparse,
               "rows": self.params.get("row_dicts", []),
               "row_labels": self.params.get("row_labels", [])}
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> "LearnedModel":
        doc = json.loads(data.decode("utf-8"))
        if doc.get("format") not in FORMATS:
            raise ValueError(f"unknown learned-model format {doc.get('format')!r}")
        fc = np.zeros((len(doc["classes"]), len(doc["vocabulary"])))
        for i, row in enumerate(doc["feature_count"]):
            for j, c in row.items():
                fc[i, int(j)] = c
        return cls._from_doc({**doc, "feature_count": fc})

    @classmethod
    def _from_doc(cls, doc: dict) -> "LearnedModel":
        # ComplementNB (norm=False): weights = -log(complement counts share)
        fc = np.asarray(doc["feature_count"], dtype=float)
        comp = fc.sum(axis=0, keepdims=True) + doc["alpha"] - fc
        flp = -(np.log(comp) - np.log(comp.sum(axis=1, keepdims=True)))
        params = {"feature_count": fc}
        row_dicts = doc.get("rows") or []
        if row_dicts:
            lens = [len(r) for r in row_dicts]
            indptr = np.concatenate([[0], np.cumsum(lens)]).astype(int)
            indices = np.fromiter((int(j) for r in row_dicts for j in r), int, indptr[-1])
            data = np.fromiter((v for r in row_dicts for v in r.values()), float, indptr[-1])
            params.update(rows=(indptr, indices, data, np.asarray(doc["row_labels"], int)),
                          row_dicts=row_dicts, row_labels=list(doc["row_labels"]))
        return cls(dict(doc["vocabulary"]), np.asarray(doc["idf"], dtype=float),
                   list(doc["classes"]), np.asarray(doc["class_log_prior"], dtype=float),
                   flp, int(doc.get("n_examples", len(row_dicts))), doc.get("version", ""),
                   float(doc.get("reliability", 0.0)), params)
