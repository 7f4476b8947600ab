"""Time helpers: store aware UTC, show Asia/Tokyo."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime (a callable column default)."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Return ``value`` as aware UTC; SQLite hands back naive datetimes that are UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def to_tokyo(value: datetime) -> datetime:
    """Return ``value`` in Asia/Tokyo."""
    return as_utc(value).astimezone(TOKYO)


TOKYO_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")


def parse_tokyo(text: str) -> datetime | None:
    """Read a date (and time) written in Asia/Tokyo, e.g. 2026-12-01 09:00; else None."""
    for fmt in TOKYO_FORMATS:
        try:
            local = datetime.strptime(text.strip(), fmt)  # the zone is Tokyo, set below
        except ValueError:
            continue
        return as_utc(local.replace(tzinfo=TOKYO))
    return None
