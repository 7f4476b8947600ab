"""Profile operations and the export of everything Koe holds about a person."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from app import audit
from app.account.models import Profile
from app.audit import AuditEntry
from app.auth.models import User
from app.extensions import db
from app.moderation import operations as moderation_ops
from app.timeutil import as_utc

if TYPE_CHECKING:
    from moderation import ScanResult


def update_profile(user: User, data: dict[str, Any], name_scan: ScanResult | None = None) -> None:
    """Store the display name and personal details; the audit entry names fields, not values.

    A new display name is recorded for moderation with its scan (``name_scan``).
    """
    changed = []
    if data["display_name"] != user.display_name:
        user.display_name = data["display_name"]
        changed.append("display_name")
        if name_scan is not None:
            moderation_ops.record(moderation_ops.DISPLAY_NAME, user.id, user, name_scan)
    profile = user.profile or Profile(user=user)
    for name in Profile.FIELDS:
        if getattr(profile, name) != data.get(name):
            setattr(profile, name, data.get(name))
            changed.append(name)
    if changed:
        db.session.add(profile)
        audit.record("user.profile", user, actor=user, details={"fields": changed})


def _iso(value) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def export_data(user: User) -> dict[str, Any]:
    """Return all personal data Koe holds about ``user``, for display and download."""
    profile = user.profile
    activity = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.actor_id == user.id)
        .order_by(AuditEntry.created_at.desc())
        .limit(500)
    )
    return {
        "account": {
            "id": user.id,
            "display_name": user.display_name,
            "email": user.email,
            "email_verified_at": _iso(user.email_verified_at),
            "role": user.role.value,
            "locale": user.locale,
            "created_at": _iso(user.created_at),
            "last_login_at": _iso(user.last_login_at),
        },
        "profile": {name: getattr(profile, name) if profile else None for name in Profile.FIELDS},
        "sessions": [
            {"created_at": _iso(s.created_at), "last_seen_at": _iso(s.last_seen_at)}
            for s in user.sessions
        ],
        "texts": [
            {
                "source": item.source,
                "status": item.status.value,
                "at": _iso(item.created_at),
                "text": item.original_text,
                "public_text": item.public_text,
            }
            for item in moderation_ops.texts_of(user)
        ],
        "sanctions": [
            {
                "kind": s.kind.value,
                "from": _iso(s.starts_at),
                "until": _iso(s.ends_at),
                "lifted_at": _iso(s.lifted_at),
                "reason": s.reason,
            }
            for s in moderation_ops.sanctions_of(user)
        ],
        "activity": [{"at": _iso(e.created_at), "action": e.action, "ip": e.ip} for e in activity],
    }
