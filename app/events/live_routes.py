"""An event's live page: the stream's place, the pinned announcement and the chat.

With JavaScript the chat runs over Socket.IO (``realtime.live``, static/js/live.js). Without
it, the same operations answer plain forms: send, report, and for moderators hide, release
and the measures; each then tells the Socket.IO room, so people with JavaScript see it too.
"""

from __future__ import annotations

import secrets

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.events import bp, chat
from app.events.chat import ChatRefused
from app.events.models import Event
from app.events.operations import may_watch
from app.events.routes import _load, _user
from app.extensions import db, limiter
from app.moderation.operations import REPORT_REASONS


def _watchable(event_id: int) -> Event:
    event = _load(event_id)
    if not may_watch(event, _user()):
        abort(403)
    return event


@bp.get("/<int:event_id>/live")
def live(event_id: int):
    return _page(_watchable(event_id))


def _page(event: Event, text: str = "", status: int = 200):
    user = _user()
    moderator = chat.is_moderator(user)
    return render_template(
        "events/live.html",
        event=event,
        messages=chat.history(event, user),
        held=chat.held(event) if moderator else [],
        moderator=moderator,
        chat_open=chat.chat_open(event),
        client_id=secrets.token_urlsafe(12),  # a new one for each form: a resend is one message
        reasons=REPORT_REASONS,
        minutes=chat.MEASURE_MINUTES,
        me=user,
        text=text,
    ), status


def _back(event: Event):
    return redirect(url_for("events.live", event_id=event.id) + "#chat")


def _refused(event: Event, refused: ChatRefused):
    db.session.rollback()
    flash(refused.text, "error")
    return _back(event)


@bp.post("/<int:event_id>/chat")
@login_required
@limiter.limit("30 per minute")
def send_chat(event_id: int):
    """The chat form without JavaScript (the text stays in the box when it is refused)."""
    from realtime.live import tell_posted

    event = _watchable(event_id)
    try:
        posted = chat.post(event, _user(), request.form.get("client_id"), request.form.get("text"))
    except ChatRefused as refused:
        db.session.rollback()
        flash(refused.text, "error")
        return _page(event, request.form.get("text", ""), 400)
    db.session.commit()
    if posted.created:
        tell_posted(event, posted)
    if not posted.published:
        flash(_("Your message waits for a moderator before others see it."), "info")
    return _back(event)


CHAT_ACTIONS = ("hide", "release", "report", "measure")


@bp.post("/<int:event_id>/chat/<int:message_id>/<action>")
@login_required
def chat_action(event_id: int, message_id: int, action: str):
    from realtime import live as rt

    if action not in CHAT_ACTIONS:
        abort(404)
    event = _watchable(event_id)
    user = current_user._get_current_object()
    try:
        message = chat.message_of(event, message_id)
        if action == "hide":
            chat.hide(message, user)
        elif action == "release":
            chat.release(message, user)
        elif action == "report":
            chat.report(message, user, request.form.get("reason"))
        else:
            minutes = request.form.get("minutes", type=int)
            measure = chat.take_measure(event, message, request.form.get("kind"), minutes, user)
    except ChatRefused as refused:
        return _refused(event, refused)
    db.session.commit()
    if action == "hide":
        rt.tell_removed(event, [message.id])
    elif action == "release":
        rt.tell_released(event, message)
    elif action == "measure" and measure.kind.value == "ban":
        rt.tell_removed(event, chat.hidden_ids_of(event, measure.user_id))
    flash(
        {
            "hide": _("The message is taken away for everyone."),
            "release": _("The message is published."),
            "report": _("Thank you. A moderator will look at it."),
            "measure": _("The measure is in force for this event."),
        }[action],
        "success",
    )
    return _back(event)


@bp.post("/<int:event_id>/pin")
@login_required
def pin(event_id: int):
    from realtime.live import tell_pinned

    event = _watchable(event_id)
    try:
        chat.pin(event, request.form.get("text", ""), _user())
    except ChatRefused as refused:
        return _refused(event, refused)
    db.session.commit()
    tell_pinned(event)
    return _back(event)
