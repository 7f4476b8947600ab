"""Text normalisation that remembers where each character came from.

Detectors search a normalised copy (NFKC: full-width digits and letters become ASCII, half-width
katakana becomes full-width) and report spans of the *original* text through ``Normalized.span``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Characters people put between digits or inside words to dodge filters.
INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")


@lru_cache(maxsize=65536)
def _nfkc(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch)


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalised text and, for each of its characters, the original characters it came from.

    ``starts[i]:ends[i]`` is the span of the original text behind ``text[i]``; both are None
    when the indices are the same (the common case).
    """

    original: str
    text: str
    starts: tuple[int, ...] | None = None
    ends: tuple[int, ...] | None = None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Return the span of the original text that produced ``text[start:end]``."""
        if self.starts is None:
            return start, end
        if start >= len(self.starts):
            return len(self.original), len(self.original)
        first = self.starts[start]
        last = self.ends[end - 1] if end > start else first
        return first, last


def _build(original: str, parts: list[str]) -> Normalized:
    """Join per-character parts; a combining mark (ﾊ + ﾞ) composes with what precedes it."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for index, part in enumerate(parts):
        for ch in part:
            if out and unicodedata.combining(ch):
                composed = unicodedata.normalize("NFC", out[-1] + ch)
                if len(composed) == 1:
                    out[-1] = composed
                    ends[-1] = index + 1
                    continue
            out.append(ch)
            starts.append(index)
            ends.append(index + 1)
    text = "".join(out)
    if len(out) == len(original) and all(s == i for i, s in enumerate(starts)):
        return Normalized(original, text)
    return Normalized(original, text, tuple(starts), tuple(ends))


class _Table(dict):
    """A ``str.translate`` table filled on demand (bounded, for texts made of random characters)."""

    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def __missing__(self, code: int) -> str:
        value = self.fn(chr(code))
        if len(self) < 50_000:
            self[code] = value
        return value


_NFKC_TABLE = _Table(_nfkc)
# Marks that compose with the character before them (ﾊ + ﾞ → バ, e + ́ → é).
_COMBINING = re.compile(
    "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\u3099\u309a\ufe20-\ufe2f]"
)


def nfkc(text: str) -> Normalized:
    """NFKC-normalise ``text`` character by character, keeping the way back to the original."""
    if text.isascii():
        return Normalized(text, text)
    fast = text.translate(_NFKC_TABLE)
    # NFKC never maps a character to nothing: the same length means one character for one.
    if len(fast) == len(text) and not _COMBINING.search(fast):
        return Normalized(text, fast)
    return _build(text, [_nfkc(ch) for ch in text])


_KATA_TO_HIRA = {code: code - 0x60 for code in range(0x30A1, 0x30F7)}


@lru_cache(maxsize=65536)
def _fold_char(ch: str) -> str:
    """Fold one character for word matching: NFKC, lower case, katakana as hiragana."""
    folded = unicodedata.normalize("NFKC", ch).lower().translate(_KATA_TO_HIRA)
    if ch in INVISIBLE:
        return ""
    return "".join(c for c in folded if not _is_separator(c))


def _is_separator(ch: str) -> bool:
    category = unicodedata.category(ch)
    # spaces, punctuation and symbols between letters are how "b a d" or "b.a.d" dodge a list;
    # the long-vowel mark ー is a letter (Lm) and stays.
    return category[0] in {"Z", "P", "S", "C"}


_FOLD_TABLE = _Table(lambda ch: _fold_char(ch))


def fold_text(text: str) -> str:
    """The folded text alone, fast; ``fold`` adds the way back to the original."""
    folded = text.translate(_FOLD_TABLE)
    return unicodedata.normalize("NFC", folded) if _COMBINING.search(folded) else folded


def fold(text: str) -> Normalized:
    """Return a copy for blocked-word matching: no spaces or punctuation, one case, one kana."""
    return _build(text, [_fold_char(ch) for ch in text])


def fold_word(word: str) -> str:
    """Fold a list entry the same way as the text it is matched against."""
    return fold(word).text
