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
_PRIME = (1 << 61) - 1
_rng = np.random.default_rng(20261125)
_A = _rng.integers(1, 1 << 31, BANDS * ROWS, dtype=np.uint64)
_B = _rng.integers(0, 1 << 31, BANDS * ROWS, dtype=np.uint64)


def fold(text: str) -> str:
    """The text as compared: NFKC, lower case, letters and digits only."""
    return "".join(
        c for c in unicodedata.normalize("NFKC", text).lower() if unicodedata.category(c)[0] in "LN"
    )


def _trigrams(folded: str) -> np.ndarray:
    grams = {folded} if len(folded) < 3 else {folded[i : i + 3] for i in range(len(folded) - 2)}
    return np.unique(
        np.fromiter((hash(g) & 0x7FFFFFFF for g in grams), dtype=np.uint64, count=len(grams))
    )


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
        # (a·x + b) mod p per hash function, the minimum over the trigrams
        signature = ((np.outer(_A, grams) + _B[:, None]) % _PRIME).min(axis=1)
        for band in range(BANDS):
            buckets[(band, *signature[band * ROWS : (band + 1) * ROWS].tolist())].append(n)
    for members in buckets.values():
        # each against the bucket's first: the groups join up through the other bands
        head = shingles[members[0]]
        for other in members[1:]:
            if root(first[keys[other]]) == root(first[keys[members[0]]]):
                continue
            grams = shingles[other]
            common = np.intersect1d(head, grams, assume_unique=True).size
            if common / (head.size + grams.size - common) >= threshold:
                join(first[keys[members[0]]], first[keys[other]])
    found: dict[int, list[int]] = defaultdict(list)
    for i in range(len(texts)):
        found[root(i)].append(i)
    return sorted((g for g in found.values() if len(g) > 1), key=lambda g: (-len(g), g[0]))
