"""The resident's own account: profile, credentials, their data (see, download, delete)."""

from flask import Blueprint

bp = Blueprint("account", __name__)

from app.account import routes  # noqa: E402,F401  (routes attach to bp)
