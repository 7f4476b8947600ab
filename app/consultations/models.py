"""A consultation, its draft in numbered sections, and the opinions residents send."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.extensions import db, db_enum
from app.timeutil import as_utc, utcnow


class State(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    PUBLISHED = "published"


class IllegalMove(Exception):
    """A state change the consultation's life does not allow."""


#: the moves staff may make by hand; a released consultation opens on time and an open one
#: closes on time by itself (``Consultation.move`` also lets one waiting to open go back)
MOVES = {
    State.DRAFT: {State.OPEN},
    State.OPEN: {State.CLOSED},
    State.CLOSED: {State.PUBLISHED},
    State.PUBLISHED: set(),
}


class Consultation(db.Model):
    __tablename__ = "consultations"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    department: Mapped[str] = mapped_column(String(100))
    contact: Mapped[str] = mapped_column(String(300))
    topics: Mapped[str] = mapped_column(String(200), default="")
    #: the text search compares (title, summary, topics, draft: folded and as read), kept by
    #: app.search before every flush
    search_key: Mapped[str] = mapped_column(Text, default="", server_default="")
    area: Mapped[str | None] = mapped_column(String(40))
    opens_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closes_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[State] = mapped_column(db_enum(State, "consultation_state"), default=State.DRAFT)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    results_published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: staff let residents see the themes of the opinions while the consultation runs
    themes_public: Mapped[bool] = mapped_column(default=False, server_default=sa_false())

    sections: Mapped[list[Section]] = relationship(
        back_populates="consultation",
        cascade="all, delete-orphan",
        order_by="Section.position",
    )
    attachments: Mapped[list[Attachment]] = relationship(
        cascade="all, delete-orphan", order_by="Attachment.id"
    )

    def current_state(self, now: datetime | None = None) -> State:
        """The state now: an open consultation past its closing time is closed."""
        now = as_utc(now or utcnow())
        if self.state == State.OPEN and now >= as_utc(self.closes_at):
            return State.CLOSED
        return self.state

    def accepts_opinions(self, now: datetime | None = None) -> bool:
        now = as_utc(now or utcnow())
        return self.current_state(now) == State.OPEN and now >= as_utc(self.opens_at)

    def before(self, moment: datetime, now: datetime | None = None) -> bool:
        """Whether ``moment`` (its opening or closing time) is still to come."""
        return as_utc(now or utcnow()) < as_utc(moment)

    def opens_later(self, now: datetime | None = None) -> bool:
        """Released to residents and waiting for its opening time, when it opens by itself
        (read as ``accepts_opinions``, as closing is read from the closing time)."""
        now = as_utc(now or utcnow())
        return self.current_state(now) == State.OPEN and now < as_utc(self.opens_at)

    def move(self, target: State, now: datetime | None = None, at_once: bool = False) -> None:
        """Change state by hand; refuse a move the life of a consultation does not allow.

        Opening a draft releases it: it opens at its opening time, or at once with ``at_once``
        (the opening time becomes now, as closing early makes the closing time now). Before
        its opening time a released consultation can still open at once or go back to draft.
        """
        now = as_utc(now or utcnow())
        current = self.current_state(now)
        waiting = self.opens_later(now)
        if waiting and (target == State.DRAFT or (target == State.OPEN and at_once)):
            pass  # nobody could send an opinion yet
        elif target not in MOVES[current]:
            raise IllegalMove(f"{current.value} → {target.value}")
        if target == State.OPEN:
            if not self.sections:
                raise IllegalMove("a consultation opens with its draft")
            if now >= as_utc(self.closes_at):
                raise IllegalMove("its closing time has passed")
            if at_once:
                self.opens_at = now
        self.state = target
        if target == State.CLOSED and as_utc(self.closes_at) > now:
            self.closes_at = now


