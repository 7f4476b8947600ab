"""Spam and floods: repeated or nearly repeated texts, bursts, too many links, posting rate.

The library keeps no state: the caller passes the author's recent posts and everyone's recent
posts (the app reads them from its database), so the checks work across processes. Everyone's
recent posts may be narrowed to those that share a key of :func:`band_keys` with the new one
(the app stores the keys of each post): the result is the same but for a chance of about one
in a few thousand of missing a repeat.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from moderation.normalize import fold


def nfkc_text(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'　]{1,2000}"
    # a bare domain with a known ending, as spam writes them (詳しくはexample.com/a へ)
    r"|(?<![a-z0-9.@-])[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){0,8}"
    r"\.(?:com|net|org|jp|info|io|biz|xyz|tokyo|me|app|dev|shop|site|online|link|ly)"
    r"(?![a-z0-9-])(?:/[!-~]{0,2000})?",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Post:
    """A recent post: its text, when, and by whom (any hashable id)."""

    text: str
    at: datetime
    author: object = None


@dataclass(frozen=True, slots=True)
class SpamPolicy:
    max_links: int = 1  # two links or more: a moderator looks first (spam, advertising)
    duplicate_window: timedelta = timedelta(hours=24)
    similarity: float = 0.9  # Jaccard similarity of character trigrams that counts as the same
    rate_window: timedelta = timedelta(minutes=1)
    max_posts_in_window: int = 5
    burst_window: timedelta = timedelta(minutes=10)
    burst_authors: int = 3  # this many other people posting the same text is a campaign


def count_links(text: str) -> int:
    """Links in ``text``: addresses and bare domains, full-width ones too (ｈｔｔｐｓ：／／)."""
    return len(URL.findall(nfkc_text(text)))


def _shingles(text: str) -> np.ndarray:
    # every new post is compared with the same recent posts: their shingles are kept, as
    # hashes of 4 bytes a trigram, for texts up to 1,000 characters: at most 16 MB a process
    return _kept_shingles(text) if len(text) <= CACHED_LENGTH else _make_shingles(text)


CACHED_LENGTH = 1000
CACHED_POSTS = 4096


def _trigrams(text: str) -> np.ndarray:
    """The distinct character trigrams of the folded text, each as one number (its three
    code points side by side: the same in every process); a text of one or two characters
    is its own trigram."""
    folded = fold(text[:5000]).text  # the opening of a long text decides; bounded work
    points = np.frombuffer(folded.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    if points.size >= 3:
        grams = (points[:-2] << np.uint64(42)) | (points[1:-1] << np.uint64(21)) | points[2:]
    else:
        grams = np.array([sum(int(p) << (21 * i) for i, p in enumerate(points))], np.uint64)
    return np.unique(grams)


_MIX = np.uint64(0x9E3779B97F4A7C15)  # multiplicative hashing: 63-bit trigrams to 32 bits


def _make_shingles(text: str) -> np.ndarray:
    """The sorted distinct 32-bit hashes of the folded text's character trigrams."""
    with np.errstate(over="ignore"):  # arithmetic modulo 2**64, the high half kept
        hashes = ((_trigrams(text) * _MIX) >> np.uint64(32)).astype(np.uint32)
    return np.unique(hashes)


