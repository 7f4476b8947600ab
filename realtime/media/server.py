"""The media service's aiohttp app: WHIP ingest, WHEP viewers, HLS files, health, webhook.

``make_app(config)`` builds it (tests run it in-process); ``python -m realtime.media`` runs
it. The contract is in ``realtime/media/__init__.py``.

Each presenter has one RTCPeerConnection; a MediaRelay fans its tracks out to the WebRTC
viewers and to the one HLS encoder. A stream is live once the presenter's connection is up;
it ends on DELETE, when the connection fails or closes, when the presenter's video ends, or
when the connection does not come up within ``connect_timeout``. A request the service
cannot use is answered with a 4xx and touches no other session.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import SessionDescription

from . import media_secret, read_token
from .hls import PLAYLIST, HlsEncoder
from .recording import MP4
from .webhook import Webhook, report

log = logging.getLogger(__name__)

MAX_SDP = 64 * 1024  # bytes; real offers are a few kilobytes
CLOSE_TIMEOUT = 5  # seconds to close a peer connection
SEGMENT_RE = r"index\.m3u8|seg\d{1,9}\.ts|recording\.mp4"
EVENT_RE = r"\d{1,18}"
SESSION_RE = r"[A-Za-z0-9_-]{1,64}"
CORS_PATHS = ("/whip/", "/whep/", "/hls/", "/healthz")


# --- configuration ----------------------------------------------------------------------


@dataclass
class Config:
    secret: str
    media_root: Path
    web_url: str = "http://127.0.0.1:5000"
    #: the small stage: bench/media_bench.py held 8 viewers at 640×480 30 fps here (2 cores,
    #: the viewers' decoding on the same machine); beyond, pages play HLS
    webrtc_max: int = 8
    report_seconds: float = 10.0
    connect_timeout: float = 30.0  # seconds for a new peer connection to come up
    ice_servers: list[str] = field(default_factory=list)  # STUN/TURN URLs; none by default

    @classmethod
    def from_env(cls, environ: os._Environ | dict | None = None) -> Config:
        """KOE_MEDIA_* settings; the secret is derived from the web app's key unless set."""
        env = os.environ if environ is None else environ

        def get(name: str, default: str) -> str:
            value = env.get(name)
            return value if value not in (None, "") else default

        from app.config import DEFAULT_INSTANCE, load_secret_key

        instance = Path(get("KOE_INSTANCE_PATH", str(DEFAULT_INSTANCE)))
        secret = env.get("KOE_MEDIA_SECRET") or media_secret(load_secret_key(instance))
        ice = get("KOE_MEDIA_ICE_SERVERS", "")
        return cls(
            secret=secret,
            media_root=Path(get("KOE_MEDIA_ROOT", str(instance / "media"))),
            web_url=get("KOE_WEB_URL", "http://127.0.0.1:5000"),
            webrtc_max=int(get("KOE_MEDIA_WEBRTC_MAX", "8")),
            report_seconds=float(get("KOE_MEDIA_REPORT_SECONDS", "10")),
            connect_timeout=float(get("KOE_MEDIA_CONNECT_TIMEOUT", "30")),
            ice_servers=[url.strip() for url in ice.split(",") if url.strip()],
        )


# --- sessions ---------------------------------------------------------------------------


@dataclass(eq=False)
class Viewer:
    event: int
    session: str
    pc: RTCPeerConnection | None = None
    tracks: list[MediaStreamTrack] = field(default_factory=list)
    connected: bool = False
    closed: bool = False


