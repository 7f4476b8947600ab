"""The chat of an event: messages (their text is a moderation item, source ``chat``) and the
moderators' measures against a person in one event (time-out, ban, silent mute)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.extensions import db, db_enum
from app.timeutil import utcnow

CHAT = "chat"  # the moderation source of chat messages


class ChatMessage(db.Model):
    __tablename__ = "chat_messages"
    __table_args__ = (
        # the client's id of a message: a resend after a reconnect stores nothing twice
        UniqueConstraint("author_id", "client_id"),
        Index("ix_chat_messages_event_id_id", "event_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    client_id: Mapped[str] = mapped_column(String(64))
    #: the author was silently muted: only they see it (so that they do not try another way)
    shadow: Mapped[bool] = mapped_column(default=False)
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    author: Mapped[User | None] = relationship(foreign_keys=[author_id])


class MeasureKind(enum.StrEnum):
    TIMEOUT = "timeout"  # no messages until ``until``
    BAN = "ban"  # no messages, no chat at all, for this event
    MUTE = "mute"  # messages seen by their author only


class ChatMeasure(db.Model):
    __tablename__ = "chat_measures"
    __table_args__ = (Index("ix_chat_measures_event_user", "event_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[MeasureKind] = mapped_column(db_enum(MeasureKind, "chat_measure_kind"))
    until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # None: the event
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
