"""Home page, health check and display preferences (language, text size)."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from app.main import routes  # noqa: E402,F401  (routes attach to bp)
