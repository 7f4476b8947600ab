"""Account operations: they change the session's objects, write the audit entry and never commit."""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from app import audit
from app.auth import sessions
from app.auth.models import Role, User
from app.auth.passwords import hash_password, needs_rehash, verify_password
from app.extensions import db
from app.moderation import operations as moderation_ops
from app.timeutil import utcnow

if TYPE_CHECKING:
    from moderation import ScanResult


def normalise_email(email: str) -> str:
    """The address as stored: NFKC (full-width ｒｅｓｂ＠… is resb@…), trimmed, lower case."""
    return unicodedata.normalize("NFKC", email).strip().lower()


def email_key(email: str) -> str:
    """The address as one account's key (rate limits): normalised and case-folded."""
    return normalise_email(email).casefold()


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def register(
    display_name: str,
    email: str,
    password: str,
    locale: str | None,
    name_scan: ScanResult | None = None,
) -> User | None:
    """Create a resident account; return None when the address is already registered.

    ``name_scan`` is the moderation scan of the display name (held names wait for a moderator).
    """
    # Hashed before the look-up, on both paths: an address with an account must not answer
    # faster than a new one (the hash is most of a registration's time).
    password_hash = hash_password(password)
    if find_by_email(email) is not None:
        return None
    user = User(
        display_name=display_name,
        email=normalise_email(email),
        password_hash=password_hash,
        role=Role.RESIDENT,
        locale=locale,
    )
    db.session.add(user)
    db.session.flush()
    if name_scan is not None:
        moderation_ops.record(moderation_ops.DISPLAY_NAME, user.id, user, name_scan)
    audit.record("user.register", user, actor=user)
    return user


def create_user(
    display_name: str, email: str, password: str, role: Role, *, verified: bool = True
) -> User:
    """Create an account with ``role`` (CLI and seeding); the caller checks uniqueness."""
    user = User(
        display_name=display_name,
        email=normalise_email(email),
        password_hash=hash_password(password),
        role=role,
        email_verified_at=utcnow() if verified else None,
    )
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", user, details={"role": role.value})
    return user


def authenticate(email: str, password: str) -> User | None:
    """Return the user whose credentials these are, upgrading an outdated hash on the way."""
    user = find_by_email(email)
    if not verify_password(user.password_hash if user else None, password):
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def log_in(user: User) -> None:
    sessions.start_session(user)
    user.last_login_at = utcnow()
    audit.record("user.login", user, actor=user)


def verify_email(user: User, email: str) -> bool:
    """Mark ``email`` verified if it is still the account's address."""
    if user.email != email:
        return False
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        audit.record("user.verify_email", user, actor=user)
    return True


def set_password(user: User, password: str, *, reason: str) -> None:
    """Set a new password and end every other session of the user."""
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    ended = sessions.end_other_sessions(user)
    audit.record(
        "user.password", user, actor=user, details={"via": reason, "sessions_ended": ended}
    )


def log_out_elsewhere(user: User) -> int:
    """End every session of ``user`` but this one (log out of all other devices)."""
    ended = sessions.end_other_sessions(user)
    audit.record("user.logout_elsewhere", user, actor=user, details={"sessions_ended": ended})
    return ended


def change_email(user: User, new_email: str) -> bool:
    """Switch to a confirmed new address; False when another account took it meanwhile."""
    new_email = normalise_email(new_email)
    other = find_by_email(new_email)
    if other is not None and other.id != user.id:
        return False
    user.email = new_email
    user.email_verified_at = utcnow()
    audit.record("user.change_email", user, actor=user)
    return True


def set_role(target: User, role: Role) -> None:
    """Change the role; it applies from the user's next request, as roles are read each time."""
    old = target.role
    target.role = role
    audit.record("user.set_role", target, details={"from": old.value, "to": role.value})


def delete_account(user: User) -> None:
    """Delete the account and its personal data; audit entries keep only the numeric id."""
    audit.record("user.delete", user, actor=None, details={"user_id": user.id})
    moderation_ops.forget_author(user)
    from app.events.qa import forget_votes_of  # the events build on this module

    forget_votes_of(user)
    db.session.delete(user)
    db.session.flush()