@dataclass(eq=False)
class Stream:
    """A presenter's stream: reserved by the POST, live once connected."""

    event: int
    session: str
    user: int | None
    pc: RTCPeerConnection | None = None
    relay: MediaRelay = field(default_factory=MediaRelay)
    video: MediaStreamTrack | None = None  # the presenter's tracks
    audio: MediaStreamTrack | None = None
    source: MediaStreamTrack | None = None  # the video as relayed (in order)
    encoder: HlsEncoder | None = None
    viewers: dict[str, Viewer] = field(default_factory=dict)
    live: bool = False  # connected
    announced: bool = False  # the web app was told (after the last stream's "ended")
    ended: bool = False
    watchdog: asyncio.Task | None = None
    #: HLS players by key (the page's own id, else address and browser), when each last
    #: fetched the live playlist: a player reloads it every segment or so while it plays
    hls_seen: dict[str, float] = field(default_factory=dict)

    def hls_viewers(self, now: float) -> int:
        """The players that fetched the playlist within ``HLS_VIEWER_WINDOW`` seconds."""
        gone = [key for key, at in self.hls_seen.items() if now - at > HLS_VIEWER_WINDOW]
        for key in gone:
            del self.hls_seen[key]
        return len(self.hls_seen)

    def saw_hls(self, key: str, now: float) -> None:
        if key not in self.hls_seen and len(self.hls_seen) >= HLS_VIEWERS_TRACKED:
            self.hls_viewers(now)  # drop the ones gone first; beyond the cap, count no more
            if len(self.hls_seen) >= HLS_VIEWERS_TRACKED:
                return
        self.hls_seen[key] = now


#: a player counts as watching for this long after its last fetch of the live playlist (it
#: reloads it about every segment, SEGMENT_SECONDS; hls.js waits longer after an error)
HLS_VIEWER_WINDOW = 20.0
#: a playlist left open by a stopped service is closed once nothing has written it for this
#: long (seconds; a live encoder writes it every segment, SEGMENT_SECONDS)
RECOVER_QUIET = 10.0
ENDLIST = "#EXT-X-ENDLIST"  # the line that says a playlist is complete
MP4_SECONDS = 1800  # at most, to write a recording's MP4 (hours of video: it is only copied)
HLS_VIEWERS_TRACKED = 100_000  # per stream: memory stays bounded whatever is sent
_VIEWER_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")


def hls_viewer_key(request: web.Request) -> str:
    """Who fetched the playlist: the id the live page adds (``?v=``), else a hash of the
    address and the browser (a native player, a link opened in VLC)."""
    own = request.query.get("v", "")
    if _VIEWER_KEY.fullmatch(own):
        return "v:" + own
    seen = f"{request.remote}|{request.headers.get('User-Agent', '')}".encode()
    return "h:" + hashlib.sha256(seen).hexdigest()[:24]


class InOrder(MediaStreamTrack):
    """The presenter's video without a frame older than the one before it: a VP8 encoder
    refuses a timestamp that goes back, and a viewer's sender would stop there."""

    kind = "video"

    def __init__(self, track: MediaStreamTrack) -> None:
        super().__init__()
        self.track = track
        self.last: float | None = None

    async def recv(self):
        while True:
            frame = await self.track.recv()
            if frame.pts is None or frame.time_base is None:
                return frame
            at = float(frame.pts * frame.time_base)
            if self.last is None or at > self.last:
                self.last = at
                return frame


# Viewers get VP8, which every WebRTC browser decodes: one codec for all viewers also means
# their encoders never re-stamp the frames they share in time bases of their own.
VIEWER_VIDEO_CODECS = [
    codec
    for codec in RTCRtpSender.getCapabilities("video").codecs
    if codec.mimeType.lower() in ("video/vp8", "video/rtx")
]


class BadOffer(Exception):
    """The offer cannot be used: the message is the 400 answer."""


def offer_kinds(sdp: str) -> dict[str, set[str]]:
    """The offer's media kinds with their directions (raises BadOffer if it is not SDP)."""
    if not sdp.lstrip().startswith("v=0"):
        raise BadOffer("not an SDP offer")
    try:
        description = SessionDescription.parse(sdp)
    except Exception as exc:
        raise BadOffer("not an SDP offer") from exc
    kinds: dict[str, set[str]] = {}
    for media in description.media:
        if media.port == 0:
            continue  # a rejected or stopped section
        kinds.setdefault(media.kind, set()).add(media.direction or "sendrecv")
    return kinds


