"""An event's live page: the stream's place with its captions, the pinned announcement, the
chat and the Q&A.

With JavaScript they run over Socket.IO (``realtime.live``, static/js/live.js). Without it,
the same operations answer plain forms: send, report, ask, vote, and for moderators hide,
release, the measures and the questions' steps, for captioners a caption line; each then
tells the Socket.IO room, so people with JavaScript see it too.
"""

from __future__ import annotations

import secrets

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.auth.models import Role
from app.events import bp, broadcast, captions, chat, media, qa
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
    media.settle(event)
    return event


QUESTION_LABELS = {
    "pending": _l("Waiting for a moderator: only you and the moderators see it"),
    "answering": _l("Being answered now"),
    "answered": _l("Answered"),
    "dismissed": _l("Not taken up: only you and the moderators see it"),
}
MODERATOR_ACTIONS = {
    "approve": _l("Approve"),
    "answering": _l("Answer now"),
    "answered": _l("Mark answered"),
    "reopen": _l("Back to the list"),
    "dismiss": _l("Dismiss"),
}


@bp.get("/<int:event_id>/live")
def live(event_id: int):
    return _page(_watchable(event_id))


def _page(event: Event, text: str = "", status: int = 200, question_text: str = ""):
    return render_template("events/live.html", **live_context(event, text, question_text)), status


def live_context(event: Event, text: str = "", question_text: str = "") -> dict:
    """What the chat and the questions show (the live page, and the presenter's studio)."""
    user = _user()
    moderator = chat.is_moderator(user)
    staff = user is not None and user.has_role(Role.STAFF)
    return {
        "event": event,
        "messages": chat.history(event, user),
        "held": chat.held(event) if moderator else [],
        "moderator": moderator,
        "chat_open": chat.chat_open(event),
        "client_id": secrets.token_urlsafe(12),  # a new one for each form: a resend is one message
        "reasons": REPORT_REASONS,
        "minutes": chat.MEASURE_MINUTES,
        "me": user,
        "text": text,
        "questions": qa.questions(event, user),
        "question_max": qa.QUESTION_MAX,
        "question_text": question_text,
        "question_client_id": secrets.token_urlsafe(12),
        "captioner": captions.is_captioner(event, user),
        "caption_lines": captions.lines(event, last=2),
        "captioner_list": captions.captioners(event) if staff else [],
        "consultations": qa.open_consultations() if staff else [],
        "question_themes": qa.themes_of(event) if staff else None,
        "staff": staff,
        "endpoints": media.endpoints(event),
        "question_labels": QUESTION_LABELS,
        "question_actions": MODERATOR_ACTIONS,
        "qa_from": {
            action: " ".join(s.value for s in states) for action, states in qa.ACTIONS.items()
        },
    }


def _back(event: Event, part: str = "chat"):
    return redirect(url_for("events.live", event_id=event.id) + "#" + part)


def _refused(event: Event, refused: ChatRefused, part: str = "chat"):
    db.session.rollback()
    flash(refused.text, "error")
    return _back(event, part)


@bp.post("/<int:event_id>/chat")
@login_required
@limiter.limit("30 per minute")
def send_chat(event_id: int):
    """The chat form without JavaScript (the text stays in the box when it is refused)."""
    event = _watchable(event_id)
    try:
        posted = chat.post(event, _user(), request.form.get("client_id"), request.form.get("text"))
    except ChatRefused as refused:
        db.session.rollback()
        flash(refused.text, "error")
        return _page(event, request.form.get("text", ""), 400)
    db.session.commit()
    if posted.created:
        broadcast.tell_posted(event, posted)
    if not posted.published:
        flash(_("Your message waits for a moderator before others see it."), "info")
    return _back(event)


CHAT_ACTIONS = ("hide", "release", "report", "measure")


@bp.post("/<int:event_id>/chat/<int:message_id>/<action>")
@login_required
def chat_action(event_id: int, message_id: int, action: str):
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
    db.session.commit()  # (a release is told to the room by it: broadcast._chat_decided)
    if action == "hide":
        broadcast.tell_removed(event, [message.id])
    elif action == "measure" and measure.kind.value == "ban":
        broadcast.tell_removed(event, chat.hidden_ids_of(event, measure.user_id))
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
    event = _watchable(event_id)
    try:
        chat.pin(event, request.form.get("text", ""), _user())
    except ChatRefused as refused:
        return _refused(event, refused)
    db.session.commit()
    broadcast.tell_pinned(event)
    return _back(event)


