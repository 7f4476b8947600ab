"""Clustering free text into themes: features, a data-driven number of themes, fit and core,
phrases for labels, representatives, a map.

Features (measured on ../shared/datasets; bench/analytics_bench.py and tests/analytics):
- the meaning of the content words: the mean of their chiVe vectors, each word weighted by its
  TF-IDF and by how rare it is in Japanese at large (SIF: a / (a + p(word)), p from the
  vectors' frequency order), the texts' common direction taken away;
- the spelling: one LSA of character 1–3-gram TF-IDF (proper nouns, product names, the way a
  topic is written; analytics.chargrams makes it for all texts at once) beside content words
  and their neighbouring pairs (English intents differ by pairs of common words). Kept for
  Japanese too, at half the weight of the meaning.
Themes: up to GRAPH_UP_TO distinct texts, a k-nearest-neighbour graph of the texts and Louvain
communities (the best of several starts by modularity): the number of themes comes from the
data. A community too small to be a theme goes to 「その他」 (label -1). More texts: the
communities of an even sample give k and the starting centres of k-means on all. A k given by
staff: spectral clustering of the same graph at that k (k-means for many texts, or to start
from the last run's themes).
Texts of the other script (English among Japanese) are grouped apart, on their own features.
Each member's fit is the share of its nearest neighbours that are in its theme (0–1); the core,
the members a whole-theme answer selects, are those with fit >= CORE_FIT.
"""

from __future__ import annotations

import itertools
import math
import re
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans, MiniBatchKMeans, SpectralClustering
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize

from analytics import duplicates, vectors
from analytics.chargrams import CharGrams
from analytics.text import PART, content_words_many, japanese_share, normalise, unlinked

LSA_DIMENSIONS = 100
SVD_SAMPLE = 2_500  # texts the LSA axes are fitted on (an even sample); all are projected
MINI_BATCH_FROM = 10_000  # texts; below this, full k-means with several starts
FIT_SAMPLE = 5_000  # texts; k-means on more (below MINI_BATCH_FROM) fits on an even sample
SHARE_SAMPLE = 5_000  # texts the share of Japanese is measured on
FEW_STARTS_FROM = 3_000  # texts; above this, three starts of k-means rather than ten
KEYWORDS = 5
REPRESENTATIVES = 3
SPELLING_WEIGHT = 0.5  # of each spelling part beside the meaning, for Japanese texts
SIF = 1e-4  # the a of SIF's a / (a + p(word))
GRAPH_UP_TO = 2_000  # distinct texts grouped by the graph; more: its sample gives k
RESOLUTION = 1.5  # Louvain's: above 1, more and tighter themes
GRAPH_STARTS = 5  # Louvain runs, the one of best modularity kept ...
FEWER_STARTS_FROM = 500  # ... and from this many texts two (each costs ~0.4 s per 1,000)
K_SAMPLE = 1_000  # rows of the even sample whose communities give k for many texts
K_SAMPLE_STARTS = 1  # ... and its Louvain runs (the sample only sets the count and starts)
MIN_THEME = 3  # distinct texts a community needs to be a theme; smaller ones are 「その他」
CORE_FIT = 0.55  # fit from which a member is in its theme's core
SOFT_TEMPERATURE = 0.05  # fit from the centres (large inputs): softmax of cosine / this
SUMMARY_CHARACTERS = 60
OTHER = -1  # the label of a text in 「その他」


def choose_k(n: int) -> int:
    """About the cube root of the count, between 2 and 10: the finer level's count, and the
    fallback when there is no structure to go by."""
    if n < 2:
        return 1
    return max(2, min(10, round(n ** (1 / 3)), n))


@dataclass
class Features:
    vectors: np.ndarray  # (n, d) unit rows: what the grouping sees
    counts: sp.csr_matrix  # (n, phrases) phrase presence, for keywords
    words: np.ndarray  # the column names of counts (phrases as written)
    forms: dict[str, Counter] = field(default_factory=dict)  # how each lemma was written
    japanese: float = 0.0  # share of Japanese letters in the texts


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def _with_pairs(tokens: list[str]) -> list[str]:
    """Words and neighbouring pairs ("card arrive"): intents differ by pairs of common words."""
    return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]


