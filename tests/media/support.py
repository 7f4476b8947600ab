"""Real parts for the media tests: the service on a free port, an aiortc presenter and viewer
talking WHIP/WHEP over HTTP, and a small web app that receives the signed webhooks."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

import av
import numpy as np
from aiohttp import web
from aiortc import (
    AudioStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)

from realtime.media import WEBHOOK_PATH, issue_token, verify_body
from realtime.media.server import Config, make_app
from tests.conftest import free_port

SECRET = "test-media-secret"


def run(coroutine):
    """``asyncio.run`` in a thread of its own: in the same pytest session, Playwright's sync
    API (the e2e tests) keeps an event loop running in the main thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


WIDTH, HEIGHT = 320, 240
NO_ICE_SERVERS = RTCConfiguration(iceServers=[])  # no STUN lookups: everything is local


def token(event: int, role: str = "publish", user: int | None = 1) -> str:
    return issue_token(SECRET, event, role, user)


class MovingVideo(VideoStreamTrack):
    """A 320×240 picture whose content changes with every frame (a sliding gradient)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        ramp = np.arange(WIDTH, dtype=np.uint16)
        self.base = np.broadcast_to(ramp, (HEIGHT, WIDTH))

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        shift = (self.count * 8) % 256
        self.count += 1
        luma = ((self.base + shift) % 256).astype(np.uint8)
        image = np.stack([luma, 255 - luma, np.full_like(luma, shift)], axis=-1)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        return frame


class Webhooks:
    """The web app's side of the webhook: records what arrives and whether it was signed."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.refuse: Callable[[dict], bool] = lambda body: False
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        signed = verify_body(
            SECRET,
            raw,
            request.headers.get("X-Koe-Timestamp"),
            request.headers.get("X-Koe-Signature"),
        )
        body = json.loads(raw)
        if self.refuse(body):
            return web.Response(status=503)
        self.received.append({**body, "_signed": signed})
        return web.Response(status=204)

    def states(self, event: int) -> list[str]:
        return [body["state"] for body in self.received if body["event"] == event]

    async def wait_for(self, predicate: Callable[[dict], bool], timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for body in self.received:
                if predicate(body):
                    return body
            await asyncio.sleep(0.05)
        raise AssertionError(f"no such webhook; received {self.received}")


@asynccontextmanager
async def webhook_receiver():
    """Yield the web app's side of the webhook (``Webhooks``), listening on a free port."""
    hooks = Webhooks()
    hook_app = web.Application()
    hook_app.router.add_post(WEBHOOK_PATH, hooks.handle)
    hook_runner = web.AppRunner(hook_app)
    await hook_runner.setup()
    await web.TCPSite(hook_runner, "127.0.0.1", hooks.port).start()
    try:
        yield hooks
    finally:
        await hook_runner.cleanup()


@asynccontextmanager
async def media_service(root: Path, **settings):
    """Yield (base URL, webhooks, app) of a media service and its webhook receiver."""
    async with webhook_receiver() as hooks:
        config = Config(secret=SECRET, media_root=root, web_url=hooks.url, **settings)
        app = make_app(config)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            yield f"http://127.0.0.1:{port}", hooks, app
        finally:
            await runner.cleanup()


async def post_sdp(http, url: str, sdp: str | bytes, bearer: str | None, **headers):
    headers = {"Content-Type": "application/sdp", **headers}
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    async with http.post(url, data=sdp, headers=headers) as response:
        return response.status, await response.text(), response.headers.get("Location")


class Presenter:
    """An aiortc presenter sending moving video (and silence) over WHIP."""

    def __init__(self, base: str, event: int, audio: bool = True) -> None:
        self.base, self.event = base, event
        self.pc = RTCPeerConnection(NO_ICE_SERVERS)
        self.video = MovingVideo()
        self.pc.addTransceiver(self.video, direction="sendonly")
        if audio:
            self.pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
        self.location: str | None = None

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def publish(self, http, bearer: str | None = None) -> tuple[int, str]:
        sdp = await self.offer()
        bearer = token(self.event) if bearer is None else bearer
        status, text, location = await post_sdp(http, f"{self.base}/whip/{self.event}", sdp, bearer)
        if status == 201:
            self.location = location
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=text, type="answer"))
        return status, text

    async def stop(self, http) -> int:
        async with http.delete(self.base + self.location) as response:
            status = response.status
        await self.pc.close()
        return status


class Viewer:
    """An aiortc viewer receiving over WHEP."""

    def __init__(self, base: str, event: int) -> None:
        self.base, self.event = base, event
        self.pc = RTCPeerConnection(NO_ICE_SERVERS)
        self.pc.addTransceiver("video", direction="recvonly")
        self.pc.addTransceiver("audio", direction="recvonly")
        self.tracks: dict = {}
        self.location: str | None = None

        @self.pc.on("track")
        def on_track(track) -> None:
            self.tracks[track.kind] = track

    async def watch(self, http, bearer: str | None = None) -> tuple[int, str]:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        bearer = token(self.event, "watch", 2) if bearer is None else bearer
        status, text, location = await post_sdp(
            http, f"{self.base}/whep/{self.event}", self.pc.localDescription.sdp, bearer
        )
        if status == 201:
            self.location = location
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=text, type="answer"))
        return status, text

    async def frames(self, count: int, timeout: float = 10) -> list[np.ndarray]:
        track = self.tracks["video"]
        return [
            (await asyncio.wait_for(track.recv(), timeout)).to_ndarray(format="gray")
            for _ in range(count)
        ]

    async def close(self) -> None:
        await self.pc.close()


async def wait_until(check: Callable, timeout: float = 10, step: float = 0.1):
    """Poll the async ``check`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(step)


async def fetch(http, url: str) -> tuple[int, bytes, dict]:
    async with http.get(url) as response:
        return response.status, await response.read(), dict(response.headers)


def segments(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


def decode_segment(data: bytes, directory: Path) -> tuple[list[tuple[int, int]], set[str]]:
    """Open a fetched segment with PyAV: the sizes of its decoded pictures, its stream kinds."""
    path = directory / "fetched.ts"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        kinds = {stream.type for stream in container.streams}
        sizes = [(frame.width, frame.height) for frame in container.decode(video=0)]
    return sizes, kinds
