"""The web app's side of the stream's control plane (the contract is in ``realtime.media``):
short-lived signed tokens for the presenter and the viewers, the addresses the pages use, and
the signed webhook by which the media service (or an external engine's adapter) reports the
stream's state. These operations never commit and never emit, but for the two that end a
live stream the media service stopped reporting: :func:`settle` (when a page of the event is
asked for) and the jobs worker's :func:`end_silent_streams`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from app import audit, jobs
from app.auth.models import User
from app.events import broadcast, qa
from app.events.models import Engine, Event, EventState, StreamState
from app.extensions import db
from app.timeutil import as_utc, utcnow
from app.validators import has_lone_surrogate
from realtime.media import TOKEN_SALT, media_secret, verify_body


def secret() -> str:
    return current_app.config.get("MEDIA_SECRET") or media_secret(current_app.secret_key)


def token(event: Event, role: str, user: User | None) -> str:
    """A token the media service accepts for ``TOKEN_MAX_AGE`` seconds (the caller checked
    that ``user`` may do this: staff publish, people who may watch watch)."""
    if role not in ("publish", "watch"):
        raise ValueError(role)
    serializer = URLSafeTimedSerializer(secret(), salt=TOKEN_SALT)
    return serializer.dumps({"e": event.id, "r": role, "u": user.id if user else None})


def ice_servers(now: datetime | None = None) -> list[dict]:
    """The STUN/TURN servers for a page's RTCPeerConnection (``iceServers``). A TURN server
    gets credentials of the TURN REST API that coturn checks with its static-auth-secret
    (``use-auth-secret``): the username is when they expire (Unix seconds) and a random
    tag, never who the person is; the credential is base64(HMAC-SHA1(secret, username))."""
    config = current_app.config
    stun = [url for url in config["ICE_SERVERS"] if url.startswith("stun:")]
    turn = [url for url in config["ICE_SERVERS"] if url.startswith("turn")]
    servers: list[dict] = [{"urls": stun}] if stun else []
    if turn:
        expires = int(as_utc(now or utcnow()).timestamp()) + config["TURN_TTL"]
        username = f"{expires}:koe-{secrets.token_hex(4)}"
        digest = hmac.new(config["TURN_SECRET"].encode(), username.encode(), hashlib.sha1)
        credential = base64.b64encode(digest.digest()).decode()
        servers.append({"urls": turn, "username": username, "credential": credential})
    return servers


@dataclass
class Endpoints:
    """Where a page sends and plays the stream."""

    whip: str  # the presenter's WHIP endpoint
    whep: str  # WebRTC viewers ("" with an external engine: HLS only)
    hls: str  # the HLS playlist (live, then the recording)
    embed: str = ""  # an external engine's player page, shown in a frame (when there is no HLS)


def endpoints(event: Event) -> Endpoints:
    if event.engine == Engine.EXTERNAL:
        hls = event.external_playback_url
        return Endpoints(
            event.external_ingest_url, "", hls, "" if hls else event.external_embed_url
        )
    base = current_app.config["MEDIA_URL"]
    return Endpoints(
        f"{base}/whip/{event.id}", f"{base}/whep/{event.id}", f"{base}/hls/{event.id}/index.m3u8"
    )


class BadReport(Exception):
    """The webhook's request is not a valid, signed report (answered with 400 or 401)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def read_report(body: bytes, timestamp: str | None, signature: str | None) -> dict:
    if not verify_body(secret(), body, timestamp, signature):
        raise BadReport(401, "bad signature")
    try:
        report = json.loads(body)
    except ValueError:
        raise BadReport(400, "not JSON") from None
    if not isinstance(report, dict):
        raise BadReport(400, "not an object")
    if has_lone_surrogate(report):  # JSON allows "\\ud800"; UTF-8 and the database do not
        raise BadReport(400, "lone surrogate")
    event_id, state = report.get("event"), report.get("state")
    if not isinstance(event_id, int) or isinstance(event_id, bool):
        raise BadReport(400, "event")
    if state not in ("live", "ended"):
        raise BadReport(400, "state")
    viewers = report.get("viewers", 0)
    if not isinstance(viewers, int) or isinstance(viewers, bool) or viewers < 0:
        raise BadReport(400, "viewers")
    for name in ("hls", "download"):
        value = report.get(name, "")
        if not isinstance(value, str) or len(value) > 500:
            raise BadReport(400, name)
    if not isinstance(report.get("recovered", False), bool):
        raise BadReport(400, "recovered")
    return report


