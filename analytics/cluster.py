"""Clustering free text into themes: features, k-means, keywords, representatives, a map.

Features, measured on ../shared/datasets at the true k (bench/ and tests/analytics):
- the meaning of the content words: the TF-IDF-weighted mean of their chiVe vectors (short
  Japanese opinions share few words, but their words have near neighbours);
- the words themselves and their spelling: LSA (TruncatedSVD) of content-word TF-IDF beside
  character 2–4-gram TF-IDF (English intents are told apart by word forms).
The two are weighted by the share of Japanese in the texts, so each language gets the part that
works for it. Then k-means (mini-batch for large inputs) on the unit vectors.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize

from analytics import duplicates, vectors
from analytics.text import content_words, japanese_share, normalise

LSA_DIMENSIONS = 100
MINI_BATCH_FROM = 10_000  # texts; below this, full k-means with several starts
KEYWORDS = 5
JAPANESE_ONLY = 0.9  # share of Japanese letters from which the spelling part is left out
REPRESENTATIVES = 3


def choose_k(n: int) -> int:
    """About the cube root of the count, between 2 and 10 (fewer when there are few texts)."""
    if n < 2:
        return 1
    return max(2, min(10, round(n ** (1 / 3)), n))


@dataclass
class Features:
    vectors: np.ndarray  # (n, d) unit rows: what k-means sees
    counts: sp.csr_matrix  # (n, words) content-word counts, for keywords
    words: np.ndarray  # the column names of counts (lemmas)
    forms: dict[str, Counter] = field(default_factory=dict)  # how each lemma was written
    japanese: float = 0.0  # share of Japanese letters in the texts


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def _with_pairs(tokens: list[str]) -> list[str]:
    """Words and neighbouring pairs ("card arrive"): intents differ by pairs of common words."""
    return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]


def features(texts: list[str]) -> Features:
    forms: dict[str, Counter] = {}
    tokens = [content_words(t, forms) for t in texts]
    counter = CountVectorizer(analyzer=_identity)
    counts = (
        counter.fit_transform(tokens).tocsr() if any(tokens) else sp.csr_matrix((len(texts), 0))
    )
    words = counter.get_feature_names_out() if counts.shape[1] else np.array([], dtype=object)
    parts = []
    japanese = float(np.mean([japanese_share(t) for t in texts])) if texts else 0.0

    word_tfidf = None
    if counts.shape[1]:
        word_tfidf = TfidfVectorizer(
            analyzer=_identity, sublinear_tf=True, dtype=np.float32
        ).fit_transform(tokens)
        table = vectors.lookup(list(words))
        if table is not None and japanese > 0:
            # float32 and in place: 100,000 texts × 300 dimensions is 120 MB a copy
            meaning = normalize(np.asarray(word_tfidf @ table), copy=False)
            meaning *= math.sqrt(japanese)
            parts.append(meaning)

    # on (almost) all-Japanese texts the spelling adds nothing the meaning has not (and costs
    # most of the time): it is for English and mixed texts
    blocks = []
    if japanese < JAPANESE_ONLY or not parts:
        spelling = _char_tfidf([normalise(t) for t in texts])
        pairs = None
        if counts.shape[1]:
            pairs = TfidfVectorizer(analyzer=_with_pairs, sublinear_tf=True).fit_transform(tokens)
        blocks = [b for b in (spelling, pairs) if b is not None and b.shape[1]]
    if blocks:
        both = sp.hstack(blocks).tocsr()
        dims = min(LSA_DIMENSIONS, both.shape[0] - 1, both.shape[1] - 1)
        if dims >= 1:
            lsa = TruncatedSVD(dims, random_state=0).fit_transform(both).astype(np.float32)
            lsa = normalize(lsa, copy=False)
            lsa *= math.sqrt(1 - japanese if parts else 1.0)
            parts.append(lsa)
    if not parts:  # nothing to go by (empty or symbol-only texts): all alike
        parts.append(np.ones((len(texts), 1), dtype=np.float32))
    joined = parts[0] if len(parts) == 1 else np.hstack(parts)
    return Features(normalize(joined, copy=False), counts, words, forms, japanese)


def _char_tfidf(texts: list[str]) -> sp.csr_matrix | None:
    try:
        return TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 4), min_df=2, sublinear_tf=True
        ).fit_transform(texts)
    except ValueError:  # no character n-gram in two texts
        return None


@dataclass
class Cluster:
    id: int
    members: list[int]  # indices into the texts, closest to the centre first
    keywords: list[str]
    representatives: list[int]  # the distinct members closest to the centre
    density: float  # mean cosine similarity of the distinct members to their centre, 0–1
    duplicates: list[list[int]] = field(default_factory=list)  # groups of the same text

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def distinct(self) -> int:
        """Members, a group of the same text counted once."""
        return self.size - sum(len(g) - 1 for g in self.duplicates)

    @property
    def label(self) -> str:
        return "・".join(self.keywords[:3])


@dataclass
class Clustering:
    labels: np.ndarray  # the cluster id of each text
    clusters: list[Cluster]
    coordinates: np.ndarray  # (n, 2), for a map
    k: int
    duplicates: list[list[int]] = field(default_factory=list)  # every group, largest first


def cluster_texts(texts: list[str], k: int | None = None, seed: int = 0) -> Clustering:
    """Group ``texts`` (personal data already masked) into ``k`` themes (default choose_k).

    Groups of (almost) identical texts are clustered as one text and reported with their
    count: a campaign of 500 copies weighs as one opinion, and every copy keeps its place.
    """
    n = len(texts)
    if n == 0:
        return Clustering(np.array([], dtype=int), [], np.zeros((0, 2)), 0)
    same = duplicates.groups(texts)
    stand_in = np.arange(n)  # each text's representative: itself, or its group's first
    for group in same:
        stand_in[group] = group[0]
    distinct = np.flatnonzero(stand_in == np.arange(n))
    position = np.full(n, -1)
    position[distinct] = np.arange(len(distinct))

    k = max(1, min(k or choose_k(len(distinct)), len(distinct)))
    feats = features([texts[i] for i in distinct])
    model = (
        MiniBatchKMeans(k, random_state=seed, n_init=3, batch_size=2048)
        if len(distinct) >= MINI_BATCH_FROM
        else KMeans(k, random_state=seed, n_init=10)
    )
    found = model.fit_predict(feats.vectors) if k > 1 else np.zeros(len(distinct), dtype=int)
    # identical texts can leave a cluster empty: number the clusters that have members
    _, found = np.unique(found, return_inverse=True)
    k = int(found.max()) + 1
    centres = normalize(np.vstack([feats.vectors[found == c].mean(axis=0) for c in range(k)]))
    similarity = np.einsum("ij,ij->i", feats.vectors, centres[found])
    keywords = _keywords(feats, found, k)
    labels = found[position[stand_in]]
    closeness = similarity[position[stand_in]]
    groups_of = [[g for g in same if labels[g[0]] == c] for c in range(k)]
    clusters = []
    for c in range(k):
        members = np.flatnonzero(labels == c)
        members = members[np.argsort(-closeness[members], kind="stable")]
        own = np.flatnonzero(found == c)
        own = own[np.argsort(-similarity[own], kind="stable")]
        clusters.append(
            Cluster(
                id=c,
                members=members.tolist(),
                keywords=keywords[c],
                representatives=distinct[own[:REPRESENTATIVES]].tolist(),
                density=float(similarity[own].mean()),
                duplicates=groups_of[c],
            )
        )
    coordinates = _map(feats.vectors)[position[stand_in]]
    return Clustering(labels, clusters, coordinates, k, same)


def _keywords(feats: Features, labels: np.ndarray, k: int) -> list[list[str]]:
    """Class-based TF-IDF: words frequent in a cluster and rare in the others."""
    if not feats.counts.shape[1]:
        return [[] for _ in range(k)]
    onehot = sp.csr_matrix(
        (np.ones(len(labels)), (labels, np.arange(len(labels)))), (k, len(labels))
    )
    per_cluster = np.asarray((onehot @ feats.counts).todense(), dtype=float)
    tf = per_cluster / np.maximum(per_cluster.sum(axis=1, keepdims=True), 1)
    average = per_cluster.sum() / k
    idf = np.log1p(average / np.maximum(per_cluster.sum(axis=0), 1))
    scores = tf * idf
    out = []
    for c in range(k):
        best = [i for i in np.argsort(-scores[c], kind="stable")[:KEYWORDS] if scores[c, i] > 0]
        out.append([_shown(feats, str(feats.words[i])) for i in best])
    return out


def _shown(feats: Features, lemma: str) -> str:
    """The way most people wrote the word (ごみ rather than the dictionary's 塵)."""
    written = feats.forms.get(lemma)
    return written.most_common(1)[0][0] if written else lemma


def _map(vectors_: np.ndarray) -> np.ndarray:
    """2-D coordinates (the two main axes of the feature space), scaled to −1…1."""
    n, d = vectors_.shape
    if n < 3 or d < 2:
        return np.zeros((n, 2))
    # the two main axes: PCA's, from a sample for large inputs (the axes settle long before)
    sample = vectors_[:: max(1, n // 20_000)]
    centre = sample.mean(axis=0)
    axes = TruncatedSVD(2, random_state=0).fit(sample - centre).components_
    xy = (vectors_ @ axes.T.astype(vectors_.dtype)) - (centre @ axes.T)
    scale = np.abs(xy).max(axis=0)
    return xy / np.where(scale > 0, scale, 1)
