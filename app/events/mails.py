"""The e-mails about registrations, sent by the jobs worker (committed with their cause).

One handler for every kind: the registration (confirmed or on the waiting list), a place
freed for someone waiting, the reminder, a change of time or place, and the cancellation.
Mails that put the event in a calendar carry it as an iCalendar file.
"""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from app import jobs
from app.consultations.mails import send_to
from app.events import ics
from app.events.models import Registration, RegistrationStatus
from app.extensions import db

SUBJECTS = {
    "confirmed": lambda e: _("You are registered: %(title)s", title=e.title),
    "waiting": lambda e: _("You are on the waiting list: %(title)s", title=e.title),
    "promoted": lambda e: _("A place is yours: %(title)s", title=e.title),
    "reminder": lambda e: _("Reminder: %(title)s starts soon", title=e.title),
    "changed": lambda e: _("Changed: %(title)s", title=e.title),
    "cancelled": lambda e: _("Cancelled: %(title)s", title=e.title),
}
#: kinds sent with the calendar file (a waiting place is not in one's calendar yet)
WITH_CALENDAR = {"confirmed", "promoted", "changed", "cancelled"}


@jobs.handler("event_mail")
def event_mail(registration_id: int, about: str, locale: str | None = None) -> None:
    kind = about  # (not ``kind``: jobs.enqueue takes the job's kind by that name)
    registration = db.session.get(Registration, registration_id)
    if registration is None or kind not in SUBJECTS:
        return
    if kind in {"reminder", "promoted"} and registration.status != RegistrationStatus.CONFIRMED:
        return  # cancelled meanwhile
    event = registration.event
    position = None
    if kind == "waiting":
        if registration.status != RegistrationStatus.WAITING:
            return  # moved up before this mail went: the "promoted" mail tells them
        from app.events.operations import waiting_position

        position = waiting_position(registration)
    send_to(
        registration.user,
        lambda: SUBJECTS[kind](event),
        f"event_{kind}",
        locale,
        attachments=[lambda: ics.attachment(event)] if kind in WITH_CALENDAR else [],
        event=event,
        attendance=registration.attendance.value,
        position=position,
        url=url_for("events.show", event_id=event.id, _external=True),
    )
