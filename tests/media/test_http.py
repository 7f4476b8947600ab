"""The media service's HTTP surface: what it refuses, and that refusing harms nothing."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from aiortc import AudioStreamTrack, RTCPeerConnection
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from yarl import URL

from realtime.media import TOKEN_MAX_AGE, TOKEN_SALT, media_secret
from realtime.media.hls import output_size
from realtime.media.server import Config
from tests.conftest import free_port
from tests.media.support import (
    NO_ICE_SERVERS,
    SECRET,
    MovingVideo,
    Presenter,
    fetch,
    post_sdp,
    run,
    token,
)
from tests.media.support import media_service as service

PROJECT = Path(__file__).resolve().parents[2]


class LongAgo(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - TOKEN_MAX_AGE - 60


def signed(payload, secret: str = SECRET, signer=TimestampSigner) -> str:
    return URLSafeTimedSerializer(secret, salt=TOKEN_SALT, signer=signer).dumps(payload)


async def offer_sdp(*transceivers) -> str:
    """An aiortc offer with the given (track or kind, direction) transceivers."""
    pc = RTCPeerConnection(NO_ICE_SERVERS)
    for track, direction in transceivers:
        pc.addTransceiver(track, direction=direction)
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


async def live_events(http, base: str) -> list[int]:
    status, body, _ = await fetch(http, f"{base}/healthz")
    assert status == 200
    health = json.loads(body)
    assert health["ok"] is True
    return health["live"]


def wrong_tokens(role: str) -> dict[str, str | None]:
    return {
        "no token": None,
        "not a token": "garbage",
        "another secret": signed({"e": 5, "r": role, "u": 1}, secret="other"),
        "another event": token(6, role),
        "event as text": signed({"e": "5", "r": role, "u": 1}),
        "event as bool": signed({"e": True, "r": role, "u": 1}),
        "no role": signed({"e": 5, "u": 1}),
        "not a dict": signed([5, role]),
        "expired": signed({"e": 5, "r": role, "u": 1}, signer=LongAgo),
        "another salt": URLSafeTimedSerializer(SECRET, salt="x").dumps({"e": 5, "r": role}),
    }


def test_tokens_are_checked(tmp_path):
    run(_tokens_are_checked(tmp_path))


async def _tokens_are_checked(tmp_path):
    async with service(tmp_path) as (base, hooks, _app), aiohttp.ClientSession() as http:
        publish_sdp = await offer_sdp((MovingVideo(), "sendonly"))
        watch_sdp = await offer_sdp(("video", "recvonly"))
        for role, path, sdp in (
            ("publish", "/whip/5", publish_sdp),
            ("watch", "/whep/5", watch_sdp),
        ):
            for name, bearer in wrong_tokens(role).items():
                status, text, _ = await post_sdp(http, base + path, sdp, bearer)
                assert status == 401, (role, name, text)
        # each token opens its own role only
        assert (await post_sdp(http, f"{base}/whip/5", publish_sdp, token(5, "watch")))[0] == 401
        assert (await post_sdp(http, f"{base}/whep/5", watch_sdp, token(5, "publish")))[0] == 401
        # a lower-case scheme and a valid token: accepted
        status, _, location = await post_sdp(
            http, f"{base}/whip/5", publish_sdp, None, Authorization=f"bearer {token(5)}"
        )
        assert status == 201
        async with http.delete(base + location) as response:
            assert response.status == 200
        assert hooks.received == []  # never connected: never live


def test_bad_offers_are_refused_and_harm_nothing(tmp_path):
    run(_bad_offers(tmp_path))


async def _bad_offers(tmp_path):
    async with service(tmp_path) as (base, _hooks, _app), aiohttp.ClientSession() as http:
        audio_only = await offer_sdp((AudioStreamTrack(), "sendonly"))
        receive_only = await offer_sdp(("video", "recvonly"))
        bare = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
        garbage = {
            "text": "hello",
            "empty": "",
            "not UTF-8": b"v=0\r\n\xff\xfe\xfd",
            "audio only": audio_only,
            "receives video only": receive_only,
            "no ICE, no DTLS, no codec": bare,
            "truncated": audio_only[: len(audio_only) // 3],
            "huge": "v=0\r\n" + "a=x-padding:" + "x" * 100_000 + "\r\n",
        }
        for name, sdp in garbage.items():
            status, text, _ = await post_sdp(http, f"{base}/whip/9", sdp, token(9))
            assert status in (400, 413), (name, status, text)
        status, text, _ = await post_sdp(
            http, f"{base}/whip/9", "v=0\r\n", token(9), **{"Content-Type": "text/plain"}
        )
        assert status == 400, text
        # WHEP offers are checked too (the video must be received, by VP8)
        vp8_less = receive_only.replace("VP8/90000", "XV9/90000")
        for sdp in ("hello", await offer_sdp((MovingVideo(), "sendonly")), vp8_less):
            status, text, _ = await post_sdp(http, f"{base}/whep/9", sdp, token(9, "watch"))
            assert status in (400, 404), text  # the VP8-less offer looks fine until answered
        assert await live_events(http, base) == []

        # nothing was reserved: a real presenter is answered
        presenter = Presenter(base, 9)
        status, answer = await presenter.publish(http)
        assert status == 201, answer
        assert answer.startswith("v=0")
        assert await presenter.stop(http) == 200
        async with http.delete(base + presenter.location) as response:
            assert response.status == 404  # already ended


def test_not_live_and_unknown_sessions(tmp_path):
    run(_not_live(tmp_path))


async def _not_live(tmp_path):
    async with service(tmp_path) as (base, _hooks, _app), aiohttp.ClientSession() as http:
        watch_sdp = await offer_sdp(("video", "recvonly"), ("audio", "recvonly"))
        status, text, _ = await post_sdp(http, f"{base}/whep/3", watch_sdp, token(3, "watch"))
        assert status == 404, text
        for path in ("/whip/3/nope", "/whep/3/nope", "/whip/3/a%2Fb"):
            async with http.delete(base + path) as response:
                assert response.status == 404
        for path in ("/whip/x", "/whip/-1", "/whip/" + "9" * 40):
            status, _, _ = await post_sdp(http, base + path, watch_sdp, token(3))
            assert status == 404
        async with http.get(f"{base}/whip/3") as response:
            assert response.status == 405


def test_hls_files_and_path_traversal(tmp_path):
    run(_hls_files(tmp_path))


async def _hls_files(tmp_path):
    root = tmp_path / "media"
    event_dir = root / "hls" / "5"
    event_dir.mkdir(parents=True)
    (event_dir / "index.m3u8").write_text("#EXTM3U\nseg00000.ts\n")
    (event_dir / "seg00000.ts").write_bytes(b"G" * 188)
    (event_dir / "seg00001.ts.tmp").write_bytes(b"partial")
    (event_dir / "notes.txt").write_text("TOP-SECRET")
    (root / "secret_key").write_text("TOP-SECRET")
    (tmp_path / "secret_key").write_text("TOP-SECRET")
    async with service(root) as (base, _hooks, _app), aiohttp.ClientSession() as http:
        status, body, headers = await fetch(http, f"{base}/hls/5/index.m3u8")
        assert status == 200 and body.startswith(b"#EXTM3U")
        assert headers["Cache-Control"] == "no-cache"
        assert headers["Content-Type"] == "application/vnd.apple.mpegurl"
        assert headers["Access-Control-Allow-Origin"] == "*"
        status, body, headers = await fetch(http, f"{base}/hls/5/seg00000.ts")
        assert status == 200 and body == b"G" * 188
        assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert headers["Content-Type"] == "video/mp2t"

        attempts = [
            "/hls/5/seg00001.ts.tmp",
            "/hls/5/notes.txt",
            "/hls/5/seg99999.ts",
            "/hls/6/index.m3u8",
            "/hls/5/../../secret_key",
            "/hls/5/..%2F..%2Fsecret_key",
            "/hls/5/%2e%2e/%2e%2e/secret_key",
            "/hls/..%2F..%2F/secret_key",
            "/hls/5/..%5C..%5Csecret_key",
            "/hls/5/%252e%252e%252fsecret_key",
            "/hls//etc/passwd",
            "/hls/5/index.m3u8%00.txt",
            "/hls/5/" + "../" * 8 + "secret_key",
        ]
        for path in attempts:
            async with http.get(URL(base + path, encoded=True)) as response:
                body = await response.read()
                assert response.status in (400, 403, 404), (path, response.status)
                assert b"TOP-SECRET" not in body, path
        # a raw request line, as no client library would send it
        host, port = base.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET /hls/5/../../../secret_key HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(4096), 5)
        writer.close()
        assert b"TOP-SECRET" not in raw and not raw.startswith(b"HTTP/1.1 200")


def test_cors_and_health(tmp_path):
    run(_cors(tmp_path))


async def _cors(tmp_path):
    async with service(tmp_path) as (base, _hooks, _app), aiohttp.ClientSession() as http:
        async with http.options(
            f"{base}/whip/1",
            headers={
                "Origin": "http://127.0.0.1:5000",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        ) as response:
            assert response.status == 204
            assert response.headers["Access-Control-Allow-Origin"] == "*"
            assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
        # the page can read a refusal too (and fall back to HLS)
        async with http.post(f"{base}/whep/1", data="x") as response:
            assert response.status == 401
            assert response.headers["Access-Control-Allow-Origin"] == "*"
        status, body, _ = await fetch(http, f"{base}/healthz")
        assert status == 200
        assert body == b'{"ok": true, "live": [], "webrtc_viewers": 0, "hls_viewers": 0}'


def test_output_size_is_720p_at_most():
    assert output_size(320, 240) == (320, 240)
    assert output_size(1280, 720) == (1280, 720)
    assert output_size(1920, 1080) == (1280, 720)
    assert output_size(1080, 1920) == (720, 1280)  # a phone held upright
    assert output_size(2560, 1440) == (1280, 720)
    assert output_size(1440, 1080) == (960, 720)
    assert output_size(641, 481) == (640, 480)  # even sizes for 4:2:0


def test_config_from_environment(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("KOE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KOE_INSTANCE_PATH", str(tmp_path))
    config = Config.from_env()
    key = (tmp_path / "secret_key").read_text().strip()
    assert config.secret == media_secret(key)  # shared with the web app, no setting needed
    assert config.media_root == tmp_path / "media"
    assert (config.web_url, config.webrtc_max, config.report_seconds) == (
        "http://127.0.0.1:5000",
        8,
        10.0,
    )
    assert config.ice_servers == []

    monkeypatch.setenv("KOE_MEDIA_SECRET", "explicit")
    monkeypatch.setenv("KOE_WEB_URL", "http://web.internal:8000")
    monkeypatch.setenv("KOE_MEDIA_ROOT", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("KOE_MEDIA_WEBRTC_MAX", "25")
    monkeypatch.setenv("KOE_MEDIA_REPORT_SECONDS", "3")
    monkeypatch.setenv("KOE_MEDIA_ICE_SERVERS", "stun:stun.example.org:3478, ")
    config = Config.from_env()
    assert config.secret == "explicit"
    assert config.web_url == "http://web.internal:8000"
    assert config.media_root == tmp_path / "elsewhere"
    assert (config.webrtc_max, config.report_seconds) == (25, 3.0)
    assert config.ice_servers == ["stun:stun.example.org:3478"]


def test_command_line_runs_the_service(tmp_path):
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KOE_")},
        "KOE_INSTANCE_PATH": str(tmp_path),
        "KOE_WEB_URL": "http://127.0.0.1:9",  # nothing listens: reports fail quietly
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "realtime.media", "--port", str(port)],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        body = run(_poll_health(f"http://127.0.0.1:{port}/healthz", process))
        assert body == {"ok": True, "live": [], "webrtc_viewers": 0, "hls_viewers": 0}
        assert (tmp_path / "media" / "hls").is_dir()
    finally:
        process.terminate()
        try:
            output = process.communicate(timeout=10)[0].decode()
        except subprocess.TimeoutExpired:
            process.kill()
            output = process.communicate()[0].decode()
    assert "media service on" in output
    assert "Traceback" not in output


async def _poll_health(url: str, process: subprocess.Popen) -> dict:
    deadline = time.monotonic() + 20
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"the service exited: {process.stdout.read().decode()}")
            try:
                async with http.get(url) as response:
                    return await response.json()
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.2)
    pytest.fail("the service did not answer")


def test_a_presenter_who_never_connects_frees_the_event(tmp_path):
    run(_never_connects(tmp_path))


async def _never_connects(tmp_path):
    async with (
        service(tmp_path, connect_timeout=0.5) as (base, hooks, _app),
        aiohttp.ClientSession() as http,
    ):
        ghost = await offer_sdp((MovingVideo(), "sendonly"))  # its peer is closed already
        status, _, first = await post_sdp(http, f"{base}/whip/4", ghost, token(4, user=1))
        assert status == 201
        # another presenter waits; the same one (a reloaded page) takes over
        assert (await post_sdp(http, f"{base}/whip/4", ghost, token(4, user=2)))[0] == 409
        status, _, second = await post_sdp(http, f"{base}/whip/4", ghost, token(4, user=1))
        assert status == 201 and second != first
        async with http.delete(base + first) as response:
            assert response.status == 404  # replaced
        # the connection never comes up: the event is free again after connect_timeout
        await asyncio.sleep(1.0)
        status, _, third = await post_sdp(http, f"{base}/whip/4", ghost, token(4, user=2))
        assert status == 201
        async with http.delete(base + third) as response:
            assert response.status == 200
        assert hooks.received == []
