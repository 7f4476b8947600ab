"""Event operations: staff save, publish and cancel events; residents register, join the
waiting list and cancel. They never commit; each mail is a job committed with its cause.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update

from app import audit, jobs
from app.auth.models import Role, User
from app.events.models import (
    Audience,
    Engine,
    Event,
    EventState,
    Mode,
    Registration,
    RegistrationStatus,
)
from app.extensions import db
from app.timeutil import TOKYO, as_utc, utcnow

#: the reminder goes this long before the start (once per event)
REMINDER_LEAD = timedelta(hours=24)
#: fields whose change a calendar must learn of (a new SEQUENCE, a mail to registrants)
_CALENDAR_FIELDS = ("starts_at", "ends_at", "mode", "venue")


class NotAllowed(Exception):
    """The person may not do this with this event now; ``reason`` says why (for the page)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class EventData:
    title: str
    description: str
    speakers: str
    department: str
    starts_at: datetime
    ends_at: datetime
    mode: Mode
    venue: str
    capacity: int | None
    registration_required: bool
    audience: Audience
    chat_enabled: bool = True
    slow_mode_seconds: int = 0
    questions_enabled: bool = True
    questions_moderated: bool = False
    questions_anonymous: bool = True
    engine: Engine = Engine.KOE
    external_ingest_url: str = ""
    external_playback_url: str = ""


def save_event(event: Event | None, data: EventData, staff: User) -> Event:
    """Create an event or change one. A published event whose time or place changed gets a new
    calendar sequence and a mail to everyone registered; a larger capacity moves the waiting
    list up."""
    created = event is None
    if created:
        event = Event(created_by_id=staff.id, state=EventState.DRAFT)
        db.session.add(event)
    moved = not created and any(
        _differs(getattr(event, name), getattr(data, name)) for name in _CALENDAR_FIELDS
    )
    for name, value in vars(data).items():
        setattr(event, name, value)
    event.updated_at = utcnow()
    db.session.flush()
    if moved and event.state == EventState.PUBLISHED:
        event.sequence += 1
        if not event.has_started():  # a new time: a new reminder
            event.reminder_sent_at = None
        _mail_everyone(event, "changed")
    if event.state == EventState.PUBLISHED:
        _fill_places(event)
    audit.record("event.create" if created else "event.update", event, actor=staff)
    return event


def _differs(old, new) -> bool:
    if isinstance(old, datetime) and isinstance(new, datetime):
        return as_utc(old) != as_utc(new)
    return old != new


def publish(event: Event, staff: User) -> None:
    if event.state != EventState.DRAFT:
        raise NotAllowed("not_draft")
    event.state = EventState.PUBLISHED
    event.updated_at = utcnow()
    audit.record("event.publish", event, actor=staff)


def cancel(event: Event, staff: User) -> None:
    """Cancel a published event that has not ended: everyone registered or waiting is told
    (with a calendar file that removes the entry)."""
    if event.state != EventState.PUBLISHED or event.is_over():
        raise NotAllowed("not_cancellable")
    event.state = EventState.CANCELLED
    event.cancelled_at = event.updated_at = utcnow()
    event.sequence += 1
    _mail_everyone(event, "cancelled")
    audit.record("event.cancel", event, actor=staff)


def _mail_everyone(event: Event, kind: str) -> None:
    ids = db.session.scalars(
        select(Registration.id).where(
            Registration.event_id == event.id,
            Registration.status != RegistrationStatus.CANCELLED,
        )
    ).all()
    jobs.enqueue_many("event_mail", [{"registration_id": i, "about": kind} for i in ids])


# --- registration ---------------------------------------------------------------------------


def _serialise(event: Event) -> None:
    """Take this event's registration turn: the UPDATE holds the row (PostgreSQL) or the
    database's write lock (SQLite) until commit, so counting places and taking one is atomic."""
    db.session.execute(
        update(Event)
        .where(Event.id == event.id)
        .values(registrations_version=Event.registrations_version + 1)
        .execution_options(synchronize_session=False)
    )


def confirmed_count(event: Event) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Registration)
        .where(
            Registration.event_id == event.id,
            Registration.status == RegistrationStatus.CONFIRMED,
        )
    )


def registration_of(event: Event, user: User | None) -> Registration | None:
    if user is None:
        return None
    return db.session.scalar(
        select(Registration).where(
            Registration.event_id == event.id, Registration.user_id == user.id
        )
    )


def active_registration(event: Event, user: User | None) -> Registration | None:
    registration = registration_of(event, user)
    if registration is None or registration.status == RegistrationStatus.CANCELLED:
        return None
    return registration


def register(event: Event, user: User, locale: str | None = None) -> Registration:
    """Give ``user`` a place, or a place on the waiting list when the event is full. Registering
    twice is harmless (the same registration comes back); the capacity holds under concurrency."""
    if not event.takes_registrations():
        raise NotAllowed("closed")
    if not user.is_verified:
        raise NotAllowed("unverified")
    _serialise(event)
    registration = registration_of(event, user)
    if registration is not None and registration.status != RegistrationStatus.CANCELLED:
        return registration
    full = event.capacity is not None and confirmed_count(event) >= event.capacity
    status = RegistrationStatus.WAITING if full else RegistrationStatus.CONFIRMED
    now = utcnow()
    if registration is None:
        registration = Registration(event=event, user=user, status=status, queued_at=now)
        db.session.add(registration)
    else:
        registration.status, registration.queued_at, registration.cancelled_at = status, now, None
    db.session.flush()
    jobs.enqueue("event_mail", registration_id=registration.id, about=status.value, locale=locale)
    return registration