def apply_report(report: dict, now: datetime | None = None) -> Event | None:
    """Record what the media service reports; return the event when its state or count
    changed (the caller commits and tells the room), None for an unknown event."""
    now = now or utcnow()
    event = db.session.get(Event, report["event"])
    if event is None or event.state != EventState.PUBLISHED:
        return None
    state = StreamState(report["state"])
    # "recovered": the service stopped without ending the stream (killed, crashed, the
    # machine went down) and, started again, closed what it had recorded
    recovered = report.get("recovered") is True
    if state == StreamState.LIVE and event.stream_state != StreamState.LIVE:
        event.stream_started_at = now
        event.stream_ended_at = None
        audit.record("event.stream_live", event, details={"event": event.id})
    elif state == StreamState.ENDED and (event.stream_state == StreamState.LIVE or recovered):
        if event.stream_state == StreamState.LIVE:
            # a recovered stream ended when it was last heard of, not now
            event.stream_ended_at = (event.stream_seen_at or now) if recovered else now
            action = "event.stream_interrupted" if recovered else "event.stream_ended"
            audit.record(action, event, details={"event": event.id})
            _finish_answering(event)
        if report.get("hls"):
            event.recording_url = _address(report["hls"])
        event.recording_download_url = _address(report.get("download", ""))
        if recovered:
            audit.record("event.recording_recovered", event, details={"event": event.id})
    event.stream_state = state
    event.stream_viewers = report["viewers"] if state == StreamState.LIVE else 0
    event.stream_seen_at = now
    return event


def _address(path: str) -> str:
    """A path the media service reported, as browsers reach it (a full address stays)."""
    if not path or "://" in path:
        return path
    return current_app.config["MEDIA_URL"] + path


def silent(event: Event, now: datetime | None = None) -> bool:
    """A stream the media service says is live but has not reported for too long (it died,
    or lost its way to the web app): it cannot be watched any more."""
    if event.stream_state != StreamState.LIVE:
        return False
    last = event.stream_seen_at or event.stream_started_at
    limit = timedelta(seconds=current_app.config["MEDIA_SILENT_SECONDS"])
    return last is None or as_utc(now or utcnow()) - as_utc(last) > limit


def end_if_silent(event: Event, now: datetime | None = None) -> bool:
    """End a silent stream (the caller commits and tells the room); whether it did. No
    recording is offered yet: what the service wrote before it stopped was never closed. A
    media service started again closes it and reports it ("recovered", ``apply_report``)."""
    if not silent(event, now):
        return False
    event.stream_state = StreamState.ENDED
    event.stream_ended_at = event.stream_seen_at or now or utcnow()
    event.stream_viewers = 0
    audit.record("event.stream_interrupted", event, details={"event": event.id})
    _finish_answering(event)
    return True


def _finish_answering(event: Event) -> None:
    """A question left "being answered" when the stream ends was answered (the live pages
    move it to the answered list when they hear that the stream ended)."""
    qa.finish_answering(event, event.stream_ended_at)


def settle(event: Event) -> None:
    """End the event's stream now if it fell silent, so that its pages never show a dead
    stream as live (with or without the jobs worker, with or without Redis)."""
    if end_if_silent(event):
        db.session.commit()
        broadcast.tell_stream(event, describe(event))


@jobs.every(30)
def end_silent_streams(now: datetime | None = None) -> int:
    """The jobs worker's round: end every live stream the media service stopped reporting,
    and tell its room (through Redis, when the processes share it); return how many."""
    ended = [
        event
        for event in db.session.scalars(
            select(Event).where(Event.stream_state == StreamState.LIVE)
        ).all()
        if end_if_silent(event, now)
    ]
    db.session.commit()
    for event in ended:
        broadcast.tell_stream(event, describe(event))
    return len(ended)


def describe(event: Event) -> dict:
    """The stream as the live page's script sees it."""
    return {
        "state": event.stream_state.value,
        "viewers": event.stream_viewers,
        "started_at": event.stream_started_at.isoformat() if event.stream_started_at else None,
    }