def check_offer(sdp: str, role: str) -> dict[str, set[str]]:
    """The offer's kinds, if it sends video (publish) or receives it (watch); else BadOffer."""
    kinds = offer_kinds(sdp)
    if role == "publish" and not kinds.get("video", set()) & {"sendonly", "sendrecv"}:
        raise BadOffer("the offer sends no video")
    if role == "watch" and not kinds.get("video", set()) & {"recvonly", "sendrecv"}:
        raise BadOffer("the offer receives no video")
    return kinds


class MediaService:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.streams: dict[int, Stream] = {}
        self.viewers: dict[str, Viewer] = {}
        self.webhook = Webhook(config.web_url, config.secret)
        self._finishing: dict[int, asyncio.Task] = {}  # event → its last stream's ending
        self._tasks: set[asyncio.Task] = set()
        self._reporter: asyncio.Task | None = None
        self.rtc_config = RTCConfiguration(
            iceServers=[RTCIceServer(urls=url) for url in config.ice_servers]
        )

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self, app: web.Application) -> None:
        (self.config.media_root / "hls").mkdir(parents=True, exist_ok=True)
        self.webhook.start()
        self._reporter = asyncio.ensure_future(self._report_loop())
        for event in self.left_open():
            # a presenter of the event who comes in meanwhile waits for this, as for the end
            # of a stream: the recording is closed first, the new part appended after it
            task = self.spawn(self._recover(event))
            self._finishing[event] = task
            task.add_done_callback(lambda t, event=event: self._finished(event, t))

    def left_open(self) -> list[int]:
        """The events whose playlist was never closed: the service stopped without ending
        their stream (killed, crashed, the machine went down). Nothing is live at start."""
        events = []
        for directory in (self.config.media_root / "hls").iterdir():
            playlist = directory / PLAYLIST
            named = re.fullmatch(EVENT_RE, directory.name)
            if named and playlist.is_file() and not _closed(playlist):
                events.append(int(directory.name))
        return sorted(events)

    async def _recover(self, event: int) -> None:
        """Close the recording a stopped service left open (ENDLIST), write its MP4, and
        report it to the web app as "ended", "recovered". Only once the playlist has been
        left alone for ``RECOVER_QUIET`` seconds: never one another process still writes."""
        playlist = self.hls_dir(event) / PLAYLIST
        try:
            while (quiet := time.time() - playlist.stat().st_mtime) < RECOVER_QUIET:
                await asyncio.sleep(RECOVER_QUIET - quiet)
            text = playlist.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return  # removed meanwhile (by hand): nothing to close
        if ENDLIST in text:
            return
        with playlist.open("a", encoding="utf-8") as out:
            out.write(("" if text.endswith("\n") else "\n") + ENDLIST + "\n")
        log.info("event %s: closed the recording a stopped service left open", event)
        download = await self._write_mp4(event)
        self.webhook.send(report(event, "ended", 0, download=download, recovered=True))

    async def shutdown(self, app: web.Application) -> None:
        if self._reporter is not None:
            self._reporter.cancel()
        for viewer in list(self.viewers.values()):
            await self.end_viewer(viewer)
        for stream in list(self.streams.values()):
            await self.end_stream(stream, "shutdown")
        if self._finishing:
            await asyncio.gather(*self._finishing.values(), return_exceptions=True)
        await self.webhook.close()

    def spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _report_loop(self) -> None:
        while True:
            await asyncio.sleep(max(self.config.report_seconds, 0.1))
            self.webhook.retry()
            for stream in list(self.streams.values()):
                if stream.announced and not stream.ended:
                    self.webhook.send(self._live_report(stream))

    def _live_report(self, stream: Stream) -> dict:
        hls = stream.hls_viewers(asyncio.get_running_loop().time())
        return report(stream.event, "live", len(stream.viewers), hls)

    def webrtc_viewers(self) -> int:
        return len(self.viewers)

    def hls_viewers(self) -> int:
        now = asyncio.get_running_loop().time()
        return sum(stream.hls_viewers(now) for stream in self.streams.values())

    # --- presenter ----------------------------------------------------------------------

    async def publish(self, event: int, user: int | None, sdp: str) -> tuple[Stream, str]:
        """Open ``event``'s stream from the offer; the answer SDP. Raises BadOffer."""
        check_offer(sdp, "publish")
        stream = Stream(event=event, user=user, session=secrets.token_urlsafe(16))
        self.streams[event] = stream  # reserved before the first await: one presenter
        try:
            stream.pc = pc = RTCPeerConnection(self.rtc_config)

            @pc.on("track")
            def on_track(track: MediaStreamTrack) -> None:
                if track.kind == "video" and stream.video is None:
                    stream.video = track
                elif track.kind == "audio" and stream.audio is None:
                    stream.audio = track

            @pc.on("connectionstatechange")
            async def on_state() -> None:
                if pc.connectionState == "connected":
                    self._went_live(stream)
                elif pc.connectionState in ("failed", "closed"):
                    await self.end_stream(stream, pc.connectionState)

            answer = await _answer(pc, sdp)
            if stream.video is None:
                raise BadOffer("the offer sends no video")
        except BaseException:
            await self.end_stream(stream, "refused")
            raise
        if stream.ended:  # ended while the answer was being made
            raise BadOffer("the connection closed")

        stream.video.on("ended", lambda: self.spawn(self.end_stream(stream, "video ended")))
        stream.source = InOrder(stream.video)
        _when_transport_closes(pc, lambda: self.spawn(self.end_stream(stream, "closed")))
        self.spawn(self._start_encoder(stream))
        stream.watchdog = self.spawn(self._watch(stream))
        log.info("event %s: presenter connecting", event)  # the session id is a capability
        return stream, answer

    async def _start_encoder(self, stream: Stream) -> None:
        previous = self._finishing.get(stream.event)
        if previous is not None:  # the last stream's playlist is still being closed
            await asyncio.shield(previous)
        if stream.ended:
            return
        encoder = HlsEncoder(
            self.hls_dir(stream.event),
            stream.relay.subscribe(stream.source, buffered=False),
            stream.relay.subscribe(stream.audio) if stream.audio is not None else None,
            name=f"event-{stream.event}",
        )
        try:
            encoder.start()
        except Exception:
            log.exception("event %s: no HLS (the encoder did not start)", stream.event)
            await encoder.stop()
            return
        stream.encoder = encoder

    async def _watch(self, stream: Stream) -> None:
        await asyncio.sleep(self.config.connect_timeout)
        if not stream.live and not stream.ended:
            log.info("event %s: presenter never connected", stream.event)
            await self.end_stream(stream, "timeout")

    def _went_live(self, stream: Stream) -> None:
        if stream.live or stream.ended:
            return
        stream.live = True
        log.info("event %s: live", stream.event)
        self.spawn(self._announce(stream))

    async def _announce(self, stream: Stream) -> None:
        previous = self._finishing.get(stream.event)
        if previous is not None:  # the last stream's "ended" goes out first
            await asyncio.gather(previous, return_exceptions=True)
        if not stream.ended:
            stream.announced = True
            self.webhook.send(self._live_report(stream))

    async def end_stream(self, stream: Stream, reason: str) -> None:
        if stream.ended:
            return
        stream.ended = True
        if self.streams.get(stream.event) is stream:
            del self.streams[stream.event]
        log.info("event %s: stream ended (%s)", stream.event, reason)
        if stream.watchdog is not None and stream.watchdog is not asyncio.current_task():
            stream.watchdog.cancel()
        for viewer in list(stream.viewers.values()):
            await self.end_viewer(viewer)
        previous = self._finishing.get(stream.event)
        task = self.spawn(self._finish(stream, previous))
        self._finishing[stream.event] = task
        task.add_done_callback(lambda t: self._finished(stream.event, t))

    async def _finish(self, stream: Stream, previous: asyncio.Task | None) -> None:
        """Close the playlist (ENDLIST), the connection, then tell the web app."""
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        download = ""
        if stream.encoder is not None:
            await stream.encoder.stop()
            download = await self._write_mp4(stream.event)
        await _close(stream.pc)
        if stream.live:
            self.webhook.send(report(stream.event, "ended", 0, download=download))

    async def _write_mp4(self, event: int) -> str:
        """The recording as one MP4, written by a process of its own (it reads every segment,
        and FFmpeg failing there harms no live stream); its path for the webhook, or ""."""
        root = Path(__file__).resolve().parents[2]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
        }
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "realtime.media.recording",
                str(self.hls_dir(event)),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                env=env,
            )
        except OSError:
            log.exception("event %s: the MP4 of the recording could not be written", event)
            return ""
        try:
            _out, errors = await asyncio.wait_for(process.communicate(), MP4_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()
            log.warning("event %s: the MP4 of the recording took too long; left", event)
            return ""
        if process.returncode != 0:
            log.warning(
                "event %s: no MP4 of the recording (%s): %s",
                event,
                process.returncode,
                errors.decode(errors="replace")[-500:],
            )
            return ""
        return f"/hls/{event}/{MP4}"

    def _finished(self, event: int, task: asyncio.Task) -> None:
        if self._finishing.get(event) is task:
            del self._finishing[event]

    def hls_dir(self, event: int) -> Path:
        return self.config.media_root / "hls" / str(event)

    # --- viewers ------------------------------------------------------------------------

    async def watch(self, stream: Stream, sdp: str) -> tuple[Viewer, str]:
        kinds = check_offer(sdp, "watch")
        viewer = Viewer(event=stream.event, session=secrets.token_urlsafe(16))
        self.viewers[viewer.session] = viewer  # counted before the first await
        stream.viewers[viewer.session] = viewer
        try:
            viewer.pc = pc = RTCPeerConnection(self.rtc_config)

            @pc.on("connectionstatechange")
            async def on_state() -> None:
                if pc.connectionState == "connected":
                    viewer.connected = True
                elif pc.connectionState in ("failed", "closed"):
                    await self.end_viewer(viewer)

            # the video is never buffered (a slow viewer skips frames); audio frames are small
            for source, buffered in ((stream.source, False), (stream.audio, True)):
                receives = kinds.get(source.kind, set()) if source is not None else set()
                if receives & {"recvonly", "sendrecv"}:
                    track = stream.relay.subscribe(source, buffered=buffered)
                    viewer.tracks.append(track)
                    transceiver = pc.addTransceiver(track, direction="sendonly")
                    if track.kind == "video":
                        transceiver.setCodecPreferences(VIEWER_VIDEO_CODECS)
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            answer = await _local_answer(pc)
        except BadOffer:
            await self.end_viewer(viewer)
            raise
        except Exception as exc:
            await self.end_viewer(viewer)
            raise BadOffer("the offer cannot be answered") from exc
        except BaseException:
            await self.end_viewer(viewer)
            raise
        if viewer.closed:
            raise BadOffer("the connection closed")
        _when_transport_closes(pc, lambda: self.spawn(self.end_viewer(viewer)))
        self.spawn(self._watch_viewer(viewer))
        return viewer, answer

    async def _watch_viewer(self, viewer: Viewer) -> None:
        await asyncio.sleep(self.config.connect_timeout)
        if not viewer.connected:
            await self.end_viewer(viewer)

    async def end_viewer(self, viewer: Viewer) -> None:
        if viewer.closed:
            return
        viewer.closed = True
        self.viewers.pop(viewer.session, None)
        stream = self.streams.get(viewer.event)
        if stream is not None:
            stream.viewers.pop(viewer.session, None)
        for track in viewer.tracks:
            track.stop()
        await _close(viewer.pc)


async def _answer(pc: RTCPeerConnection, sdp: str) -> str:
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
    except Exception as exc:
        raise BadOffer("the offer cannot be used") from exc
    return await _local_answer(pc)


async def _local_answer(pc: RTCPeerConnection) -> str:
    try:
        await pc.setLocalDescription(await pc.createAnswer())
    except Exception as exc:
        raise BadOffer("the offer cannot be answered") from exc
    return pc.localDescription.sdp


def _closed(playlist: Path) -> bool:
    """Whether an HLS playlist says it is complete."""
    return ENDLIST in playlist.read_text(encoding="utf-8", errors="replace")


def _when_transport_closes(pc: RTCPeerConnection, callback) -> None:
    """Call ``callback`` when the peer closes the DTLS transport (a closed browser tab
    says goodbye that way; aiortc's connectionState stays "connected" then)."""
    transports = {t.sender.transport for t in pc.getTransceivers() if t.sender.transport}
    for transport in transports:

        def on_state(transport=transport) -> None:
            if transport.state in ("closed", "failed"):
                callback()

        transport.on("statechange", on_state)


async def _close(pc: RTCPeerConnection | None) -> None:
    if pc is None:
        return
    try:
        await asyncio.wait_for(pc.close(), CLOSE_TIMEOUT)
    except Exception:
        log.warning("a peer connection did not close cleanly", exc_info=True)


# --- HTTP -------------------------------------------------------------------------------

SERVICE = web.AppKey("service", MediaService)


def _text(status: int, message: str, **headers: str) -> web.Response:
    return web.Response(status=status, text=message + "\n", headers=headers)


def _sdp(status: int, sdp: str, location: str) -> web.Response:
    return web.Response(
        status=status,
        body=sdp.encode(),
        content_type="application/sdp",
        headers={"Location": location},
    )


def _bearer(request: web.Request) -> str | None:
    authorization = request.headers.get("Authorization", "").strip()
    match = re.fullmatch(r"bearer\s+(\S+)", authorization, flags=re.IGNORECASE)
    return match.group(1) if match else None


async def _read_sdp(request: web.Request) -> str:
    if request.content_type != "application/sdp":
        raise BadOffer("expected Content-Type: application/sdp")
    if request.content_length is not None and request.content_length > MAX_SDP:
        raise BadOffer("offer too large")
    body = await request.content.read(MAX_SDP + 1)
    if len(body) > MAX_SDP:
        raise BadOffer("offer too large")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadOffer("not an SDP offer") from exc


def _authorise(request: web.Request, role: str) -> tuple[int, dict] | web.Response:
    service = request.app[SERVICE]
    event = int(request.match_info["event"])
    token = _bearer(request)
    payload = read_token(service.config.secret, token, event, role) if token else None
    if payload is None:
        return _text(401, "invalid or expired token", **{"WWW-Authenticate": "Bearer"})
    return event, payload


async def whip_post(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    checked = _authorise(request, "publish")
    if isinstance(checked, web.Response):
        return checked
    event, payload = checked
    try:
        sdp = await _read_sdp(request)
        check_offer(sdp, "publish")
        user = payload.get("u") if isinstance(payload.get("u"), int) else None
        current = service.streams.get(event)
        if current is not None and user is not None and current.user == user:
            # the same presenter again (a reloaded page): the new connection replaces the old
            await service.end_stream(current, "replaced by the same presenter")
        if event in service.streams:
            return _text(409, "this event is live from another presenter already")
        stream, answer = await service.publish(event, user, sdp)
    except BadOffer as exc:
        return _text(400, str(exc))
    return _sdp(201, answer, f"/whip/{event}/{stream.session}")


async def whip_delete(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    stream = service.streams.get(int(request.match_info["event"]))
    if stream is None or not secrets.compare_digest(stream.session, request.match_info["session"]):
        return _text(404, "no such session")
    await service.end_stream(stream, "deleted")
    return _text(200, "ended")


async def whep_post(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    checked = _authorise(request, "watch")
    if isinstance(checked, web.Response):
        return checked
    event, _payload = checked
    try:
        sdp = await _read_sdp(request)
        check_offer(sdp, "watch")
        stream = service.streams.get(event)
        if stream is None or not stream.live or stream.ended:
            return _text(404, "this event is not live")
        if service.webrtc_viewers() >= service.config.webrtc_max:
            return _text(503, "no WebRTC seat left: play HLS", **{"Retry-After": "30"})
        viewer, answer = await service.watch(stream, sdp)
    except BadOffer as exc:
        return _text(400, str(exc))
    return _sdp(201, answer, f"/whep/{event}/{viewer.session}")


async def whep_delete(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    viewer = service.viewers.get(request.match_info["session"])
    if viewer is None or viewer.event != int(request.match_info["event"]):
        return _text(404, "no such session")
    await service.end_viewer(viewer)
    return _text(200, "ended")


async def hls_file(request: web.Request) -> web.StreamResponse:
    service = request.app[SERVICE]
    name = request.match_info["name"]
    directory = service.hls_dir(int(request.match_info["event"])).resolve()
    path = (directory / name).resolve()
    if path.parent != directory or not path.is_file():
        return _text(404, "not found")
    if name == MP4:  # the whole recording, to keep
        filename = f"koe-event-{int(request.match_info['event'])}.mp4"
        headers = {
            "Cache-Control": "no-cache",  # written again when the event goes live again
            "Content-Type": "video/mp4",
            "Content-Disposition": f'attachment; filename="{filename}"',
        }
        return web.FileResponse(path, headers=headers)
    if name == PLAYLIST:
        stream = service.streams.get(int(request.match_info["event"]))
        if stream is not None and stream.live and not stream.ended:
            stream.saw_hls(hls_viewer_key(request), asyncio.get_running_loop().time())
        headers = {
            "Cache-Control": "no-cache",
            "Content-Type": "application/vnd.apple.mpegurl",
        }
    else:
        headers = {
            "Cache-Control": "public, max-age=31536000, immutable",
            "Content-Type": "video/mp2t",
        }
    return web.FileResponse(path, headers=headers)


async def healthz(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    live = sorted(event for event, stream in service.streams.items() if stream.live)
    return web.json_response(
        {
            "ok": True,
            "live": live,
            "webrtc_viewers": service.webrtc_viewers(),
            "hls_viewers": service.hls_viewers(),
        },
        headers={"Cache-Control": "no-store"},
    )


@web.middleware
async def cors(request: web.Request, handler) -> web.StreamResponse:
    """The presenter's and viewers' pages are on the web app's origin: let them call us.
    Tokens travel in the Authorization header, never in cookies, so any origin may."""
    if not request.path.startswith(CORS_PATHS):
        return await handler(request)
    headers = {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Expose-Headers": "Location",
    }
    if request.method == "OPTIONS":
        headers.update(
            {
                "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
                "Access-Control-Allow-Headers": "Authorization, Content-Type",
                "Access-Control-Max-Age": "600",
            }
        )
        return web.Response(status=204, headers=headers)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(headers)
        raise
    response.headers.update(headers)
    return response


def make_app(config: Config) -> web.Application:
    app = web.Application(middlewares=[cors], client_max_size=MAX_SDP)
    service = MediaService(config)
    app[SERVICE] = service
    app.on_startup.append(service.start)
    app.on_shutdown.append(service.shutdown)
    event = f"{{event:{EVENT_RE}}}"
    session = f"{{session:{SESSION_RE}}}"
    app.router.add_post(f"/whip/{event}", whip_post)
    app.router.add_delete(f"/whip/{event}/{session}", whip_delete)
    app.router.add_post(f"/whep/{event}", whep_post)
    app.router.add_delete(f"/whep/{event}/{session}", whep_delete)
    app.router.add_get(f"/hls/{event}/{{name:{SEGMENT_RE}}}", hls_file)
    app.router.add_get("/healthz", healthz)
    return app


def run(config: Config, host: str = "127.0.0.1", port: int = 5001) -> None:
    web.run_app(make_app(config), host=host, port=port, print=None, access_log=None)