def _unlinked(text: str) -> str:
    """The normalised text without addresses (a URL's letters are no topic)."""
    return unlinked(normalise(text))


class Featurizer:
    """Texts to unit vectors. Fitted on one set of texts, it puts new texts in the same space,
    so they can be placed into existing clusters at once (``Model.place``)."""

    def __init__(self) -> None:
        self.words: TfidfVectorizer | None = None
        self.table: np.ndarray | None = None  # SIF-weighted word vectors of the vocabulary
        self.mean: np.ndarray | None = None  # the common direction of the meaning part
        # character n-grams of the text, words and their pairs: (vectorizer, source)
        self.spelling: list[tuple[CharGrams | TfidfVectorizer, str]] = []
        self.svd: TruncatedSVD | None = None
        self.weights = (0.0, 0.0)  # of the meaning and of the spelling part
        self.japanese = 0.0

    def fit_transform(self, texts: list[str], phrases: list[list[str]] | None = None) -> Features:
        forms: dict[str, Counter] = {}
        # the words inside compounds count only up to CONTAINED_UP_TO texts (_phrase_counts)
        tokens = content_words_many(texts, forms, phrases, len(texts) <= CONTAINED_UP_TO)
        # the share of Japanese, from an even sample of at most SHARE_SAMPLE texts
        sample = texts[:: max(1, len(texts) // SHARE_SAMPLE)]
        self.japanese = japanese = float(np.mean([japanese_share(t) for t in sample]))
        word_tfidf = None
        if any(tokens):
            self.words = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, dtype=np.float32)
            word_tfidf = self.words.fit_transform(tokens)
            if japanese > 0:
                self.table = _sif_table(list(self.words.get_feature_names_out()))
        meaning_weight = math.sqrt(japanese) if self.table is not None else 0.0
        spelling_weight = max(SPELLING_WEIGHT, math.sqrt(1 - japanese)) if meaning_weight else 1.0
        sources = {"text": [_unlinked(t) for t in texts], "tokens": tokens}
        blocks = []
        for vectorizer, source in (
            (CharGrams(min_df=2 if len(texts) > SVD_SAMPLE else 1), "text"),
            (TfidfVectorizer(analyzer=_with_pairs, sublinear_tf=True, dtype=np.float32), "tokens"),
        ):
            try:
                blocks.append(vectorizer.fit_transform(sources[source]))
            except ValueError:  # nothing in it (no letters, no words)
                continue
            self.spelling.append((vectorizer, source))
        fitted = None
        if blocks:
            # one LSA of both: the axes where characters and words agree
            fitted = sp.hstack(blocks).tocsr()
            del blocks  # (as large as the stacked copy)
            dims = min(LSA_DIMENSIONS, fitted.shape[0] - 1, fitted.shape[1] - 1)
            if dims >= 1:
                self.svd = _lsa(fitted, dims)
            else:
                self.spelling, fitted = [], None
        self.weights = (meaning_weight, spelling_weight if self.spelling else 0.0)
        vectors_ = self._vectors(texts, tokens, word_tfidf, fitted)
        return Features(vectors_, *_phrase_counts(phrases, len(texts)), forms, japanese)

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

    def _vectors(self, texts, tokens, word_tfidf, fitted=None) -> np.ndarray:
        """The unit vectors; ``fitted``, the stacked spelling matrix when fitting made it.
        Both parts are written into one float32 array, ROWS rows at a time (100,000 texts
        × 400 dimensions is 160 MB a copy)."""
        n = len(texts)
        meaning_weight, spelling_weight = self.weights
        width = self.table.shape[1] if meaning_weight else 0
        lsa_width = self.svd.components_.shape[0] if spelling_weight else 0
        if not width + lsa_width:  # nothing to go by (empty or symbol-only texts): all alike
            return np.ones((n, 1), dtype=np.float32)
        out = np.empty((n, width + lsa_width), dtype=np.float32)
        if meaning_weight:
            meaning = out[:, :width]
            for at in range(0, n, ROWS):
                meaning[at : at + ROWS] = word_tfidf[at : at + ROWS] @ self.table
            _unit_rows(meaning)
            empty = ~meaning.any(axis=1)  # no known word: no meaning, not minus the mean
            if self.mean is None:  # (the empty rows are zero: the sum is the others')
                self.mean = meaning.sum(axis=0) / max(1, int((~empty).sum()))
            meaning -= self.mean
            meaning[empty] = 0
            _unit_rows(meaning)
            meaning *= meaning_weight
        if spelling_weight:
            if fitted is None:
                sources = {"text": [_unlinked(t) for t in texts], "tokens": tokens}
                stacked = [v.transform(sources[source]) for v, source in self.spelling]
                fitted = sp.hstack(stacked).tocsr()
            lsa = out[:, width:]
            for at in range(0, n, ROWS):
                lsa[at : at + ROWS] = self.svd.transform(fitted[at : at + ROWS])
            _unit_rows(lsa)
            lsa *= spelling_weight
        return _unit_rows(out)


def _lsa(matrix: sp.csr_matrix, dims: int) -> TruncatedSVD:
    """The LSA axes of ``matrix``, fitted on an even sample of at most SVD_SAMPLE rows. On a
    sample, only on the columns the sample holds (the others' axes would be zero: of a large
    run's 100,000 columns, most hold no n-gram of the sample, and each costs the fit time),
    put back in their place for all rows."""
    step = max(1, -(-matrix.shape[0] // SVD_SAMPLE))
    if step == 1:
        return TruncatedSVD(dims, random_state=0).fit(matrix)
    sample = matrix[::step]
    held = np.flatnonzero(sample.getnnz(axis=0))
    dims = max(1, min(dims, sample.shape[0] - 1, len(held) - 1))
    svd = TruncatedSVD(dims, random_state=0).fit(sample[:, held])
    axes = np.zeros((dims, matrix.shape[1]), dtype=svd.components_.dtype)
    axes[:, held] = svd.components_
    svd.components_ = axes
    svd.n_features_in_ = matrix.shape[1]
    return svd


#: rows of the features made at a time
ROWS = 10_000


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    """``matrix`` with each row scaled to unit length in place (a zero row stays zero); a
    view of a wider array too."""
    norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))
    norms[norms == 0] = 1
    matrix /= norms[:, None]
    return matrix


def _sif_table(words: list[str]) -> np.ndarray | None:
    """The word vectors of ``words``, each scaled by SIF's a / (a + p(word)): p from the
    word's place in chiVe's frequency order (Zipf), so common words (思う, 場所) weigh less
    than topic words (駐輪場) whatever the sample. None without vectors."""
    found = vectors.lookup_with_rank(words)
    if found is None:
        return None
    table, rank = found
    zipf = 1.0 / (np.arange(vectors.RANKED, dtype=np.float64) + 50)
    p = (1.0 / (rank.astype(np.float64) + 50)) / zipf.sum()
    return (table * (SIF / (SIF + p))[:, None]).astype(np.float32)


#: distinct texts up to which a phrase also counts for the texts that hold it inside a longer
#: one (カラス in カラス対策); more texts: exact phrases only (the count of lookups grows)
CONTAINED_UP_TO = 20_000


def _phrase_counts(phrases: list[list[str]] | None, n: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """Which text holds which phrase (each counted once a text). A phrase some resident wrote
    on its own (カラス) also counts for the texts that wrote it inside a longer one (カラス対策,
    カラスよけネット): the theme is named by what its texts share. A piece nobody wrote alone
    (自転 of 自転車) never counts."""
    if not phrases or not any(phrases):
        return sp.csr_matrix((n, 0)), np.array([], dtype=object)
    if n <= CONTAINED_UP_TO:
        known = {p for text in phrases for p in text if not p.startswith(PART)}
        phrases = [
            [p.removeprefix(PART) for p in text if not p.startswith(PART) or p[1:] in known]
            for text in phrases
        ]
    # (more texts: fit_transform found no words inside compounds)
    counter = CountVectorizer(analyzer=_identity, binary=True)
    counts = counter.fit_transform(phrases).tocsr()
    return counts, counter.get_feature_names_out()


@dataclass
class Cluster:
    id: int
    members: list[int]  # indices into the texts, best fit first
    keywords: list[str]  # phrases as residents wrote them, best first
    representatives: list[int]  # the distinct members closest to the centre
    density: float  # mean cosine similarity of the distinct members to their centre, 0–1
    duplicates: list[list[int]] = field(default_factory=list)  # groups of the same text
    children: list[Cluster] = field(default_factory=list)  # the finer level, if any
    fit: list[float] = field(default_factory=list)  # each member's fit (0–1), as members
    core: list[int] = field(default_factory=list)  # members with fit >= CORE_FIT
    summary: str = ""  # the most central sentence, in the residents' own words, trimmed

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def distinct(self) -> int:
        """Members, a group of the same text counted once."""
        return self.size - sum(len(g) - 1 for g in self.duplicates)

    @property
    def label(self) -> str:
        """The display name: the best two or three phrases."""
        return "・".join(
            self.keywords[:3] if len("".join(self.keywords[:3])) <= 24 else self.keywords[:2]
        )


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
    labels: np.ndarray  # the cluster id of each text; OTHER (-1) for 「その他」
    clusters: list[Cluster]
    coordinates: np.ndarray  # (n, 2), for a map
    k: int
    duplicates: list[list[int]] = field(default_factory=list)  # every group, largest first
    model: Model | None = None
    other: list[int] = field(default_factory=list)  # texts that fit no theme (「その他」)

    @property
    def coords(self) -> np.ndarray:
        """The map positions (the name the architecture's interface gives them)."""
        return self.coordinates


FINER_FROM = 12  # distinct texts a cluster needs to be split into a finer level
FINER_MAX = 5
FINER_STARTS = 2  # k-means starts inside a theme (a browsing aid: the top level gets ten)
FINER_SAMPLE = 2_000  # rows of a theme its finer level is fitted on (all are then placed)


def cluster_texts(
    texts: list[str],
    k: int | None = None,
    seed: int = 0,
    finer: bool = True,
    previous: list[int | None] | None = None,
    excluded: Callable[[str], bool] | None = None,
) -> Clustering:
    """Group ``texts`` (personal data already masked) into themes; their number comes from
    the data unless ``k`` is given. Texts that fit no theme get the label -1 (「その他」)
    and are in no cluster. With ``finer``, each large theme is split into 2–5 finer ones.

    ``previous``, for a re-run, gives each text's cluster id in the last run (None for a new
    text): with a given k and more texts than the graph takes, k-means then starts from those
    clusters, so a re-run moves as few texts as the new ones demand; either way
    ``stable_ids`` carries the ids (and the staff's work) over.
    ``excluded`` tells phrases that must never name a theme (the blocked words).

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
    distinct_texts = [texts[i] for i in distinct]
    phrases: list[list[str]] = []
    feats = featurizer.fit_transform(distinct_texts, phrases)
    del phrases  # counted into the features (a string per phrase: much of a large run's memory)
    level = _Level(feats, distinct, stand_in, same, seed, distinct_texts, excluded)
    everything = np.arange(len(distinct))
    data = feats.vectors
    graph = len(distinct) <= GRAPH_UP_TO
    init = _starting_centres(data, distinct, previous, k) if previous and k and not graph else None
    fit = None
    if k is None and len(distinct) > 1 and graph:
        # (a re-run needs no start from the last themes: stable_ids carries their ids over)
        found, fit = _by_script(distinct_texts, data, feats.japanese, seed)
    elif k is None and len(distinct) > 1:
        found = _sampled(data, seed)
    elif k and graph and k < len(distinct):
        found = _spectral(data, k, seed)
    else:
        found = _kmeans(data, k or 1, seed, init)
    clusters, centres = level.build(everything, found, fit=fit)
    if finer:
        for cluster in clusters:
            rows = level.rows_of(cluster)
            if len(rows) >= FINER_FROM:
                k_finer = min(FINER_MAX, choose_k(len(rows)))
                sub = _kmeans(data[rows], k_finer, seed, starts=FINER_STARTS, sample=FINER_SAMPLE)
                cluster.children, _ = level.build(rows, sub, finer=True)
    labels = np.full(n, OTHER, dtype=int)
    for cluster in clusters:
        labels[cluster.members] = cluster.id
    projection = _projection(data)
    rows = projection.apply(data) if projection else np.zeros((len(distinct), 2))
    featurizer.slim()
    return Clustering(
        labels,
        clusters,
        rows[level.row_of_text],
        len(clusters),
        same,
        Model(featurizer, centres, projection),
        np.flatnonzero(labels == OTHER).tolist(),
    )


#: a text's share of Japanese letters from which it is read as Japanese
JAPANESE_TEXT = 0.5


def _by_script(
    texts: list[str], data: np.ndarray, japanese: float, seed: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """The graph's themes, the texts of the other script grouped apart: English opinions
    among Japanese ones have no word vectors (chiVe is Japanese) and their character n-grams
    share nothing with Japanese, so in one graph they gather by language, whatever they are
    about (an answer to such a theme would reach residents on every topic). Grouped on their
    own features they make smaller themes of their own, whose fit, measured among them, is
    low where they share little, so they stay outside the cores for staff to read. Returns
    the labels and each text's fit, measured on the neighbour graph its themes came from."""
    own = np.array([japanese_share(t) >= JAPANESE_TEXT for t in texts])
    minority = ~own if japanese >= JAPANESE_TEXT else own
    if minority.sum() < MIN_THEME or (~minority).sum() < MIN_THEME:
        edges = _edges(data)
        found = _louvain(data, seed, edges=edges)
        return found, _share(*edges, found)
    found = np.full(len(texts), OTHER, dtype=int)
    fit = np.zeros(len(texts))
    offset = 0
    for part in (np.flatnonzero(~minority), np.flatnonzero(minority)):
        vectors_ = (
            data[part]
            if not minority[part[0]]
            else Featurizer().fit_transform([texts[i] for i in part]).vectors
        )
        edges = _edges(vectors_)
        labels = _louvain(vectors_, seed, edges=edges)
        found[part] = np.where(labels >= 0, labels + offset, OTHER)
        fit[part] = _share(*edges, labels)
        offset = int(found.max()) + 1
    return found, fit


def _graph_size(n: int) -> int:
    """Neighbours a text is joined to: about the square root of the count, 3 to 30."""
    return max(3, min(30, round(math.sqrt(n))))


def _edges(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The k-nearest-neighbour graph of the rows (unit vectors; at least two): each row's
    ``_graph_size`` nearest other rows and the weight of each edge, its cosine similarity
    (at least 0.01, so that every neighbour counts)."""
    similarity = data @ data.T
    np.fill_diagonal(similarity, -np.inf)
    count = min(_graph_size(len(data)), len(data) - 1)
    nearest = np.argpartition(-similarity, count - 1, axis=1)[:, :count]
    return nearest, np.maximum(np.take_along_axis(similarity, nearest, axis=1), 0.01)


def _share(nearest: np.ndarray, weights: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Each row's fit: the weighted share of its neighbours in its own cluster (0 in none)."""
    fit = (weights * (found[nearest] == found[:, None])).sum(axis=1) / weights.sum(axis=1)
    return np.where(found >= 0, np.clip(fit, 0.0, 1.0), 0.0)


def _louvain(
    data: np.ndarray,
    seed: int,
    starts: int | None = None,
    edges: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Communities of the k-nearest-neighbour graph (``edges``, made here when not given;
    Louvain, the best modularity of GRAPH_STARTS runs); those with fewer than MIN_THEME
    rows get OTHER."""
    n = len(data)
    if starts is None:
        starts = GRAPH_STARTS if n <= FEWER_STARTS_FROM else 2
    nearest, weights = edges if edges is not None else _edges(data)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    edges: dict[tuple[int, int], float] = {}
    for i, (row, weight) in enumerate(zip(nearest, weights, strict=True)):
        for j, w in zip(row.tolist(), weight.tolist(), strict=True):
            key = (i, j) if i < j else (j, i)
            edges[key] = edges.get(key, 0.0) + w  # a pair that chose each other counts twice
    graph.add_weighted_edges_from((i, j, w) for (i, j), w in edges.items())
    best, best_quality = None, -math.inf
    for start in range(starts):
        found = nx.community.louvain_communities(
            graph, weight="weight", resolution=RESOLUTION, seed=seed * GRAPH_STARTS + start
        )
        if starts == 1:
            best = found
            break
        quality = nx.community.modularity(graph, found, weight="weight", resolution=RESOLUTION)
        if quality > best_quality:
            best, best_quality = found, quality
    labels = np.full(n, OTHER, dtype=int)
    themes = sorted((sorted(c) for c in best if len(c) >= MIN_THEME), key=lambda c: (-len(c), c))
    for number, members in enumerate(themes):
        labels[members] = number
    return labels


def _spectral(data: np.ndarray, k: int, seed: int) -> np.ndarray:
    """``k`` clusters of the k-nearest-neighbour graph (spectral clustering): the count staff
    asked for, on the same neighbourhoods the themes come from."""
    n = len(data)
    nearest, weights = _edges(data)
    rows = np.repeat(np.arange(n), nearest.shape[1])
    affinity = sp.csr_matrix((weights.ravel(), (rows, nearest.ravel())), shape=(n, n))
    affinity = affinity + affinity.T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "graph is not fully connected"
        model = SpectralClustering(
            k, affinity="precomputed", random_state=seed, assign_labels="cluster_qr"
        )
        return model.fit_predict(affinity)


def _sampled(data: np.ndarray, seed: int) -> np.ndarray:
    """Many texts: the graph's communities of an even sample give the count and the starting
    centres; k-means on all rows from there."""
    step = -(-len(data) // K_SAMPLE)
    sample = data[::step]
    found = _louvain(sample, seed, K_SAMPLE_STARTS)
    k = int(found.max()) + 1
    if k < 2:
        return _kmeans(data, choose_k(len(data)), seed)
    init = normalize(np.vstack([sample[found == c].mean(axis=0) for c in range(k)]))
    return _kmeans(data, k, seed, init.astype(data.dtype), prefer_init=True)


def _kmeans(
    data: np.ndarray,
    k: int,
    seed: int,
    init: np.ndarray | None = None,
    starts: int = 10,
    prefer_init: bool = False,
    sample: int = FIT_SAMPLE,
) -> np.ndarray:
    """k-means labels (mini-batch for many rows). ``init``, the last run's clusters: kept
    when at least as tight as a fresh start, or always with ``prefer_init``."""
    k = max(1, min(k, len(data)))
    if k <= 1:
        return np.zeros(len(data), dtype=int)
    if init is not None and len(init) == k and prefer_init:
        if len(data) >= MINI_BATCH_FROM:
            model = MiniBatchKMeans(k, init=init, n_init=1, random_state=seed, batch_size=2048)
        else:
            model = KMeans(k, init=init, n_init=1, random_state=seed)
        return model.fit_predict(data)
    if len(data) >= MINI_BATCH_FROM and sample >= FIT_SAMPLE:
        model = MiniBatchKMeans(k, random_state=seed, n_init=3, batch_size=2048)
    else:  # fewer starts for the large ones: each start costs in proportion
        starts = starts if len(data) <= FEW_STARTS_FROM else min(starts, 3)
        model = KMeans(k, random_state=seed, n_init=starts)
    if sample < len(data) and (len(data) < MINI_BATCH_FROM or sample < FIT_SAMPLE):
        # the centres from an even sample, then every row to its nearest
        found = model.fit(data[:: -(-len(data) // sample)]).predict(data)
    else:
        found = model.fit_predict(data)
    if init is not None and len(init) == k:
        # the last run's clusters as the start: kept when at least as tight as a fresh
        # start (a start topped up with outliers can leave clusters of one text)
        warm = KMeans(k, init=init, n_init=1, random_state=seed).fit(data)
        fresh = -model.score(data)  # the inertia of the fresh start on every row
        if warm.inertia_ <= fresh * 1.0001:
            found = warm.labels_
    return found


class _Level:
    """Clusters of some rows of the features (distinct texts), with everything shown."""

    def __init__(
        self, feats: Features, distinct, stand_in, same, seed: int, texts, excluded
    ) -> None:
        self.feats, self.distinct, self.stand_in, self.same, self.seed = (
            feats,
            distinct,
            stand_in,
            same,
            seed,
        )
        self.texts, self.excluded = texts, excluded  # the distinct texts, by row
        position = np.full(len(stand_in), -1)
        position[distinct] = np.arange(len(distinct))
        self.row_of_text = position[stand_in]  # each text's row: its own or its stand-in's

    def rows_of(self, cluster: Cluster) -> np.ndarray:
        members = np.array(cluster.members, dtype=int)
        return np.unique(self.row_of_text[members])

    def build(
        self,
        rows: np.ndarray,
        found: np.ndarray,
        finer: bool = False,
        fit: np.ndarray | None = None,
    ) -> tuple[list[Cluster], np.ndarray]:
        """The clusters of ``rows`` labelled ``found`` (OTHER: in none), and their centres;
        ``fit``, each row's fit when the grouping measured it (else from the neighbours)."""
        data = self.feats.vectors[rows]
        # number the clusters that have members (identical texts can leave one empty)
        kept = found >= 0
        _, renumbered = np.unique(found[kept], return_inverse=True)
        found = np.full(len(rows), OTHER, dtype=int)
        found[kept] = renumbered
        k = int(found.max()) + 1
        if k == 0:
            return [], np.zeros((0, data.shape[1]), dtype=data.dtype)
        centres = normalize(np.vstack([data[found == c].mean(axis=0) for c in range(k)]))
        similarity = data @ centres.T
        closeness = np.where(kept, similarity[np.arange(len(rows)), np.maximum(found, 0)], 0)
        fit = self._fit(data, found, similarity) if fit is None else np.where(kept, fit, 0.0)
        keywords = _keywords(self.feats, rows, found, k, self.excluded)
        # every text follows its stand-in (copies go where their group's first went)
        local = np.full(len(self.distinct), -1)
        local[rows] = np.arange(len(rows))
        at_all = local[self.row_of_text]
        texts = np.flatnonzero(at_all >= 0)
        at = at_all[texts]
        clusters = []
        for c in range(k):
            inside = found[at] == c
            members, member_fit = texts[inside], fit[at[inside]]
            # best fit first, then nearest the centre
            order = np.lexsort((-closeness[at[inside]], -np.round(member_fit, 6)))
            members, member_fit = members[order], member_fit[order]
            own = np.flatnonzero(found == c)
            own = own[np.argsort(-closeness[own], kind="stable")]
            member_set = set(members.tolist())
            clusters.append(
                Cluster(
                    id=c,
                    members=members.tolist(),
                    keywords=keywords[c],
                    representatives=self.distinct[rows[own[:REPRESENTATIVES]]].tolist(),
                    density=float(closeness[own].mean()),
                    duplicates=[g for g in self.same if g[0] in member_set],
                    fit=[round(float(f), 4) for f in member_fit],
                    core=members[member_fit >= CORE_FIT].tolist(),
                    summary=""
                    if finer
                    else self._summary(rows[own[:REPRESENTATIVES]], keywords[c]),
                )
            )
        return clusters, centres

    @staticmethod
    def _fit(data: np.ndarray, found: np.ndarray, similarity: np.ndarray) -> np.ndarray:
        """Each row's fit to its cluster: the similarity-weighted share of its nearest
        neighbours in the same cluster; for many rows, the softmax of its similarity to the
        centres (the neighbours would cost the square of the count)."""
        n = len(data)
        if n < 2:
            return np.ones(n)
        if n <= GRAPH_UP_TO:
            return _share(*_edges(data), found)
        scaled = similarity / SOFT_TEMPERATURE
        scaled -= scaled.max(axis=1, keepdims=True)
        soft = np.exp(scaled)
        fit = soft[np.arange(n), np.maximum(found, 0)] / soft.sum(axis=1)
        return np.where(found >= 0, np.clip(fit, 0.0, 1.0), 0.0)

    def _summary(self, rows: np.ndarray, keywords: list[str]) -> str:
        """The sentence of the most central texts that holds most of the theme's phrases,
        trimmed: the residents' own words, nothing made up."""
        best, best_score = "", -1
        for rank, row in enumerate(rows.tolist()):
            for sentence in SENTENCE.split(self.texts[row]):
                sentence = " ".join(sentence.split())
                if len(sentence) < 4:
                    continue
                score = sum(k in sentence for k in keywords[:3]) * 10 - rank
                if score > best_score:
                    best, best_score = sentence, score
        if len(best) > SUMMARY_CHARACTERS:
            best = best[: SUMMARY_CHARACTERS - 1].rstrip() + "…"
        return best


SENTENCE = re.compile(r"(?<=[。！？!?\n])|(?<=\.)\s+")


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


#: Latin pieces that are never a topic even outside an address
NOT_TOPICS = frozenset({"http", "https", "www", "com", "org", "net", "html", "example", "url"})
#: nouns that name no topic on their own (when, where, worry, asking): kept in the features
#: and inside compounds (駐輪場所), never a theme's name alone
_WEAK = """
場所 時間 うち 心配 相談 情報 利用 説明 連絡 近く 近所 地域 大変 理由 確認 方法 予定
機会 今年 去年 来年 週末 平日 夜 朝 昼 夕方 夏 冬 春 秋 毎年 毎週 家 自宅 一人 人たち
みなさん 子 意見 要望 改善 検討 不安 迷惑 不便 困難 一緒 回数 全体 事情 各地区
people city ward residents resident know add near make need use really lot time day
"""
WEAK = frozenset(_WEAK.split())


def _keywords(
    feats: Features,
    rows: np.ndarray,
    labels: np.ndarray,
    k: int,
    excluded: Callable[[str], bool] | None = None,
) -> list[list[str]]:
    """Class-based TF-IDF of phrases: those many texts of a cluster hold and few others do;
    a phrase held by one text only is used when nothing better is there. Phrases that
    contain a better one's words (駐輪場 and 駅の駐輪場) are not repeated."""
    counts = feats.counts[rows]
    if not counts.shape[1] or k == 0:
        return [[] for _ in range(k)]
    kept = labels >= 0
    onehot = sp.csr_matrix(
        (np.ones(int(kept.sum())), (labels[kept], np.flatnonzero(kept))), (k, len(labels))
    )
    per_cluster = np.asarray((onehot @ counts).todense(), dtype=float)
    sizes = np.maximum(np.bincount(labels[kept], minlength=k), 1)[:, None]
    tf = per_cluster / sizes
    everywhere = np.asarray(counts.sum(axis=0)).ravel()
    idf = np.log1p(len(rows) / np.maximum(everywhere, 1))
    scores = tf * idf
    # a phrase of a single text is a weak name: behind every phrase two or more texts share
    scores[per_cluster < 2] *= 0.1
    out = []
    for c in range(k):
        chosen: list[str] = []
        for i in np.argsort(-scores[c], kind="stable"):
            if len(chosen) == KEYWORDS or scores[c, i] <= 0:
                break
            phrase = str(feats.words[i])
            if phrase.lower() in NOT_TOPICS or phrase in WEAK or phrase.lower() in WEAK:
                continue
            if excluded is not None and excluded(phrase):
                continue
            if any(phrase in other or other in phrase for other in chosen):
                continue
            chosen.append(phrase)
        out.append(chosen)
    return out


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
        if key in previous and label >= 0:  # 「その他」 (-1) is no cluster
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
