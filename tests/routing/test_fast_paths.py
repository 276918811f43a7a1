"""The fast paths of issue 16's speed work give exactly what the per-character Python code gave:
name and sentence keys (str.translate), the match string and its offset map, the corpus model's
features (integer gram keys looked up in a sorted array instead of a dict of strings).

Each test compares with the reference implementation kept here, on real report texts of the TRAIN
split and on random strings of awkward characters (traditional, full-width, NFKC expansions, dots,
zero-width spaces, sentence ends in runs)."""
import random
from collections import Counter
from itertools import repeat

import numpy as np
import pytest

from routing import names
from routing.model import CorpusModel, gram_keys, grams, model_text, shipped_model, term_key, words
from routing.normalise import Prepared, TypoFixer, _fold_one, _prepare, to_simplified
from routing.train_model import load_train

AWKWARD = list("。．！？；;!?\n\r \t王·小明醫院ＡＢ１２½㈱\u200b\ua78f-，、的长局回扣紅包Ⅻ①ﬁ") + ["\U00020000", "😀"]


def _random_chars(rng: random.Random, n: int = 300) -> list[str]:
    out = []
    while len(out) < n:
        c = rng.randint(0x20, 0x2FFFF)
        if not 0xD800 <= c < 0xE000:
            out.append(chr(c))
    return out


def _texts(rng: random.Random, count: int, extra: list[str] = ()) -> list[str]:
    alphabet = AWKWARD + _random_chars(rng)
    out = []
    for _ in range(count):
        parts = [rng.choice(alphabet) for _ in range(rng.randint(0, 30))]
        if extra and rng.random() < 0.5:
            parts.insert(rng.randint(0, len(parts)), rng.choice(extra))
        out.append("".join(parts))
    return out


def _ref_name_key(text):
    return "".join(names._key_char(c) for c in (text or ""))


def _ref_sentence_key(text):
    out = []
    for c in text or "":
        if c in names._SENTENCE_ENDS:
            if out and out[-1] != names.SENTENCE_END:
                out.append(names.SENTENCE_END)
        else:
            out.append(names._key_char(c))
    return "".join(out)


def _ref_prepare(text, typos):
    simple = to_simplified(text)
    folded = list(map(_fold_one, simple))
    chars = "".join(folded)
    if len(chars) == len(folded) and all(folded):
        index = list(range(len(folded)))
    else:
        index = [i for i, f in enumerate(folded) for _c in f]
    match, index = typos.apply(chars, index)
    return Prepared(text, match, tuple(index))


@pytest.fixture(scope="module")
def train_texts():
    rows = load_train()[::7]
    return [f"{r['title']}\n{r['text']}" for r in rows] + [r["text"] for r in rows]


def test_name_and_sentence_keys_as_before(train_texts):
    rng = random.Random(16)
    texts = _texts(rng, 5000) + train_texts + ["", "。。王小明", " 。王", "王。 。\n明！", "；\n"]
    for t in texts:
        assert names.name_key(t) == _ref_name_key(t), t
        assert names.sentence_key(t) == _ref_sentence_key(t), t
    assert names.name_key(None) == names.sentence_key(None) == ""
    assert names.sentence_key("王。 。\n明") == "王。。明"   # ends apart (a space between) stay two, as before


def test_match_string_and_offsets_as_before(tax, train_texts):
    rng = random.Random(61)
    texts = _texts(rng, 5000, extra=list(tax.typo_fixer.typos)) + train_texts
    for t in texts:
        for typos in (tax.typo_fixer, TypoFixer({})):
            assert _prepare.__wrapped__(t, typos) == _ref_prepare(t, typos), t


def test_gram_keys_are_distinct_and_match_terms():
    rng = random.Random(3)
    for t in _texts(rng, 500):
        keys = gram_keys(t) if t else np.zeros(0, dtype=np.uint64)
        expected = Counter({term_key(g): n for g, n in grams(t).items()})
        assert Counter(keys.tolist()) == expected, t
    # no two grams share a key: 1-grams, 2-grams, 3-grams live in separate ranges
    grams_ = ["a", "\x00a", "\x00\x00a", "\U0010ffff", "\U0010ffff" * 2, "\U0010ffff" * 3, "ab", "\x01b"]
    assert len({term_key(g) for g in grams_}) == len(grams_)
    with pytest.raises(ValueError):
        term_key("abcd")


def _ref_features(model: CorpusModel, s: str):
    counts = grams(s)
    js = np.fromiter(map(model.vocabulary.get, counts, repeat(-1)), dtype=np.int64, count=len(counts))
    keep = js >= 0
    tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))[keep]
    ix = js[keep]
    v = (1.0 + np.log(tf)) * model.idf[ix]
    if not len(v):
        return ix, v
    v = v / np.float32(np.linalg.norm(v))
    wcounts = {t: c for t, c in Counter(words(s)).items() if t in model.word_vocabulary}
    if not wcounts:
        return ix, v
    wix = np.asarray([model.word_vocabulary[t] for t in wcounts], dtype=np.int64)
    wv = (1.0 + np.log(np.asarray(list(wcounts.values()), dtype=np.float32))) * model.word_idf[wix - len(model.terms)]
    return np.r_[ix, wix], np.r_[v, np.float32(model.word_scale) * wv / np.float32(np.linalg.norm(wv))]


def test_model_features_and_probabilities_as_before(tax):
    model = shipped_model()
    assert model.word_terms       # the word features are computed here too
    rows = load_train()[::5]
    rng = random.Random(5)
    texts = [model_text(r["title"], r["text"], tax.typo_fixer) for r in rows] + _texts(rng, 300) + [""]
    for s in texts:
        a, va = _ref_features(model, s)
        b, vb = model.features(s, normalised=True)
        oa, ob = np.argsort(a), np.argsort(b)
        assert (a[oa] == b[ob]).all(), s
        np.testing.assert_allclose(va[oa], vb[ob], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(model.proba_array(a, va), model.proba_array(b, vb), rtol=1e-4, atol=1e-7)
        if len(a):
            assert model.unit_proba(a, va).keys() == model.unit_proba(b, vb).keys()


def test_plain_is_asdict(tax):
    import dataclasses
    from collections import namedtuple

    from routing.classifier import classify
    from routing.matrix import route
    from routing.plain import plain

    model = shipped_model()
    for r in load_train()[::25]:
        for learned in (None, model):
            c = classify(tax, title=r["title"], text=r["text"], learned=learned)
            routing = route(tax, c, title=r["title"], text=r["text"])
            assert c.to_dict() == dataclasses.asdict(c) and routing.to_dict() == dataclasses.asdict(routing)
            assert plain(c.candidates) == [dataclasses.asdict(x) for x in c.candidates]
    Point = namedtuple("Point", "x y")
    odd = {"a": (1, [2.5, None]), "p": Point(1, [True]), "s": {3}}
    assert plain(odd) == odd and type(plain(odd)["p"]) is Point