_kept_shingles = functools.lru_cache(maxsize=CACHED_POSTS)(_make_shingles)


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of folded character trigrams (1.0: the same text)."""
    return _jaccard(_shingles(a), _shingles(b))


def _jaccard(sa: np.ndarray, sb: np.ndarray) -> float:
    common = np.intersect1d(sa, sb, assume_unique=True).size
    return common / (sa.size + sb.size - common)


def _similar(own: np.ndarray, texts: Sequence[str], threshold: float) -> np.ndarray:
    """For each text, whether its Jaccard similarity to ``own`` reaches ``threshold``: all
    texts in one pass over their concatenated shingles (700 recent posts: about a millisecond,
    where a comparison per post took ten)."""
    if not texts:
        return np.zeros(0, dtype=bool)
    sets = [_shingles(t) for t in texts]
    sizes = np.fromiter((s.size for s in sets), dtype=np.int64, count=len(sets))
    hashes = np.concatenate(sets)
    at = np.minimum(np.searchsorted(own, hashes), max(own.size - 1, 0))
    found = own[at] == hashes if own.size else np.zeros(hashes.size, dtype=bool)
    owners = np.repeat(np.arange(len(sets)), sizes)
    common = np.bincount(owners[found], minlength=len(sets))
    return common / (sizes + own.size - common) >= threshold


# --- the near-duplicate index ------------------------------------------------------------
#
# A new post is compared with everyone's recent posts (a campaign: the same text from many
# people). Comparing it with all of them grows with the traffic (10,000 opinions in the last
# minute before a consultation closes); a caller that stores each post's band keys compares
# it only with the posts that share one (locality-sensitive hashing of MinHash signatures).

#: the MinHash signature: BANDS × ROWS values. Two texts whose trigram Jaccard similarity is
#: s share a band with probability 1 − (1 − s^ROWS)^BANDS: above 0.999 at 0.9 (the
#: similarity that counts as the same text), 0.40 at 0.5, 0.008 at 0.2
BANDS, ROWS = 8, 4


def _minhash_seeds() -> tuple[np.ndarray, np.ndarray]:
    """Fixed multipliers (odd) and offsets of the hash functions: the same in every process
    and every version (keys are stored), drawn from SHAKE-128 rather than a random generator
    whose stream may change."""
    raw = hashlib.shake_128(b"koe moderation minhash").digest(16 * BANDS * ROWS)
    values = np.frombuffer(raw, dtype="<u8").reshape(2, BANDS * ROWS)
    return values[0] | np.uint64(1), values[1].copy()


_MULTIPLIERS, _OFFSETS = _minhash_seeds()


@functools.lru_cache(maxsize=256)  # a post's keys are asked for by its check, then its storing
def band_keys(text: str) -> tuple[int, ...]:
    """The text's BANDS keys (signed 64-bit integers, for a database column): texts as alike
    as a repeat almost surely share one, unrelated texts rarely. Stable across processes,
    as the trigrams (``_trigrams``) and the hash functions are."""
    grams = _trigrams(text)
    with np.errstate(over="ignore"):  # arithmetic modulo 2**64, the high half kept
        hashed = (grams[None, :] * _MULTIPLIERS[:, None] + _OFFSETS[:, None]) >> np.uint64(32)
    signature = hashed.min(axis=1).astype("<u4")
    return tuple(
        int.from_bytes(
            hashlib.blake2b(
                bytes([band]) + signature[band * ROWS : (band + 1) * ROWS].tobytes(),
                digest_size=8,
            ).digest(),
            "little",
            signed=True,
        )
        for band in range(BANDS)
    )


def spam_reasons(
    text: str,
    *,
    history: Sequence[Post] = (),
    recent: Sequence[Post] = (),
    now: datetime | None = None,
    author: object = None,
    policy: SpamPolicy | None = None,
) -> list[str]:
    """Return the spam reason codes for ``text``: duplicate, flood, burst, too_many_links."""
    policy = policy or SpamPolicy()
    reasons = []
    if count_links(text) > policy.max_links:
        reasons.append("too_many_links")
    if not history and not recent:
        return reasons
    now = now or max(p.at for p in (*history, *recent))
    own = _shingles(text)  # once, not once per post it is compared with
    mine = [p.text for p in history if now - p.at <= policy.duplicate_window]
    if _similar(own, mine, policy.similarity).any():
        reasons.append("duplicate")
    in_window = [p for p in history if now - p.at <= policy.rate_window]
    if len(in_window) >= policy.max_posts_in_window:
        reasons.append("flood")
    others = [p for p in recent if p.author != author and now - p.at <= policy.burst_window]
    alike = _similar(own, [p.text for p in others], policy.similarity)
    if (
        len({p.author for p, same in zip(others, alike, strict=True) if same})
        >= policy.burst_authors
    ):
        reasons.append("burst")
    return reasons
