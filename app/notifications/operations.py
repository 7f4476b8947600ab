"""Create, count and read notifications. Operations never commit."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, insert, select, update

from app.extensions import db
from app.notifications.models import Notification
from app.timeutil import utcnow

PER_PAGE = 30


def notify(user_ids: list[int], kind: str, link: str, **params: Any) -> None:
    """Tell each person once about the same thing."""
    notify_each(kind, [(user_id, link, params) for user_id in user_ids])


def notify_each(kind: str, rows: list[tuple[int, str, dict[str, Any]]]) -> None:
    """Tell each person their own (user id, link, params): one statement for thousands, as
    at the publication of results."""
    if rows:
        now = utcnow()
        db.session.execute(
            insert(Notification),
            [
                {
                    "user_id": user_id,
                    "kind": kind,
                    "link": link,
                    "params": params,
                    "created_at": now,
                }
                for user_id, link, params in rows
            ],
        )


def unread_count(user_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )


def for_user(user_id: int):
    return (
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )


def mark_all_read(user_id: int) -> None:
    db.session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )


def text(notification: Notification) -> str:
    """The notification in the page language."""
    p = notification.params or {}
    if notification.kind == "answer_published":
        return _(
            'The ward published its answer to your opinion %(code)s on "%(title)s".',
            code=p.get("code", ""),
            title=p.get("title", ""),
        )
    if notification.kind == "results_published":
        return _('The results of "%(title)s" are published.', title=p.get("title", ""))
    if notification.kind in ("text_rejected", "text_taken_down"):
        from app.moderation.operations import REJECT_CODES, SOURCE_LABELS

        label = SOURCE_LABELS.get(p.get("source"))
        what = str(label).lower() if label else _("text")
        reason = REJECT_CODES.get(p.get("code"), REJECT_CODES["other"])
        if notification.kind == "text_taken_down":
            return _(
                "Your %(what)s was taken down by a moderator (%(reason)s). "
                "See why and what you can do.",
                what=what,
                reason=reason,
            )
        return _(
            "Your %(what)s was not published (%(reason)s). See why and what you can do.",
            what=what,
            reason=reason,
        )
    return _("Something changed on a page you follow.")
