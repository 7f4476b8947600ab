"""Q&A of an event (apart from the chat), and its live captions.

A question's text is a moderation item (source ``question``), as a chat message's is: the
private original for staff, the masked public copy for everyone else.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.extensions import db, db_enum
from app.timeutil import utcnow

QUESTION = "question"  # the moderation source of questions


class QuestionState(enum.StrEnum):
    PENDING = "pending"  # waits for a moderator (the event screens questions, or a check held it)
    OPEN = "open"  # listed; people upvote it
    ANSWERING = "answering"  # being answered now: pinned for all (one at a time per event)
    ANSWERED = "answered"  # in the answered archive
    DISMISSED = "dismissed"  # not taken up: seen by its author only


class Question(db.Model):
    __tablename__ = "event_questions"
    __table_args__ = (
        UniqueConstraint("author_id", "client_id"),
        Index("ix_event_questions_event_state", "event_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    client_id: Mapped[str] = mapped_column(String(64))
    #: asked without a name (when the event allows it): staff see who asked, others do not
    anonymous: Mapped[bool] = mapped_column(default=False)
    state: Mapped[QuestionState] = mapped_column(db_enum(QuestionState, "question_state"))
    #: kept equal to the number of votes (rows below) in the same transaction as each vote
    votes: Mapped[int] = mapped_column(Integer, default=0)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: the consultation opinion staff made of it, if any
    opinion_id: Mapped[int | None] = mapped_column(ForeignKey("opinions.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    author: Mapped[User | None] = relationship(foreign_keys=[author_id])


class QuestionVote(db.Model):
    __tablename__ = "event_question_votes"
    __table_args__ = (UniqueConstraint("question_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("event_questions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Captioner(db.Model):
    """A person staff named to type the live captions of one event (PC要約筆記)."""

    __tablename__ = "event_captioners"
    __table_args__ = (UniqueConstraint("event_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[User] = relationship()


class CaptionLine(db.Model):
    """One line of live captions, timed by when it was sent (the WebVTT cue starts then)."""

    __tablename__ = "event_caption_lines"
    __table_args__ = (Index("ix_event_caption_lines_event_id_id", "event_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
