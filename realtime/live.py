"""The ``/live`` Socket.IO namespace: an event's chat, Q&A, captions and presence.

Every client event is answered through its acknowledgement: ``{"ok": true, ...}`` or
``{"ok": false, "error": code, "message": text in the person's language}``. A payload of the
wrong shape, an unknown event or a failure inside is answered the same way (and logged
without the payload); the connection stays open and nobody else is affected. Each
connection has a pace per kind of event (``realtime.pace``): an event over it is answered
``pace`` without touching the database, and a connection that floods on is closed. A text
with a lone surrogate (``"\\ud800"``) is answered ``bad_text``.

Client → server (``data`` is a JSON object):

- ``join`` ``{event, since?}``: enter the event's room; the answer holds what the person may
  see (after message ``since`` when given: what a reconnecting client missed, at most the
  last 100, with ``more`` when there were more), the ids of messages taken away meanwhile,
  the pinned announcement and the presence count. A second ``join`` of the same room on one
  connection answers ``{"ok": true, "already": true}`` and costs nothing.
- ``send`` ``{event, client_id, text}``: a message; the same ``client_id`` twice stores one.
- ``report`` ``{event, message, reason}``; for moderators ``hide``, ``release``
  ``{event, message}``, ``measure`` ``{event, message, kind, minutes?}``, ``pin``
  ``{event, text}``.
- ``ask`` ``{event, client_id, text, anonymous?}``: a question (once per ``client_id``);
  ``vote`` ``{event, question, up}``; for moderators ``question`` ``{event, question,
  action}`` (approve, dismiss, answering, answered, reopen).
- ``caption`` ``{event, text}``: a caption line, from the event's captioners.

Server → clients: ``chat`` (a published message, or to its author their own held or
muted one), ``removed`` ``{ids}``, ``presence`` ``{count}``, ``pinned`` ``{text}``;
``question`` (a listed question, new or changed: its state and votes), ``question_gone``
``{ids}`` (no longer listed), ``caption`` ``{id, text, at}``, ``stream`` ``{state, viewers,
started_at}`` (from the media service); to the moderators' room ``held``
(a message waiting for them) and every question, listed or not; to its author, their own.
"""

from __future__ import annotations

import functools
import threading

from flask import current_app, request
from flask_babel import force_locale, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_socketio import (
    ConnectionRefusedError,
    Namespace,
    disconnect,
    join_room,
    leave_room,
    rooms,
)
from flask_wtf.csrf import ValidationError, validate_csrf

from app.events import captions, chat, media, qa
from app.events.broadcast import (  # the rooms, and telling them (also the app's)
    NAMESPACE,
    moderators_room,
    room,
    tell_caption,
    tell_pinned,
    tell_posted,
    tell_questions,
    tell_removed,
    user_room,
)
from app.events.chat import REFUSALS, ChatRefused
from app.events.models import Event, EventState
from app.events.operations import may_watch
from app.extensions import db
from app.validators import has_lone_surrogate

UNKNOWN = _l("This action is not known.")
FAILED = _l("Something went wrong. Please try again.")
REPORTED = _l("Thank you. A moderator will look at it.")
PACE = _l("This page is sending too much at once. Wait a few seconds and try again.")
BAD_TEXT = _l("The text holds a broken character that cannot be stored. Delete it and send again.")


def _user():
    return current_user._get_current_object() if current_user.is_authenticated else None


def _event(data: dict) -> Event:
    event_id = data.get("event")
    if not isinstance(event_id, int) or isinstance(event_id, bool) or not 0 < event_id < 2**31:
        raise ChatRefused("bad_request")
    event = db.session.get(Event, event_id)
    if event is None or event.state == EventState.DRAFT or not may_watch(event, _user()):
        raise ChatRefused("not_allowed")
    return event


def _message(event: Event, data: dict):
    return chat.message_of(event, data.get("message"))


# --- the presence count (what the app tells the rooms: app.events.broadcast) -------------------


#: the presence count is told to a room at most once per this many seconds: 2,000 people
#: joining would otherwise send 2,000 counts to 2,000 people (bench/chat_load.py)
PRESENCE_EVERY = 1.0
_presence_due: set[int] = set()
_presence_lock = threading.Lock()


def tell_presence(event_id: int) -> None:
    """Tell the room its count soon (once for every change in the next second). Sent from a
    background task, never from inside the handler: a disconnect found while emitting does
    not emit again from within that emit."""
    from realtime import socketio

    with _presence_lock:
        if event_id in _presence_due:
            return
        _presence_due.add(event_id)
    sio = socketio()
    app = current_app._get_current_object()

    def send() -> None:
        sio.sleep(PRESENCE_EVERY)
        with _presence_lock:
            _presence_due.discard(event_id)
        with app.app_context():
            count = app.extensions["koe_presence"].count(event_id)
        sio.emit("presence", {"count": count}, to=room(event_id), namespace=NAMESPACE)

    sio.start_background_task(send)


