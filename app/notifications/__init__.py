"""Notifications in the site: what happened to things a person sent or follows."""

from flask import Blueprint

bp = Blueprint("notifications", __name__)

from app.notifications import routes  # noqa: E402,F401  (routes attach to bp)
