"""Clustering quality on real labelled text (issue 18): at the library's own k on
consultation-sized samples (AMI, five seeds), at the true k on whole sets (NMI, three seeds,
never below the plain char n-gram pipeline), labels that read as topics, fit and core.

The figures measured on this machine are in the comments.
"""

from __future__ import annotations

import csv
import random
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_mutual_info_score, normalized_mutual_info_score
from sklearn.preprocessing import normalize

from analytics import cluster_texts
from analytics.cluster import CORE_FIT, NOT_TOPICS, OTHER
from analytics.text import content_words
from moderation import tagging

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"


def rows(relative: str, delimiter: str) -> tuple[list[str], list[str]]:
    path = DATASETS / relative
    if not path.exists():
        pytest.fail(f"{path} is missing: the datasets live in ../shared beside the project")
    with path.open(encoding="utf-8", newline="") as handle:
        data = list(csv.DictReader(handle, delimiter=delimiter))
    return [r["text"] for r in data], [r["category"] for r in data]


def sib200() -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for split in ("train", "dev", "test"):
        t, lab = rows(f"sib200/jpn_Jpan/{split}.tsv", "\t")
        texts += t
        labels += lab
    return texts, labels


def plain(texts: list[str], k: int, seed: int) -> np.ndarray:
    """The plain pipeline the issue measures against: char 1–3-gram TF-IDF, LSA 100, k-means."""
    matrix = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    x = matrix.fit_transform(texts)
    dims = min(100, x.shape[0] - 1, x.shape[1] - 1)
    reduced = normalize(TruncatedSVD(dims, random_state=seed).fit_transform(x))
    return KMeans(k, n_init=10, random_state=seed).fit_predict(reduced)


def mean_nmi(texts: list[str], truth: list[str], pipeline=None) -> float:
    k = len(set(truth))
    pipeline = pipeline or (lambda t, k, seed: cluster_texts(t, k=k, seed=seed).labels)
    scores = [normalized_mutual_info_score(truth, pipeline(texts, k, seed)) for seed in range(3)]
    return sum(scores) / len(scores)


@pytest.mark.parametrize(
    ("name", "load", "target"),
    [
        # measured 0.455; the plain pipeline 0.075
        ("resident-voices", lambda: rows("resident-voices/voices.tsv", "\t"), 0.40),
        # measured 0.466; plain 0.130
        ("sib200-jpn", sib200, 0.45),
        # measured 0.674; plain 0.653
        ("banking77-test", lambda: rows("banking77/test.csv", ","), 0.66),
    ],
)
def test_nmi_at_the_true_k_beats_the_target_and_the_plain_pipeline(name, load, target):
    texts, truth = load()
    ours = mean_nmi(texts, truth)
    assert ours >= target
    assert ours >= mean_nmi(texts, truth, plain)


def samples(size: int, seeds: int = 5):
    """Consultation-sized random samples of resident-voices: (texts, topics, seed)."""
    texts, truth = rows("resident-voices/voices.tsv", "\t")
    for seed in range(seeds):
        chosen = random.Random(seed).sample(range(len(texts)), size)
        yield [texts[i] for i in chosen], np.array([truth[i] for i in chosen]), seed


@pytest.mark.parametrize(
    ("size", "target"),
    # measured 0.392, 0.373 and 0.455 (k came out 6–7, 7–10 and 13–15; the count alone
    # gave 3, 5 and 7 and AMI 0.28, 0.23 and 0.31)
    [(40, 0.30), (100, 0.35), (300, 0.40)],
)
def test_ami_at_the_librarys_own_k_on_consultation_sized_samples(size, target):
    scores = [
        adjusted_mutual_info_score(truth, cluster_texts(texts, seed=seed).labels)
        for texts, truth, seed in samples(size)
    ]
    assert sum(scores) / len(scores) >= target


def core_figures(result, truth: np.ndarray) -> tuple[float, float]:
    """The share of the cores outside their theme's main topic, and the share of all texts
    the cores hold."""
    wrong = held = 0
    for cluster in result.clusters:
        topics, counts = np.unique(truth[cluster.members], return_counts=True)
        main = topics[counts.argmax()]
        held += len(cluster.core)
        wrong += int((truth[cluster.core] != main).sum())
    return wrong / max(held, 1), held / len(truth)


