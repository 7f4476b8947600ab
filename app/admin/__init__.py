"""Administration: users and roles, the audit log and the development outbox."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from app.admin import routes  # noqa: E402,F401  (routes attach to bp)
