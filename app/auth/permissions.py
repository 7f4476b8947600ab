"""Role checks and per-object authorisation.

``role_required`` guards a view by role. ``authorize(action, obj)`` asks the policy registered
for ``type(obj)``; features register their policies with ``@policy(Model)``, so every
object-level decision lives in one function per model that tests can call directly.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user

from app.auth.models import Role, User

Policy = Callable[[User | None, str, Any], bool]
_policies: dict[type, Policy] = {}


def role_required(*roles: Role) -> Callable:
    """Let the view run only for a signed-in user holding one of ``roles`` (admins always)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                from app.extensions import login_manager

                return login_manager.unauthorized()
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def policy(model: type) -> Callable[[Policy], Policy]:
    """Register the function that decides what users may do with instances of ``model``."""

    def register(fn: Policy) -> Policy:
        _policies[model] = fn
        return fn

    return register


def can(user: User | None, action: str, obj: Any) -> bool:
    """Return whether ``user`` (None for anonymous) may do ``action`` on ``obj``."""
    check = _policies.get(type(obj))
    if check is None:
        raise LookupError(f"no policy registered for {type(obj).__name__}")
    return check(user, action, obj)


def authorize(action: str, obj: Any) -> None:
    """Abort with 403 unless the current user may do ``action`` on ``obj``."""
    user = current_user._get_current_object() if current_user.is_authenticated else None
    if not can(user, action, obj):
        abort(403)


@policy(User)
def user_policy(user: User | None, action: str, target: User) -> bool:
    """People manage their own account; admins may view accounts and change roles."""
    if user is None:
        return False
    if action in {"view", "edit", "export", "delete"} and user.id == target.id:
        return True
    if action in {"view", "set_role"} and user.role == Role.ADMIN:
        # An admin cannot demote themselves and leave the ward without an admin by accident.
        return action == "view" or user.id != target.id
    return False
