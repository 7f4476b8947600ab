"""The password-reset mail, sent by the jobs worker.

A reset request answers alike whether or not the address has an account, in its time too: the
request only adds a job (one for an unknown address as well, which sends nothing), so the
time of an SMTP delivery never tells who has an account.
"""

from __future__ import annotations

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from app import jobs
from app.auth import tokens
from app.auth.models import User
from app.extensions import db
from app.mail import build_message, send


@jobs.handler("reset_mail")
def reset_mail(user_id: int | None, locale: str | None = None) -> None:
    """Send a reset link to the account (none when the request named no account)."""
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is None or not user.email:
        return
    # The token carries a digest of the current hash, so it stops working once used.
    token = tokens.make("reset", {"uid": user.id, "pw": tokens.fingerprint(user.password_hash)})
    with force_locale(locale or user.locale or "ja"):
        send(
            build_message(
                user.email,
                _("Reset your Koe password"),
                "reset",
                user=user,
                url=url_for("auth.reset", token=token, _external=True),
                minutes=current_app.config["RESET_TOKEN_MINUTES"],
            )
        )
