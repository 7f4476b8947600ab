"""Clustering speed and memory (issue 5): 10,000 and 100,000 short Japanese texts end to end.

Texts: sentences of the residents' opinions in ../shared/datasets/resident-voices (read there,
never copied), about 1,000 of them, joined at random: one or two a text (many texts repeat
and are clustered once), and, the hard case, always two (almost every text distinct). The
count of distinct texts is printed. End to end is analytics.cluster_texts: copies, content
words, features, k-means, the finer level, keywords, representatives, the 2-D map. Each case
runs in its own process, so the peak memory (maximum resident set) is that case's alone;
loading the word vectors (once per worker process) is timed apart. Targets: 10,000 ≤ 3 s;
100,000 ≤ 15 s and ≤ 1 GB.

    python bench/analytics_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VOICES = ROOT.parent / "shared" / "datasets" / "resident-voices" / "voices.tsv"
SENTENCE_END = re.compile(r"(?<=[。！？!?])")


def sentences() -> list[str]:
    with VOICES.open(encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle, delimiter="\t")]
    return [s.strip() for t in texts for s in SENTENCE_END.split(t) if len(s.strip()) >= 8]


def short_texts(n: int, seed: int = 1, distinct: bool = False) -> list[str]:
    """One or two sentences (many repeat), or always two (almost all distinct)."""
    rng = random.Random(seed)
    pool = sentences()
    counts = (2,) if distinct else (1, 1, 2)
    return ["".join(rng.sample(pool, rng.choice(counts))) for _ in range(n)]


def child(n: int, distinct: bool) -> None:
    sys.path.insert(0, str(ROOT))
    texts = short_texts(n, distinct=distinct)
    started = time.perf_counter()
    from analytics import cluster_texts, vectors

    vectors.lookup(["公園"])
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    result = cluster_texts(texts)
    took = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "n": n,
                "chars": sum(map(len, texts)) / n,
                "load": loaded,
                "seconds": took,
                "k": result.k,
                "peak_mb": peak_mb,
                "largest": max(c.size for c in result.clusters),
                "groups": len(result.duplicates),
                "distinct": n - sum(len(g) - 1 for g in result.duplicates),
                "label": max(result.clusters, key=lambda c: c.size).label,
            }
        )
    )


def plain_child(n: int, k: int) -> None:
    """The plain pipeline on the same texts at the same k: char 1–3-gram TF-IDF, LSA 100,
    k-means (ten starts), the baseline issue 18 measures the speed against."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    texts = short_texts(n)
    started = time.perf_counter()
    matrix = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    x = matrix.fit_transform(texts)
    reduced = normalize(TruncatedSVD(100, random_state=0).fit_transform(x))
    KMeans(k, n_init=10, random_state=0).fit_predict(reduced)
    print(json.dumps({"seconds": time.perf_counter() - started}))


def consultation_child(n: int) -> None:
    """One consultation's run: ``n`` opinions of resident-voices as they are written."""
    sys.path.insert(0, str(ROOT))
    with VOICES.open(encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle, delimiter="\t")][:n]
    from analytics import cluster_texts, vectors

    vectors.lookup(["公園"])
    started = time.perf_counter()
    result = cluster_texts(texts)
    print(json.dumps({"seconds": time.perf_counter() - started, "k": result.k}))


def quality() -> None:
    """The quality figures of issue 18, with the plain pipeline beside them."""
    sys.path.insert(0, str(ROOT))
    from sklearn.metrics import adjusted_mutual_info_score, normalized_mutual_info_score

    from analytics import cluster_texts
    from tests.analytics.test_quality import core_figures, plain, rows, samples, sib200

    for size in (40, 100, 300):
        ami, ks, outside, held = [], [], [], []
        for texts, truth, seed in samples(size):
            result = cluster_texts(texts, seed=seed)
            ami.append(adjusted_mutual_info_score(truth, result.labels))
            ks.append(result.k)
            figures = core_figures(result, truth)
            outside.append(figures[0])
            held.append(figures[1])
        print(
            f"  resident-voices, {size} opinions (5 samples), the library's own k {ks}:"
            f" AMI {sum(ami) / 5:.3f}; core outside its theme's main topic"
            f" {sum(outside) / 5:.0%}, core holds {sum(held) / 5:.0%} of the opinions"
        )
    sets = [
        ("resident-voices", lambda: rows("resident-voices/voices.tsv", "\t")),
        ("SIB-200 Japanese", sib200),
        ("Banking77 test", lambda: rows("banking77/test.csv", ",")),
    ]
    for name, load in sets:
        texts, truth = load()
        k = len(set(truth))
        ours = [
            normalized_mutual_info_score(truth, cluster_texts(texts, k=k, seed=s).labels)
            for s in range(3)
        ]
        base = [normalized_mutual_info_score(truth, plain(texts, k, s)) for s in range(3)]
        print(
            f"  {name}, true k={k} (3 seeds): NMI {sum(ours) / 3:.3f};"
            f" plain char 1–3-gram pipeline {sum(base) / 3:.3f}"
        )