# --- the namespace -------------------------------------------------------------------------------


def _paced(event: str, known: bool = True) -> dict | None:
    """The refusal of an event over its pace for this connection (None: go on). It costs a
    dictionary lookup, not the database; a connection that floods on past the refusals is
    closed."""
    pace = current_app.extensions["koe_pace"]
    sio = current_app.extensions["socketio"]
    if pace.allow(request.sid, pace.kind(event, known)):
        # let the others run between two events of one connection: under gevent a client
        # whose events are always there to read would otherwise never give the loop back
        sio.sleep(0)
        return None
    if pace.refused(request.sid):
        current_app.logger.warning("socket connection closed: it flooded the server")
        _close_connection(sio)
        return {"ok": False, "error": "pace", "message": _said(PACE)}
    # a connection over its pace waits before it is answered (its events are read one after
    # another): a flood slows itself down, not the others
    sio.sleep(pace.refused_wait)
    return {"ok": False, "error": "pace", "message": _said(PACE)}


def _close_connection(sio) -> None:
    """Close the connection of this event, not only its namespace: the WebSocket itself, so
    that the frames it sent and the server has not read yet are dropped with it
    (``realtime.transport``) instead of being read and refused one by one after it."""
    eio = sio.server.eio
    eio_sid = sio.server.manager.eio_sid_from_sid(request.sid, NAMESPACE)
    disconnect()
    # the engine.io connection (a test client has none: its namespace is closed above)
    connection = eio.sockets.get(eio_sid) if eio_sid is not None else None
    if connection is not None:
        # not through eio.disconnect, which waits for the connection's outgoing queue to be
        # sent: this runs on the connection's own reader, and a writer already gone (the peer
        # vanished) would leave it waiting forever. The close is queued behind what is there.
        connection.close(wait=False)
        eio.sockets.pop(eio_sid, None)


def _said(text) -> str:
    """``text`` in the language of the connection's page (chosen once, on connecting: no
    look-up of the person for a cheap answer)."""
    language = current_app.extensions["koe_pace"].language(request.sid)
    if language is None:
        return str(text)
    with force_locale(language):
        return str(text)


def guarded(handler):
    """Answer a bad payload, a refusal or a failure through the acknowledgement; the
    connection stays open (and the session's transaction is rolled back). Each event is
    paced per connection first."""
    event_name = handler.__name__.removeprefix("on_")

    @functools.wraps(handler)
    def run(self, data=None):
        refused = _paced(event_name)
        if refused is not None:
            return refused
        if not isinstance(data, dict):
            return _refusal(ChatRefused("bad_request", _said(REFUSALS["bad_request"])))
        if has_lone_surrogate(data):
            return {"ok": False, "error": "bad_text", "message": _said(BAD_TEXT)}
        # a fresh application context: its own ``g`` (the signed-in user is looked up again
        # from the session for every event) and its own database session
        with current_app.app_context():
            return _answer(handler, self, data)

    return run


def _answer(handler, namespace, data: dict) -> dict:
    try:
        return handler(namespace, data)
    except ChatRefused as refused:
        db.session.rollback()
        return _refusal(refused)
    except Exception as exc:
        db.session.rollback()
        current_app.logger.error("socket event %s failed: %s", handler.__name__, type(exc).__name__)
        return {"ok": False, "error": "server", "message": str(FAILED)}


