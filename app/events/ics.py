"""An event as an iCalendar file (RFC 5545), written with the ``icalendar`` library.

The UID stays the same for the life of the event and SEQUENCE rises with each change of time
or place, so a calendar that imported the file replaces its entry; a cancelled event is sent
with METHOD:CANCEL and STATUS:CANCELLED, which removes it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, url_for
from flask_babel import gettext as _
from icalendar import Calendar
from icalendar import Event as VEvent

from app.events.models import Event, EventState, Mode
from app.i18n import tokyo_range
from app.timeutil import as_utc, utcnow

MIME = "text/calendar"


def uid(event: Event) -> str:
    host = urlsplit(current_app.config["BASE_URL"]).hostname or "koe.local"
    return f"event-{event.id}@{host}"


def calendar_file(event: Event) -> bytes:
    """The event in the current language; the page's link in the description and URL."""
    page = url_for("events.show", event_id=event.id, _external=True)
    cancelled = event.state == EventState.CANCELLED
    cal = Calendar()
    cal.add("prodid", "-//Koe//events//JA")
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancelled else "PUBLISH")
    entry = VEvent()
    entry.add("uid", uid(event))
    entry.add("dtstamp", utcnow())
    entry.add("dtstart", as_utc(event.starts_at))
    entry.add("dtend", as_utc(event.ends_at))
    entry.add("summary", event.title)
    online = _("Online: %(url)s", url=page)
    entry.add("location", f"{event.venue} / {online}" if event.mode == Mode.HYBRID else online)
    when = _("When: %(when)s", when=tokyo_range(event.starts_at, event.ends_at))
    parts = (when, (event.description or "").strip(), page)
    entry.add("description", "\n\n".join(part for part in parts if part))
    entry.add("url", page)
    entry.add("sequence", event.sequence)
    entry.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    cal.add_component(entry)
    return cal.to_ical()


def attachment(event: Event) -> tuple[str, bytes, str]:
    return (f"event-{event.id}.ics", calendar_file(event), MIME)
