"""CSV for spreadsheets: UTF-8 with a BOM (Excel in Japan), and no formulas from anyone's text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

#: a cell starting with one of these is read as a formula by spreadsheet software
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe (OWASP)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def render(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """The whole file as bytes: BOM, header line, one line per row, CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return buffer.getvalue().encode("utf-8-sig")
