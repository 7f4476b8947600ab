"""Near-duplicate texts and campaigns: groups of (almost) identical texts.

A group is shown once with its count and never dropped: opinions are weighed by content, so the
clustering sees one text per group. Texts are compared as character trigram sets of their
folded form (NFKC, lower case, without spaces, punctuation or symbols); candidates come from
MinHash with locality-sensitive banding (16 bands of 4), then the exact Jaccard decides. Two
texts at Jaccard 0.75 become candidates with probability 0.998; the work grows with the count
of texts, not its square.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict

import numpy as np

THRESHOLD = 0.75  # Jaccard similarity of trigram sets from which two texts are the same
BANDS, ROWS = 16, 4
MAX_HEADS = 8  # distinct groups compared with in one bucket
_rng = np.random.default_rng(20261125)  # fixed: the same texts always give the same groups
_A = _rng.integers(1, 1 << 63, BANDS * ROWS, dtype=np.uint64) | np.uint64(1)  # odd multipliers
_B = _rng.integers(0, 1 << 63, BANDS * ROWS, dtype=np.uint64)


def fold(text: str) -> str:
    """The text as compared: NFKC, lower case, letters and digits only."""
    return "".join(
        c for c in unicodedata.normalize("NFKC", text).lower() if unicodedata.category(c)[0] in "LN"
    )


def _trigrams(folded: str) -> np.ndarray:
    """The distinct trigrams of a folded text as exact 63-bit numbers (three code points)."""
    points = np.frombuffer(folded.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(points) < 3:
        points = np.concatenate([points, np.zeros(3 - len(points), dtype=np.uint64)])
    grams = (points[:-2] << np.uint64(42)) | (points[1:-1] << np.uint64(21)) | points[2:]
    return np.unique(grams)


def groups(texts: list[str], threshold: float = THRESHOLD) -> list[list[int]]:
    """Every group of two or more (almost) identical texts, as sorted indices, largest first."""
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i: int, j: int) -> None:
        ri, rj = root(i), root(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)

    # identical once folded: one representative goes on to the near-duplicate search
    first: dict[str, int] = {}
    for i, text in enumerate(texts):
        key = fold(text)
        if not key:
            continue  # symbols only: nothing to be the same as
        if key in first:
            join(first[key], i)
        else:
            first[key] = i
    keys = list(first)
    shingles = [_trigrams(k) for k in keys]
    buckets: dict[tuple, list[int]] = defaultdict(list)
    for n, grams in enumerate(shingles):
        # a·x + b (mod 2^64) per hash function, the minimum over the trigrams
        with np.errstate(over="ignore"):
            signature = (np.outer(_A, grams) + _B[:, None]).min(axis=1)
        for band in range(BANDS):
            buckets[(band, *signature[band * ROWS : (band + 1) * ROWS].tolist())].append(n)

    def same(x: int, y: int) -> bool:
        a, b = shingles[x], shingles[y]
        common = np.intersect1d(a, b, assume_unique=True).size
        return common / (a.size + b.size - common) >= threshold

    for members in buckets.values():
        # each against the few groups already met in this bucket (not every pair): the groups
        # join up through the other bands
        heads: list[int] = []
        for member in members:
            for head in heads:
                if root(first[keys[head]]) == root(first[keys[member]]) or same(head, member):
                    join(first[keys[head]], first[keys[member]])
                    break
            else:
                if len(heads) < MAX_HEADS:
                    heads.append(member)
    found: dict[int, list[int]] = defaultdict(list)
    for i in range(len(texts)):
        found[root(i)].append(i)
    return sorted((g for g in found.values() if len(g) > 1), key=lambda g: (-len(g), g[0]))
