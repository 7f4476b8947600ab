"""A notification for one person; its text is rendered in the reader's language when shown."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.timeutil import utcnow


class Notification(db.Model):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: what happened, e.g. "results_published"; the text comes from messages.text()
    kind: Mapped[str] = mapped_column(String(40))
    #: what the text needs (titles, receipt codes): never personal data
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: a site-relative path to what the notification is about
    link: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
