"""Moderation: one library that protects every text residents write.

``scan(text)`` finds personal data (マイナンバー, phone numbers, e-mail and postal addresses,
street addresses, card numbers), blocked words, spam and floods, and returns the findings (spans
of the original text) with a verdict: publish, hold for review, or reject with a message for the
author. ``mask(text)`` returns the public copy with personal data masked. ``sanitize_html`` and
``linkify_text`` make HTML safe. Plain Python: nothing here imports Flask or ``app``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from moderation.findings import PERSONAL, Decision, Finding, Kind, Reason, ScanResult, Verdict
from moderation.html import linkify_text, sanitize_html
from moderation.normalize import nfkc
from moderation.pii import find_personal_data, is_valid_my_number
from moderation.spam import BANDS, Post, SpamPolicy, band_keys, count_links, spam_reasons
from moderation.words import Entry, WordList, default_entries, parse_list

__all__ = [
    "BANDS",
    "REASONS",
    "Decision",
    "Entry",
    "Finding",
    "Kind",
    "Post",
    "Reason",
    "ScanResult",
    "SpamPolicy",
    "Verdict",
    "WordList",
    "band_keys",
    "count_links",
    "default_entries",
    "is_valid_my_number",
    "linkify_text",
    "mask",
    "parse_list",
    "sanitize_html",
    "scan",
]

REASONS = {
    reason.code: reason
    for reason in (
        Reason(
            "my_number",
            "マイナンバー（個人番号）は書き込まないでください。番号を消してから送信してください。",
            "Do not write your My Number (individual number). Remove it and send again.",
        ),
        Reason(
            "card",
            "クレジットカードなどの番号は書き込まないでください。番号を消してから送信してください。",
            "Do not write a payment card number. Remove it and send again.",
        ),
        Reason(
            "personal_data",
            "電話番号、メールアドレス、住所などの個人情報が含まれているため、確認してから公開します。",
            "It contains personal data such as a phone number, e-mail or street address, so it "
            "will be published after a check.",
        ),
        Reason(
            "blocked_word",
            "攻撃的な表現が含まれているため、受け付けられません。表現を改めて送信してください。",
            "It contains threatening or abusive words and cannot be accepted. Please rephrase it.",
        ),
        Reason(
            "blocked_word_review",
            "不適切な可能性のある表現が含まれているため、確認してから公開します。",
            "It contains words that may be inappropriate, so it will be published after a check.",
        ),
        Reason(
            "duplicate",
            "同じ内容がすでに送信されています。",
            "You have already sent the same text.",
        ),
        Reason(
            "flood",
            "短い時間に送信が多すぎます。しばらく待ってから送信してください。",
            "You are sending too often. Please wait a while and send again.",
        ),
        Reason(
            "burst",
            "同じ内容が短時間に多数送信されているため、確認してから公開します。",
            "Many people sent the same text in a short time, so it will be published after a "
            "check.",
        ),
        Reason(
            "too_many_links",
            "リンクが多いため、確認してから公開します。",
            "It contains many links, so it will be published after a check.",
        ),
    )
}
_REJECTING = ("my_number", "card", "blocked_word", "duplicate", "flood")
_DEFAULT_WORDS: WordList | None = None

MASKS = {
    Kind.MY_NUMBER: "［マイナンバー］",
    Kind.CARD: "［カード番号］",
    Kind.PHONE: "［電話番号］",
    Kind.EMAIL: "［メールアドレス］",
    Kind.POSTAL_CODE: "［郵便番号］",
    Kind.ADDRESS: "［住所］",
}


def default_words() -> WordList:
    """The seed word lists, compiled once."""
    global _DEFAULT_WORDS
    if _DEFAULT_WORDS is None:
        _DEFAULT_WORDS = WordList(default_entries())
    return _DEFAULT_WORDS


def scan(
    text: str,
    *,
    words: WordList | None = None,
    history: Sequence[Post] = (),
    recent: Sequence[Post] = (),
    author: object = None,
    now: datetime | None = None,
    policy: SpamPolicy | None = None,
) -> ScanResult:
    """Scan ``text``: personal data, blocked words (``words``, default: the seed lists) and spam
    against the author's ``history`` and everyone's ``recent`` posts; return findings and verdict.
    """
    words = default_words() if words is None else words
    findings = find_personal_data(nfkc(text))
    blocked = words.find(text) if len(words) else []
    findings = sorted([*findings, *blocked], key=lambda f: (f.start, f.end))
    codes = []
    kinds = {f.kind for f in findings}
    if Kind.MY_NUMBER in kinds:
        codes.append("my_number")
    if Kind.CARD in kinds:
        codes.append("card")
    if kinds & (PERSONAL - {Kind.MY_NUMBER, Kind.CARD}):
        codes.append("personal_data")
    if any(f.detail == "reject" for f in blocked):
        codes.append("blocked_word")
    elif blocked:
        codes.append("blocked_word_review")
    codes.extend(
        spam_reasons(text, history=history, recent=recent, now=now, author=author, policy=policy)
    )
    reasons = tuple(REASONS[c] for c in codes)
    if any(c in _REJECTING for c in codes):
        # the author must act: only the reasons they can act on
        reasons = tuple(r for r in reasons if r.code in _REJECTING)
        decision = Decision.REJECT
    elif reasons:
        decision = Decision.HOLD
    else:
        decision = Decision.PUBLISH
    return ScanResult(text, tuple(findings), Verdict(decision, reasons))


def mask(text: str, findings: Sequence[Finding] | None = None) -> str:
    """Return the public copy of ``text`` with every piece of personal data replaced by a label.

    Masking repeats until nothing more is found (a label can join two halves of an address into
    something that reads like one), so the public copy is stable: ``mask(mask(t)) == mask(t)``.
    """
    masked = _mask_once(text, find_personal_data(nfkc(text)) if findings is None else findings)
    for _ in range(4):
        again = _mask_once(masked, find_personal_data(nfkc(masked)))
        if again == masked:
            break
        masked = again
    return masked


def _mask_once(text: str, findings: Sequence[Finding]) -> str:
    parts = []
    position = 0
    for finding in sorted((f for f in findings if f.kind in PERSONAL), key=lambda f: f.start):
        if finding.start < position:
            continue
        parts.append(text[position : finding.start])
        parts.append(MASKS[finding.kind])
        position = finding.end
    parts.append(text[position:])
    return "".join(parts)
