"""A media service killed in the middle of a stream: started again, it closes the recording
it left open, writes its MP4 and reports it; the event can then go live again and the
recording goes on after the part that was cut off.

Real parts: the service as its own process (``python -m realtime.media``), killed with
SIGKILL; an aiortc presenter over WHIP; an aiohttp app receiving the signed webhooks.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import av

from tests.conftest import free_port, stop_process
from tests.media.support import (
    SECRET,
    Presenter,
    Webhooks,
    fetch,
    run,
    segments,
    wait_until,
    webhook_receiver,
)

PROJECT = Path(__file__).resolve().parents[2]


def start_service(root: Path, hooks: Webhooks) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KOE_")},
        "KOE_INSTANCE_PATH": str(root.parent),
        "KOE_MEDIA_ROOT": str(root),
        "KOE_MEDIA_SECRET": SECRET,
        "KOE_WEB_URL": hooks.url,
        "KOE_MEDIA_REPORT_SECONDS": "0.5",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "realtime.media", "--port", str(port)],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, f"http://127.0.0.1:{port}"


async def healthy(http, base: str, process: subprocess.Popen) -> None:
    async def answers():
        assert process.poll() is None, "the media service exited"
        try:
            async with http.get(f"{base}/healthz") as response:
                return response.status == 200
        except aiohttp.ClientConnectionError:
            return False

    await wait_until(answers, timeout=20, step=0.2)


def test_a_killed_service_closes_and_reports_the_recording_it_left_open(tmp_path):
    run(_killed(tmp_path))


async def _killed(tmp_path):
    event = 11
    root = tmp_path / "media"
    playlist = root / "hls" / str(event) / "index.m3u8"
    # another event's recording, closed properly: left alone
    (root / "hls" / "12").mkdir(parents=True)
    (root / "hls" / "12" / "index.m3u8").write_text("#EXTM3U\n#EXT-X-ENDLIST\n")
    (root / "hls" / "notes").mkdir()  # not an event's directory: ignored
    (root / "hls" / "notes" / "index.m3u8").write_text("#EXTM3U\n")

    async with webhook_receiver() as hooks, aiohttp.ClientSession() as http:
        first, base = start_service(root, hooks)
        try:
            await healthy(http, base, first)
            presenter = Presenter(base, event)
            assert (await presenter.publish(http))[0] == 201
            await hooks.wait_for(lambda b: b["state"] == "live", timeout=15)

            async def recorded(minimum: int):
                status, body, _ = await fetch(http, f"{base}/hls/{event}/index.m3u8")
                text = body.decode()
                return status == 200 and len(segments(text)) >= minimum and text

            await wait_until(lambda: recorded(2), timeout=30)
            first.send_signal(signal.SIGKILL)  # no goodbye: nothing is closed or reported
            first.wait(timeout=10)
        finally:
            stop_process(first)
        await presenter.pc.close()
        left = playlist.read_text()
        assert "#EXT-X-ENDLIST" not in left
        cut_off = segments(left)
        assert hooks.states(event) == ["live"] * len(hooks.states(event))

        # it is restarted a minute later (the playlist is as old as that: a service would
        # otherwise wait until nothing has written it for RECOVER_QUIET seconds)
        long_ago = time.time() - 60
        os.utime(playlist, (long_ago, long_ago))
        second, base = start_service(root, hooks)
        try:
            await healthy(http, base, second)
            ended = await hooks.wait_for(lambda b: b["state"] == "ended", timeout=30)
            assert ended["recovered"] is True and ended["_signed"]
            assert ended["event"] == event and ended["viewers"] == 0
            assert ended["hls"] == f"/hls/{event}/index.m3u8"
            assert ended["download"] == f"/hls/{event}/recording.mp4"
            closed = playlist.read_text()
            assert closed.rstrip().endswith("#EXT-X-ENDLIST")
            assert segments(closed) == cut_off  # every segment written before the kill
            status, data, _ = await fetch(http, f"{base}{ended['download']}")
            assert status == 200
            (tmp_path / "cut.mp4").write_bytes(data)
            with av.open(str(tmp_path / "cut.mp4")) as container:
                assert [s.type for s in container.streams] == ["video", "audio"]
                pictures = sum(1 for _ in container.decode(video=0))
            assert pictures >= 2 * 30  # at least the two whole segments of 2 s
            # the other event's closed recording and the stray directory: not reported
            assert {body["event"] for body in hooks.received} == {event}
            assert (root / "hls" / "12" / "index.m3u8").read_text().count("ENDLIST") == 1

            # the presenter comes back: the recording goes on after the part cut off
            again = Presenter(base, event)
            assert (await again.publish(http))[0] == 201
            text = await wait_until(lambda: recorded(len(cut_off) + 1), timeout=30)
            assert "#EXT-X-DISCONTINUITY" in text and segments(text)[: len(cut_off)] == cut_off
            assert await again.stop(http) == 200
            await wait_until(
                lambda: _ready(hooks.states(event).count("ended") == 2), timeout=20, step=0.1
            )
            last = [b for b in hooks.received if b["state"] == "ended"][-1]
            assert "recovered" not in last and last["download"].endswith("recording.mp4")
        finally:
            stop_process(second)


async def _ready(value):
    await asyncio.sleep(0)
    return value
