"""Spam and floods: repeated or nearly repeated texts, bursts, too many links, posting rate.

The library keeps no state: the caller passes the author's recent posts and everyone's recent
posts (the app reads them from its database), so the checks work across processes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from moderation.normalize import fold

URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'　]{1,2000}", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Post:
    """A recent post: its text, when, and by whom (any hashable id)."""

    text: str
    at: datetime
    author: object = None


@dataclass(frozen=True, slots=True)
class SpamPolicy:
    max_links: int = 3
    duplicate_window: timedelta = timedelta(hours=24)
    similarity: float = 0.9  # Jaccard similarity of character trigrams that counts as the same
    rate_window: timedelta = timedelta(minutes=1)
    max_posts_in_window: int = 5
    burst_window: timedelta = timedelta(minutes=10)
    burst_authors: int = 3  # this many other people posting the same text is a campaign


def count_links(text: str) -> int:
    return len(URL.findall(text))


def _shingles(text: str) -> np.ndarray:
    # every new post is compared with the same recent posts: their shingles are kept, as
    # hashes of 4 bytes a trigram, for texts up to 1,000 characters: at most 16 MB a process
    return _kept_shingles(text) if len(text) <= CACHED_LENGTH else _make_shingles(text)


CACHED_LENGTH = 1000
CACHED_POSTS = 4096


def _make_shingles(text: str) -> np.ndarray:
    """The sorted distinct 32-bit hashes of the folded text's character trigrams."""
    folded = fold(text[:5000]).text  # the opening of a long text decides; bounded work
    grams = {folded} if len(folded) < 3 else {folded[i : i + 3] for i in range(len(folded) - 2)}
    # hash() is fixed within a process, which is as long as the kept shingles live
    hashes = np.fromiter((hash(g) & 0xFFFFFFFF for g in grams), dtype=np.uint32, count=len(grams))
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
