"""Consultations (意見募集): drafts in sections, residents' opinions, receipts."""

from flask import Blueprint

bp = Blueprint("consultations", __name__)

from app.consultations import routes  # noqa: E402,F401  (routes attach to bp)
