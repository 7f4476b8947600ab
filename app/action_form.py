"""The form behind a one-button POST action (its CSRF token), for every feature: apart from
the account forms, so that a feature's routes need nothing else of ``app.auth``."""

from __future__ import annotations

from flask_wtf import FlaskForm


class ActionForm(FlaskForm):
    """An empty form: the CSRF token behind a one-button POST action."""
