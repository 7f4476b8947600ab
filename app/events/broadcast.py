"""What the app tells the live pages (the ``/live`` Socket.IO namespace's rooms), after its
commit: from HTTP views, jobs and the namespace's own handlers alike.

The app's one way to the rooms: it emits through the Socket.IO server the app was given
(``app.extensions["socketio"]``, through Redis when the processes share it) and never imports
``realtime``, which serves the namespace and uses the app's operations (one direction).
"""

from __future__ import annotations

from flask import current_app

from app import signals
from app.events import captions, chat, qa
from app.events.chat_models import CHAT, ChatMessage
from app.events.models import Event
from app.extensions import db

NAMESPACE = "/live"


def room(event_id: int) -> str:
    return f"event-{event_id}"


def moderators_room(event_id: int) -> str:
    return f"moderators-{event_id}"


def user_room(user_id: int) -> str:
    return f"user-{user_id}"


def emit(name: str, payload: dict, to: str) -> None:
    """``payload`` as event ``name`` to room ``to`` of the namespace."""
    current_app.extensions["socketio"].emit(name, payload, to=to, namespace=NAMESPACE)


def tell_posted(event: Event, posted: chat.Posted) -> None:
    (payload,) = chat.describe([(posted.message, posted.item)])
    if posted.published:
        emit("chat", payload, room(event.id))
        return
    # held or muted: the author sees it (in every tab), the others do not
    emit("chat", payload, user_room(posted.message.author_id))
    if not posted.message.shadow:
        emit("held", payload, moderators_room(event.id))


@signals.text_decided.connect
def _chat_decided(item, decision: str, **_details) -> None:
    """A moderator's decision on a chat message, wherever it was taken (the live page, the
    moderation queue): once committed, the message appears for everyone (approved) or leaves
    every open page (rejected, taken down)."""
    if item.source != CHAT:
        return
    message = db.session.get(ChatMessage, int(item.source_id))
    if message is None:
        return
    to = room(message.event_id)
    if decision == "approve":
        (payload,) = chat.describe([chat.row(message)])  # (read now: after the commit, no SQL)
        signals.after_commit(db.session(), lambda: emit("chat", payload, to))
    else:
        ids = {"ids": [message.id]}
        signals.after_commit(db.session(), lambda: emit("removed", ids, to))


def tell_removed(event: Event, ids: list[int]) -> None:
    if ids:
        emit("removed", {"ids": ids}, room(event.id))


def tell_pinned(event: Event) -> None:
    emit("pinned", {"text": event.pinned_text}, room(event.id))


def tell_questions(event: Event, changed) -> None:
    """Each changed question: to everyone when it is listed (without who voted), else taken
    off their lists; to the moderators and to its author in full."""
    for question in changed:
        payload = qa.describe_one(question)
        if qa.is_listed(question, qa.item_of(question)):
            public = {k: v for k, v in payload.items() if k not in ("mine", "voted")}
            emit("question", public, room(event.id))
        else:
            emit("question_gone", {"ids": [question.id]}, room(event.id))
            emit("question", payload, moderators_room(event.id))
        if question.author_id is not None:
            emit("question", payload | {"mine": True}, user_room(question.author_id))


def tell_stream(event: Event, state: dict) -> None:
    """The stream's ``state`` and viewers (``app.events.media.describe``, from the media
    service's webhook or the silence check)."""
    emit("stream", state, room(event.id))


def tell_caption(event: Event, line) -> None:
    emit("caption", captions.describe(line), room(event.id))
