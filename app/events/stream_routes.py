"""The stream's pages and control plane: the presenter's studio, media tokens, the media
service's signed webhook, and the archive (the recording with its captions, chat and Q&A)."""

from __future__ import annotations

from flask import abort, current_app, jsonify, render_template, request

from app.auth.models import Role
from app.auth.permissions import role_required
from app.events import bp, broadcast, captions, chat, media, qa
from app.events.live_routes import _watchable, live_context
from app.events.models import Engine, StreamState
from app.events.routes import _load, _user
from app.extensions import csrf, db, limiter


@bp.get("/<int:event_id>/studio")
@role_required(Role.STAFF)
def studio(event_id: int):
    """The presenter goes live from the browser (camera or screen, and microphone), with the
    chat and the questions beside the stream."""
    event = _load(event_id, "edit")
    media.settle(event)
    return render_template("events/studio.html", **live_context(event), Engine=Engine)


@bp.post("/<int:event_id>/media/token")
@limiter.limit("60 per minute")
def media_token(event_id: int):
    """A short-lived token: ``role=publish`` for staff, ``watch`` for who may watch."""
    event = _watchable(event_id)
    role = request.form.get("role", "watch")
    user = _user()
    if role == "publish":
        if user is None or not user.has_role(Role.STAFF):
            abort(403)
    elif role != "watch":
        abort(400)
    endpoints = media.endpoints(event)
    return jsonify(
        token=media.token(event, role, user),
        whip=endpoints.whip if role == "publish" else None,
        whep=endpoints.whep,
        hls=endpoints.hls,
        ice_servers=media.ice_servers() if endpoints.whep or role == "publish" else [],
        stream=media.describe(event),
    )


@bp.get("/<int:event_id>/stream.json")
def stream_state(event_id: int):
    """The stream's state and viewers (the studio polls it)."""
    return jsonify(media.describe(_watchable(event_id)))


@bp.post("/media/webhook")
@csrf.exempt  # signed with the secret shared with the media service instead
def media_webhook():
    body = request.get_data(cache=False)
    try:
        report = media.read_report(
            body, request.headers.get("X-Koe-Timestamp"), request.headers.get("X-Koe-Signature")
        )
    except media.BadReport as bad:
        current_app.logger.warning("media webhook refused: %s", bad.reason)
        return jsonify(ok=False, error=bad.reason), bad.status
    event = media.apply_report(report)
    if event is None:
        return jsonify(ok=False, error="unknown event"), 404
    db.session.commit()
    broadcast.tell_stream(event, media.describe(event))
    return jsonify(ok=True)


@bp.get("/<int:event_id>/archive")
def archive(event_id: int):
    """After the event: the recording with its captions, the chat log and the questions."""
    event = _watchable(event_id)
    if not event.is_over() and event.stream_state != StreamState.ENDED:
        abort(404)
    user = _user()
    staff = user is not None and user.has_role(Role.STAFF)
    return render_template(
        "events/archive.html",
        event=event,
        messages=chat.history(event, None, limit=2000),
        questions=qa.answered(event),
        caption_lines=captions.lines(event),
        has_captions=bool(captions.lines(event, last=1)),
        me=user,
        staff=staff,
        question_themes=qa.themes_of(event) if staff else None,
        embed=media.endpoints(event).embed,
    )
