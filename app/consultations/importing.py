"""Opinions that arrived on paper, by fax, at the counter or by e-mail, imported from CSV.

The file is checked whole first: one bad row (an unknown channel, a missing text, a My Number
that must be blacked out first) and nothing is imported, with every problem listed by line.
Each row meets the rules of the opinion forms (OPINION_MAX, AGE_BANDS, ENTRY_CHANNELS and the
checks of app.validators). One implementation for both ways in: the command
``flask koe import-opinions`` (problems in English) and the staff page in the browser, which
checks, shows a preview, and imports only when staff confirm (problems in the page language).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

import moderation
from app import audit
from app.audit import AuditEntry
from app.auth.models import User
from app.consultations import operations
from app.consultations.forms import AGE_BANDS, ENTRY_CHANNELS, OPINION_MAX
from app.consultations.models import Channel, Consultation, Opinion, Section
from app.extensions import db
from app.moderation import operations as moderation_ops
from app.timeutil import parse_tokyo
from app.validators import chars_over, has_visible, nfkc_strip

COLUMNS = ("channel", "section", "text", "received_at", "age_band", "area")
# the channels of the form by their names, and the words offices write for them
CHANNELS = {channel.value: channel for channel in ENTRY_CHANNELS} | {
    "紙": Channel.PAPER, "郵送": Channel.PAPER,
    "ファクス": Channel.FAX, "ファックス": Channel.FAX,
    "窓口": Channel.COUNTER,
    "e-mail": Channel.EMAIL, "メール": Channel.EMAIL,
}  # fmt: skip
#: age bands as residents and offices write them (after NFKC): 70代, 70歳代, 80代以上, 80歳以上
_AGE_WRITTEN = re.compile(r"(\d0)(?:歳代|代|s)(以上)?|(\d0)歳以上|(\d0)\+")


def age_band(value: str) -> str | None:
    """The form's age band for ``value`` as written (「70代」「７０歳代」「70s」), or None."""
    value = nfkc_strip(value).lower().replace(" ", "")
    if value in AGE_BANDS:
        return value
    match = _AGE_WRITTEN.fullmatch(value)
    if match is None:
        return None
    decade, at_least, over, plus = match.groups()
    years = int(decade or over or plus)
    oldest = AGE_BANDS[-1]  # "80+": 80代, 90代 and 80歳以上 are in it
    if years >= int(oldest.rstrip("+")):
        return oldest
    band = f"{years}s"
    return band if band in AGE_BANDS and not (at_least or over or plus) else None


@dataclass(frozen=True)
class Problem:
    """A problem of the file (``line`` None) or of one of its rows, in the reader's language."""

    line: int | None
    message: object  # a lazy string

    def __str__(self) -> str:
        if self.line is None:
            return str(self.message)
        return str(_l("line %(line)d: %(problem)s", line=self.line, problem=self.message))


@dataclass
class Row:
    """A checked row, ready to be entered."""

    line: int
    channel: Channel
    section: Section | None
    text: str
    received_at: datetime | None
    age_band: str | None
    area: str | None
    scan: moderation.ScanResult


@dataclass
class Checked:
    """The whole file checked: its rows when every one is right, else every problem."""

    text: str = ""
    problems: list[Problem] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)

    @property
    def digest(self) -> str:
        """What identifies the file's content (an import is done once)."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass
class ImportResult:
    errors: list[str] = field(default_factory=list)
    opinions: list[Opinion] = field(default_factory=list)
    checked: Checked | None = None


def _cell(row: dict, name: str) -> str:
    """A short cell as typed in office software: full-width ２ or ＦＡＸ read as 2 or FAX."""
    return nfkc_strip(row.get(name) or "")


def decode(data: bytes) -> str:
    """CSV from office software: UTF-8 (with or without BOM), else Shift_JIS (cp932)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp932")