def earlier_answers() -> None:
    """How often an earlier opinion chosen by closeness of meaning is of the new opinion's
    topic: resident-voices split ten times into 150 new opinions (grouped) and 250 earlier
    ones; each new opinion's closest earlier one, by cosine in the grouping's features."""
    import numpy as np

    from analytics import cluster_texts
    from tests.analytics.test_quality import rows

    texts, truth = rows("resident-voices/voices.tsv", "\t")
    truth = np.array(truth)
    pairs = []
    for seed in range(10):
        order = list(range(len(texts)))
        random.Random(200 + seed).shuffle(order)
        new, old = order[:150], order[150:]
        featurizer = cluster_texts([texts[i] for i in new], seed=seed).model.featurizer
        similarity = (
            featurizer.transform([texts[i] for i in new])
            @ featurizer.transform([texts[i] for i in old]).T
        )
        best = similarity.argmax(axis=1)
        for i, j in enumerate(best):
            pairs.append((similarity[i, j], truth[old[j]] == truth[new[i]]))
    found = np.array(pairs, dtype=float)
    shown = []
    for threshold in (0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        chosen = found[:, 0] >= threshold
        if chosen.any():
            shown.append(f"≥ {threshold:.1f}: {found[chosen, 1].mean():.0%} of {chosen.sum()}")
    print(
        "  earlier answers by closeness of meaning, right topic (target 90 %): "
        + "; ".join(shown)
        + " — so only near-copies of a theme's core are suggested"
    )


def _child(*arguments: str) -> dict:
    out = subprocess.run(  # noqa: S603  (our own interpreter and arguments)
        [sys.executable, __file__, *arguments], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 texts, to check it runs")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--distinct", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--plain", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--k", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--consultation", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.distinct)
        return 0
    if args.plain:
        plain_child(args.plain, args.k)
        return 0
    if args.consultation:
        consultation_child(args.consultation)
        return 0
    import sklearn

    # (count, distinct): the last is the hard case, two sentences each, almost no repeats
    sizes = [(1_000, False)] if args.quick else [(10_000, False), (100_000, False), (100_000, True)]
    targets = {10_000: (3.0, None), 100_000: (15.0, 1024.0)}
    print("Koe clustering benchmark" + (" (quick)" if args.quick else ""))
    print(
        f"  setup: Python {platform.python_version()}, scikit-learn {sklearn.__version__},"
        f" {os.cpu_count()} CPUs; texts of sentences from resident-voices;"
        f" each size in its own process"
    )
    for n, distinct in sizes:
        r = _child("--child", str(n), *(["--distinct"] if distinct else []))
        line = (
            f"  {n:>7,} texts ({r['chars']:.0f} characters on average): {r['seconds']:.2f} s"
            f" end to end, k={r['k']}, largest theme {r['largest']} ({r['label']});"
            f" {r['distinct']:,} distinct after {r['groups']:,} groups of (near) copies;"
            f" peak memory {r['peak_mb']:.0f} MB; word vectors loaded once in {r['load']:.2f} s"
        )
        print(line)
        if n in targets:
            limit, memory = targets[n]
            verdict = "met" if r["seconds"] <= limit else "missed"
            text = f"  target {n:,} ≤ {limit:g} s: {verdict}"
            if memory:
                text += f"; ≤ {memory:.0f} MB: {'met' if r['peak_mb'] <= memory else 'missed'}"
            print(text)
        if n == 10_000 or args.quick:
            base = _child("--plain", str(n), "--k", str(r["k"]))
            ratio = r["seconds"] / base["seconds"]
            print(
                f"  baseline, same {n:,} texts, same k={r['k']}: plain char 1–3-gram TF-IDF +"
                f" LSA 100 + k-means {base['seconds']:.2f} s; Koe / plain = {ratio:.2f}"
                f" (target ≤ 0.75: {'met' if ratio <= 0.75 else 'missed'})"
            )
    one = _child("--consultation", "300")
    print(
        f"  a consultation of 300 opinions (resident-voices as written): {one['seconds']:.2f} s,"
        f" k={one['k']} (target ≤ 2 s: {'met' if one['seconds'] <= 2 else 'missed'})"
    )
    if not args.quick:
        print("Theme quality (issue 18), the library's own k unless said")
        quality()
        earlier_answers()
    print("clustering: done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
