"""Open data (issue 4): read-only JSON under /api/v1/, CSV with ``?format=csv``.

Consultations, their published opinions (the masked public copy only) and their published
results, paginated, described by ``openapi.yaml`` (served at /api/v1/openapi.yaml and .json).
Nothing here depends on who asks: no cookies are read, drafts never show, and a response is the
same for everyone, so it may be cached publicly for a short while.
"""

from flask import Blueprint

bp = Blueprint("api", __name__)

from app.api import routes  # noqa: E402,F401  (the routes attach to bp)
