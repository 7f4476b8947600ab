"""Error pages in the visitor's language, and JSON errors under /api/."""

from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.extensions import db

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Please try again.")),
    403: (_l("Forbidden"), _l("You do not have permission to see this page.")),
    404: (_l("Page not found"), _l("The page you asked for does not exist or has moved.")),
    405: (_l("Method not allowed"), _l("This address cannot be used that way.")),
    413: (_l("Too large"), _l("What you sent is too large. Please send something smaller.")),
    429: (
        _l("Too many requests"),
        _l("You have tried too many times. Please wait a while and try again."),
    ),
    500: (
        _l("Something went wrong"),
        _l("An error occurred on our side. Nothing you entered was saved; please try again."),
    ),
}
CSRF_MESSAGE = _l(
    "Your form expired or was sent from another page. Please reload the page and send it again."
)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def render_error(code: int, detail: str | None = None):
    title, message = MESSAGES.get(code, MESSAGES[500] if code >= 500 else MESSAGES[400])
    message = detail or message
    if wants_json():
        return jsonify(error={"code": code, "title": str(title), "message": str(message)}), code
    return render_template("errors/error.html", code=code, title=title, message=message), code


def handle_http_error(error: HTTPException):
    if isinstance(error, CSRFError):
        return render_error(400, str(CSRF_MESSAGE))
    code = error.code or 500
    response = render_error(code if code in MESSAGES else (500 if code >= 500 else 400))
    if code == 405 and getattr(error, "valid_methods", None):
        body, status = response
        return body, status, {"Allow": ", ".join(error.valid_methods)}
    return response


def handle_unexpected(error: Exception):
    db.session.rollback()  # nothing half-saved
    if isinstance(error, InternalServerError) and error.original_exception is not None:
        error = error.original_exception
    # The route pattern, not the path: paths carry tokens and ids.
    rule = request.url_rule.rule if request.url_rule else "(no route)"
    current_app.logger.error("unhandled error on %s %s", request.method, rule, exc_info=error)
    return render_error(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected)
