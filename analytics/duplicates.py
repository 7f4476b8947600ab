"""Near-duplicate texts and campaigns: groups of (almost) identical texts.

A group is shown once with its count and never dropped: opinions are weighed by content, so the
clustering sees one text per group. Texts are compared as character trigram sets of their
folded form (NFKC, lower case, without spaces, punctuation or symbols); candidates come from
MinHash with locality-sensitive banding (20 bands of 5), then the exact Jaccard decides. Two
texts at Jaccard 0.75 become candidates with probability 0.995 (at 0.5, 0.47: few wasted
checks); the work grows with the count of texts, not its square.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict

import numpy as np

NOT_WORD = re.compile(r"[\W_]+")  # all but letters and digits (marks of kana stay with them)
THRESHOLD = 0.75  # Jaccard similarity of trigram sets from which two texts are the same
BANDS, ROWS = 20, 5
MAX_HEADS = 4  # distinct groups compared with in one bucket
_rng = np.random.default_rng(20261125)  # fixed: the same texts always give the same groups
_A = _rng.integers(1, 1 << 63, BANDS * ROWS, dtype=np.uint64) | np.uint64(1)  # odd multipliers
_B = _rng.integers(0, 1 << 63, BANDS * ROWS, dtype=np.uint64)
_MIX = _rng.integers(1, 1 << 63, ROWS, dtype=np.uint64) | np.uint64(1)  # a band to one number


def fold(text: str) -> str:
    """The text as compared: NFKC, lower case, letters and digits only."""
    return NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower())


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
    # the MinHash signature of each text, then one number per band of it
    signatures = np.empty((len(keys), BANDS * ROWS), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for n, grams in enumerate(shingles):
            # a·x + b (mod 2^64) per hash function, the minimum over the trigrams
            signatures[n] = (np.outer(_A, grams) + _B[:, None]).min(axis=1)
        bands = (signatures.reshape(len(keys), BANDS, ROWS) * _MIX).sum(axis=2, dtype=np.uint64)
    del signatures

    def same(x: int, y: int) -> bool:
        a, b = shingles[x], shingles[y]
        if min(a.size, b.size) < threshold * max(a.size, b.size):
            return False  # the Jaccard can be no more than the ratio of the sizes
        common = np.intersect1d(a, b, assume_unique=True).size
        return common / (a.size + b.size - common) >= threshold

    for band in range(BANDS):
        # texts whose band is equal share a bucket: runs of equal values once sorted
        order = np.argsort(bands[:, band], kind="stable")
        values = bands[order, band]
        edges = np.flatnonzero(np.diff(values)) + 1
        for members in np.split(order, edges):
            if len(members) < 2:
                continue
            # each against the few groups already met in this bucket (not every pair): the
            # groups join up through the other bands
            heads: list[int] = []
            for member in members.tolist():
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
