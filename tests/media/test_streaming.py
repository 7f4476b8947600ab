"""A presenter streams through the media service: WebRTC viewers, HLS, webhooks.

Real parts only: the service on a free port, aiortc peers on both sides over real HTTP and
UDP, PyAV to decode what the HLS encoder wrote, an aiohttp app receiving the webhooks.
"""

from __future__ import annotations

import aiohttp
import av
import numpy as np

from tests.media.support import (
    HEIGHT,
    WIDTH,
    Presenter,
    Viewer,
    decode_segment,
    fetch,
    post_sdp,
    run,
    segments,
    token,
    wait_until,
)
from tests.media.support import (
    media_service as service,
)


def test_presenter_viewers_hls_and_webhooks(tmp_path):
    run(_presenter_viewers_hls_and_webhooks(tmp_path))


async def _presenter_viewers_hls_and_webhooks(tmp_path):
    event = 42
    async with (
        service(tmp_path / "media", webrtc_max=1, report_seconds=0.5) as (base, hooks, _app),
        aiohttp.ClientSession() as http,
    ):
        presenter = Presenter(base, event)
        status, answer = await presenter.publish(http)
        assert status == 201, answer
        assert presenter.location.startswith(f"/whip/{event}/")

        live = await hooks.wait_for(lambda b: b["event"] == event and b["state"] == "live")
        assert live["_signed"]
        assert live["hls"] == f"/hls/{event}/index.m3u8"
        status, body, _ = await fetch(http, f"{base}/healthz")
        assert status == 200 and b'"live": [42]' in body

        # a second presenter for the same event is refused; the first goes on
        intruder = Presenter(base, event)
        assert (await intruder.publish(http, token(event, user=99)))[0] == 409
        await intruder.pc.close()

        # viewers get VP8: an offer without it cannot be answered
        vp8_less = Viewer(base, event)
        await vp8_less.pc.setLocalDescription(await vp8_less.pc.createOffer())
        sdp = vp8_less.pc.localDescription.sdp.replace("VP8/90000", "XV9/90000")
        status, text, _ = await post_sdp(http, f"{base}/whep/{event}", sdp, token(event, "watch"))
        assert status == 400, text
        await vp8_less.close()

        # a WebRTC viewer gets the presenter's pictures, moving
        viewer = Viewer(base, event)
        status, answer = await viewer.watch(http)
        assert status == 201, answer
        assert viewer.location.startswith(f"/whep/{event}/")
        frames = await viewer.frames(10)
        assert {frame.shape for frame in frames} == {(HEIGHT, WIDTH)}
        assert any(not np.array_equal(frames[0], frame) for frame in frames[1:])

        # garbage from someone else disturbs neither the presenter nor the viewer
        for path, role in ((f"/whep/{event}", "watch"), (f"/whip/{event}", "publish")):
            status, _, _ = await post_sdp(http, base + path, "hello", token(event, role))
            assert status == 400
        assert len(await viewer.frames(3)) == 3

        # the periodic report counts the viewer
        report = await hooks.wait_for(lambda b: b["state"] == "live" and b["webrtc"] == 1)
        assert report["viewers"] == 1 and report["_signed"]

        # this process serves one WebRTC viewer (KOE_MEDIA_WEBRTC_MAX=1): the next plays HLS
        second = Viewer(base, event)
        status, text = await second.watch(http)
        assert status == 503, text
        await second.close()

        # the HLS playlist gets segments that PyAV decodes: H.264 pictures and AAC audio
        playlist_url = f"{base}/hls/{event}/index.m3u8"

        async def first_segment():
            status, body, headers = await fetch(http, playlist_url)
            return status == 200 and segments(body.decode()) and (body.decode(), headers)

        playlist, headers = await wait_until(first_segment, timeout=20)
        assert headers["Cache-Control"] == "no-cache"
        assert headers["Access-Control-Allow-Origin"] == "*"
        assert "#EXT-X-PLAYLIST-TYPE:EVENT" in playlist
        assert "#EXT-X-ENDLIST" not in playlist
        name = segments(playlist)[0]
        status, data, headers = await fetch(http, f"{base}/hls/{event}/{name}")
        assert status == 200
        assert "immutable" in headers["Cache-Control"]
        assert headers["Access-Control-Allow-Origin"] == "*"
        sizes, kinds = decode_segment(data, tmp_path)
        assert kinds == {"video", "audio"}
        assert sizes and set(sizes) == {(WIDTH, HEIGHT)}

        # HLS players are counted: by the id the live page adds, else by address and browser
        for viewer_id in ("aaaaaaaaaaaa", "aaaaaaaaaaaa", "bbbbbbbbbbbb", "<bad id>"):
            assert (await fetch(http, f"{playlist_url}?v={viewer_id}"))[0] == 200
        # (this client without an id, or with a bad one, is one player; two ids are two more)
        counted = await hooks.wait_for(lambda b: b["state"] == "live" and b["hls_viewers"] == 3)
        assert counted["viewers"] == counted["webrtc"] + 3
        status, body, _ = await fetch(http, f"{base}/healthz")
        assert b'"hls_viewers": 3' in body

        # the viewer leaves: its seat is free again
        async with http.delete(base + viewer.location) as response:
            assert response.status == 200
        await viewer.close()
        status, body, _ = await fetch(http, f"{base}/healthz")
        assert b'"webrtc_viewers": 0' in body

        # a viewer that just goes away (no DELETE) frees its seat as well
        leaver = Viewer(base, event)
        assert (await leaver.watch(http))[0] == 201
        await leaver.frames(1)
        await leaver.close()

        async def seats_free():
            return b'"webrtc_viewers": 0' in (await fetch(http, f"{base}/healthz"))[1]

        await wait_until(seats_free, timeout=5)

        # the presenter ends: the playlist is closed and becomes the recording
        assert await presenter.stop(http) == 200
        ended = await hooks.wait_for(lambda b: b["event"] == event and b["state"] == "ended")
        assert ended["_signed"]
        status, body, _ = await fetch(http, playlist_url)
        assert status == 200 and body.decode().rstrip().endswith("#EXT-X-ENDLIST")
        # and as one MP4 file to download
        assert ended["download"] == f"/hls/{event}/recording.mp4"
        status, data, headers = await fetch(http, base + ended["download"])
        assert status == 200 and headers["Content-Type"] == "video/mp4"
        assert headers["Content-Disposition"] == f'attachment; filename="koe-event-{event}.mp4"'
        (tmp_path / "got.mp4").write_bytes(data)
        with av.open(str(tmp_path / "got.mp4")) as container:
            assert {s.codec_context.name for s in container.streams} == {"h264", "aac"}
        assert hooks.states(event)[-1] == "ended"
        status, body, _ = await fetch(http, f"{base}/healthz")
        assert b'"live": []' in body

        # no longer live: viewers are told so
        late = Viewer(base, event)
        assert (await late.watch(http))[0] == 404
        await late.close()


