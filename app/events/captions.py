"""Live captions (WCAG 1.2.4): captioners staff name for an event type lines (as PC要約筆記
teams do); every viewer sees them over the video, and they are saved as WebVTT (webvtt-py)
for the archive. Like the chat, these operations never commit and never emit.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta

import webvtt
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import audit
from app.auth.models import Role, User
from app.auth.operations import find_by_email
from app.events.chat import ChatRefused
from app.events.models import Event, EventState
from app.events.qa_models import Captioner, CaptionLine
from app.extensions import db
from app.timeutil import as_utc, utcnow

CAPTION_MAX = 200  # characters (NFC) in one line
#: a cue shows until the next line, but at least and at most this long
CUE_MIN = timedelta(seconds=1.5)
CUE_MAX = timedelta(seconds=6)

REFUSALS = {
    "not_captioner": _l("Only the captioners of this event can send captions."),
    "caption_empty": _l("Write the caption text."),
    "caption_long": _l("A caption line has at most 200 characters: send it in two lines."),
    "no_account": _l("No account has that e-mail address."),
    "already": _l("That person is already a captioner of this event."),
}


def _refuse(code: str) -> ChatRefused:
    return ChatRefused(code, str(REFUSALS[code]))


def is_captioner(event: Event, user: User | None) -> bool:
    if user is None:
        return False
    return (
        db.session.scalar(
            select(Captioner.id).where(Captioner.event_id == event.id, Captioner.user_id == user.id)
        )
        is not None
    )


def captioners(event: Event) -> list[Captioner]:
    return list(
        db.session.scalars(
            select(Captioner).where(Captioner.event_id == event.id).order_by(Captioner.id)
        )
    )


def _staff(user: User | None) -> User:
    if user is None or not user.has_role(Role.STAFF):
        raise ChatRefused("forbidden")
    return user


def add_captioner(event: Event, email: str, staff: User | None) -> Captioner:
    staff = _staff(staff)
    user = find_by_email(email or "")
    if user is None:
        raise _refuse("no_account")
    if is_captioner(event, user):
        raise _refuse("already")
    captioner = Captioner(event_id=event.id, user_id=user.id)
    db.session.add(captioner)
    db.session.flush()
    audit.record("event.captioner_add", event, actor=staff, details={"user_id": user.id})
    return captioner


def remove_captioner(event: Event, captioner_id: int, staff: User | None) -> None:
    staff = _staff(staff)
    captioner = db.session.get(Captioner, captioner_id)
    if captioner is None or captioner.event_id != event.id:
        raise ChatRefused("not_found")
    audit.record(
        "event.captioner_remove", event, actor=staff, details={"user_id": captioner.user_id}
    )
    db.session.delete(captioner)


def send(event: Event, user: User | None, text: object) -> CaptionLine:
    if not is_captioner(event, user):
        raise _refuse("not_captioner")
    if event.state != EventState.PUBLISHED:
        raise ChatRefused("closed")
    text = unicodedata.normalize("NFC", text).strip() if isinstance(text, str) else ""
    # one line on the screen: line breaks typed by mistake become spaces
    text = " ".join(text.split())
    if not text:
        raise _refuse("caption_empty")
    if len(text) > CAPTION_MAX:
        raise _refuse("caption_long")
    line = CaptionLine(event_id=event.id, author_id=user.id, text=text, created_at=utcnow())
    db.session.add(line)
    db.session.flush()
    return line


def lines(event: Event, last: int | None = None) -> list[CaptionLine]:
    query = select(CaptionLine).where(CaptionLine.event_id == event.id)
    if last is not None:
        return list(db.session.scalars(query.order_by(CaptionLine.id.desc()).limit(last)))[::-1]
    return list(db.session.scalars(query.order_by(CaptionLine.id)))


def describe(line: CaptionLine) -> dict:
    return {"id": line.id, "text": line.text, "at": as_utc(line.created_at).isoformat()}


def origin(event: Event) -> datetime:
    """The moment the captions' times count from: when the stream went live (the recording
    starts then), else the event's start."""
    return as_utc(event.stream_started_at or event.starts_at)


def _stamp(offset: timedelta) -> str:
    total = max(0, int(offset.total_seconds() * 1000))
    hours, rest = divmod(total, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _cue_text(text: str) -> str:
    """WebVTT cue text is markup: what people typed is escaped (``<b>`` stays text, and so
    does ``-->``, which would end the cue)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webvtt_text(event: Event) -> str:
    """The captions as a WebVTT file, each cue timed from ``origin``: it shows until the next
    line (at least CUE_MIN, at most CUE_MAX)."""
    start_of = origin(event)
    all_lines = lines(event)
    vtt = webvtt.WebVTT()
    for index, line in enumerate(all_lines):
        start = as_utc(line.created_at) - start_of
        if start < timedelta(0):
            continue  # typed before the start (a test line): not in the recording
        following = (
            as_utc(all_lines[index + 1].created_at) - start_of
            if index + 1 < len(all_lines)
            else start + CUE_MAX
        )
        end = min(max(following, start + CUE_MIN), start + CUE_MAX)
        vtt.captions.append(
            webvtt.Caption(start=_stamp(start), end=_stamp(end), text=_cue_text(line.text))
        )
    return vtt.content
