"""Field filters and validators shared by every form."""

from __future__ import annotations

import unicodedata

from flask_babel import lazy_gettext as _l
from wtforms import ValidationError
from wtforms.validators import AnyOf, StopValidation

_ALLOWED_CONTROLS_MULTILINE = {"\t", "\n", "\r"}


def nfkc_strip(value: str | None) -> str | None:
    """Normalise full-width letters and digits (ｅｘａｍｐｌｅ＠… → example@…) and trim."""
    return unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else value


def has_lone_surrogate(data) -> bool:
    """Whether a payload holds a lone UTF-16 surrogate ("\\ud800": JSON allows it, UTF-8 and
    the database do not), in any string, key or nested value (walked without recursion)."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def empty_to_none(value: str | None) -> str | None:
    return value if value not in ("",) else None


class NoControlCharacters:
    """Refuse control characters (NUL and friends) that no person types into a field."""

    def __init__(self, multiline: bool = False) -> None:
        self.allowed = _ALLOWED_CONTROLS_MULTILINE if multiline else set()

    def __call__(self, form, field) -> None:
        data = field.data
        if not isinstance(data, str):
            return
        for ch in data:
            if ch in self.allowed:
                continue
            if unicodedata.category(ch) in {"Cc", "Cs"}:
                raise ValidationError(_l("Remove the invisible control characters."))


# Characters a reader cannot see: controls, format marks (zero-width space, BOM, bidi marks),
# unassigned code points and separators.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cn", "Zs", "Zl", "Zp"})


def has_visible(text: str | None) -> bool:
    """Whether ``text`` has at least one character a reader can see."""
    return bool(text) and any(
        not ch.isspace() and unicodedata.category(ch) not in _INVISIBLE_CATEGORIES for ch in text
    )


class NotBlank:
    """Refuse a value with nothing visible in it (spaces, zero-width characters), keeping it."""

    def __init__(self, message=None) -> None:
        self.message = message

    def __call__(self, form, field) -> None:
        if not isinstance(field.data, str) or not has_visible(field.data):
            field.errors[:] = []
            raise StopValidation(self.message or _l("Enter a value."))


class OptionalText:
    """An optional text field: nothing visible counts as not given (stored as None)."""

    def __call__(self, form, field) -> None:
        if not isinstance(field.data, str) or not has_visible(field.data):
            field.data = None
            field.errors[:] = []
            raise StopValidation()


def one_of(values, message=None) -> AnyOf:
    """Accept only one of ``values`` (select fields), with a message in our catalogue."""
    return AnyOf(list(values), message=message or _l("Choose from the list."))


def chars_over(text: str | None, limit: int) -> int:
    """How many characters ``text`` is over ``limit``, 0 when it fits.

    Japanese counts per character, as residents count them, not per byte.
    """
    return max(len(text) - limit, 0) if isinstance(text, str) else 0


class MaxChars:
    """Refuse text over ``limit`` characters, saying by how much."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __call__(self, form, field) -> None:
        if over := chars_over(field.data, self.limit):
            raise ValidationError(
                _l(
                    "This is %(over)d characters too long (at most %(max)d).",
                    over=over,
                    max=self.limit,
                )
            )
