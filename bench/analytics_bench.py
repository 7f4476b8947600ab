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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 texts, to check it runs")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--distinct", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.distinct)
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
        out = subprocess.run(  # noqa: S603  (our own interpreter and arguments)
            [sys.executable, __file__, "--child", str(n), *(["--distinct"] if distinct else [])],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
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
    print("clustering: done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
