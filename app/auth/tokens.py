"""Signed, expiring tokens for mail links (verification, password reset, e-mail change)."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"koe-{purpose}")


def fingerprint(value: str) -> str:
    """A short digest that binds a token to a value without revealing it."""
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def make(purpose: str, payload: dict[str, Any]) -> str:
    return _serializer(purpose).dumps(payload)


def load(purpose: str, token: str, max_age_seconds: int) -> dict[str, Any] | None:
    """Return the payload of a valid, unexpired token for ``purpose``, else None."""
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age_seconds)
    except BadSignature:  # includes SignatureExpired
        return None
    return payload if isinstance(payload, dict) else None
