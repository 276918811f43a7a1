"""The corpus model: a multinomial logistic regression on TF-IDF of character 1-3-grams
of the normalised text and, next to them, of its words and word pairs (rjieba: jieba's
dictionary and algorithm, in Rust, so that segmenting costs microseconds), trained on the
labelled corpus (routing/data/train) plus people's corrections, combined with the rules into
one calibrated probability (routing.combine).

Stored as data, never pickle: gzip of a JSON document whose arrays (idf, weights,
intercepts) are base64 float16/float32. Prediction runs on numpy alone from those
arrays (a batch of reports: routing.model_batch, with scipy.sparse); scikit-learn is
imported only to fit (routing.train_model).
"""
from __future__ import annotations

import base64
import gzip
import json
from collections import Counter
from dataclasses import dataclass, field, replace
from itertools import repeat
from pathlib import Path

import numpy as np

from routing.normalise import TypoFixer, normalise, prepare

FORMAT_CHARS = "routing.model/lr-char13-1"      # character n-grams only (still loads)
FORMAT = "routing.model/lr-char13-words12-1"
FORMATS = (FORMAT_CHARS, FORMAT)
NONE_LABEL = "none"
NGRAMS = (1, 3)
WORD_MIN_LEN = 2    # one-character words are the character 1-grams already
SHIPPED = Path(__file__).resolve().parent / "data" / "model.json.gz"
GZIP_MAGIC = b"\x1f\x8b"


def model_text(title: str, text: str, typos: TypoFixer | None = None) -> str:
    """What the model reads: the match strings of title and text (with the taxonomy's typo
    fixes), the same the rules read (cached in routing.normalise), joined."""
    return prepare(title or "", typos).text + prepare(text or "", typos).text


def grams(norm: str) -> Counter:
    """Character 1-3-grams of a normalised string (the reference form of gram_keys)."""
    lo, hi = NGRAMS
    n = len(norm)
    return Counter(norm[i:i + k] for k in range(lo, hi + 1) for i in range(n - k + 1))


def words(norm: str) -> list[str]:
    """Word features of a normalised string: its words of WORD_MIN_LEN characters or more
    and every pair of neighbouring words (joined by a space), as jieba cuts it without HMM."""
    import rjieba  # only a model with word features needs it (once per process)

    w = rjieba.cut(norm, False)
    return [t for t in w if len(t) >= WORD_MIN_LEN] + [a + " " + b for a, b in zip(w, w[1:])]


# A 1-3-gram as one integer: code points are < 2**21, so (with each leading code point + 1)
# 1-grams < 2**21 <= 2-grams < 2**42 <= 3-grams < 2**63: distinct keys, one uint64 each.
_B = np.uint64(21)
_B2 = np.uint64(42)
_ONE = np.uint64(1)


def _codepoints(s: str) -> np.ndarray:
    return np.frombuffer(s.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)


def gram_keys(norm: str) -> np.ndarray:
    """The 1-3-grams of a string as integer keys (one per occurrence, as grams() counts them),
    built with numpy instead of a Python string per gram."""
    cp = _codepoints(norm)
    parts = [cp]
    if len(cp) >= 2:
        parts.append(((cp[:-1] + _ONE) << _B) | cp[1:])
    if len(cp) >= 3:
        parts.append(((cp[:-2] + _ONE) << _B2) | (cp[1:-1] << _B) | cp[2:])
    return np.concatenate(parts)


def term_key(term: str) -> int:
    """The integer key of one 1-3-gram (gram_keys of the term alone, its longest gram)."""
    cps = [ord(c) for c in term]
    if not 1 <= len(cps) <= 3:
        raise ValueError(f"not a 1-3-gram: {term!r}")
    key = cps[-1]
    if len(cps) >= 2:
        key |= (cps[-2] + (1 if len(cps) == 2 else 0)) << 21
    if len(cps) == 3:
        key |= (cps[0] + 1) << 42
    return key


def label_of(item: str | None) -> str:
    return NONE_LABEL if item is None else item


def item_of(label: str) -> str | None:
    return None if label == NONE_LABEL else label


def _enc(a: np.ndarray, dtype) -> dict:
    a = np.ascontiguousarray(a, dtype=dtype)
    return {"dtype": np.dtype(dtype).name, "shape": list(a.shape),
            "data": base64.b64encode(a.tobytes()).decode("ascii")}


def _dec(d: dict) -> np.ndarray:
    if d.get("dtype") not in ("float16", "float32"):
        raise ValueError(f"unsupported array dtype {d.get('dtype')!r}")
    raw = base64.b64decode(d["data"].encode("ascii"), validate=True)
    a = np.frombuffer(raw, dtype=np.dtype(d["dtype"])).reshape(d["shape"])
    return a.astype(np.float32)


