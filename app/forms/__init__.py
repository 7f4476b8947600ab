"""Online forms (issue 6): surveys and applications built by staff, filled once by residents,
with a confirmation step, a receipt code, answers, a CSV export and per-question summaries."""

from flask import Blueprint

bp = Blueprint("forms", __name__)

from app.forms import grouping, mails, routes  # noqa: E402,F401  (jobs; routes attach to bp)
