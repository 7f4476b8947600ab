"""Query parameters of the open-data API: pagination and output format, checked strictly."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from flask import request

JSON, CSV = "json", "csv"
#: items per page: (default, largest allowed) for JSON and for CSV
PER_PAGE = {JSON: (20, 100), CSV: (1000, 1000)}
#: a page number beyond this is refused rather than turned into a huge OFFSET
MAX_PAGE = 100_000
_NUMBER = re.compile(r"[0-9]{1,7}")


class ApiError(Exception):
    """An error the client can fix, answered as JSON with its status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _number(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not _NUMBER.fullmatch(raw) or not low <= int(raw) <= high:
        raise ApiError(400, f"'{name}' must be a whole number from {low} to {high}.")
    return int(raw)


def output_format(allowed: tuple[str, ...] = (JSON, CSV)) -> str:
    """The ``format`` parameter: json (the default) or, for lists, csv."""
    value = request.args.get("format") or JSON
    if value not in allowed:
        raise ApiError(400, f"'format' must be one of: {', '.join(allowed)}.")
    return value


@dataclass(frozen=True)
class Paging:
    page: int
    per_page: int
    fmt: str


def paging(json_default: int | None = None) -> Paging:
    """``page``, ``per_page`` and ``format`` of a list endpoint."""
    fmt = output_format()
    default, largest = PER_PAGE[fmt]
    if fmt == JSON and json_default is not None:
        default = json_default
    page = _number("page", 1, 1, MAX_PAGE)
    per_page = _number("per_page", default, 1, largest)
    return Paging(page, per_page, fmt)


def choice(name: str, allowed: tuple[str, ...]) -> str | None:
    """An optional parameter that must be one of ``allowed``."""
    value = request.args.get(name)
    if value is None or value == "":
        return None
    if value not in allowed:
        raise ApiError(400, f"'{name}' must be one of: {', '.join(allowed)}.")
    return value


def search_text(name: str = "q", longest: int = 100) -> str:
    """Search words: at most ``longest`` characters and no control characters (PostgreSQL
    refuses a NUL in a string)."""
    value = request.args.get(name, "").strip()
    if len(value) > longest:
        raise ApiError(400, f"'{name}' must be at most {longest} characters.")
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ApiError(400, f"'{name}' must not contain control characters.")
    return value
