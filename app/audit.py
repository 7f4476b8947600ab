"""The audit log: who did what to what, when and from where.

Operations call :func:`record` inside the request's transaction, so an entry exists exactly
when the change it describes was committed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import JSON, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.extensions import db
from app.timeutil import utcnow


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(45))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship()


def record(
    action: str,
    target: Any = None,
    *,
    actor: User | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry to the session for ``action`` on ``target``; the caller commits.

    ``details`` must never hold personal data (passwords, addresses, phone numbers): it is
    shown to every admin.
    """
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user._get_current_object()
    entry = AuditEntry(
        action=action,
        actor=actor,
        target_type=type(target).__name__ if target is not None else None,
        target_id=str(target.id) if getattr(target, "id", None) is not None else None,
        ip=request.remote_addr if has_request_context() else None,
        details=details or {},
    )
    db.session.add(entry)
    return entry