def test_a_whole_theme_answer_reaches_mostly_the_residents_it_fits():
    """300 opinions (five samples): at most a quarter of the cores is off the theme's main
    topic, and the cores hold at least half the opinions. Measured 0.21 and 0.56 (at 100:
    0.30 and 0.57; at 40: 0.40 and 0.67, short of the target; every member: 0.33)."""
    figures = [core_figures(cluster_texts(t, seed=s), y) for t, y, s in samples(300)]
    outside = sum(f[0] for f in figures) / len(figures)
    held = sum(f[1] for f in figures) / len(figures)
    assert outside <= 0.25
    assert held >= 0.5


def test_fit_and_core_are_consistent():
    texts, _ = rows("resident-voices/voices.tsv", "\t")
    result = cluster_texts(texts[:200])
    for cluster in result.clusters:
        assert len(cluster.fit) == cluster.size
        assert all(0.0 <= f <= 1.0 for f in cluster.fit)
        assert cluster.fit == sorted(cluster.fit, reverse=True)  # best fit first
        fit = dict(zip(cluster.members, cluster.fit, strict=True))
        assert set(cluster.core) <= set(cluster.members)
        assert all(fit[i] >= CORE_FIT for i in cluster.core)
        assert all(fit[i] < CORE_FIT for i in set(cluster.members) - set(cluster.core))


def words_of(text: str) -> list[tuple[int, int, str]]:
    """MeCab's words of ``text``: (start, end, part of speech in context)."""
    out, at = [], 0
    with tagging.tagger() as tagger:  # (a Tagger each time would keep 4 MB each)
        for word in tagger(text):
            at = text.index(word.surface, at)
            out.append((at, at + len(word.surface), word.feature.pos1))
            at += len(word.surface)
    return out


def assert_phrase_reads_as_a_topic(phrase: str, members: list[str]) -> None:
    assert phrase.lower() not in NOT_TOPICS, phrase
    # exactly as some resident wrote it, never cut inside a word (自転 of 自転車), and in
    # that text never a bare verb or adjective: a verb comes only after a noun and を
    for text in (unicodedata.normalize("NFKC", m) for m in members):
        start = text.find(phrase)
        while start >= 0:
            end = start + len(phrase)
            words = [w for w in words_of(text) if w[0] < end and w[1] > start]
            if words and words[0][0] == start and words[-1][1] == end:
                pos = [p for _, _, p in words]
                assert pos[0] not in ("動詞", "形容詞", "助詞", "助動詞", "補助記号"), (phrase, pos)
                if "動詞" in pos or "形容詞" in pos:
                    assert "を" in phrase and pos[-1] == "動詞", (phrase, pos)
                return
            start = text.find(phrase, start + 1)
    raise AssertionError(f"{phrase!r} is not a whole phrase of any of its theme's texts")


@pytest.mark.parametrize(
    "load",
    [
        lambda: rows("resident-voices/voices.tsv", "\t")[0],
        lambda: sib200()[0],
        lambda: rows("banking77/test.csv", ",")[0][:1500],
        lambda: next(samples(40))[0],
    ],
    ids=["resident-voices", "sib200-jpn", "banking77", "sample-40"],
)
def test_labels_read_as_topics(load):
    """Every keyword of every theme is a phrase as residents wrote it: a compound noun or a
    noun–を–verb phrase, never a bare verb, a cut word or a piece of an address."""
    texts = load()
    result = cluster_texts(texts)
    for cluster in result.clusters:
        members = [texts[i] for i in cluster.members]
        assert cluster.keywords, f"cluster {cluster.id} has no keywords"
        assert cluster.label == "・".join(cluster.keywords[: len(cluster.label.split("・"))])
        for phrase in cluster.keywords:
            assert_phrase_reads_as_a_topic(phrase, members)
        # the summary is a resident's sentence of the theme, trimmed, nothing made up
        summary = cluster.summary.removesuffix("…")
        assert summary and any(summary in " ".join(m.split()) for m in members), summary


