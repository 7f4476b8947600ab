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
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize

from analytics import duplicates, vectors
from analytics.text import content_words_many, japanese_share, normalise

LSA_DIMENSIONS = 100
MINI_BATCH_FROM = 10_000  # texts; below this, full k-means with several starts
FIT_SAMPLE = 5_000  # texts; k-means on more (below MINI_BATCH_FROM) fits on an even sample
SHARE_SAMPLE = 5_000  # texts the share of Japanese is measured on
FEW_STARTS_FROM = 3_000  # texts; above this, three starts of k-means rather than ten
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


class Featurizer:
    """Texts to unit vectors. Fitted on one set of texts, it puts new texts in the same space,
    so they can be placed into existing clusters at once (``Model.place``)."""

    def __init__(self) -> None:
        self.words: TfidfVectorizer | None = None
        self.table: np.ndarray | None = None  # word vectors of the fitted vocabulary
        # character n-grams of the normalised text, word pairs of the tokens
        self.spelling: list[tuple[TfidfVectorizer, str]] = []
        self.svd: TruncatedSVD | None = None
        self.weights = (0.0, 0.0)  # of the meaning and of the spelling parts
        self.japanese = 0.0

    def fit_transform(self, texts: list[str]) -> Features:
        forms: dict[str, Counter] = {}
        tokens = content_words_many(texts, forms)
        counter = CountVectorizer(analyzer=_identity)
        if any(tokens):
            counts = counter.fit_transform(tokens).tocsr()
            words = counter.get_feature_names_out()
        else:
            counts, words = sp.csr_matrix((len(texts), 0)), np.array([], dtype=object)
        # the share of Japanese, from an even sample of at most SHARE_SAMPLE texts
        sample = texts[:: max(1, len(texts) // SHARE_SAMPLE)]
        self.japanese = japanese = float(np.mean([japanese_share(t) for t in sample]))
        word_tfidf = None
        if counts.shape[1]:
            self.words = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, dtype=np.float32)
            word_tfidf = self.words.fit_transform(tokens)
            table = vectors.lookup(list(self.words.get_feature_names_out()))
            if table is not None and japanese > 0:
                self.table = table
        meaning_weight = math.sqrt(japanese) if self.table is not None else 0.0
        # on (almost) all-Japanese texts the spelling adds nothing the meaning has not (and
        # costs most of the time): it is for English and mixed texts
        both = None
        if japanese < JAPANESE_ONLY or self.table is None:
            blocks = []
            character = TfidfVectorizer(
                analyzer="char_wb", ngram_range=(2, 4), min_df=2, sublinear_tf=True
            )
            pairs = TfidfVectorizer(analyzer=_with_pairs, sublinear_tf=True)
            sources = {"text": [normalise(t) for t in texts], "tokens": tokens}
            for vectorizer, source in ((character, "text"), (pairs, "tokens")):
                try:
                    blocks.append(vectorizer.fit_transform(sources[source]))
                except ValueError:  # nothing in it (no n-gram in two texts, no words)
                    continue
                self.spelling.append((vectorizer, source))
            if blocks:
                both = sp.hstack(blocks).tocsr()
                dims = min(LSA_DIMENSIONS, both.shape[0] - 1, both.shape[1] - 1)
                if dims >= 1:
                    self.svd = TruncatedSVD(dims, random_state=0).fit(both)
            if self.svd is None:
                self.spelling, both = [], None
        spelling_weight = (math.sqrt(1 - japanese) if meaning_weight else 1.0) if self.svd else 0
        self.weights = (meaning_weight, spelling_weight)
        vectors_ = self._vectors(texts, tokens, word_tfidf, both)
        return Features(vectors_, counts, words, forms, japanese)

    def slim(self) -> None:
        """Drop what only fitting needed (the n-grams min_df left out can be most of the
        vectorizer), so the model pickles small."""
        for vectorizer, _source in self.spelling:
            if hasattr(vectorizer, "stop_words_"):
                vectorizer.stop_words_ = None

    def transform(self, texts: list[str]) -> np.ndarray:
        tokens = content_words_many(texts)
        word_tfidf = self.words.transform(tokens) if self.words is not None else None
        return self._vectors(texts, tokens, word_tfidf)

    def _vectors(self, texts, tokens, word_tfidf, spelling=None) -> np.ndarray:
        """The unit vectors; ``spelling``, the stacked n-gram matrix when fitting made it."""
        parts = []
        meaning_weight, spelling_weight = self.weights
        if meaning_weight:
            # float32 and in place: 100,000 texts × 300 dimensions is 120 MB a copy
            meaning = normalize(np.asarray(word_tfidf @ self.table), copy=False)
            meaning *= meaning_weight
            parts.append(meaning)
        if spelling_weight:
            if spelling is None:
                sources = {"text": [normalise(t) for t in texts], "tokens": tokens}
                stacked = [v.transform(sources[source]) for v, source in self.spelling]
                spelling = sp.hstack(stacked).tocsr()
            lsa = normalize(self.svd.transform(spelling).astype(np.float32), copy=False)
            lsa *= spelling_weight
            parts.append(lsa)
        if not parts:  # nothing to go by (empty or symbol-only texts): all alike
            parts.append(np.ones((len(texts), 1), dtype=np.float32))
        joined = parts[0] if len(parts) == 1 else np.hstack(parts)
        return normalize(joined, copy=False)


@dataclass
class Cluster:
    id: int
    members: list[int]  # indices into the texts, closest to the centre first
    keywords: list[str]
    representatives: list[int]  # the distinct members closest to the centre
    density: float  # mean cosine similarity of the distinct members to their centre, 0–1
    duplicates: list[list[int]] = field(default_factory=list)  # groups of the same text
    children: list[Cluster] = field(default_factory=list)  # the finer level, if any

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
class Model:
    """What places new texts into the clusters (and on the map) at once, until the next full
    run. It pickles: the jobs process stores it with the run and loads it to place new texts."""

    featurizer: Featurizer
    centres: np.ndarray  # (k, d) unit rows, one per cluster, in cluster order
    projection: Projection | None = None  # the map's axes, None when the map is all zeros

    def scores(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The cosine similarity of each text to each centre (n, k), and its map position."""
        if not texts:
            return np.zeros((0, len(self.centres))), np.zeros((0, 2))
        vectors_ = self.featurizer.transform(texts)
        where = (
            self.projection.apply(vectors_)
            if self.projection is not None
            else np.zeros((len(texts), 2))
        )
        return vectors_ @ self.centres.T, where

    def place(self, texts: list[str]) -> np.ndarray:
        """The cluster (index into Clustering.clusters) nearest to each text."""
        if not texts:
            return np.array([], dtype=int)
        return np.argmax(self.scores(texts)[0], axis=1)

    def typical(self, texts: list[str], top: int = 3, at_least: float = 0.5) -> list[list[int]]:
        """For each cluster, the texts (indices) closest to its centre, best first: at most
        ``top``, each at least ``at_least`` similar (earlier answers to suggest, say)."""
        similarity, _ = self.scores(texts)
        out = []
        for c in range(len(self.centres)):
            column = similarity[:, c]
            best = np.argsort(-column, kind="stable")[:top]
            out.append([int(i) for i in best if column[i] >= at_least])
        return out


@dataclass
class Projection:
    """The map: the two main axes of the feature space, and the scale to −1…1."""

    axes: np.ndarray  # (2, d)
    centre: np.ndarray  # (2,), the mean's position, subtracted
    scale: np.ndarray  # (2,)

    def apply(self, vectors_: np.ndarray) -> np.ndarray:
        xy = (vectors_ @ self.axes.T.astype(vectors_.dtype)) - self.centre
        return np.clip(xy / self.scale, -1.0, 1.0)


@dataclass
class Clustering:
    labels: np.ndarray  # the cluster id of each text
    clusters: list[Cluster]
    coordinates: np.ndarray  # (n, 2), for a map
    k: int
    duplicates: list[list[int]] = field(default_factory=list)  # every group, largest first
    model: Model | None = None

    @property
    def coords(self) -> np.ndarray:
        """The map positions (the name the architecture's interface gives them)."""
        return self.coordinates


FINER_FROM = 12  # distinct texts a cluster needs to be split into a finer level
FINER_MAX = 5
FINER_STARTS = 3  # k-means starts inside a theme (a browsing aid: the top level gets ten)


def cluster_texts(
    texts: list[str],
    k: int | None = None,
    seed: int = 0,
    finer: bool = True,
    previous: list[int | None] | None = None,
) -> Clustering:
    """Group ``texts`` (personal data already masked) into ``k`` themes (default choose_k),
    and each theme into 2–5 finer ones when ``finer`` and it is large enough.

    ``previous``, for a re-run, gives each text's cluster id in the last run (None for a new
    text): k-means then starts from those clusters, so a re-run moves as few texts as the
    new ones demand and ``stable_ids`` can carry the ids (and the staff's work) over.

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
    featurizer = Featurizer()
    feats = featurizer.fit_transform([texts[i] for i in distinct])
    level = _Level(feats, distinct, stand_in, same, seed)
    k = k or choose_k(len(distinct))
    init = _starting_centres(feats.vectors, distinct, previous, k) if previous else None
    clusters, centres = level.split(np.arange(len(distinct)), k, init)
    if finer:
        for cluster in clusters:
            rows = level.rows_of(cluster)
            if len(rows) >= FINER_FROM:
                k_finer = min(FINER_MAX, choose_k(len(rows)))
                cluster.children, _ = level.split(rows, k_finer, starts=FINER_STARTS)
    labels = np.empty(n, dtype=int)
    for cluster in clusters:
        labels[cluster.members] = cluster.id
    projection = _projection(feats.vectors)
    rows = projection.apply(feats.vectors) if projection else np.zeros((len(distinct), 2))
    featurizer.slim()
    return Clustering(
        labels,
        clusters,
        rows[level.row_of_text],
        len(clusters),
        same,
        Model(featurizer, centres, projection),
    )


class _Level:
    """Clusters of some rows of the features (distinct texts), with everything shown."""

    def __init__(self, feats: Features, distinct, stand_in, same, seed: int) -> None:
        self.feats, self.distinct, self.stand_in, self.same, self.seed = (
            feats,
            distinct,
            stand_in,
            same,
            seed,
        )
        position = np.full(len(stand_in), -1)
        position[distinct] = np.arange(len(distinct))
        self.row_of_text = position[stand_in]  # each text's row: its own or its stand-in's

    def rows_of(self, cluster: Cluster) -> np.ndarray:
        members = np.array(cluster.members, dtype=int)
        return np.unique(self.row_of_text[members])

    def split(
        self, rows: np.ndarray, k: int, init: np.ndarray | None = None, starts: int = 10
    ) -> tuple[list[Cluster], np.ndarray]:
        data = self.feats.vectors[rows]
        k = max(1, min(k, len(rows)))
        if len(rows) >= MINI_BATCH_FROM:
            model = MiniBatchKMeans(k, random_state=self.seed, n_init=3, batch_size=2048)
        else:  # fewer starts for the large ones: each start costs in proportion
            starts = starts if len(rows) <= FEW_STARTS_FROM else min(starts, 3)
            model = KMeans(k, random_state=self.seed, n_init=starts)
        if k <= 1:
            found = np.zeros(len(rows), dtype=int)
        elif FIT_SAMPLE < len(rows) < MINI_BATCH_FROM:
            # the centres from an even sample, then every row to its nearest
            found = model.fit(data[:: -(-len(rows) // FIT_SAMPLE)]).predict(data)
        else:
            found = model.fit_predict(data)
        if k > 1 and init is not None and len(init) == k:
            # the last run's clusters as the start: kept when at least as tight as a fresh
            # start (a start topped up with outliers can leave clusters of one text)
            warm = KMeans(k, init=init, n_init=1, random_state=self.seed).fit(data)
            fresh = -model.score(data)  # the inertia of the fresh start on every row
            if warm.inertia_ <= fresh * 1.0001:
                found = warm.labels_
        # identical texts can leave a cluster empty: number the clusters that have members
        _, found = np.unique(found, return_inverse=True)
        k = int(found.max()) + 1
        centres = normalize(np.vstack([data[found == c].mean(axis=0) for c in range(k)]))
        similarity = np.einsum("ij,ij->i", data, centres[found])
        keywords = _keywords(self.feats, rows, found, k)
        # every text follows its stand-in (copies go where their group's first went)
        local = np.full(len(self.distinct), -1)
        local[rows] = np.arange(len(rows))
        at_all = local[self.row_of_text]
        texts = np.flatnonzero(at_all >= 0)
        at = at_all[texts]
        clusters = []
        for c in range(k):
            inside = found[at] == c
            members, closeness = texts[inside], similarity[at[inside]]
            members = members[np.argsort(-closeness, kind="stable")]
            own = np.flatnonzero(found == c)
            own = own[np.argsort(-similarity[own], kind="stable")]
            member_set = set(members.tolist())
            clusters.append(
                Cluster(
                    id=c,
                    members=members.tolist(),
                    keywords=keywords[c],
                    representatives=self.distinct[rows[own[:REPRESENTATIVES]]].tolist(),
                    density=float(similarity[own].mean()),
                    duplicates=[g for g in self.same if g[0] in member_set],
                )
            )
        return clusters, centres


def _starting_centres(
    vectors_: np.ndarray, distinct: np.ndarray, previous: list[int | None], k: int
) -> np.ndarray | None:
    """The last run's clusters, seen in this run's features: the mean vector of the texts each
    held (the largest k of them), topped up with the texts farthest from those."""
    groups: dict[int, list[int]] = {}
    for row, text in enumerate(distinct):
        old = previous[text] if text < len(previous) else None
        if old is not None:
            groups.setdefault(old, []).append(row)
    if not groups or k > len(vectors_):
        return None
    largest = sorted(groups.values(), key=len, reverse=True)[:k]
    centres = [vectors_[rows].mean(axis=0) for rows in largest]
    while len(centres) < k:
        nearest = (vectors_ @ np.vstack(centres).T).max(axis=1)
        centres.append(vectors_[int(np.argmin(nearest))])
    return normalize(np.vstack(centres)).astype(vectors_.dtype)


def _keywords(feats: Features, rows: np.ndarray, labels: np.ndarray, k: int) -> list[list[str]]:
    """Class-based TF-IDF: words frequent in a cluster and rare in the others."""
    counts = feats.counts[rows]
    if not counts.shape[1]:
        return [[] for _ in range(k)]
    onehot = sp.csr_matrix(
        (np.ones(len(labels)), (labels, np.arange(len(labels)))), (k, len(labels))
    )
    per_cluster = np.asarray((onehot @ counts).todense(), dtype=float)
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


def _projection(vectors_: np.ndarray) -> Projection | None:
    """The map's 2-D axes (PCA's two main axes, scaled to −1…1); None for tiny inputs."""
    n, d = vectors_.shape
    if n < 3 or d < 2:
        return None
    # from a sample for large inputs (the axes settle long before)
    sample = vectors_[:: max(1, n // 20_000)]
    mean = sample.mean(axis=0)
    axes = TruncatedSVD(2, random_state=0).fit(sample - mean).components_
    xy = (vectors_ @ axes.T.astype(vectors_.dtype)) - (mean @ axes.T)
    scale = np.abs(xy).max(axis=0)
    return Projection(axes, mean @ axes.T, np.where(scale > 0, scale, 1))


def stable_ids(
    previous: dict[object, int], keys: list[object], labels: np.ndarray, min_overlap: float = 0.3
) -> list[int]:
    """The ids of the new clusters, continuing the old ones, so staff work is not lost.

    ``previous`` maps each text (by a key of the caller's, an opinion id say) to its old
    cluster id; ``keys`` and ``labels`` are this run's texts and clusters. New and old
    clusters are matched one to one (Hungarian method) on the Jaccard overlap of the texts
    both runs saw; a match needs ``min_overlap``. Unmatched new clusters get fresh ids.
    Returns the id of each new cluster, indexed by its label.
    """
    k = int(labels.max()) + 1 if len(labels) else 0
    old_ids = sorted(set(previous.values()))
    if not k or not old_ids:
        start = max(old_ids, default=-1) + 1
        return list(range(start, start + k))
    column = {old: j for j, old in enumerate(old_ids)}
    shared = np.zeros((k, len(old_ids)))
    new_size = np.zeros(k)
    old_size = np.zeros(len(old_ids))
    for key, label in zip(keys, labels, strict=True):
        if key in previous:
            j = column[previous[key]]
            shared[label, j] += 1
            new_size[label] += 1
            old_size[j] += 1
    union = new_size[:, None] + old_size[None, :] - shared
    overlap = np.divide(shared, union, out=np.zeros_like(shared), where=union > 0)
    rows, cols = linear_sum_assignment(-overlap)
    ids: list[int | None] = [None] * k
    for r, c in zip(rows, cols, strict=True):
        if overlap[r, c] >= min_overlap:
            ids[r] = old_ids[c]
    fresh = max(old_ids) + 1
    for r in range(k):
        if ids[r] is None:
            ids[r] = fresh
            fresh += 1
    return ids
