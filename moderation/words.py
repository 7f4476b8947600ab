"""Blocked words: lists staff can edit, matched through spacing, width and kana tricks.

Each entry has a severity: ``reject`` (threats, slurs: the author is asked to rewrite) or
``hold`` (insults: a moderator decides). An entry starting with ``!`` is an exception: a match
inside an exception (ばか inside ばかり) is not a finding, nor a match its sentence shows to
be harmless (``moderation.context``: ネズミを殺す, ばかげている). Matching runs on ``fold``ed
text, where "死 ね", "ｼﾈ", "シネ" and "し.ね" all read しね; an ASCII entry must also start
and end on a word boundary of the original text, so "class" does not match "ass".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files

from moderation import context
from moderation.findings import Finding, Kind
from moderation.normalize import Normalized, fold, fold_text, fold_word

SEVERITIES = ("hold", "reject")


@dataclass(frozen=True, slots=True)
class Entry:
    word: str
    severity: str = "hold"
    exception: bool = False


def parse_list(text: str) -> list[Entry]:
    """Parse lines of ``word[<TAB>severity]``; ``!word`` is an exception; ``#`` starts a comment."""
    entries = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        word, _, severity = line.partition("\t")
        severity = severity.strip() or "hold"
        if word.startswith("!"):
            entries.append(Entry(word[1:].strip(), "hold", exception=True))
        elif severity in SEVERITIES:
            entries.append(Entry(word.strip(), severity))
        else:
            raise ValueError(f"unknown severity {severity!r} for {word!r}")
    return entries


def default_entries() -> list[Entry]:
    """The seed lists shipped with Koe (Japanese and English)."""
    entries: list[Entry] = []
    for name in ("ja.txt", "en.txt"):
        entries.extend(parse_list(files("moderation.wordlists").joinpath(name).read_text("utf-8")))
    return entries


def _alternation(words: Iterable[str]) -> re.Pattern[str] | None:
    unique = sorted({w for w in words if w}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, unique))) if unique else None


class WordList:
    """A compiled set of blocked words and exceptions."""

    def __init__(self, entries: Iterable[Entry | str]) -> None:
        self.severity: dict[str, str] = {}
        self.ascii: set[str] = set()
        exceptions = []
        for entry in entries:
            if isinstance(entry, str):
                entry = Entry(entry)
            folded = fold_word(entry.word)
            if not folded:
                continue
            if entry.exception:
                exceptions.append(folded)
                continue
            # the stricter severity wins when a word is listed twice
            if self.severity.get(folded) != "reject":
                self.severity[folded] = entry.severity
            if entry.word.isascii():
                self.ascii.add(folded)
        self._words = _alternation(self.severity)
        self._exceptions = _alternation(exceptions)

    def __len__(self) -> int:
        return len(self.severity)

    def find(self, text: str, folded: Normalized | None = None) -> list[Finding]:
        """Return a finding for each blocked word in ``text`` (detail: its severity)."""
        if self._words is None or not text:
            return []
        if folded is None:
            # most texts hold no listed word: look before building the way back
            if self._words.search(fold_text(text)) is None:
                return []
            folded = fold(text)
        found = []
        allowed = (
            [m.span() for m in self._exceptions.finditer(folded.text)] if self._exceptions else []
        )
        # overlapping matches: scan from every position where a word could start
        position = read = 0
        haystack = folded.text
        while True:
            match = self._words.search(haystack, position)
            if match is None:
                break
            position = match.start() + 1
            start, end = match.span()
            if any(a <= start and end <= b for a, b in allowed):
                continue
            word = match.group()
            o_start, o_end = folded.span(start, end)
            if word in self.ascii and not _on_word_boundaries(text, o_start, o_end):
                continue
            read += 1
            if read <= context.MAX_READ and _harmless_here(word, text, o_start, o_end):
                continue
            found.append(Finding(Kind.BLOCKED_WORD, o_start, o_end, self.severity[word]))
        return _merge(found)


def _harmless_here(word: str, text: str, start: int, end: int) -> bool:
    """Whether the sentence shows the match is no abuse: a pest killed (ネズミを殺す), a plan
    judged (ばかげている)."""
    if context.is_killing(word):
        return context.kills_a_pest(text, start, end)
    return context.in_civil_word(text, start, end)


def _on_word_boundaries(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (before.isascii() and before.isalnum()) and not (after.isascii() and after.isalnum())


def _merge(findings: list[Finding]) -> list[Finding]:
    """Keep one finding where matches overlap, preferring the stricter, then the longer."""
    findings.sort(key=lambda f: (f.start, -(f.end - f.start)))
    kept: list[Finding] = []
    for finding in findings:
        if kept and finding.overlaps(kept[-1]):
            last = kept[-1]
            if finding.detail == "reject" and last.detail != "reject":
                kept[-1] = Finding(
                    Kind.BLOCKED_WORD,
                    min(last.start, finding.start),
                    max(last.end, finding.end),
                    "reject",
                )
            continue
        kept.append(finding)
    return kept
