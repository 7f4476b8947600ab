"""The character n-grams made with numpy are sklearn's char 1–3-gram TF-IDF, but for hashing."""

from __future__ import annotations

import pickle

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from analytics.chargrams import CharGrams
from analytics.text import normalise
from tests.analytics.test_quality import rows


def test_the_same_similarities_as_sklearns_char_tfidf():
    texts = [normalise(t) for t in rows("resident-voices/voices.tsv", "\t")[0]]
    theirs = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    a = theirs.fit_transform(texts)
    ours = CharGrams()
    b = ours.fit_transform(texts)
    # columns differ only where two n-grams share a bucket (about 1 in 100 here)
    assert 0.98 * a.shape[1] <= b.shape[1] <= a.shape[1]
    assert np.allclose(np.asarray(b.multiply(b).sum(axis=1)).ravel(), 1.0, atol=1e-5)
    difference = np.abs((a @ a.T).toarray() - (b @ b.T).toarray())
    assert difference.max() < 0.05 and difference.mean() < 1e-3
    # new texts land in the same columns, also after pickling (the model is stored)
    again = pickle.loads(pickle.dumps(ours)).transform(texts[:50])  # noqa: S301 (made here)
    assert np.allclose(again.toarray(), b[:50].toarray())


def test_odd_texts():
    grams = CharGrams()
    matrix = grams.fit_transform(["a", "", "  ", "ab\n\tc", "🎌日本"])
    assert matrix.shape[0] == 5
    assert not matrix[1].nnz
    assert grams.transform(["", "zzz"]).shape == (2, matrix.shape[1])
    twice = CharGrams(min_df=2)
    assert twice.fit_transform(["abc", "abd"]).shape[1] == 3  # a, b, ab