class Live(Namespace):
    def trigger_event(self, event, *args):
        """Route an event without a handler to ``on_unknown_event`` (an error answer)."""
        if event not in ("connect", "disconnect") and not hasattr(self, f"on_{event}"):
            event = "unknown_event"
        return super().trigger_event(event, *args)

    def on_unknown_event(self, *_args):
        refused = _paced("unknown", known=False)
        return refused or {"ok": False, "error": "unknown_event", "message": _said(UNKNOWN)}

    def on_connect(self, auth=None):
        with current_app.app_context():
            self._connect(auth)

    def _connect(self, auth) -> None:
        token = auth.get("csrf") if isinstance(auth, dict) else None
        try:
            validate_csrf(token)
        except ValidationError:
            raise ConnectionRefusedError("csrf") from None
        user = _user()
        if user is not None:
            join_room(user_room(user.id))
        current_app.extensions["koe_pace"].speaks(request.sid, str(get_locale()))

    def on_disconnect(self, reason=None):
        current_app.extensions["koe_pace"].forget(request.sid)
        presence = current_app.extensions["koe_presence"]
        for name in list(rooms()):
            if name.startswith("event-"):
                event_id = int(name.removeprefix("event-"))
                presence.leave(event_id, request.sid)
                tell_presence(event_id)

    @guarded
    def on_join(self, data):
        if isinstance(data.get("event"), int) and room(data["event"]) in rooms():
            # joined already on this connection (allowed then): it has everything and is told
            # what comes, so a repeated join reads nothing
            return {"ok": True, "already": True}
        event = _event(data)
        since = data.get("since")
        if since is not None and (not isinstance(since, int) or isinstance(since, bool)):
            raise ChatRefused("bad_request")
        user = _user()
        name = room(event.id)
        join_room(name)
        if chat.is_moderator(user):
            join_room(moderators_room(event.id))
        current_app.extensions["koe_presence"].join(event.id, request.sid)
        tell_presence(event.id)
        # joined before reading: a message posted meanwhile may come both ways, never neither
        # way (the page drops what it shows already, by id)
        if since is None:
            messages, more = chat.history(event, user), False
        else:
            messages, more = chat.catch_up(event, user, since)
        return {
            "ok": True,
            "messages": messages,
            # more were missed than a catch-up holds: these are the last ones, start afresh
            "more": more,
            "removed": chat.removed_since(event, since) if since is not None else [],
            "pinned": event.pinned_text,
            "presence": current_app.extensions["koe_presence"].count(event.id),
            "open": chat.chat_open(event),
            "held": chat.held(event) if chat.is_moderator(user) else [],
            "questions": qa.questions(event, user),
            "captions": [captions.describe(line) for line in captions.lines(event, last=2)],
            "stream": media.describe(event),
        }

    @guarded
    def on_leave(self, data):
        event = _event(data)
        leave_room(room(event.id))
        leave_room(moderators_room(event.id))
        current_app.extensions["koe_presence"].leave(event.id, request.sid)
        tell_presence(event.id)
        return {"ok": True}

    @guarded
    def on_send(self, data):
        event = _event(data)
        posted = chat.post(event, _user(), data.get("client_id"), data.get("text"))
        db.session.commit()
        if posted.created:
            tell_posted(event, posted)
        (payload,) = chat.describe([(posted.message, posted.item)], _user())
        return {"ok": True, "message": payload, "duplicate": not posted.created}

    @guarded
    def on_report(self, data):
        event = _event(data)
        counted = chat.report(_message(event, data), _user(), data.get("reason"))
        db.session.commit()
        return {"ok": True, "counted": counted, "message": str(REPORTED)}

    @guarded
    def on_hide(self, data):
        event = _event(data)
        message = _message(event, data)
        chat.hide(message, _user())
        db.session.commit()
        tell_removed(event, [message.id])
        return {"ok": True}

    @guarded
    def on_release(self, data):
        event = _event(data)
        message = _message(event, data)
        chat.release(message, _user())
        db.session.commit()  # (which tells the room: app.events.broadcast._chat_decided)
        return {"ok": True}

    @guarded
    def on_measure(self, data):
        event = _event(data)
        message = _message(event, data)
        measure = chat.take_measure(event, message, data.get("kind"), data.get("minutes"), _user())
        db.session.commit()
        if measure.kind.value == "ban":
            tell_removed(event, chat.hidden_ids_of(event, measure.user_id))
        return {"ok": True}

    @guarded
    def on_pin(self, data):
        event = _event(data)
        chat.pin(event, data.get("text"), _user())
        db.session.commit()
        tell_pinned(event)
        return {"ok": True}

    @guarded
    def on_ask(self, data):
        event = _event(data)
        user = _user()
        asked = qa.ask(event, user, data.get("client_id"), data.get("text"), data.get("anonymous"))
        db.session.commit()
        if asked.created:
            tell_questions(event, [asked.question])
        return {"ok": True, "question": qa.describe_one(asked.question, user)}

    @guarded
    def on_vote(self, data):
        event = _event(data)
        user = _user()
        question = qa.question_of(event, data.get("question"))
        changed = qa.vote(question, user, data.get("up", True))
        db.session.commit()
        if changed:
            tell_questions(event, [question])
        return {"ok": True, "question": qa.describe_one(question, user)}

    @guarded
    def on_question(self, data):
        event = _event(data)
        question = qa.question_of(event, data.get("question"))
        changed = qa.decide(question, data.get("action"), _user())
        db.session.commit()
        tell_questions(event, changed)
        return {"ok": True}

    @guarded
    def on_caption(self, data):
        event = _event(data)
        line = captions.send(event, _user(), data.get("text"))
        db.session.commit()
        tell_caption(event, line)
        return {"ok": True, "caption": captions.describe(line)}


def _refusal(refused: ChatRefused) -> dict:
    return {"ok": False, "error": refused.code, "message": refused.text}
