"""Accounts: registration, e-mail verification, log-in and log-out, password reset."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from app.auth import mails, routes  # noqa: E402,F401  (jobs; routes attach to bp)
