"""Moderated items from every source, and the blocked-word lists staff edit."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.extensions import db
from app.timeutil import utcnow


class ItemStatus(enum.StrEnum):
    PUBLISHED = "published"
    HELD = "held"
    REJECTED = "rejected"


class IllegalTransition(Exception):
    """A decision that the item's current state does not allow."""


class ModerationBand(db.Model):
    """One of a recent item's keys in the near-duplicate index (``moderation.band_keys``): a
    new text is compared with the recent items that share a key with it, not with all of
    them. Kept while the burst check looks back (``operations.BURST_WINDOW``); the jobs
    worker deletes older ones."""

    __tablename__ = "moderation_bands"
    __table_args__ = (Index("ix_moderation_bands_key_created", "key", "created_at"),)

    item_id: Mapped[int] = mapped_column(
        ForeignKey("moderation_items.id", ondelete="CASCADE"), primary_key=True
    )
    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    key: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)

    item: Mapped[ModerationItem] = relationship(back_populates="bands")


class ModerationItem(db.Model):
    """One text a resident wrote, as moderation sees it.

    ``original_text`` is the private original (staff only); ``public_text`` is what others see,
    with personal data masked. ``findings`` keep kinds and spans, never the matched text.
    """

    __tablename__ = "moderation_items"
    __table_args__ = (UniqueConstraint("source", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32), index=True)
    source_id: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    original_text: Mapped[str] = mapped_column(Text)
    public_text: Mapped[str] = mapped_column(Text)
    status: Mapped[ItemStatus] = mapped_column(
        Enum(ItemStatus, name="moderation_status", values_callable=lambda e: [m.value for m in e]),
        index=True,
    )
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision_code: Mapped[str | None] = mapped_column(String(32))
    public_edited: Mapped[bool] = mapped_column(Boolean, default=False)
    report_count: Mapped[int] = mapped_column(Integer, default=0)

    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    bands: Mapped[list[ModerationBand]] = relationship(
        back_populates="item", cascade="all, delete-orphan", passive_deletes=True
    )

    def approve(self) -> None:
        if self.status != ItemStatus.HELD:
            raise IllegalTransition(f"cannot approve a {self.status} item")
        self.status = ItemStatus.PUBLISHED

    def reject(self, code: str) -> None:
        if self.status == ItemStatus.REJECTED:
            raise IllegalTransition("already rejected")
        self.status = ItemStatus.REJECTED
        self.decision_code = code

    def take_down(self, code: str) -> None:
        """Withdraw a published text from every public place (a later look at it)."""
        if self.status != ItemStatus.PUBLISHED:
            raise IllegalTransition(f"cannot take down a {self.status} item")
        self.status = ItemStatus.REJECTED
        self.decision_code = code


class BlockedWord(db.Model):
    """An entry of the blocked-word list; ``exception`` entries protect innocent words."""

    __tablename__ = "blocked_words"
    __table_args__ = (UniqueConstraint("word", "exception"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    word: Mapped[str] = mapped_column(String(100))
    severity: Mapped[str] = mapped_column(String(8), default="hold")
    exception: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Report(db.Model):
    """A person's report that a published item breaks the rules."""

    __tablename__ = "moderation_reports"
    __table_args__ = (UniqueConstraint("item_id", "reporter_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("moderation_items.id", ondelete="CASCADE"), index=True
    )
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SanctionKind(enum.StrEnum):
    MUTE = "mute"  # may read and log in, may not post
    BAN = "ban"  # may not log in


class Sanction(db.Model):
    """A mute or ban of a user for a time, with its reason; the user is told."""

    __tablename__ = "sanctions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[SanctionKind] = mapped_column(
        Enum(SanctionKind, name="sanction_kind", values_callable=lambda e: [m.value for m in e])
    )
    reason: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
