"""Event operations: staff save, publish and cancel events; residents register, join the
waiting list and cancel. They never commit; each mail is a job committed with its cause.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from app import audit, jobs
from app.auth.models import Role, User
from app.events.models import (
    Attendance,
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
    capacity: int | None  # online
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
    external_embed_url: str = ""
    venue_capacity: int | None = None  # a hybrid event's places at the venue


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


def confirmed_count(event: Event, attendance: Attendance) -> int:
    """Confirmed places of one kind."""
    return db.session.scalar(
        select(func.count())
        .select_from(Registration)
        .where(
            Registration.event_id == event.id,
            Registration.status == RegistrationStatus.CONFIRMED,
            Registration.attendance == attendance,
        )
    )


def has_venue_registrations(event: Event) -> bool:
    """Whether someone holds, or waits for, a place at the venue."""
    return (
        db.session.scalar(
            select(Registration.id)
            .where(
                Registration.event_id == event.id,
                Registration.attendance == Attendance.VENUE,
                Registration.status != RegistrationStatus.CANCELLED,
            )
            .limit(1)
        )
        is not None
    )


def _full(event: Event, attendance: Attendance) -> bool:
    places = event.places(attendance)
    return places is not None and confirmed_count(event, attendance) >= places


def choose_attendance(event: Event, wanted: str | None) -> Attendance:
    """How a person takes part: what they chose, among what the event offers; online for an
    online event. A hybrid event needs the choice."""
    if len(event.attendances) == 1:
        return event.attendances[0]
    try:
        attendance = Attendance(wanted or "")
    except ValueError:
        raise NotAllowed("attendance") from None
    if attendance not in event.attendances:
        raise NotAllowed("attendance")
    return attendance


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


def register(
    event: Event,
    user: User,
    locale: str | None = None,
    attendance: Attendance = Attendance.ONLINE,
) -> Registration:
    """Give ``user`` a place of the kind asked for (at the venue or online), or a place on that
    kind's waiting list when those places are taken. Registering twice is harmless (the same
    registration comes back); the places hold under concurrency."""
    if not event.takes_registrations():
        raise NotAllowed("closed")
    if not user.is_verified:
        raise NotAllowed("unverified")
    if attendance not in event.attendances:
        raise NotAllowed("attendance")
    _serialise(event)
    registration = registration_of(event, user)
    if registration is not None and registration.status != RegistrationStatus.CANCELLED:
        return registration
    full = _full(event, attendance)
    status = RegistrationStatus.WAITING if full else RegistrationStatus.CONFIRMED
    now = utcnow()
    if registration is None:
        registration = Registration(
            event=event, user=user, status=status, queued_at=now, attendance=attendance
        )
        db.session.add(registration)
    else:
        registration.status, registration.queued_at, registration.cancelled_at = status, now, None
        registration.attendance = attendance
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


def change_attendance(
    event: Event, user: User, attendance: Attendance, locale: str | None = None
) -> Registration:
    """Take part the other way (at the venue instead of online, or back). A confirmed person
    moves only to a free place and otherwise keeps theirs; the place left goes to the first
    waiting for it. Someone waiting joins the end of the other kind's list, or takes a free
    place there."""
    _serialise(event)
    registration = active_registration(event, user)
    if registration is None:
        raise NotAllowed("not_registered")
    if not event.takes_registrations():
        raise NotAllowed("closed")
    if attendance not in event.attendances:
        raise NotAllowed("attendance")
    if registration.attendance == attendance:
        return registration
    full = _full(event, attendance)
    if registration.status == RegistrationStatus.CONFIRMED:
        if full:
            raise NotAllowed("other_full")
        registration.attendance = attendance
    else:
        registration.attendance, registration.queued_at = attendance, utcnow()
        if not full:
            registration.status = RegistrationStatus.CONFIRMED
    db.session.flush()
    about = "confirmed" if registration.status == RegistrationStatus.CONFIRMED else "waiting"
    jobs.enqueue("event_mail", registration_id=registration.id, about=about, locale=locale)
    _fill_places(event)
    return registration


def _fill_places(event: Event) -> list[Registration]:
    """Move people up from each waiting list, in the order they asked, while places are free."""
    promoted: list[Registration] = []
    for attendance in event.attendances:
        promoted += _fill(event, attendance)
    db.session.flush()
    return promoted


def _fill(event: Event, attendance: Attendance) -> list[Registration]:
    waiting = list(
        db.session.scalars(
            select(Registration)
            .where(
                Registration.event_id == event.id,
                Registration.status == RegistrationStatus.WAITING,
                Registration.attendance == attendance,
            )
            .order_by(Registration.queued_at, Registration.id)
        )
    )
    if not waiting:
        return []
    places = event.places(attendance)
    free = len(waiting) if places is None else places - confirmed_count(event, attendance)
    promoted = waiting[: max(free, 0)]
    for registration in promoted:
        registration.status = RegistrationStatus.CONFIRMED
        jobs.enqueue("event_mail", registration_id=registration.id, about="promoted")
    return promoted


def waiting_position(registration: Registration) -> int:
    """1 for the first on the waiting list (of the places of its kind)."""
    return 1 + db.session.scalar(
        select(func.count())
        .select_from(Registration)
        .where(
            Registration.event_id == registration.event_id,
            Registration.status == RegistrationStatus.WAITING,
            Registration.attendance == registration.attendance,
            (Registration.queued_at < registration.queued_at)
            | (
                (Registration.queued_at == registration.queued_at)
                & (Registration.id < registration.id)
            ),
        )
    )


@dataclass(frozen=True)
class PlaceCount:
    attendance: Attendance
    places: int | None  # None: no limit
    confirmed: int
    waiting: int

    @property
    def left(self) -> int | None:
        return None if self.places is None else max(self.places - self.confirmed, 0)


def place_counts(event: Event) -> list[PlaceCount]:
    """For each way of taking part the event offers: places, confirmed, waiting (one query)."""
    rows = db.session.execute(
        select(Registration.attendance, Registration.status, func.count())
        .where(
            Registration.event_id == event.id,
            Registration.status != RegistrationStatus.CANCELLED,
        )
        .group_by(Registration.attendance, Registration.status)
    )
    counts = {(attendance, status): n for attendance, status, n in rows}
    return [
        PlaceCount(
            attendance,
            event.places(attendance),
            counts.get((attendance, RegistrationStatus.CONFIRMED), 0),
            counts.get((attendance, RegistrationStatus.WAITING), 0),
        )
        for attendance in event.attendances
    ]


@dataclass(frozen=True)
class RegistrationRow:
    registration: Registration
    position: int | None  # on the waiting list of its kind; None when confirmed


def registrations(event: Event) -> list[RegistrationRow]:
    """Everyone registered or waiting (for staff): the confirmed in the order they asked, then
    each waiting list in its order, with each one's number on it."""
    rows = db.session.scalars(
        select(Registration)
        .options(selectinload(Registration.user))
        .where(
            Registration.event_id == event.id,
            Registration.status != RegistrationStatus.CANCELLED,
        )
        .order_by(Registration.status, Registration.queued_at, Registration.id)
    )
    numbers: dict[Attendance, int] = {}
    listed = []
    for registration in rows:
        position = None
        if registration.status == RegistrationStatus.WAITING:
            position = numbers[registration.attendance] = (
                numbers.get(registration.attendance, 0) + 1
            )
        listed.append(RegistrationRow(registration, position))
    return listed


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
