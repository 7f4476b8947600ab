"""Server-side login sessions with idle and absolute timeouts.

The signed Flask cookie carries a random token; its SHA-256 is stored in ``user_sessions``.
Deleting the row (log-out, password change, account deletion, timeout) makes any copy of the
old cookie useless.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, session
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, login_user, logout_user
from sqlalchemy import delete, select, update
from sqlalchemy.orm import joinedload

from app.auth.models import User, UserSession
from app.extensions import db
from app.timeutil import as_utc, utcnow

SESSION_KEY = "sid"
TOUCH_EVERY = timedelta(seconds=60)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def init_login_manager(manager: LoginManager) -> None:
    manager.login_view = "auth.login"
    manager.login_message = _l("Please log in to see this page.")
    manager.login_message_category = "info"
    manager.session_protection = None  # our own server-side sessions do this job
    manager.user_loader(load_user)


def start_session(user: User) -> None:
    """Begin a fresh session for ``user`` (a new cookie, a new server-side record)."""
    keep = {k: session[k] for k in ("lang", "text_size") if k in session}
    session.clear()
    session.update(keep)
    session.permanent = True
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(user=user, token_hash=_hash(token)))
    session[SESSION_KEY] = token
    login_user(user)


def current_token_hash() -> str | None:
    token = session.get(SESSION_KEY)
    return _hash(token) if token else None


def end_session() -> None:
    """End the current session on the server and in the cookie."""
    token_hash = current_token_hash()
    if token_hash:
        db.session.execute(delete(UserSession).where(UserSession.token_hash == token_hash))
    logout_user()
    keep = {k: session[k] for k in ("lang", "text_size") if k in session}
    session.clear()
    session.update(keep)


def end_other_sessions(user: User) -> int:
    """End every session of ``user`` except the current one; return how many ended."""
    result = db.session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id,
            UserSession.token_hash != (current_token_hash() or ""),
        )
    )
    return result.rowcount or 0


def load_user(user_id: str) -> User | None:
    """Return the user of a live session, or None when the session ended or timed out."""
    token_hash = current_token_hash()
    if not token_hash:
        return None
    record = db.session.scalar(
        # the user with the session, in one query: every signed-in request asks for both
        select(UserSession)
        .where(UserSession.token_hash == token_hash)
        .options(joinedload(UserSession.user))
    )
    if record is None or str(record.user_id) != user_id:
        return None
    now = utcnow()
    cfg = current_app.config
    idle = timedelta(minutes=cfg["SESSION_IDLE_MINUTES"])
    absolute = timedelta(hours=cfg["SESSION_ABSOLUTE_HOURS"])
    last_seen = as_utc(record.last_seen_at)
    if now - last_seen > idle or now - as_utc(record.created_at) > absolute:
        db.session.delete(record)
        db.session.commit()
        session.pop(SESSION_KEY, None)
        return None
    if now - last_seen > TOUCH_EVERY:
        db.session.execute(
            update(UserSession).where(UserSession.id == record.id).values(last_seen_at=now)
        )
        db.session.commit()
    return record.user


def end_all_sessions(user: User) -> int:
    """End every session of ``user`` (a ban must take effect at once)."""
    result = db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    return result.rowcount or 0