def check(consultation: Consultation, data: bytes | str, areas: set[str]) -> Checked:
    """Check every row of the CSV ``data``; save nothing."""
    result = Checked()
    try:
        text = decode(data) if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        result.problems.append(Problem(None, _l("the file is neither UTF-8 nor Shift_JIS")))
        return result
    result.text = text
    try:
        reader = csv.DictReader(io.StringIO(text))
        fieldnames = reader.fieldnames or ()
    except csv.Error as exc:
        result.problems.append(Problem(None, _l("the file is not CSV: %(error)s", error=str(exc))))
        return result
    missing = {"channel", "text"} - set(fieldnames)
    if missing:
        result.problems.append(
            Problem(
                None,
                _l(
                    "missing columns: %(missing)s (expected %(columns)s)",
                    missing=", ".join(sorted(missing)),
                    columns=", ".join(COLUMNS),
                ),
            )
        )
        return result
    sections = {str(s.position): s for s in consultation.sections}
    try:
        for line, row in enumerate(reader, start=2):
            _check_row(result, line, row, sections, areas)
    except csv.Error as exc:
        result.problems.append(Problem(reader.line_num, _l("not CSV: %(error)s", error=str(exc))))
    if not result.rows and not result.problems:
        result.problems.append(Problem(None, _l("the file has no opinions")))
    if result.problems:
        result.rows = []
    return result


def _check_row(result: Checked, line: int, row: dict, sections: dict, areas: set[str]) -> None:
    problems = []
    raw_channel = row.get("channel") or ""
    channel = CHANNELS.get(_cell(row, "channel").lower())
    if channel is None:
        problems.append(_l("unknown channel %(value)s", value=repr(raw_channel)))
    body = row.get("text") or ""
    if not has_visible(body):
        problems.append(_l("no text"))
    elif over := chars_over(body, OPINION_MAX):
        problems.append(_l("text %(over)d characters too long", over=over))
    section_key = _cell(row, "section")
    section: Section | None = sections.get(section_key) if section_key else None
    if section_key and section is None:
        problems.append(_l("no section %(value)s", value=repr(section_key)))
    received = _cell(row, "received_at")
    received_at = parse_tokyo(received) if received else None
    if received and received_at is None:
        problems.append(
            _l("received_at %(value)s is not a date like 2026-12-01 09:00", value=repr(received))
        )
    written_band = _cell(row, "age_band")
    band = age_band(written_band) if written_band else None
    if written_band and band is None:
        problems.append(
            _l(
                "age_band %(value)s is not an age band like 70代 (%(bands)s)",
                value=repr(written_band),
                bands=", ".join(AGE_BANDS),
            )
        )
    area = _cell(row, "area") or None
    if area and area not in areas:
        problems.append(_l("unknown area %(value)s", value=repr(area)))
    scan = None
    if not problems:
        scan = moderation_ops.scan_text(body, None, spam=False)
        if scan.verdict == "reject":
            # reason codes only: the row's text (perhaps a My Number) is never shown
            problems.append(
                _l("refused by moderation: %(codes)s", codes=", ".join(scan.verdict.codes))
            )
    if problems:
        result.problems.extend(Problem(line, p) for p in problems)
    else:
        result.rows.append(Row(line, channel, section, body, received_at, band, area, scan))


IMPORT_ACTION = "consultation.import_opinions"


def already_imported(consultation: Consultation, digest: str) -> bool:
    """Whether a file with this content was imported into the consultation before (a second
    press of "import" must not enter every opinion twice)."""
    details = db.session.scalars(
        select(AuditEntry.details).where(
            AuditEntry.action == IMPORT_ACTION,
            AuditEntry.target_type == type(consultation).__name__,
            AuditEntry.target_id == str(consultation.id),
        )
    )
    return any((d or {}).get("digest") == digest for d in details)


def record(consultation: Consultation, staff: User, checked: Checked, count: int) -> None:
    """The audit entry of an import (its size and the content's digest, never the texts)."""
    audit.record(
        IMPORT_ACTION,
        consultation,
        actor=staff,
        details={"opinions": count, "digest": checked.digest},
    )


def enter(consultation: Consultation, staff: User, checked: Checked) -> list[Opinion]:
    """Enter every checked row as an opinion (the caller commits once, for all of them)."""
    if checked.problems:
        raise ValueError("a file with problems is not imported")
    return [
        operations.enter_opinion(
            consultation,
            staff,
            row.scan,
            channel=row.channel,
            section=row.section,
            received_at=row.received_at,
            age_band=row.age_band,
            area=row.area,
        )
        for row in checked.rows
    ]


def import_opinions(
    consultation: Consultation, staff: User, data: bytes, areas: set[str]
) -> ImportResult:
    """Check every row, then enter them all, or none when a row has a problem."""
    checked = check(consultation, data, areas)
    result = ImportResult(errors=[str(p) for p in checked.problems], checked=checked)
    if not checked.problems:
        result.opinions = enter(consultation, staff, checked)
    return result
