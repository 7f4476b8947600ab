"""Opinions that arrived on paper, by fax, at the counter or by e-mail, imported from CSV.

The file is checked whole first: one bad row (an unknown channel, a missing text, a My Number
that must be blacked out first) and nothing is imported, with every problem listed by line.
Each row meets the rules of the opinion forms (OPINION_MAX, AGE_BANDS, ENTRY_CHANNELS and the
checks of app.validators), reported in English for the person running the command.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from app.auth.models import User
from app.consultations import operations
from app.consultations.forms import AGE_BANDS, ENTRY_CHANNELS, OPINION_MAX
from app.consultations.models import Channel, Consultation, Opinion, Section
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


@dataclass
class ImportResult:
    errors: list[str] = field(default_factory=list)
    opinions: list[Opinion] = field(default_factory=list)


def _cell(row: dict, name: str) -> str:
    """A short cell as typed in office software: full-width ２ or ＦＡＸ read as 2 or FAX."""
    return nfkc_strip(row.get(name) or "")


def decode(data: bytes) -> str:
    """CSV from office software: UTF-8 (with or without BOM), else Shift_JIS (cp932)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp932")


def import_opinions(
    consultation: Consultation, staff: User, data: bytes, areas: set[str]
) -> ImportResult:
    """Check every row, then enter them all, or none when a row has a problem."""
    result = ImportResult()
    try:
        text = decode(data)
    except UnicodeDecodeError:
        result.errors.append("the file is neither UTF-8 nor Shift_JIS")
        return result
    reader = csv.DictReader(io.StringIO(text))
    missing = {"channel", "text"} - set(reader.fieldnames or ())
    if missing:
        result.errors.append(f"missing columns: {', '.join(sorted(missing))} (expected {COLUMNS})")
        return result
    sections = {str(s.position): s for s in consultation.sections}
    rows = []
    for line, row in enumerate(reader, start=2):
        problems = []
        channel = CHANNELS.get(_cell(row, "channel").lower())
        if channel is None:
            problems.append(f"unknown channel {row.get('channel')!r}")
        body = row.get("text") or ""
        if not has_visible(body):
            problems.append("no text")
        elif over := chars_over(body, OPINION_MAX):
            problems.append(f"text {over} characters too long")
        section_key = _cell(row, "section")
        section: Section | None = sections.get(section_key) if section_key else None
        if section_key and section is None:
            problems.append(f"no section {section_key!r}")
        received = _cell(row, "received_at")
        received_at = parse_tokyo(received) if received else None
        if received and received_at is None:
            problems.append(f"received_at {received!r} is not a date like 2026-12-01 09:00")
        age_band = _cell(row, "age_band") or None
        if age_band and age_band not in AGE_BANDS:
            problems.append(f"age_band {age_band!r} is not one of {', '.join(AGE_BANDS)}")
        area = _cell(row, "area") or None
        if area and area not in areas:
            problems.append(f"unknown area {area!r}")
        scan = None
        if not problems:
            scan = moderation_ops.scan_text(body, None, spam=False)
            if scan.verdict == "reject":
                # reason codes only: the row's text (perhaps a My Number) is never printed
                problems.append(f"refused by moderation: {', '.join(scan.verdict.codes)}")
        if problems:
            result.errors.extend(f"line {line}: {p}" for p in problems)
        else:
            rows.append((channel, section, received_at, age_band, area, scan))
    if result.errors:
        return result
    for channel, section, received_at, age_band, area, scan in rows:
        result.opinions.append(
            operations.enter_opinion(
                consultation,
                staff,
                scan,
                channel=channel,
                section=section,
                received_at=received_at,
                age_band=age_band,
                area=area,
            )
        )
    return result
