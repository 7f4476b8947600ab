"""Events (lectures, briefings): what staff publish, and who registered for them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.extensions import db, db_enum
from app.timeutil import as_utc, utcnow


class EventState(enum.StrEnum):
    DRAFT = "draft"  # staff only
    PUBLISHED = "published"  # listed; before, during and after its time
    CANCELLED = "cancelled"  # listed as cancelled; registrations closed


class Mode(enum.StrEnum):
    ONLINE = "online"
    HYBRID = "hybrid"  # a venue and the stream


class Audience(enum.StrEnum):
    """Who may watch the stream (and its archive)."""

    EVERYONE = "everyone"
    SIGNED_IN = "signed_in"
    REGISTERED = "registered"  # only with registration required


class StreamState(enum.StrEnum):
    """The stream, as the media service (or an external engine) reports it."""

    IDLE = "idle"  # not started
    LIVE = "live"
    ENDED = "ended"  # over: the recording (if any) is the archive


class Engine(enum.StrEnum):
    KOE = "koe"  # Koe's own media service (realtime/media)
    EXTERNAL = "external"  # any WHIP ingest and HLS playback (MediaMTX, LiveKit, …)


class Attendance(enum.StrEnum):
    """How a registered person takes part: a hybrid event has places of each kind."""

    VENUE = "venue"
    ONLINE = "online"


class RegistrationStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    WAITING = "waiting"  # the event was full: moved up, in order, when a place frees
    CANCELLED = "cancelled"


class Event(db.Model):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    speakers: Mapped[str] = mapped_column(String(500), default="")  # one per line
    department: Mapped[str] = mapped_column(String(100), default="")
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    mode: Mapped[Mode] = mapped_column(db_enum(Mode, "event_mode"), default=Mode.ONLINE)
    venue: Mapped[str] = mapped_column(String(300), default="")  # hybrid: where, and access
    #: the text search compares (title, description, speakers, department, venue), kept by
    #: app.search before every flush
    search_key: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: at most this many confirmed registrations online (None: no limit), then a waiting list;
    #: a hybrid event's places at the venue are counted apart, with a waiting list of their own
    capacity: Mapped[int | None] = mapped_column(Integer)
    venue_capacity: Mapped[int | None] = mapped_column(Integer)
    registration_required: Mapped[bool] = mapped_column(default=True)
    audience: Mapped[Audience] = mapped_column(
        db_enum(Audience, "event_audience"), default=Audience.EVERYONE
    )
    state: Mapped[EventState] = mapped_column(
        db_enum(EventState, "event_state"), default=EventState.DRAFT
    )
    #: the iCalendar SEQUENCE: raised when the time or place changes or the event is cancelled,
    #: so calendars replace the entry they hold
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    #: raised by every registration change; the UPDATE that raises it serialises them per event
    #: (the capacity is counted after it, on SQLite and PostgreSQL alike)
    registrations_version: Mapped[int] = mapped_column(Integer, default=0)
    #: the live chat: on or off, slow mode (seconds between one person's messages), and the
    #: announcement moderators pin over it
    chat_enabled: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    slow_mode_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pinned_text: Mapped[str | None] = mapped_column(String(300))
    #: Q&A apart from the chat: on or off, screened by a moderator before it is listed, and
    #: whether people may ask without their name
    questions_enabled: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    questions_moderated: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    questions_anonymous: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    #: the stream (issue 7): which engine, its state and viewers (from the signed webhook),
    #: when it ran (captions are timed from its start), and the recording the archive plays
    engine: Mapped[Engine] = mapped_column(
        db_enum(Engine, "event_engine"), default=Engine.KOE, server_default=Engine.KOE.value
    )
    external_ingest_url: Mapped[str] = mapped_column(String(500), default="", server_default="")
    external_playback_url: Mapped[str] = mapped_column(String(500), default="", server_default="")
    #: or a player to embed (an https page from KOE_EMBED_ORIGINS), e.g. YouTube Live's
    external_embed_url: Mapped[str] = mapped_column(String(500), default="", server_default="")
    stream_state: Mapped[StreamState] = mapped_column(
        db_enum(StreamState, "event_stream_state"),
        default=StreamState.IDLE,
        server_default=StreamState.IDLE.value,
    )
    stream_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stream_ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: the media service's last report (it repeats "live" every few seconds while live)
    stream_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stream_viewers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    recording_url: Mapped[str] = mapped_column(String(500), default="", server_default="")
    #: the same recording as one MP4 file to download (Koe's media service writes it)
    recording_download_url: Mapped[str] = mapped_column(String(500), default="", server_default="")
    #: the questions grouped by theme (analytics.cluster_texts, a job): [{"keywords": [...],
    #: "questions": [ids]}], and when; None until staff ask for it
    question_themes: Mapped[list | None] = mapped_column(JSON)
    question_themes_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminder_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    registrations: Mapped[list[Registration]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="Registration.id"
    )

    @property
    def speaker_list(self) -> list[str]:
        return [line.strip() for line in self.speakers.splitlines() if line.strip()]

    def is_over(self, now: datetime | None = None) -> bool:
        return as_utc(now or utcnow()) >= as_utc(self.ends_at)

    def has_started(self, now: datetime | None = None) -> bool:
        return as_utc(now or utcnow()) >= as_utc(self.starts_at)

    @property
    def attendances(self) -> tuple[Attendance, ...]:
        """How one may take part: online, and at the venue too for a hybrid event."""
        if self.mode == Mode.HYBRID:
            return (Attendance.VENUE, Attendance.ONLINE)
        return (Attendance.ONLINE,)

    def places(self, attendance: Attendance) -> int | None:
        """The places of that kind (None: no limit)."""
        return self.venue_capacity if attendance == Attendance.VENUE else self.capacity

    def takes_registrations(self, now: datetime | None = None) -> bool:
        """Registration is open until the event ends (people join late), unless cancelled."""
        return (
            self.registration_required
            and self.state == EventState.PUBLISHED
            and not self.is_over(now)
        )


class Registration(db.Model):
    """One person's place at an event (or on its waiting list); one row per person and event,
    re-used when they register again after cancelling."""

    __tablename__ = "event_registrations"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id"),
        Index("ix_event_registrations_event_status", "event_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[RegistrationStatus] = mapped_column(
        db_enum(RegistrationStatus, "registration_status")
    )
    #: the order of the waiting list (and of the list staff see): when this person last asked
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    attendance: Mapped[Attendance] = mapped_column(
        db_enum(Attendance, "event_attendance"),
        default=Attendance.ONLINE,
        server_default=Attendance.ONLINE.value,
    )

    event: Mapped[Event] = relationship(back_populates="registrations")
    user: Mapped[User] = relationship()