class Section(db.Model):
    """A numbered part of the draft (chapter, article, paragraph)."""

    __tablename__ = "consultation_sections"
    __table_args__ = (UniqueConstraint("consultation_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    heading: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    final_body: Mapped[str | None] = mapped_column(Text)

    consultation: Mapped[Consultation] = relationship(back_populates="sections")


class Channel(enum.StrEnum):
    WEB = "web"
    PAPER = "paper"
    FAX = "fax"
    COUNTER = "counter"
    EMAIL = "email"
    EVENT = "event"  # a question asked at an event's Q&A, turned into an opinion by staff


class Disposition(enum.StrEnum):
    """How the ward dealt with an opinion (the categories wards use in their result tables)."""

    REFLECTED = "reflected"  # 反映する
    PARTLY = "partly_reflected"  # 一部反映する
    INCLUDED = "already_included"  # 既に盛り込み済み
    FUTURE = "future_reference"  # 今後の参考とする
    NOT_REFLECTED = "not_reflected"  # 反映しない
    OUT_OF_SCOPE = "out_of_scope"  # 対象外・その他


#: dispositions that change the final text
CHANGES_TEXT = {Disposition.REFLECTED, Disposition.PARTLY}


class Answer(db.Model):
    """The ward's view (区の考え方) on one opinion or on a group of similar opinions."""

    __tablename__ = "consultation_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    #: the row number in the published table, kept in order of the sections answered
    number: Mapped[int | None] = mapped_column(Integer)
    #: a summary of the opinions answered together (意見の概要); empty for a single opinion
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    consultation: Mapped[Consultation] = relationship()
    opinions: Mapped[list[Opinion]] = relationship(back_populates="answer", order_by="Opinion.id")


class Opinion(db.Model):
    """An opinion on a consultation (or one of its sections), with its receipt code.

    The text itself lives in the moderation item (source "opinion"): the private original for
    staff, the masked public copy for everyone else.
    """

    __tablename__ = "opinions"
    __table_args__ = (
        UniqueConstraint("author_id", "idempotency_key"),
        # staff lists (every opinion) page by page, in the order opinions arrived
        Index("ix_opinions_consultation_id_created_at", "consultation_id", "created_at", "id"),
        # the public list: counted and paged on this index alone
        Index("ix_opinions_listed", "consultation_id", "listed", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    section_id: Mapped[int | None] = mapped_column(
        ForeignKey("consultation_sections.id", ondelete="SET NULL")
    )
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[Channel] = mapped_column(
        db_enum(Channel, "opinion_channel"), default=Channel.WEB
    )
    receipt_code: Mapped[str] = mapped_column(String(20), unique=True)
    show_name: Mapped[bool] = mapped_column(default=False)
    age_band: Mapped[str | None] = mapped_column(String(10))
    area: Mapped[str | None] = mapped_column(String(40))
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: published by moderation and not withdrawn: kept by app.consultations.listing from the
    #: moderation item (which holds the text) and withdrawn_at; never set by hand
    listed: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    #: the public text as search compares it (app.search keeps it from the moderation item)
    search_key: Mapped[str] = mapped_column(Text, default="", server_default="")
    answer_id: Mapped[int | None] = mapped_column(
        ForeignKey("consultation_answers.id", ondelete="SET NULL"), index=True
    )
    disposition: Mapped[Disposition | None] = mapped_column(
        db_enum(Disposition, "opinion_disposition")
    )
    disposition_reason: Mapped[str | None] = mapped_column(Text)

    consultation: Mapped[Consultation] = relationship()
    section: Mapped[Section | None] = relationship()
    author: Mapped[User | None] = relationship()
    answer: Mapped[Answer | None] = relationship(back_populates="opinions")


class OpinionCopy(db.Model):
    """Whether an opinion says the same as another (a near-copy, 同趣旨): public lists show a
    group once, at its first published opinion, with its count. One row per opinion the jobs
    worker has looked at (``copy_of_id`` None: it copies nothing); an opinion without a row is
    still to be looked at (app.themes.operations.group_copies)."""

    __tablename__ = "opinion_copies"

    opinion_id: Mapped[int] = mapped_column(
        ForeignKey("opinions.id", ondelete="CASCADE"), primary_key=True
    )
    copy_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("opinions.id", ondelete="CASCADE"), index=True
    )


class ReactionKind(enum.StrEnum):
    AGREE = "agree"
    DISAGREE = "disagree"
    PASS = "pass"  # noqa: S105  (the reaction, not a password)


class Reaction(db.Model):
    """One person's reaction to a published opinion; they can change it."""

    __tablename__ = "opinion_reactions"
    __table_args__ = (UniqueConstraint("opinion_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    opinion_id: Mapped[int] = mapped_column(
        ForeignKey("opinions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ReactionKind] = mapped_column(db_enum(ReactionKind, "reaction_kind"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Follow(db.Model):
    """A person who follows a consultation and is told when its results are published."""

    __tablename__ = "consultation_follows"
    __table_args__ = (UniqueConstraint("user_id", "consultation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Attachment(db.Model):
    """A PDF that goes with a consultation (the full plan, maps, the results report)."""

    __tablename__ = "consultation_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    #: the name it is downloaded under (the uploaded name, made safe)
    filename: Mapped[str] = mapped_column(String(200))
    #: the file's name on disk: random, never derived from what was uploaded
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
