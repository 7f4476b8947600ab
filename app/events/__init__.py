"""Events (issue 7): lectures and briefings, their registration with a waiting list, calendar
files and reminders; the live stream, chat and Q&A build on them (``realtime/``)."""

from flask import Blueprint

bp = Blueprint("events", __name__)

from app.events import live_routes, mails, routes, stream_routes  # noqa: E402,F401  (jobs; routes)