# --- Q&A -------------------------------------------------------------------------------------


@bp.post("/<int:event_id>/questions")
@login_required
@limiter.limit("20 per minute")
def ask(event_id: int):
    """Ask without JavaScript (the text stays in the box when it is refused)."""
    event = _watchable(event_id)
    form = request.form
    try:
        asked = qa.ask(
            event, _user(), form.get("client_id"), form.get("text"), form.get("anonymous")
        )
    except ChatRefused as refused:
        db.session.rollback()
        flash(refused.text, "error")
        return _page(event, status=400, question_text=form.get("text", ""))
    db.session.commit()
    if asked.created:
        broadcast.tell_questions(event, [asked.question])
    if not qa.is_listed(asked.question, asked.item):
        flash(_("Your question waits for a moderator before others see it."), "info")
    else:
        flash(_("Your question is listed."), "success")
    return _back(event, "qa")


QUESTION_ACTIONS = (*qa.ACTIONS, "vote", "unvote", "opinion")


@bp.post("/<int:event_id>/questions/<int:question_id>/<action>")
@login_required
@limiter.limit("60 per minute")
def question_action(event_id: int, question_id: int, action: str):
    if action not in QUESTION_ACTIONS:
        abort(404)
    event = _watchable(event_id)
    user = _user()
    changed = []
    try:
        question = qa.question_of(event, question_id)
        if action in ("vote", "unvote"):
            changed = [question] if qa.vote(question, user, action == "vote") else []
        elif action == "opinion":
            consultation = _consultation(request.form.get("consultation", type=int))
            opinion = qa.to_opinion(question, consultation, user)
        else:
            changed = qa.decide(question, action, user)
    except ChatRefused as refused:
        return _refused(event, refused, "qa")
    db.session.commit()
    broadcast.tell_questions(event, changed)
    if action == "opinion":
        flash(
            _(
                "The question is now an opinion on “%(title)s” (receipt %(code)s).",
                title=consultation.title,
                code=opinion.receipt_code,
            ),
            "success",
        )
    return _back(event, f"q-{question.id}" if action in ("vote", "unvote") else "qa")


def _consultation(consultation_id: int | None):
    from app.consultations.models import Consultation

    consultation = db.session.get(Consultation, consultation_id) if consultation_id else None
    if consultation is None:
        raise ChatRefused("bad_request")
    return consultation


@bp.post("/<int:event_id>/questions/themes")
@login_required
def question_themes(event_id: int):
    """Staff ask for the questions grouped by theme (the jobs worker does it)."""
    event = _watchable(event_id)
    try:
        qa.request_themes(event, _user())
    except ChatRefused as refused:
        return _refused(event, refused, "themes")
    db.session.commit()
    flash(_("The questions are being grouped. Reload this page in a moment."), "success")
    return _back(event, "themes")


# --- captions --------------------------------------------------------------------------------


@bp.post("/<int:event_id>/captions")
@login_required
def send_caption(event_id: int):
    event = _watchable(event_id)
    try:
        line = captions.send(event, _user(), request.form.get("text"))
    except ChatRefused as refused:
        return _refused(event, refused, "captioning")
    db.session.commit()
    broadcast.tell_caption(event, line)
    return _back(event, "captioning")


@bp.get("/<int:event_id>/captions.vtt")
def captions_vtt(event_id: int):
    event = _watchable(event_id)
    return Response(
        captions.webvtt_text(event),
        mimetype="text/vtt",
        headers={"Cache-Control": "no-cache"},
    )


@bp.post("/<int:event_id>/captioners")
@login_required
def add_captioner(event_id: int):
    event = _watchable(event_id)
    try:
        captions.add_captioner(event, request.form.get("email", ""), _user())
    except ChatRefused as refused:
        return _refused(event, refused, "captioners")
    db.session.commit()
    flash(_("The captioner is added. They type captions on this page."), "success")
    return _back(event, "captioners")


@bp.post("/<int:event_id>/captioners/<int:captioner_id>/remove")
@login_required
def remove_captioner(event_id: int, captioner_id: int):
    event = _watchable(event_id)
    try:
        captions.remove_captioner(event, captioner_id, _user())
    except ChatRefused as refused:
        return _refused(event, refused, "captioners")
    db.session.commit()
    flash(_("The captioner is removed."), "success")
    return _back(event, "captioners")