def test_presenter_gone_ends_stream_and_going_live_again_appends(tmp_path):
    run(_presenter_gone(tmp_path))


async def _presenter_gone(tmp_path):
    event = 7
    async with (
        service(tmp_path / "media", report_seconds=0.3) as (base, hooks, _app),
        aiohttp.ClientSession() as http,
    ):
        # the web app is down when the stream ends: the "ended" report comes again later
        refused: list[dict] = []

        def refuse_first_ended(body):
            if body["state"] == "ended" and not refused:
                refused.append(body)
                return True
            return False

        hooks.refuse = refuse_first_ended

        # video only: the encoder writes HLS without audio
        presenter = Presenter(base, event, audio=False)
        assert (await presenter.publish(http))[0] == 201
        await hooks.wait_for(lambda b: b["state"] == "live")
        playlist_url = f"{base}/hls/{event}/index.m3u8"

        async def segment_count(minimum):
            status, body, _ = await fetch(http, playlist_url)
            return status == 200 and len(segments(body.decode())) >= minimum and body.decode()

        await wait_until(lambda: segment_count(1), timeout=20)

        # the presenter's browser goes away without a DELETE
        await presenter.pc.close()
        ended = await hooks.wait_for(lambda b: b["state"] == "ended", timeout=15)
        assert refused and ended["at"] == refused[0]["at"]  # the same report, sent again
        first = (await fetch(http, playlist_url))[1].decode()
        assert first.rstrip().endswith("#EXT-X-ENDLIST")
        count = len(segments(first))
        status, data, _ = await fetch(http, f"{base}/hls/{event}/{segments(first)[-1]}")
        assert status == 200
        sizes, kinds = decode_segment(data, tmp_path)
        assert kinds == {"video"} and sizes

        # live again: the recording continues in the same playlist after a discontinuity
        again = Presenter(base, event)
        assert (await again.publish(http))[0] == 201
        playlist = await wait_until(lambda: segment_count(count + 1), timeout=20)
        assert "#EXT-X-ENDLIST" not in playlist
        assert "#EXT-X-DISCONTINUITY" in playlist
        assert segments(playlist)[:count] == segments(first)
        assert await again.stop(http) == 200
        await wait_until(
            lambda: _ready(hooks.states(event).count("ended") == 2), timeout=10, step=0.05
        )
        final = (await fetch(http, playlist_url))[1].decode()
        assert final.rstrip().endswith("#EXT-X-ENDLIST")
        assert all(body["_signed"] for body in hooks.received)


async def _ready(value):
    return value


def test_hls_players_count_while_they_fetch_and_memory_stays_bounded(monkeypatch):
    from realtime.media import server

    stream = server.Stream(event=1, session="s", user=None)
    stream.saw_hls("v:one", 100.0)
    stream.saw_hls("v:two", 105.0)
    stream.saw_hls("v:one", 110.0)  # the same player again
    assert stream.hls_viewers(112.0) == 2
    assert stream.hls_viewers(100.0 + server.HLS_VIEWER_WINDOW + 5.5) == 1  # "two" stopped
    assert stream.hls_viewers(110.0 + server.HLS_VIEWER_WINDOW + 1) == 0
    monkeypatch.setattr(server, "HLS_VIEWERS_TRACKED", 3)
    for n in range(10):
        stream.saw_hls(f"v:{n}", 200.0)
    assert stream.hls_viewers(200.0) == 3  # beyond the cap, no more are kept
    stream.saw_hls("v:late", 200.0 + server.HLS_VIEWER_WINDOW + 1)  # the old ones make room
    assert stream.hls_viewers(200.0 + server.HLS_VIEWER_WINDOW + 1) == 1
