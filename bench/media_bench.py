"""Media benchmark (issue 7): WebRTC viewers per core at 640×480 30 fps before frames drop, and
the CPU of the HLS encoder at 720p.

The media service runs as ``make run`` runs it (``python -m realtime.media``, its own process);
the presenter (an aiortc peer sending a moving 640×480 picture at 30 fps over WHIP) and the
viewers (aiortc peers over WHEP, counting the frames they get) run here, in this process. The
stage grows step by step; at each step the viewers' frame rate and the service's CPU (from
/proc) are measured. "Holds" means every viewer gets at least 90% of the frames sent.

The HLS figure: the service's CPU with the presenter live and no viewer (it then does the one
HLS encode, H.264 720p at most, and little else), against the presenter's picture size.

Run with ``make bench`` (or ``python bench/media_bench.py [--quick] [--max 16]``). Prints each
figure with its setup; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from fractions import Fraction
from pathlib import Path

import aiohttp
import av
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription, VideoStreamTrack

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from realtime.media import issue_token  # noqa: E402

SECRET = "bench-media-secret"
NO_ICE = RTCConfiguration(iceServers=[])
TICKS = os.sysconf("SC_CLK_TCK")


class Picture(VideoStreamTrack):
    """A moving picture (a sliding gradient and a square) at the size and rate asked."""

    def __init__(self, width: int, height: int, fps: int) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self.count = 0
        self.sent = 0
        self.start: float | None = None
        self.ramp = np.broadcast_to(np.arange(width, dtype=np.uint16), (height, width))

    async def recv(self):
        if self.start is None:
            self.start = time.monotonic()
        wait = self.start + self.count / self.fps - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        luma = ((self.ramp + self.count * 4) % 256).astype(np.uint8)
        image = np.stack([luma, 255 - luma, luma // 2], axis=-1)
        x = (self.count * 8) % (self.width - 40)
        image[:40, x : x + 40] = 255
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = self.count, Fraction(1, self.fps)
        self.count += 1
        self.sent += 1
        return frame


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def post(http, url: str, sdp: str, bearer: str):
    headers = {"Content-Type": "application/sdp", "Authorization": f"Bearer {bearer}"}
    async with http.post(url, data=sdp, headers=headers) as response:
        return response.status, await response.text()


async def publish(http, base: str, event: int, track: Picture) -> RTCPeerConnection:
    pc = RTCPeerConnection(NO_ICE)
    pc.addTransceiver(track, direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    status, answer = await post(
        http, f"{base}/whip/{event}", pc.localDescription.sdp,
        issue_token(SECRET, event, "publish", 1),
    )  # fmt: skip
    if status != 201:
        raise RuntimeError(f"WHIP answered {status}: {answer}")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return pc


class Viewer:
    def __init__(self) -> None:
        self.pc = RTCPeerConnection(NO_ICE)
        self.pc.addTransceiver("video", direction="recvonly")
        self.frames = 0
        self.sizes: set[tuple[int, int]] = set()
        self.task: asyncio.Task | None = None

        @self.pc.on("track")
        def on_track(track) -> None:
            self.task = asyncio.ensure_future(self._count(track))

    async def _count(self, track) -> None:
        while True:
            try:
                frame = await track.recv()
            except Exception:  # the connection closed
                return
            self.frames += 1
            self.sizes.add((frame.width, frame.height))

    async def watch(self, http, base: str, event: int, n: int) -> int:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        status, answer = await post(
            http, f"{base}/whep/{event}", self.pc.localDescription.sdp,
            issue_token(SECRET, event, "watch", 100 + n),
        )  # fmt: skip
        if status == 201:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        return status

    async def close(self) -> None:
        if self.task:
            self.task.cancel()
        await self.pc.close()


def start_service(root: Path, port: int, webrtc_max: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOE_")}
    env.update(
        KOE_MEDIA_SECRET=SECRET,
        KOE_MEDIA_ROOT=str(root),
        KOE_MEDIA_WEBRTC_MAX=str(webrtc_max),
        KOE_WEB_URL="http://127.0.0.1:9",  # nobody listens: the webhooks fail, as logged
        KOE_INSTANCE_PATH=str(root),
    )
    process = subprocess.Popen(  # noqa: S603  (our own service, with our own interpreter)
        [sys.executable, "-m", "realtime.media", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the media service did not start")


async def measure(pid: int, viewers: list[Viewer], track: Picture, seconds: float):
    before = [v.frames for v in viewers]
    sent, cpu, start = track.sent, cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - start
    cores = (cpu_seconds(pid) - cpu) / elapsed
    rates = [(v.frames - b) / elapsed for v, b in zip(viewers, before, strict=True)]
    return (track.sent - sent) / elapsed, rates, cores


async def run(args) -> None:
    from tests.conftest import free_port  # (a free local port, as the tests take one)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="koe-media-bench-") as tmp:
        service = start_service(Path(tmp), port, args.max)
        print(
            f"setup: {os.cpu_count()} cores, Python {platform.python_version()}, aiortc and PyAV "
            f"{av.__version__}; the media service in its own process; presenter and viewers "
            f"(aiortc) in this one; picture {args.width}×{args.height} at {args.fps} fps; "
            f"{args.seconds:.0f} s per step"
        )
        try:
            async with aiohttp.ClientSession() as http:
                # the HLS encoder: a 720p presenter alone (event 2), no viewer
                big = Picture(*args.hls_size, args.fps)
                alone = await publish(http, base, 2, big)
                await asyncio.sleep(4)  # the connection and the encoder settle
                sent, _rates, cores = await measure(service.pid, [], big, args.seconds)
                hls = Path(tmp) / "hls" / "2" / "index.m3u8"
                segments = hls.read_text().count(".ts") if hls.exists() else 0
                print(
                    f"HLS encoder: the service at {cores:.2f} cores for one "
                    f"{args.hls_size[0]}×{args.hls_size[1]} stream at {sent:.0f} fps, no viewer: "
                    f"the WebRTC receive and decode, and the one H.264 + AAC encode to HLS "
                    f"(libx264 veryfast); {segments} segments written"
                )
                await alone.close()
                await asyncio.sleep(2)
                track = Picture(args.width, args.height, args.fps)
                presenter = await publish(http, base, 1, track)
                await asyncio.sleep(3)
                viewers: list[Viewer] = []
                held = 0
                held_cores = 0.0
                for size in args.steps:
                    while len(viewers) < size:
                        viewer = Viewer()
                        status = await viewer.watch(http, base, 1, len(viewers))
                        if status != 201:
                            raise RuntimeError(f"WHEP answered {status}")
                        viewers.append(viewer)
                    await asyncio.sleep(2)
                    sent, rates, cores = await measure(service.pid, viewers, track, args.seconds)
                    low = min(rates)
                    ok = low >= 0.9 * sent
                    print(
                        f"  {size:>3} WebRTC viewers: sent {sent:.1f} fps, viewers got "
                        f"p50 {statistics.median(rates):.1f} / min {low:.1f} fps, service "
                        f"{cores:.2f} cores — {'holds' if ok else 'frames drop'}"
                    )
                    if not ok:
                        break
                    held, held_cores = size, cores
                for viewer in viewers:
                    await viewer.close()
                await presenter.close()
            if held:
                print(
                    f"WebRTC: {held} viewers held at {args.width}×{args.height} {args.fps} fps "
                    f"with the service at {held_cores:.2f} cores: "
                    f"{held / max(held_cores, 0.01):.1f} viewers per core of the service (the "
                    f"viewers' own decoding shares the machine's {os.cpu_count()} cores)"
                )
            else:
                print("WebRTC: even the first step dropped frames on this machine")
        finally:
            service.terminate()
            try:
                service.wait(timeout=10)
            except subprocess.TimeoutExpired:
                print("(the media service took more than 10 s to stop: killed)")
                service.kill()
                service.wait()
        print("media benchmark: done")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (the tests use it)")
    parser.add_argument("--max", type=int, default=24, help="the most WebRTC viewers tried")
    parser.add_argument("--seconds", type=float, default=8)
    args = parser.parse_args()
    args.width, args.height, args.fps = 640, 480, 30
    args.hls_size = (1280, 720)
    args.steps = [1, 2, 4, 6, 8, 10, 12, 14, 16, 20, 24]
    if args.quick:
        args.width, args.height, args.fps, args.seconds, args.steps = 320, 240, 15, 2, [1, 2]
        args.hls_size = (320, 240)
    args.steps = [n for n in args.steps if n <= args.max]
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
