"""The media service (issue 7): its own asyncio process (aiortc, aiohttp), apart from the web
app. ``python -m realtime.media`` (``make run`` starts it; see the Procfile).

The control-plane contract (an external engine such as MediaMTX or LiveKit, put behind a small
adapter, keeps the same one; the README says how):

Tokens (web → browser → media). The web app signs short-lived tokens with
``itsdangerous.URLSafeTimedSerializer(secret, salt="koe-media")``; the payload is
``{"e": event_id, "r": "publish" | "watch", "u": user_id or None}``; the media service refuses
tokens older than ``TOKEN_MAX_AGE`` seconds, of another event or of the wrong role. A token
only opens a session; the session then lasts as long as its connection.

The shared secret is ``media_secret(secret_key)``: an HMAC of the web app's secret key, so
the two processes share it without another setting (``KOE_MEDIA_SECRET`` overrides it).

HTTP (``KOE_MEDIA_URL``, default http://127.0.0.1:5001):

- ``POST /whip/<event>`` (WHIP, RFC 9725): ``Authorization: Bearer <publish token>``,
  ``Content-Type: application/sdp``, the presenter's offer (video, and audio if any) →
  ``201`` with the answer and ``Location: /whip/<event>/<session>``. ``400`` for an offer
  that is not SDP or has no video, ``401`` for a bad token, ``409`` when the event is live
  from another presenter already. ``DELETE /whip/<event>/<session>`` ends the stream.
- ``POST /whep/<event>`` (WHEP): a viewer's receive-only offer with a watch token → ``201``
  and the answer (the presenter's tracks, relayed), ``Location: /whep/<event>/<session>``;
  ``404`` when the event is not live, ``503`` when this process already serves
  ``KOE_MEDIA_WEBRTC_MAX`` WebRTC viewers (the page then plays HLS). ``DELETE`` ends it.
- ``GET /hls/<event>/index.m3u8`` and its segments: one encode of the stream to HLS (H.264
  and AAC, PyAV), whatever the number of viewers; static files under
  ``KOE_MEDIA_ROOT/hls/<event>/`` that a CDN can cache (segments immutable, the playlist
  ``no-cache``). The playlist is of type EVENT: it keeps every segment, and when the stream
  ends it gets ``#EXT-X-ENDLIST`` and becomes the recording the archive plays.
- ``GET /healthz`` → ``{"ok": true, "live": [event ids], "webrtc_viewers": n,
  "hls_viewers": n}``. An HLS viewer is a player that fetched a live playlist in the last
  ``HLS_VIEWER_WINDOW`` (20) seconds, told apart by the id the live page adds (``?v=``) or by
  address and browser.

Webhook (media → web): ``POST <KOE_WEB_URL>/events/media/webhook`` with a JSON body
``{"event": id, "state": "live" | "ended", "viewers": n, "webrtc": n, "hls_viewers": n, "hls":
"/hls/<event>/index.m3u8", "download": "/hls/<event>/recording.mp4" or "", "at": ISO 8601
time}`` (with "ended": ``download`` is the MP4 when it was written; ``"recovered": true`` when
the service, started again after it stopped without ending the stream, closed the playlist
it had left open and reports that recording late), signed: header ``X-Koe-Timestamp``
(Unix seconds) and ``X-Koe-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">``.
Sent when a stream starts, every ``KOE_MEDIA_REPORT_SECONDS`` (10) while live (the viewer
count) and when it ends; the web app refuses a bad signature and a timestamp more than five
minutes away. A live stream not reported for ``KOE_MEDIA_SILENT_SECONDS`` (60) is ended by the
web app (``app.events.media.end_silent_streams``): an external engine's adapter must repeat
"live" too.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from itsdangerous import BadData, URLSafeTimedSerializer

TOKEN_SALT = "koe-media"  # noqa: S105  (a salt, not a secret)
TOKEN_MAX_AGE = 300  # seconds
WEBHOOK_PATH = "/events/media/webhook"
WEBHOOK_SKEW = 300  # seconds either way
ROLES = ("publish", "watch")


def media_secret(secret_key: str) -> str:
    """The secret the web app and the media service share (derived from the web's key)."""
    return hmac.new(secret_key.encode(), b"koe-media-service", hashlib.sha256).hexdigest()


def issue_token(secret: str, event_id: int, role: str, user_id: int | None = None) -> str:
    """A token that opens one ``role`` session ("publish" or "watch") on ``event_id``."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    serializer = URLSafeTimedSerializer(secret, salt=TOKEN_SALT)
    return serializer.dumps({"e": event_id, "r": role, "u": user_id})


def read_token(secret: str, token: str, event_id: int, role: str) -> dict | None:
    """The payload of ``token`` when it is genuine, recent, for ``event_id`` and ``role``;
    None otherwise (whatever the reason: the caller answers 401 either way)."""
    try:
        payload = URLSafeTimedSerializer(secret, salt=TOKEN_SALT).loads(
            token, max_age=TOKEN_MAX_AGE
        )
    except BadData:
        return None
    if not isinstance(payload, dict) or payload.get("r") != role:
        return None
    event = payload.get("e")
    if isinstance(event, bool) or not isinstance(event, int) or event != event_id:
        return None
    return payload


def sign_body(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The webhook's headers for ``body``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return {"X-Koe-Timestamp": str(timestamp), "X-Koe-Signature": f"sha256={digest.hexdigest()}"}


def verify_body(secret: str, body: bytes, timestamp: str | None, signature: str | None) -> bool:
    """Whether the webhook's headers sign ``body`` and are recent (no replay later)."""
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    if abs(time.time() - int(timestamp)) > WEBHOOK_SKEW:
        return False
    expected = sign_body(secret, body, int(timestamp))["X-Koe-Signature"]
    return hmac.compare_digest(expected, signature)
