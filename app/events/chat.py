"""Chat operations: post (moderated, rate-limited, once per client id), read what was missed,
and the moderators' measures. They never commit and never emit: ``realtime.live`` (Socket.IO)
and the no-JavaScript pages in ``app.events.live_routes`` commit, then tell the room.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, cast, func, or_, select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.auth.models import Role, User
from app.events.chat_models import CHAT, ChatMeasure, ChatMessage, MeasureKind
from app.events.models import Event, EventState
from app.events.operations import may_watch
from app.extensions import db
from app.moderation import operations as moderation_ops
from app.moderation.models import ItemStatus, ModerationItem
from app.timeutil import as_utc, utcnow

CHAT_MAX = 500  # characters, as people count them (NFC)


@moderation_ops.place_of(CHAT)
def _chat_pages(source_ids: list[str]) -> dict[str, tuple[str, str]]:
    """A chat message's page is its event's."""
    return _event_pages(ChatMessage, source_ids)


def _event_pages(model, source_ids: list[str]) -> dict[str, tuple[str, str]]:
    """The event page of each row of ``model`` (a chat message or a question) by id."""
    from flask import url_for

    rows = db.session.execute(
        select(model.id, Event.id, Event.title)
        .join(Event, Event.id == model.event_id)
        .where(model.id.in_([int(i) for i in source_ids if i.isdigit()]))
    )
    return {
        str(row_id): (title, url_for("events.show", event_id=event_id))
        for row_id, event_id, title in rows
    }


CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
#: the chat stays open this long after the end (last questions, thanks)
AFTER_END = timedelta(hours=1)
MEASURE_MINUTES = (5, 30, 120)

REFUSALS = {
    "login": _l("Log in to take part in the chat."),
    "not_allowed": _l("This chat is for the people who may watch this event."),
    "closed": _l("The chat of this event is closed."),
    "banned": _l("You cannot write in this chat."),
    "timeout": _l("You cannot write in this chat for a while."),
    "unverified": _l("Confirm your e-mail address first; then you can write here."),
    "muted": _l("You cannot post while your account is muted."),
    "empty": _l("Write a message."),
    "client_id": _l("The message could not be sent. Reload the page and try again."),
    "rate": _l("You are sending messages too fast. Wait a few seconds."),
    "not_found": _l("That message is no longer there."),
    "forbidden": _l("Only the event's moderators can do this."),
    "bad_request": _l("The request was not understood."),
}


class ChatRefused(Exception):
    """Not posted (or not done); ``text`` says why in the current language."""

    def __init__(self, code: str, text: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.text = text or str(REFUSALS[code])


@dataclass
class Posted:
    message: ChatMessage
    item: ModerationItem
    created: bool

    @property
    def published(self) -> bool:
        return self.item.status == ItemStatus.PUBLISHED and not self.message.shadow


def is_moderator(user: User | None) -> bool:
    return user is not None and user.has_role(Role.MODERATOR, Role.STAFF)


def chat_open(event: Event, now: datetime | None = None) -> bool:
    now = as_utc(now or utcnow())
    return (
        event.chat_enabled
        and event.state == EventState.PUBLISHED
        and now <= as_utc(event.ends_at) + AFTER_END
    )


def measure_in_force(event: Event, user: User, now: datetime | None = None) -> ChatMeasure | None:
    """The strongest measure against ``user`` in this event now (ban, then time-out, then mute)."""
    now = now or utcnow()
    measures = db.session.scalars(
        select(ChatMeasure).where(
            ChatMeasure.event_id == event.id,
            ChatMeasure.user_id == user.id,
            or_(ChatMeasure.until.is_(None), ChatMeasure.until > now),
        )
    ).all()
    order = [MeasureKind.BAN, MeasureKind.TIMEOUT, MeasureKind.MUTE]
    return min(measures, key=lambda m: order.index(m.kind), default=None)


def _find(user: User, client_id: str) -> ChatMessage | None:
    return db.session.scalar(
        select(ChatMessage).where(
            ChatMessage.author_id == user.id, ChatMessage.client_id == client_id
        )
    )


def _item(message: ChatMessage) -> ModerationItem:
    return db.session.scalar(
        select(ModerationItem).where(
            ModerationItem.source == CHAT, ModerationItem.source_id == str(message.id)
        )
    )


def post(event: Event, user: User | None, client_id: object, text: object) -> Posted:
    """Store a message once per client id (a resend returns the first); refuse with a reason."""
    if user is None:
        raise ChatRefused("login")
    if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
        raise ChatRefused("client_id")
    existing = _find(user, client_id)
    if existing is not None:
        return Posted(existing, _item(existing), created=False)
    if not may_watch(event, user):
        raise ChatRefused("not_allowed")
    if not chat_open(event):
        raise ChatRefused("closed")
    posting_refused(user)
    now = utcnow()
    measure = measure_in_force(event, user, now)
    if measure is not None and measure.kind == MeasureKind.BAN:
        raise ChatRefused("banned")
    if measure is not None and measure.kind == MeasureKind.TIMEOUT:
        raise ChatRefused("timeout")
    text = written(
        text,
        CHAT_MAX,
        ChatRefused("empty"),
        _l("Shorten the message by %(over)d characters (at most %(max)d)."),
    )
    _check_pace(event, user, now)
    scan = moderation_ops.scan_text(text, user, spam=True)
    if scan.verdict == "reject":
        raise ChatRefused("rejected", scan.verdict.message(str(get_locale())))
    message = ChatMessage(
        event_id=event.id,
        author_id=user.id,
        client_id=client_id,
        shadow=measure is not None and measure.kind == MeasureKind.MUTE,
        created_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(message)
            db.session.flush()
    except IntegrityError:  # the same client id from another connection, at the same moment
        existing = _find(user, client_id)
        return Posted(existing, _item(existing), created=False)
    item = moderation_ops.record(CHAT, message.id, user, scan)
    db.session.flush()
    return Posted(message, item, created=True)


def posting_refused(user: User) -> None:
    """Refuse a person whose address is unconfirmed or whose account is muted, as opinions are
    (the page tells them before they type: moderation.operations.posting_block)."""
    block = moderation_ops.posting_block(user)
    if block is not None:
        raise ChatRefused(block.kind)


def written(text: object, limit: int, empty: ChatRefused, too_long) -> str:
    """What a person wrote, NFC and stripped; refused when empty or over ``limit`` characters
    (``too_long`` says by how much, with ``%(over)d`` and ``%(max)d``)."""
    text = unicodedata.normalize("NFC", text).strip() if isinstance(text, str) else ""
    if not text:
        raise empty
    if len(text) > limit:
        raise ChatRefused("too_long", too_long % {"over": len(text) - limit, "max": limit})
    return text


def _check_pace(event: Event, user: User, now: datetime) -> None:
    """Slow mode (one message per N seconds in this event) and the per-person rate limit."""
    limit, window = current_app.config["CHAT_RATE"]
    recent = db.session.scalars(
        select(ChatMessage.created_at)
        .where(
            ChatMessage.event_id == event.id,
            ChatMessage.author_id == user.id,
            ChatMessage.created_at > now - timedelta(seconds=max(window, event.slow_mode_seconds)),
        )
        .order_by(ChatMessage.created_at.desc())
    ).all()
    if event.slow_mode_seconds and recent and not is_moderator(user):
        wait = event.slow_mode_seconds - (now - as_utc(recent[0])).total_seconds()
        if wait > 0:
            raise ChatRefused(
                "slow",
                str(_l("Slow mode: you can write again in %(n)d seconds.", n=int(wait) + 1)),
            )
    in_window = [at for at in recent if as_utc(at) > now - timedelta(seconds=window)]
    if len(in_window) >= limit:
        raise ChatRefused("rate")


# --- reading ---------------------------------------------------------------------------------


def _visible(viewer: User | None):
    """Messages a viewer sees: published and not hidden; their own also when held or shadowed."""
    published = and_(ModerationItem.status == ItemStatus.PUBLISHED, ChatMessage.shadow.is_(False))
    if viewer is None:
        return and_(published, ChatMessage.hidden_at.is_(None))
    own = and_(
        ChatMessage.author_id == viewer.id,
        ModerationItem.status.in_([ItemStatus.PUBLISHED, ItemStatus.HELD]),
    )
    return and_(or_(published, own), ChatMessage.hidden_at.is_(None))


def _joined():
    return select(ChatMessage, ModerationItem).join(
        ModerationItem,
        and_(
            ModerationItem.source == CHAT,
            ModerationItem.source_id == cast(ChatMessage.id, db.String),
        ),
    )


def history(event: Event, viewer: User | None, limit: int = 100) -> list[dict]:
    """The last ``limit`` messages ``viewer`` may see, oldest first."""
    query = _joined().where(ChatMessage.event_id == event.id, _visible(viewer))
    rows = db.session.execute(query.order_by(ChatMessage.id.desc()).limit(limit)).all()[::-1]
    return describe(rows, viewer)


#: a reconnecting page gets at most this many of the messages it missed (the last ones)
CATCH_UP_MAX = 100


def catch_up(event: Event, viewer: User | None, since: int) -> tuple[list[dict], bool]:
    """What a reconnecting page missed: the messages after ``since`` (the last one it has),
    oldest first, at most the last ``CATCH_UP_MAX``; and whether there were more (the page
    then starts afresh from these)."""
    limit = CATCH_UP_MAX
    rows = db.session.execute(
        _joined()
        .where(ChatMessage.event_id == event.id, _visible(viewer), ChatMessage.id > since)
        .order_by(ChatMessage.id.desc())
        .limit(limit + 1)
    ).all()
    return describe(rows[:limit][::-1], viewer), len(rows) > limit


def describe(rows, viewer: User | None = None) -> list[dict]:
    """Messages as the clients and pages show them (never the original text of a masked one)."""
    names = moderation_ops.public_names([m.author for m, _item in rows if m.author is not None])
    anonymous = str(_l("Anonymous"))
    return [
        {
            "id": m.id,
            "event": m.event_id,
            "client_id": m.client_id if viewer is not None and viewer.id == m.author_id else None,
            "author": names.get(m.author_id) or anonymous,
            "text": item.public_text,
            "at": as_utc(m.created_at).isoformat(),
            "held": item.status == ItemStatus.HELD,
        }
        for m, item in rows
    ]


REMOVED_MAX = 500


def removed_since(event: Event, since: int | None = None, hours: int = 24) -> list[int]:
    """Ids of messages taken away lately (the last ``REMOVED_MAX``, at most up to message
    ``since``, the last one the page has): a client that was away removes them too."""
    query = select(ChatMessage.id).where(
        ChatMessage.event_id == event.id,
        ChatMessage.hidden_at > utcnow() - timedelta(hours=hours),
    )
    if since is not None:
        query = query.where(ChatMessage.id <= since)
    return list(db.session.scalars(query.order_by(ChatMessage.id.desc()).limit(REMOVED_MAX)))


def held(event: Event) -> list[dict]:
    """Messages waiting for a moderator (held by the checks or by reports)."""
    rows = db.session.execute(
        _joined()
        .where(
            ChatMessage.event_id == event.id,
            ChatMessage.hidden_at.is_(None),
            ModerationItem.status == ItemStatus.HELD,
        )
        .order_by(ChatMessage.id)
    ).all()
    return describe(rows)


def message_of(event: Event, message_id: object) -> ChatMessage:
    if not isinstance(message_id, int) or isinstance(message_id, bool):
        raise ChatRefused("bad_request")
    message = db.session.get(ChatMessage, message_id)
    if message is None or message.event_id != event.id:
        raise ChatRefused("not_found")
    return message


def row(message: ChatMessage) -> tuple[ChatMessage, ModerationItem]:
    return message, _item(message)


def count(event: Event) -> int:
    return db.session.scalar(
        select(func.count()).select_from(ChatMessage).where(ChatMessage.event_id == event.id)
    )


# --- moderators ------------------------------------------------------------------------------


def _moderator(user: User | None) -> User:
    if not is_moderator(user):
        raise ChatRefused("forbidden")
    return user


def hide(message: ChatMessage, moderator: User | None) -> None:
    """Take a message away from everyone (kept for the audit, never shown again)."""
    moderator = _moderator(moderator)
    if message.hidden_at is None:
        message.hidden_at, message.hidden_by_id = utcnow(), moderator.id
        audit.record("chat.hide", message, actor=moderator, details={"event": message.event_id})


def release(message: ChatMessage, moderator: User | None) -> ModerationItem:
    """Publish a held message (the moderation decision, audited there)."""
    moderator = _moderator(moderator)
    item = _item(message)
    if item.status != ItemStatus.HELD:
        raise ChatRefused("not_found")
    moderation_ops.approve(item, moderator)
    return item


def take_measure(
    event: Event, message: ChatMessage, kind: object, minutes: object, moderator: User | None
) -> ChatMeasure:
    """A measure against the author of ``message`` in this event; a ban also hides their
    messages. Time-outs last ``minutes`` (one of MEASURE_MINUTES); a ban and a mute the event."""
    moderator = _moderator(moderator)
    try:
        kind = MeasureKind(kind)
    except ValueError:
        raise ChatRefused("bad_request") from None
    if kind == MeasureKind.TIMEOUT and minutes not in MEASURE_MINUTES:
        raise ChatRefused("bad_request")
    if message.author_id is None or message.author_id == moderator.id:
        raise ChatRefused("bad_request")
    until = utcnow() + timedelta(minutes=minutes) if kind == MeasureKind.TIMEOUT else None
    measure = ChatMeasure(
        event_id=event.id,
        user_id=message.author_id,
        kind=kind,
        until=until,
        created_by_id=moderator.id,
    )
    db.session.add(measure)
    if kind == MeasureKind.BAN:
        db.session.execute(
            ChatMessage.__table__.update()
            .where(
                ChatMessage.event_id == event.id,
                ChatMessage.author_id == message.author_id,
                ChatMessage.hidden_at.is_(None),
            )
            .values(hidden_at=utcnow(), hidden_by_id=moderator.id)
        )
    db.session.flush()
    audit.record(
        "chat.measure",
        measure,
        actor=moderator,
        details={"event": event.id, "kind": kind.value, "minutes": minutes if until else None},
    )
    return measure


def hidden_ids_of(event: Event, user_id: int) -> list[int]:
    return list(
        db.session.scalars(
            select(ChatMessage.id).where(
                ChatMessage.event_id == event.id,
                ChatMessage.author_id == user_id,
                ChatMessage.hidden_at.is_not(None),
            )
        )
    )


def pin(event: Event, text: object, moderator: User | None) -> None:
    """Pin an announcement over the chat (empty text takes it down)."""
    moderator = _moderator(moderator)
    text = unicodedata.normalize("NFC", text).strip() if isinstance(text, str) else None
    if text is None or len(text) > 300:
        raise ChatRefused("bad_request")
    event.pinned_text = text or None
    audit.record("chat.pin", event, actor=moderator, details={"pinned": bool(text)})


def report(message: ChatMessage, reporter: User | None, reason: object) -> bool:
    if reporter is None:
        raise ChatRefused("login")
    if reason not in moderation_ops.REPORT_REASONS:
        raise ChatRefused("bad_request")
    item = _item(message)
    if message.author_id == reporter.id or item.status != ItemStatus.PUBLISHED:
        raise ChatRefused("bad_request")
    return moderation_ops.report(
        item, reporter, reason, current_app.config["REPORT_HIDE_THRESHOLD"]
    )
