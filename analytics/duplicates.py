"""Near-duplicate texts and campaigns: groups of (almost) identical texts.

A group is shown once with its count and never dropped: opinions are weighed by content, so the
clustering sees one text per group. Texts are compared as character trigram sets of their
folded form (NFKC, lower case, without spaces, punctuation or symbols); candidates come from
MinHash with locality-sensitive banding (20 bands of 5): in a bucket each text is paired with
the bucket's first and its neighbour, a pair met in several bands counts once, pairs whose
share of equal hashes is under 0.62 are dropped (a pair at Jaccard 0.75 is, 3σ below), then
the exact Jaccard of the trigram sets decides. Two texts at Jaccard 0.75 become candidates with
probability 0.995 (at 0.5, 0.47); the work grows with the count of texts, not its square.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict

import numpy as np

NOT_WORD = re.compile(r"[\W_]+")  # all but letters and digits (marks of kana stay with them)
THRESHOLD = 0.75  # Jaccard similarity of trigram sets from which two texts are the same
BANDS, ROWS = 20, 5
ESTIMATE_FLOOR = 0.62  # share of equal MinHash values below which a pair is not checked (3σ)
PAIRS_AT_ONCE = 16_384
GRAMS_AT_ONCE = 100_000
_rng = np.random.default_rng(20261125)  # fixed: the same texts always give the same groups
_A = _rng.integers(1, 1 << 32, BANDS * ROWS, dtype=np.uint32) | np.uint32(1)  # odd multipliers
_B = _rng.integers(0, 1 << 32, BANDS * ROWS, dtype=np.uint32)
_MIX = _rng.integers(1, 1 << 63, ROWS, dtype=np.uint64) | np.uint64(1)  # a band to one number
_GRAM_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd: spreads a trigram's bits over the top ones


def fold(text: str) -> str:
    """The text as compared: NFKC, lower case, letters and digits only."""
    return NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower())


def _distinct(ordered: np.ndarray) -> np.ndarray:
    """The distinct values of a sorted array (np.unique hashes, which is slower here)."""
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


def _trigrams(folded: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct trigrams of each folded text as 44-bit numbers (three code points, mixed),
    all texts at once: one flat sorted array per text, end to end, and where each starts
    (``offsets``, one more than the texts)."""
    padded = [t + "\0" * (3 - len(t)) if len(t) < 3 else t for t in folded]
    lengths = np.fromiter(map(len, padded), dtype=np.int64, count=len(padded))
    points = np.frombuffer("".join(padded).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    grams = (points[:-2] << np.uint64(42)) | (points[1:-1] << np.uint64(21)) | points[2:]
    ends = np.cumsum(lengths)
    # the trigrams that start and end inside one text: all but the last two of each
    inside = np.ones(len(points), dtype=bool)
    inside[ends - 1] = False
    inside[ends - 2] = False
    grams = grams[inside[:-2]]
    text = np.repeat(np.arange(len(padded), dtype=np.uint64), lengths - 2)
    # distinct per text by one sort of (text, trigram): the trigram mixed down to 44 bits
    # (two different trigrams of one text share those with odds of 1 in 10^13)
    with np.errstate(over="ignore"):
        mixed = (grams * _GRAM_MIX) >> np.uint64(20)
    both = _distinct(np.sort((text << np.uint64(44)) | mixed))
    grams = both & np.uint64((1 << 44) - 1)
    counts = np.bincount((both >> np.uint64(44)).astype(np.int64), minlength=len(padded))
    offsets = np.r_[0, np.cumsum(counts)]
    return grams, offsets


def _signatures(grams: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The MinHash signature of each set: per hash function a·x + b (mod 2^32) of the
    trigram's top 32 bits, the minimum over the set; many sets at once, a block at a time."""
    count = len(offsets) - 1
    out = np.empty((count, BANDS * ROWS), dtype=np.uint32)
    top = (grams >> np.uint64(12)).astype(np.uint32)
    first = 0
    while first < count:
        # whole sets, about GRAMS_AT_ONCE trigrams together (100 × that many numbers)
        target = offsets[first] + GRAMS_AT_ONCE
        last = max(first + 1, int(np.searchsorted(offsets, target, side="right")) - 1)
        block = top[offsets[first] : offsets[last]]
        hashed = _A[:, None] * block[None, :]
        hashed += _B[:, None]
        starts = offsets[first:last] - offsets[first]
        out[first:last] = np.minimum.reduceat(hashed, starts, axis=1).T
        first = last
    return out


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
    if len(keys) < 2:
        keys = []  # nothing to compare
    grams, offsets = _trigrams(keys) if keys else (np.zeros(0, np.uint64), np.zeros(1, np.int64))
    signatures = _signatures(grams, offsets)
    with np.errstate(over="ignore"):  # one number per band of the signature
        bands = (signatures.reshape(len(keys), BANDS, ROWS).astype(np.uint64) * _MIX).sum(
            axis=2, dtype=np.uint64
        )

    def same(x: int, y: int) -> bool:
        a, b = grams[offsets[x] : offsets[x + 1]], grams[offsets[y] : offsets[y + 1]]
        if min(a.size, b.size) < threshold * max(a.size, b.size):
            return False  # the Jaccard can be no more than the ratio of the sizes
        common = np.intersect1d(a, b, assume_unique=True).size
        return common / (a.size + b.size - common) >= threshold

    # texts whose band is equal share a bucket: runs of equal values once sorted; each text is
    # a candidate with its bucket's first and with its neighbour (groups join up through the
    # other bands); a pair met in several bands is checked once
    candidates = []
    for band in range(BANDS):
        order = np.argsort(bands[:, band], kind="stable")
        values = bands[order, band]
        follows = np.flatnonzero(values[1:] == values[:-1]) + 1
        if not follows.size:
            continue
        starts = np.where(np.r_[True, values[1:] != values[:-1]], np.arange(len(order)), 0)
        starts = np.maximum.accumulate(starts)
        a = np.concatenate([order[follows], order[follows]]).astype(np.uint64)
        b = np.concatenate([order[starts[follows]], order[follows - 1]]).astype(np.uint64)
        candidates.append((np.minimum(a, b) << np.uint64(32)) | np.maximum(a, b))
    pairs = _distinct(np.sort(np.concatenate(candidates))) if candidates else np.zeros(0, np.uint64)
    x_all = (pairs >> np.uint64(32)).astype(np.int64)
    y_all = (pairs & np.uint64(0xFFFFFFFF)).astype(np.int64)
    for lo in range(0, len(pairs), PAIRS_AT_ONCE):
        x, y = x_all[lo : lo + PAIRS_AT_ONCE], y_all[lo : lo + PAIRS_AT_ONCE]
        # the share of equal hashes estimates the Jaccard: only likely pairs are counted
        likely = (x != y) & ((signatures[x] == signatures[y]).mean(axis=1) >= ESTIMATE_FLOOR)
        for i, j in zip(x[likely].tolist(), y[likely].tolist(), strict=True):
            ri, rj = root(first[keys[i]]), root(first[keys[j]])
            if ri != rj and same(i, j):
                join(ri, rj)
    found: dict[int, list[int]] = defaultdict(list)
    for i in range(len(texts)):
        found[root(i)].append(i)
    return sorted((g for g in found.values() if len(g) > 1), key=lambda g: (-len(g), g[0]))
