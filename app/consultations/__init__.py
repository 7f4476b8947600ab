"""Consultations (意見募集): drafts in sections, residents' opinions, receipts, results."""

from flask import Blueprint

bp = Blueprint("consultations", __name__)

# the routes attach to bp; review_routes (after closing) builds on routes; mails registers jobs;
# listing keeps the public-list flag of opinions in step with moderation
from app.consultations import listing, mails, routes, review_routes  # noqa: E402,F401,I001
