"""The signed webhook to the web app: stream started, viewer counts, stream ended.

Reports go out one at a time, in order, from a single sender task (an "ended" never
overtakes the "live" before it). A report that fails is logged; the periodic reports of a
live stream carry its state anyway, and a failed "ended" is tried again with the next round
of reports until it gets through or the event goes live again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import UTC, datetime

import aiohttp

from . import WEBHOOK_PATH, sign_body

log = logging.getLogger(__name__)

TIMEOUT = 5  # seconds per attempt
ENDED_ATTEMPTS = 60  # then the web app's own clean-up has to notice


def report(
    event: int,
    state: str,
    webrtc: int,
    hls: int = 0,
    download: str = "",
    recovered: bool = False,
) -> dict:
    """A report; ``download``: the recording as one MP4 file (with "ended", when written);
    ``recovered``: an "ended" sent late, for a recording a stopped service had left open."""
    extra = {"recovered": True} if recovered else {}
    return {
        **extra,
        "download": download,
        "event": event,
        "state": state,
        "viewers": webrtc + hls,
        "webrtc": webrtc,
        "hls_viewers": hls,  # players that fetched the live playlist lately (not behind a CDN)
        "hls": f"/hls/{event}/index.m3u8",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


class Webhook:
    def __init__(self, web_url: str, secret: str) -> None:
        self.url = web_url.rstrip("/") + WEBHOOK_PATH
        self.secret = secret
        self.sent = 0
        self.failed = 0
        self._queue: asyncio.Queue[tuple[dict, int] | None] = asyncio.Queue()
        self._unsent: dict[int, tuple[dict, int]] = {}  # event → (ended report, attempts)
        self._task: asyncio.Task | None = None
        self._session: aiohttp.ClientSession | None = None

    def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT))
        self._task = asyncio.ensure_future(self._run())

    def send(self, body: dict, attempts: int = 0) -> None:
        if body["state"] == "live":
            self._unsent.pop(body["event"], None)  # an old "ended" would now be wrong
        self._queue.put_nowait((body, attempts))

    def retry(self) -> None:
        """Queue the "ended" reports that failed (called with each round of reports)."""
        unsent, self._unsent = self._unsent, {}
        for body, attempts in unsent.values():
            self.send(body, attempts)

    async def _run(self) -> None:
        while (item := await self._queue.get()) is not None:
            body, attempts = item
            failed = not await self._post(body)
            if failed and body["state"] == "ended" and attempts + 1 < ENDED_ATTEMPTS:
                self._unsent[body["event"]] = (body, attempts + 1)

    async def _post(self, body: dict) -> bool:
        data = json.dumps(body, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", **sign_body(self.secret, data)}
        try:
            async with self._session.post(self.url, data=data, headers=headers) as response:
                if response.status < 300:
                    self.sent += 1
                    return True
                problem = f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            problem = type(exc).__name__
        self.failed += 1
        log.warning(
            "webhook %s for event %s to %s failed: %s",
            body["state"],
            body["event"],
            self.url,
            problem,
        )
        return False

    async def close(self, timeout: float = TIMEOUT) -> None:
        """Send what is queued (for at most ``timeout`` seconds), then stop."""
        if self._task is not None:
            self.retry()
            self._queue.put_nowait(None)
            try:
                await asyncio.wait_for(self._task, timeout)
            except TimeoutError:
                log.warning("webhook: gave up on %d queued reports", self._queue.qsize())
            self._task = None
        if self._session is not None:
            with contextlib.suppress(Exception):
                await self._session.close()
            self._session = None
