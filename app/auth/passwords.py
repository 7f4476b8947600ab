"""Argon2id password hashing and the password rules (length, common passwords)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 8
MAX_LENGTH = 128


@cache
def _hasher(time_cost: int, memory_kib: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)


def hasher() -> PasswordHasher:
    cfg = current_app.config
    return _hasher(cfg["ARGON2_TIME_COST"], cfg["ARGON2_MEMORY_KIB"])


def hash_password(password: str) -> str:
    """Return an Argon2id hash of ``password``."""
    return hasher().hash(password)


# A valid hash of a random string: checking it when no account matches keeps the
# log-in time the same whether or not the address is registered.
_DUMMY = {}


def verify_password(password_hash: str | None, password: str) -> bool:
    """Return whether ``password`` matches; with no hash, spend the same time and fail."""
    h = hasher()
    if password_hash is None:
        key = (h.time_cost, h.memory_cost)
        if key not in _DUMMY:
            _DUMMY[key] = h.hash("koe-no-such-account")
        password_hash = _DUMMY[key]
        password = password + "\x00"
    try:
        return h.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher().check_needs_rehash(password_hash)


@cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords (zxcvbn's list), lower-cased."""
    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, *, email: str = "", display_name: str = "") -> str | None:
    """Return why ``password`` is not acceptable, or None. No composition rules (NIST 800-63B)."""
    if len(password) < MIN_LENGTH:
        return str(_l("Use at least %(n)d characters.", n=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        return str(_l("Use at most %(n)d characters.", n=MAX_LENGTH))
    lowered = password.lower()
    if lowered in common_passwords():
        return str(_l("This password is too common. Choose one that is harder to guess."))
    if lowered in {email.lower(), email.split("@")[0].lower(), display_name.lower()}:
        return str(_l("Do not use your e-mail address or display name as the password."))
    return None
