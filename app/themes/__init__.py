"""Themes (issue 5): the opinions of a consultation clustered by the analytics library in the
jobs process, stored run by run, shown to staff."""

from flask import Blueprint

bp = Blueprint("themes", __name__)

from app.themes import operations, routes  # noqa: E402,F401  (the job handler and routes)