def test_links_and_blocked_words_never_name_a_theme():
    link = "詳しくは https://www.example.com/gomi と example.org を見てください。"
    texts = [
        f"集積所のカラス対策をお願いします。{link}",
        f"カラスが集積所のごみを散らかします。{link}",
        f"集積所にカラスよけのネットを。{link}",
        "ネズミを殺す薬を集積所にまいてほしい",
        "ネズミを殺す業者を呼んでください",
        "ネズミを殺す方法を教えて",
        "公園のベンチを増やしてほしい",
        "公園にベンチがもっとほしい",
        "公園のベンチが壊れています",
    ]
    result = cluster_texts(texts, excluded=lambda phrase: "殺す" in phrase)
    keywords = [w for c in result.clusters for w in c.keywords]
    assert keywords
    for word in keywords:
        assert "殺す" not in word
        assert not {"com", "https", "www", "example", "org"} & set(word.lower().split())
    assert "ベンチ" in keywords or "公園" in keywords


@pytest.mark.parametrize(
    "link",
    [
        "https://example.com/a",
        "（https://www.example.com/b?x=1）",
        "ｈｔｔｐｓ：／／ｅｘａｍｐｌｅ．ｃｏｍ／ｃ",
        "example.tokyo/d",
        "city.example.lg.jp",
        "koe@example.jp",
    ],
)
def test_no_piece_of_a_link_is_a_word_or_phrase(link):
    from analytics.text import content_words

    phrases: list[str] = []
    words = content_words(f"公園にベンチを増やしてほしい。参考 {link} です", phrases=phrases)
    pieces = {"https", "http", "www", "com", "example", "tokyo", "jp", "lg", "city", "koe"}
    assert not pieces & {w.lower() for w in [*words, *phrases]}
    assert "ベンチ" in words


def test_texts_that_fit_no_theme_are_in_no_cluster():
    texts, _ = rows("resident-voices/voices.tsv", "\t")
    result = cluster_texts(texts[:120])
    other = set(result.other)
    assert other == {i for i, label in enumerate(result.labels) if label == OTHER}
    held = sorted(i for c in result.clusters for i in c.members)
    assert sorted(held + sorted(other)) == list(range(120))
    for cluster in result.clusters:
        assert (result.labels[cluster.members] == cluster.id).all()
    # one text unlike every other (a lone topic) is not forced into a theme
    lone = ["公園のベンチを増やしてほしい", "公園にベンチがほしい", "公園のベンチが足りない"] * 4
    lone = [f"{t}{'。' * i}" for i, t in enumerate(lone)]
    result = cluster_texts([*lone, "マイナンバーカードの暗証番号を忘れました"])
    assert result.labels[-1] == OTHER


def test_every_text_has_at_most_one_cluster_and_the_clusters_add_up():
    texts, _ = rows("resident-voices/voices.tsv", "\t")
    result = cluster_texts(texts)
    assert 6 <= result.k <= 16  # from the data (measured 11); the count alone gave 7
    held = sorted(i for c in result.clusters for i in c.members)
    assert sorted(held + result.other) == list(range(len(texts)))
    assert result.coordinates.shape == (len(texts), 2)
    assert abs(result.coordinates).max() <= 1.0
    for cluster in result.clusters:
        assert set(cluster.representatives) <= set(cluster.members)
        assert len(cluster.representatives) == min(3, cluster.size)
        assert 0 < cluster.density <= 1.0
        assert (result.labels[cluster.members] == cluster.id).all()


@pytest.mark.parametrize(
    "texts",
    [
        [],
        ["一つだけ"],
        ["", "", ""],
        ["!!!", "???", "。。。"],
        ["同じ文", "同じ文", "同じ文", "同じ文"],
        ["bus", "バス", "ﾊﾞｽ", "BUS"],
    ],
)
def test_odd_inputs_still_give_a_clustering(texts):
    result = cluster_texts(texts)
    assert len(result.labels) == len(texts)
    assert sum(c.size for c in result.clusters) + len(result.other) == len(texts)


def test_content_words_are_lemmas_without_particles():
    assert content_words("公園のベンチを増やしてほしいです。") == ["公園", "ベンチ", "増やす"]
    assert content_words("Please add more benches to the park") == ["add", "benches", "park"]
    # full-width letters are folded; 来る says nothing about a topic
    assert content_words("ＢＵＳが来ない") == ["bus"]
    # the lemma joins the spellings; the label shows how people wrote it
    forms = {}
    assert content_words("ごみの分別", forms) == content_words("ゴミの分別") == ["塵", "分別"]
    assert forms["塵"].most_common(1)[0][0] == "ごみ"
