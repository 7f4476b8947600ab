"""The moderators' tools on top of the ``moderation`` library: the queue, decisions, word lists."""

from flask import Blueprint

bp = Blueprint("moderation", __name__)

from app.moderation import routes  # noqa: E402,F401  (routes attach to bp)
