from __future__ import annotations

from flask import (
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
)
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app import jobs
from app.auth.forms import ActionForm
from app.auth.models import User
from app.extensions import db
from app.i18n import TEXT_SIZES
from app.main import bp
from app.moderation import operations as moderation_ops
from app.moderation.forms import ReportForm
from app.moderation.models import ItemStatus
from app.security import safe_next

HOME_ITEMS = 6  # of each kind: what is open now, without a long page on a phone


@bp.get("/")
def index():
    """Show the home page: what is open now (consultations, forms) and the coming events."""
    # the features build on the app's core; the home page is the one place that shows them all
    from app.consultations import operations as consultation_ops
    from app.events import operations as event_ops
    from app.events.models import Event, EventState
    from app.forms import operations as form_ops

    coming = event_ops.upcoming().where(Event.state == EventState.PUBLISHED)  # not cancelled

    return render_template(
        "main/index.html",
        consultations=consultation_ops.open_now(HOME_ITEMS),
        online_forms=form_ops.open_now(HOME_ITEMS),
        events=db.session.scalars(coming.limit(HOME_ITEMS)).all(),
    )


# Pages for people, and the open data, are for crawlers too; accounts, staff and moderation
# pages, forms being filled in and receipts (a code is a key) are not.
ROBOTS = """User-agent: *
Disallow: /auth/
Disallow: /account/
Disallow: /admin/
Disallow: /moderation/
Allow: /moderation/statistics
Disallow: /notifications/
Disallow: /consultations/receipts
Disallow: /forms/receipts/
Disallow: /preferences/
"""


@bp.get("/robots.txt")
def robots():
    """Tell crawlers which pages are for them."""
    return (
        ROBOTS,
        200,
        {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "public, max-age=86400"},
    )


@bp.get("/favicon.ico")
def favicon():
    """The site's icon, where browsers look for it."""
    return send_from_directory(
        current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=86400
    )


@bp.get("/healthz")
def healthz():
    """Report whether the application and its database answer."""
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError:
        db.session.rollback()
        database = "error"
    parts = {"database": database, "redis": _redis_state()}
    healthy = all(state in {"ok", "not configured"} for state in parts.values())
    # the jobs backlog is reported, not judged: a stopped worker must not take the web down
    backlog = jobs.counts() if database == "ok" else None
    # so is the media service: without it the site works, only live streams do not
    return (
        jsonify(status="ok" if healthy else "degraded", **parts, jobs=backlog, media=_media()),
        200 if healthy else 503,
    )


@bp.get("/livez")
def livez():
    """Say the process answers; no database or Redis (a liveness probe, the cheapest page)."""
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}


def _media() -> dict:
    """The media service's own health (live events, WebRTC viewers), or "unreachable"."""
    import json
    import urllib.request

    url = current_app.config["MEDIA_URL"] + "/healthz"
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:  # noqa: S310  (our own setting)
            return {"state": "ok", **json.loads(answer.read())}
    except (OSError, ValueError):
        return {"state": "unreachable"}


def _redis_state() -> str:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return "not configured"
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=1).ping()
    except redis.RedisError:
        return "error"
    return "ok"


@bp.post("/preferences/language")
def set_language():
    """Remember the chosen language for this browser (and the account)."""
    form = ActionForm()
    lang = request.form.get("lang")
    if form.validate_on_submit() and lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated and current_user.locale != lang:
            current_user.locale = lang
            db.session.commit()
    return redirect(safe_next(request.form.get("next")))


@bp.post("/preferences/text-size")
def set_text_size():
    """Remember the chosen text size for this browser."""
    form = ActionForm()
    size = request.form.get("size")
    if form.validate_on_submit() and size in TEXT_SIZES:
        session["text_size"] = size
    return redirect(safe_next(request.form.get("next")))


@bp.get("/privacy")
def privacy():
    """Explain what personal data Koe keeps, why, for how long, and the resident's rights."""
    return render_template("main/privacy.html")


@bp.get("/terms")
def terms():
    """Show the terms of use."""
    return render_template("main/terms.html")


@bp.get("/people/<int:user_id>")
def person(user_id: int):
    """Show what others may see of a person: their public name, with a way to report it."""
    person = db.get_or_404(User, user_id)
    item = moderation_ops.display_name_item(person)
    can_report = (
        current_user.is_authenticated
        and current_user.id != person.id
        and item is not None
        and item.status == ItemStatus.PUBLISHED
    )
    return render_template(
        "main/person.html",
        person=person,
        name=moderation_ops.public_name(person),
        item=item,
        report_form=ReportForm() if can_report else None,
    )
