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
