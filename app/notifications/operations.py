"""Create, count and read notifications. Operations never commit."""

from __future__ import annotations

from collections.abc import Callable
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


#: how each kind of notification reads, in the page language: kind -> text(params). The
#: feature that sends a kind registers it (``@reads("kind")``) beside its sending.
KINDS: dict[str, Callable[[dict[str, Any]], str]] = {}


def reads(*kinds: str):
    """Register the decorated ``text(params)`` for ``kinds``."""

    def register(render: Callable[[dict[str, Any]], str]):
        for kind in kinds:
            KINDS[kind] = render
        return render

    return register


def text(notification: Notification) -> str:
    """The notification in the page language."""
    render = KINDS.get(notification.kind)
    if render is None:
        return _("Something changed on a page you follow.")
    return render(notification.params or {})