def unregister(event: Event, user: User) -> Registration:
    """Cancel one's place (or leave the waiting list); a freed place goes to the first waiting."""
    _serialise(event)
    registration = active_registration(event, user)
    if registration is None:
        raise NotAllowed("not_registered")
    if event.is_over():
        raise NotAllowed("over")
    registration.status = RegistrationStatus.CANCELLED
    registration.cancelled_at = utcnow()
    db.session.flush()
    if event.state == EventState.PUBLISHED:
        _fill_places(event)
    return registration


def _fill_places(event: Event) -> list[Registration]:
    """Move people up from the waiting list, in the order they asked, while places are free."""
    waiting = list(
        db.session.scalars(
            select(Registration)
            .where(
                Registration.event_id == event.id,
                Registration.status == RegistrationStatus.WAITING,
            )
            .order_by(Registration.queued_at, Registration.id)
        )
    )
    if not waiting:
        return []
    free = len(waiting) if event.capacity is None else event.capacity - confirmed_count(event)
    promoted = waiting[: max(free, 0)]
    for registration in promoted:
        registration.status = RegistrationStatus.CONFIRMED
        jobs.enqueue("event_mail", registration_id=registration.id, about="promoted")
    db.session.flush()
    return promoted


def waiting_position(registration: Registration) -> int:
    """1 for the first on the waiting list."""
    return 1 + db.session.scalar(
        select(func.count())
        .select_from(Registration)
        .where(
            Registration.event_id == registration.event_id,
            Registration.status == RegistrationStatus.WAITING,
            (Registration.queued_at < registration.queued_at)
            | (
                (Registration.queued_at == registration.queued_at)
                & (Registration.id < registration.id)
            ),
        )
    )


def places_left(event: Event) -> int | None:
    if event.capacity is None:
        return None
    return max(event.capacity - confirmed_count(event), 0)


def registrations(event: Event) -> list[Registration]:
    """Everyone registered or waiting, in the order they asked (for staff)."""
    return list(
        db.session.scalars(
            select(Registration)
            .where(
                Registration.event_id == event.id,
                Registration.status != RegistrationStatus.CANCELLED,
            )
            .order_by(Registration.status, Registration.queued_at, Registration.id)
        )
    )


def may_watch(event: Event, user: User | None) -> bool:
    """Whether ``user`` may watch the stream and the archive (staff always may)."""
    if event.state == EventState.DRAFT:
        return user is not None and user.has_role(Role.STAFF)
    if user is not None and user.has_role(Role.STAFF):
        return True
    if event.audience == Audience.EVERYONE:
        return True
    if user is None:
        return False
    if event.audience == Audience.SIGNED_IN:
        return True
    registration = active_registration(event, user)
    return registration is not None and registration.status == RegistrationStatus.CONFIRMED


# --- lists and the calendar -----------------------------------------------------------------


def listed(include_drafts: bool = False):
    query = select(Event)
    if not include_drafts:
        query = query.where(Event.state != EventState.DRAFT)
    return query


def upcoming(include_drafts: bool = False, now: datetime | None = None):
    """Events not yet over, soonest first."""
    now = now or utcnow()
    return listed(include_drafts).where(Event.ends_at > now).order_by(Event.starts_at, Event.id)


def past(include_drafts: bool = False, now: datetime | None = None):
    """Events that ended, latest first."""
    now = now or utcnow()
    return (
        listed(include_drafts)
        .where(Event.ends_at <= now)
        .order_by(Event.starts_at.desc(), Event.id.desc())
    )


def month_grid(year: int, month: int, include_drafts: bool = False) -> list[list[tuple]]:
    """The weeks of a month in Tokyo (Monday first), each day ``(date or None, [events])``."""
    first = datetime(year, month, 1, tzinfo=TOKYO)
    last_day = calendar.monthrange(year, month)[1]
    after = first + timedelta(days=last_day)
    events = db.session.scalars(
        listed(include_drafts)
        .where(Event.starts_at >= first, Event.starts_at < after)
        .order_by(Event.starts_at, Event.id)
    ).all()
    by_day: dict[date, list[Event]] = {}
    for event in events:
        by_day.setdefault(as_utc(event.starts_at).astimezone(TOKYO).date(), []).append(event)
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)
    return [
        [(day if day.month == month else None, by_day.get(day, [])) for day in week]
        for week in weeks
    ]


# --- reminders ------------------------------------------------------------------------------


@jobs.every(300)
def send_reminders(now: datetime | None = None) -> int:
    """Queue one reminder per confirmed registration of each event starting within a day;
    return how many. Run by the jobs worker when idle; each event is reminded once."""
    now = now or utcnow()
    due = db.session.scalars(
        select(Event).where(
            Event.state == EventState.PUBLISHED,
            Event.reminder_sent_at.is_(None),
            Event.starts_at > now,
            Event.starts_at <= now + REMINDER_LEAD,
        )
    ).all()
    queued = 0
    for event in due:
        # the UPDATE claims the event: two workers never both remind
        claimed = db.session.execute(
            update(Event)
            .where(Event.id == event.id, Event.reminder_sent_at.is_(None))
            .values(reminder_sent_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            continue
        ids = db.session.scalars(
            select(Registration.id).where(
                Registration.event_id == event.id,
                Registration.status == RegistrationStatus.CONFIRMED,
            )
        ).all()
        jobs.enqueue_many("event_mail", [{"registration_id": i, "about": "reminder"} for i in ids])
        queued += len(ids)
    db.session.commit()
    return queued
