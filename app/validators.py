"""Field filters and validators shared by every form."""

from __future__ import annotations

import unicodedata

from flask_babel import lazy_gettext as _l
from wtforms import ValidationError
from wtforms.validators import AnyOf

_ALLOWED_CONTROLS_MULTILINE = {"\t", "\n", "\r"}


def nfkc_strip(value: str | None) -> str | None:
    """Normalise full-width letters and digits (ｅｘａｍｐｌｅ＠… → example@…) and trim."""
    return unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else value


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


class NotBlank:
    """Refuse a value that is only spaces (half- or full-width), keeping the value as typed."""

    def __init__(self, message=None) -> None:
        self.message = message

    def __call__(self, form, field) -> None:
        if not isinstance(field.data, str) or not field.data.strip():
            field.errors[:] = []
            raise ValidationError(self.message or _l("Enter a value."))


def one_of(values, message=None) -> AnyOf:
    """Accept only one of ``values`` (select fields), with a message in our catalogue."""
    return AnyOf(list(values), message=message or _l("Choose from the list."))


class MaxChars:
    """Refuse text over ``limit`` characters, saying by how much (Japanese counts per character)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __call__(self, form, field) -> None:
        if isinstance(field.data, str) and len(field.data) > self.limit:
            raise ValidationError(
                _l(
                    "This is %(over)d characters too long (at most %(max)d).",
                    over=len(field.data) - self.limit,
                    max=self.limit,
                )
            )