@dataclass(frozen=True)
class Calibration:
    """p(k) proportional to rules(k)^a * model(k)^b * exp(bias_none if k is None), then
    the whole raised to 1/temperature (a, b, bias fitted by log loss on out-of-fold
    train predictions; the temperature is a second, one-parameter pass)."""
    a: float = 0.5
    b: float = 1.0
    bias_none: float = 0.0
    temperature: float = 1.0
    eps: float = 1e-3


@dataclass(eq=False)
class CorpusModel:
    terms: list[str]
    idf: np.ndarray            # (n_features,)
    weights: np.ndarray        # (n_features, n_classes)
    intercept: np.ndarray      # (n_classes,)
    classes: list[str]         # labels, "none" for out of scope
    version: str
    n_examples: int = 0
    calibration: Calibration = field(default_factory=Calibration)
    threshold: float = 0.5     # θ on P(lead unit), below it: triage
    second_ratio: float = 0.5  # a second item within this ratio of the first is kept
    meta: dict = field(default_factory=dict)
    corrections: object = None  # a routing.learned model of later corrections (not stored)
    # which member unit's official a 1.x report accuses, when the text only implies it
    unit_classes: list = field(default_factory=list)
    unit_weights: np.ndarray | None = None     # (n_features, n_units)
    unit_intercept: np.ndarray | None = None
    # word features (words()), after the character ones in weights and unit_weights
    word_terms: list = field(default_factory=list)
    word_idf: np.ndarray | None = None
    word_scale: float = 1.0     # the word block's l2 norm next to the characters' (1)
    unit_temperature: float = 1.0   # of the unit model, fitted out of fold (train_model)
    # the lead unit read directly (trained on lead_unit labels), mixed with the items' P(unit):
    # P(unit) proportional to items(unit)^lead_mix[0] * lead(unit)^lead_mix[1] (fitted out of fold)
    lead_classes: list = field(default_factory=list)
    lead_weights: np.ndarray | None = None     # (n_features, n_leads)
    lead_intercept: np.ndarray | None = None
    lead_mix: tuple = (1.0, 0.0)

    def __post_init__(self):
        self.vocabulary = {t: i for i, t in enumerate(self.terms)}
        n = len(self.terms)
        self.word_vocabulary = {t: n + i for i, t in enumerate(self.word_terms)}
        self.all_terms = list(self.terms) + list(self.word_terms)
        if self.word_terms and (self.word_idf is None or len(self.word_idf) != len(self.word_terms)):
            raise ValueError("the corpus model's word idf does not match its word terms")
        keys = np.fromiter(map(term_key, self.terms), dtype=np.uint64, count=len(self.terms))
        order = np.argsort(keys, kind="stable")
        self._keys = keys[order]                 # sorted gram keys of the vocabulary
        self._key_index = order.astype(np.int64)  # their feature indices
        if len(self._keys) and (np.diff(self._keys) == 0).any():
            raise ValueError("the corpus model's terms are not distinct")
        self._index_words()
        self.index = {c: i for i, c in enumerate(self.classes)}
        self.item_classes = [item_of(c) for c in self.classes]
        if self.classes and self.classes[-1] != NONE_LABEL:
            raise ValueError("the corpus model's last class must be 'none' (out of scope)")

    def _index_words(self) -> None:
        """Word features as integer look-ups: every token of a word term gets an id, a single word
        its feature index (``_tok_feature``), a pair of neighbouring words the key id(a) * n + id(b)
        in a sorted array (``_pair_keys``), so that a report's words are looked up by numpy, not
        one Python call per word."""
        tokens: dict[str, int] = {}
        singles: dict[int, int] = {}
        pairs: dict[tuple[int, int], int] = {}
        n = len(self.terms)
        for i, term in enumerate(self.word_terms):
            parts = term.split(" ")
            ids = tuple(tokens.setdefault(t, len(tokens)) for t in parts)
            if len(ids) == 1:
                singles[ids[0]] = n + i
            elif len(ids) == 2 and all(parts):
                pairs[ids] = n + i
            else:
                raise ValueError(f"the corpus model's word term {term!r} is neither a word nor a pair")
        self._tokens = tokens
        self._tok_feature = np.full(len(tokens), -1, dtype=np.int64)
        if singles:
            self._tok_feature[np.fromiter(singles, dtype=np.int64)] = np.fromiter(singles.values(), dtype=np.int64)
        keys = np.asarray([a * len(tokens) + b for a, b in pairs], dtype=np.int64)
        order = np.argsort(keys)
        self._pair_keys = keys[order]
        self._pair_index = np.asarray(list(pairs.values()), dtype=np.int64)[order]

    # --- prediction -------------------------------------------------------------------
    def features(self, text: str, normalised: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(feature indices, l2-normalised sublinear tf-idf values) of a text."""
        s = text if normalised else normalise(text)
        if not s or not len(self._keys):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        keys, tf = np.unique(gram_keys(s), return_counts=True)   # sorted: the look-ups below go in order
        pos = np.searchsorted(self._keys, keys)
        np.minimum(pos, len(self._keys) - 1, out=pos)
        known = self._keys[pos] == keys          # the grams in the vocabulary
        if not known.any():
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        tf = tf[known]
        ix = self._key_index[pos[known]]
        v = (1.0 + np.log(tf.astype(np.float32))) * self.idf[ix]
        v /= np.float32(np.linalg.norm(v))
        if not self.word_terms:
            return ix, v
        wix, wv = self._word_features(s)
        if not len(wix):
            return ix, v
        return np.concatenate([ix, wix]), np.concatenate([v, wv])

    def _word_features(self, s: str) -> tuple[np.ndarray, np.ndarray]:
        """The features of words(s), looked up through the token ids of _index_words."""
        import rjieba

        w = rjieba.cut(s, False)
        tid = np.fromiter(map(self._tokens.get, w, repeat(-1)), dtype=np.int64, count=len(w))
        found = [self._tok_feature[tid[tid >= 0]]]
        if len(tid) >= 2 and len(self._pair_keys):
            a, b = tid[:-1], tid[1:]
            both = (a >= 0) & (b >= 0)
            keys = a[both] * len(self._tokens) + b[both]
            pos = np.minimum(np.searchsorted(self._pair_keys, keys), len(self._pair_keys) - 1)
            found.append(self._pair_index[pos[self._pair_keys[pos] == keys]])
        ix = np.concatenate(found)
        ix = ix[ix >= 0]
        if not len(ix):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        ix, tf = np.unique(ix, return_counts=True)
        n = len(self.terms)
        v = (1.0 + np.log(tf.astype(np.float32))) * self.word_idf[ix - n]
        return ix, v * np.float32(self.word_scale / np.linalg.norm(v))

    def scores(self, idx: np.ndarray, vals: np.ndarray) -> np.ndarray:
        if not len(idx):
            return self.intercept.copy()
        return vals @ self.weights[idx] + self.intercept

    def proba_array(self, idx: np.ndarray, vals: np.ndarray) -> np.ndarray:
        z = self.scores(idx, vals).astype(np.float64)
        p = np.exp(z - z.max())
        return p / p.sum()

    def predict_proba(self, text: str) -> dict[str | None, float]:
        """Probability of each class (None = out of scope), the model alone."""
        idx, vals = self.features(text)
        return {item_of(c): float(q) for c, q in zip(self.classes, self.proba_array(idx, vals))}

    def unit_proba(self, idx: np.ndarray, vals: np.ndarray) -> dict[str, float]:
        """P(unit | the report accuses an official): {} without a unit model."""
        return _block_proba(self.unit_classes, self.unit_weights, self.unit_intercept, idx, vals,
                            self.unit_temperature)

    def lead_proba(self, idx: np.ndarray, vals: np.ndarray) -> dict[str, float]:
        """P(lead unit) of the direct lead-unit model: {} without one."""
        return _block_proba(self.lead_classes, self.lead_weights, self.lead_intercept, idx, vals)

    def top_terms(self, idx: np.ndarray, vals: np.ndarray, item: str | None,
                  k: int = 5) -> list[dict]:
        """The features with the largest weight x value for ``item``: the model's reasons."""
        col = self.index.get(label_of(item))
        if col is None or not len(idx):
            return []
        contrib = self.weights[idx, col] * vals
        if len(contrib) > k:     # the k largest, and any tied with the k-th (ties go to the lower feature)
            order = np.flatnonzero(contrib >= np.partition(contrib, len(contrib) - k)[len(contrib) - k])
        else:
            order = np.arange(len(contrib))
        order = order[np.lexsort((idx[order], -contrib[order]))][:k]
        return [{"term": self.all_terms[idx[i]], "weight": round(float(contrib[i]), 4)}
                for i in order if contrib[i] > 0]

    def with_corrections(self, learned) -> "CorpusModel":
        """This model with a correction-only model (routing.learned) trained after it:
        its version names both."""
        if learned is None:
            return self
        return replace(self, corrections=learned, version=f"{self.version}+{learned.version}")

    # --- storage ------------------------------------------------------------------------
    def to_doc(self) -> dict:
        words_doc = ({"word_terms": self.word_terms, "word_idf": _enc(self.word_idf, np.float32),
                      "word_scale": self.word_scale} if self.word_terms else {})
        return {"format": FORMAT if self.word_terms else FORMAT_CHARS, "version": self.version,
                "n_examples": self.n_examples,
                "ngrams": list(NGRAMS), "classes": self.classes, "terms": self.terms,
                "idf": _enc(self.idf, np.float32), "weights": _enc(self.weights, np.float16),
                "intercept": _enc(self.intercept, np.float32),
                "calibration": self.calibration.__dict__, "threshold": self.threshold,
                "second_ratio": self.second_ratio, "meta": self.meta,
                **({"unit_classes": self.unit_classes, "unit_weights": _enc(self.unit_weights, np.float16),
                    "unit_intercept": _enc(self.unit_intercept, np.float32),
                    "unit_temperature": self.unit_temperature} if self.unit_classes else {}),
                **({"lead_classes": self.lead_classes, "lead_weights": _enc(self.lead_weights, np.float16),
                    "lead_intercept": _enc(self.lead_intercept, np.float32),
                    "lead_mix": list(self.lead_mix)} if self.lead_classes else {}),
                **words_doc}

    def to_bytes(self) -> bytes:
        raw = json.dumps(self.to_doc(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return gzip.compress(raw, compresslevel=9, mtime=0)

    @classmethod
    def from_bytes(cls, data: bytes) -> "CorpusModel":
        doc = json.loads(gzip.decompress(data).decode("utf-8"))
        if doc.get("format") not in FORMATS:
            raise ValueError(f"unknown corpus-model format {doc.get('format')!r}")
        if list(doc.get("ngrams", NGRAMS)) != list(NGRAMS):
            raise ValueError("corpus model was stored with other n-gram settings")
        terms, classes = [str(t) for t in doc["terms"]], [str(c) for c in doc["classes"]]
        word_terms = [str(t) for t in doc.get("word_terms") or []] if doc["format"] == FORMAT else []
        word_idf = _dec(doc["word_idf"]) if word_terms else None
        if word_terms and word_idf.shape != (len(word_terms),):
            raise ValueError("corpus model word idf does not match its word terms")
        n_features = len(terms) + len(word_terms)
        weights, idf, intercept = _dec(doc["weights"]), _dec(doc["idf"]), _dec(doc["intercept"])
        if weights.shape != (n_features, len(classes)) or idf.shape != (len(terms),) \
                or intercept.shape != (len(classes),):
            raise ValueError("corpus model arrays do not match its terms and classes")
        cal = {k: float(v) for k, v in doc.get("calibration", {}).items()
               if k in Calibration.__dataclass_fields__}
        units, uw, ui = _dec_block(doc, "unit", n_features)
        leads, lw, li = _dec_block(doc, "lead", n_features)
        mix = tuple(float(v) for v in doc.get("lead_mix", (1.0, 0.0))) if leads else (1.0, 0.0)
        if len(mix) != 2:
            raise ValueError("corpus model lead_mix needs two exponents")
        return cls(terms, idf, weights, intercept, classes, str(doc.get("version", "")),
                   int(doc.get("n_examples", 0)), Calibration(**cal),
                   float(doc.get("threshold", 0.5)), float(doc.get("second_ratio", 0.5)),
                   dict(doc.get("meta") or {}), None, units, uw, ui, word_terms, word_idf,
                   float(doc.get("word_scale", 1.0)), float(doc.get("unit_temperature", 1.0)),
                   leads, lw, li, mix)


def _block_proba(classes: list, weights: np.ndarray | None, intercept: np.ndarray | None, idx: np.ndarray,
                 vals: np.ndarray, temperature: float = 1.0) -> dict[str, float]:
    """The softmax of a side block of weights (the unit model, the lead-unit model): {} without one."""
    if not classes:
        return {}
    z = (vals @ weights[idx] if len(idx) else 0.0) + intercept
    z = np.asarray(z, dtype=np.float64) / temperature
    p = np.exp(z - z.max())
    return {u: float(q) for u, q in zip(classes, p / p.sum())}


def _dec_block(doc: dict, name: str, n_features: int) -> tuple[list[str], np.ndarray | None, np.ndarray | None]:
    """A stored side block `name` (unit, lead): its classes, weights and intercept, checked against the terms."""
    classes = [str(u) for u in doc.get(f"{name}_classes") or []]
    if not classes:
        return classes, None, None
    weights, intercept = _dec(doc[f"{name}_weights"]), _dec(doc[f"{name}_intercept"])
    if weights.shape != (n_features, len(classes)) or intercept.shape != (len(classes),):
        raise ValueError(f"corpus model {name} arrays do not match its terms")
    return classes, weights, intercept


def load_model(data: bytes):
    """A stored model of either kind: the corpus model (gzip) or the older
    correction-only model (plain JSON, routing.learned)."""
    if data[:2] == GZIP_MAGIC:
        return CorpusModel.from_bytes(data)
    from routing.learned import LearnedModel
    return LearnedModel.from_bytes(data)


def shipped_model(path: Path = SHIPPED) -> CorpusModel | None:
    """The model shipped in the repository; None if the file is missing."""
    try:
        return CorpusModel.from_bytes(path.read_bytes())
    except FileNotFoundError:
        return None
