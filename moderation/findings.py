"""What a scan returns: findings with spans of the original text, and a verdict."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Kind(enum.StrEnum):
    MY_NUMBER = "my_number"
    PHONE = "phone"
    EMAIL = "email"
    POSTAL_CODE = "postal_code"
    ADDRESS = "address"
    CARD = "card"
    BLOCKED_WORD = "blocked_word"
    LINK = "link"


#: kinds of personal data, masked in the public copy
PERSONAL = frozenset(
    {Kind.MY_NUMBER, Kind.PHONE, Kind.EMAIL, Kind.POSTAL_CODE, Kind.ADDRESS, Kind.CARD}
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing found: its kind, where it is in the original text, and a detail.

    ``detail`` never repeats the personal data itself (it is safe to store and log).
    """

    kind: Kind
    start: int
    end: int
    detail: str = ""
    confidence: float = 1.0

    def overlaps(self, other: Finding) -> bool:
        return self.start < other.end and other.start < self.end


class Decision(enum.StrEnum):
    PUBLISH = "publish"
    HOLD = "hold"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a text is held or rejected: a stable code and messages for people."""

    code: str
    ja: str
    en: str


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: Decision
    reasons: tuple[Reason, ...] = ()

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)

    def message(self, locale: str = "ja") -> str:
        """The reasons as one message for the author, in Japanese or English."""
        return " ".join(r.en if locale == "en" else r.ja for r in self.reasons)

    def __eq__(self, other: object) -> bool:  # compare with "publish", "hold", "reject"
        if isinstance(other, str):
            return self.decision == other
        if isinstance(other, Verdict):
            return (self.decision, self.reasons) == (other.decision, other.reasons)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.decision, self.reasons))


@dataclass(frozen=True, slots=True)
class ScanResult:
    text: str
    findings: tuple[Finding, ...]
    verdict: Verdict
    extra: dict = field(default_factory=dict)

    def of_kind(self, *kinds: Kind) -> list[Finding]:
        return [f for f in self.findings if f.kind in kinds]
