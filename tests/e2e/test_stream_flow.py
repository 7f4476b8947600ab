"""Issue 7's stream, end to end in Chromium with a fake camera and microphone, and the real
media service in its own process (``python -m realtime.media``, as ``make run`` starts it):
the presenter goes live from the studio over WHIP; a viewer whose network lets no WebRTC
through falls back to HLS and says why; one viewer gets moving video over WebRTC;
the stage holds one WebRTC viewer here, so a second viewer's page picks HLS and says so and
plays it; they chat and a moderator's deletion disappears for both; the presenter ends the
stream, the media service's signed webhook tells the web app, and the archive plays the
recording with its captions track and the chat log. axe checks every page."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

from app.events import media
from tests.conftest import free_port, stop_process
from tests.e2e.helpers import sign_in
from tests.e2e.test_live_chat import connected, enter, live_event  # noqa: F401  (a fixture)

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def media_service(live_app, live_server, tmp_path):
    """The media service in its own process, sharing the web app's media secret."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with live_app.app_context():
        secret = media.secret()
    live_app.config.update(MEDIA_URL=url, MEDIA_ORIGINS=(url,), MEDIA_SECRET=secret)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOE_")}
    env.update(
        KOE_MEDIA_SECRET=secret,
        KOE_WEB_URL=live_server,
        KOE_MEDIA_ROOT=str(tmp_path / "media"),
        KOE_MEDIA_WEBRTC_MAX="1",  # a stage of one: the second viewer gets HLS
        KOE_MEDIA_REPORT_SECONDS="2",
        KOE_INSTANCE_PATH=str(tmp_path),
    )
    log = open(tmp_path / "media.log", "w")  # noqa: SIM115  (closed below)
    process = subprocess.Popen(
        [sys.executable, "-m", "realtime.media", "--host", "127.0.0.1", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as answer:  # noqa: S310
                if answer.status == 200:
                    break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log.close()
                raise RuntimeError((tmp_path / "media.log").read_text()[-3000:]) from None
            time.sleep(0.2)
    yield url
    stop_process(process)
    log.close()
    print((tmp_path / "media.log").read_text()[-3000:])


#: the page's RTCPeerConnection may use relays only, and there is none: no ICE path at all
NO_WEBRTC_PATH = """
const Native = window.RTCPeerConnection;
window.RTCPeerConnection = function (config) {
  return new Native(Object.assign({}, config, { iceTransportPolicy: "relay", iceServers: [] }));
};
window.RTCPeerConnection.prototype = Native.prototype;
"""


def playing(page, selector: str, seconds: float = 1.5, timeout: int = 60_000) -> None:
    """Wait until the video shows frames and its time moves on (moving video, not a still)."""
    page.wait_for_function(
        f"""() => {{
            const v = document.querySelector('{selector}');
            return v && v.videoWidth > 0 && v.currentTime > {seconds} && !v.paused;
        }}""",
        timeout=timeout,
    )


def test_go_live_watch_over_webrtc_and_hls_then_the_archive(
    open_page,
    check_a11y,
    live_event,  # noqa: F811
    media_service,
):
    studio_url = live_event.replace("/live", "/studio")
    presenter = enter(open_page, check_a11y, "staff@example.jp", studio_url)
    presenter.get_by_role("button", name="配信を始める").click()
    presenter.locator("#studio-status", has_text="配信中です").wait_for(timeout=30_000)
    check_a11y(presenter)
    # the web app's health check reports the media service and the live event
    event_id = int(live_event.split("/")[-2])
    health = presenter.request.get("/healthz").json()
    assert health["media"]["state"] == "ok" and event_id in health["media"]["live"]

    # a viewer whose network lets no WebRTC through (a firewall that blocks UDP, and no TURN
    # server): Chromium's ICE is given no way out; the page gives up on WebRTC after 10 s,
    # frees its place on the stage, plays HLS and says why
    saburo = open_page()
    saburo.add_init_script(NO_WEBRTC_PATH)
    sign_in(saburo, check_a11y, "saburo@example.jp")
    saburo.goto(live_event)
    saburo.locator("#stream-status", has_text="WebRTCで接続できませんでした").wait_for(
        timeout=60_000
    )
    playing(saburo, "#player", timeout=90_000)
    check_a11y(saburo)
    saburo.close()

    ichiro = enter(open_page, check_a11y, "ichiro@example.jp", live_event)
    ichiro.locator("#stream-status", has_text="WebRTC").wait_for(timeout=30_000)
    playing(ichiro, "#player")
    check_a11y(ichiro)

    hanako = enter(open_page, check_a11y, "hanako@example.jp", live_event, locale="en-US")
    hanako.locator("#stream-status", has_text="HLS").wait_for(timeout=30_000)
    playing(hanako, "#player", timeout=90_000)
    check_a11y(hanako)
    # the media service counts both: ichiro on WebRTC, hanako's player on HLS
    deadline = time.monotonic() + 15
    while True:
        media = presenter.request.get("/healthz").json()["media"]
        if (
            media["webrtc_viewers"] >= 1 and media["hls_viewers"] >= 1
        ) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert media["webrtc_viewers"] == 1 and media["hls_viewers"] >= 1, media

    # the chat beside the video; a moderator's deletion disappears for both
    moderator = enter(open_page, check_a11y, "mod@example.jp", live_event)
    for page, text in ((ichiro, "接続中"), (hanako, "Connected"), (moderator, "接続中")):
        connected(page, text)
    ichiro.get_by_role("textbox", name="メッセージ").fill("映像が見えています")
    ichiro.get_by_role("button", name="送信").click()
    hanako.get_by_role("textbox", name="Your message").fill("宣伝です")
    hanako.get_by_role("button", name="Send").click()
    line = moderator.locator("#chat-log li", has_text="宣伝です")
    line.get_by_role("button", name="取り下げる").click()
    for page in (ichiro, hanako):
        page.locator("#chat-log li", has_text="宣伝です").wait_for(state="detached")
        page.locator("#chat-log li", has_text="映像が見えています").wait_for()

    # the end: the viewers are told, and the archive plays the recording
    presenter.get_by_role("button", name="配信を終了する").click()
    presenter.locator("#studio-status", has_text="配信を終了しました").wait_for()
    ichiro.locator("#stream-status", has_text="配信は終了しました").wait_for(timeout=30_000)
    hanako.locator("#stream-status", has_text="The stream has ended").wait_for(timeout=30_000)
    archive = live_event.replace("/live", "/archive")
    viewer = enter(open_page, check_a11y, "ichiro@example.jp", archive)
    assert viewer.locator("#archive-player").get_attribute("data-hls").startswith(media_service)
    viewer.evaluate("() => { const v = document.getElementById('archive-player');"
                    " v.muted = true; return v.play(); }")  # fmt: skip
    playing(viewer, "#archive-player", seconds=0.5)
    assert viewer.locator("li", has_text="映像が見えています").count() == 1
    assert viewer.locator("li", has_text="宣伝です").count() == 0
    check_a11y(viewer)
    # the recording to keep: one MP4 file, from the media service
    link = viewer.get_by_role(
        "link", name="録画をダウンロード（MP4ファイル、オフラインで見るために）"
    )
    mp4 = viewer.request.get(link.get_attribute("href"))
    assert mp4.ok and mp4.headers["content-type"] == "video/mp4" and len(mp4.body()) > 10_000


@pytest.fixture
def turn_server(live_app, tmp_path):
    """coturn (Debian's) on a free port with the TURN REST API's shared secret, relaying on
    the loopback address; the web app gives the pages its address and credentials."""
    from tests.e2e.conftest import _unavailable

    executable = shutil.which("turnserver")
    if executable is None:
        _unavailable("coturn is not installed (apt-get install coturn, or `make browser`)")
    port, secret = free_port(), "turn-shared-secret"
    relay = free_port()
    log = open(tmp_path / "turn.log", "w")  # noqa: SIM115  (closed below)
    process = subprocess.Popen(
        [
            executable, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
            f"--listening-port={port}", f"--min-port={relay}", f"--max-port={relay + 50}",
            "--use-auth-secret", f"--static-auth-secret={secret}", "--realm=koe.test",
            "--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers", "--fingerprint",
            "--log-file=stdout", "--simple-log", "--verbose",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    time.sleep(0.5)
    if process.poll() is not None:
        log.close()
        raise RuntimeError((tmp_path / "turn.log").read_text()[-3000:])
    live_app.config.update(
        ICE_SERVERS=(f"turn:127.0.0.1:{port}?transport=udp",), TURN_SECRET=secret
    )
    yield tmp_path / "turn.log"
    stop_process(process)
    log.close()


#: the page's RTCPeerConnection may use relays only (the servers the site gives it): as behind
#: a firewall that lets only the TURN server through
RELAY_ONLY = """
const Native = window.RTCPeerConnection;
window.__peers = [];
window.RTCPeerConnection = function (config) {
  const pc = new Native(Object.assign({}, config, { iceTransportPolicy: "relay" }));
  window.__peers.push(pc);
  return pc;
};
window.RTCPeerConnection.prototype = Native.prototype;
"""

#: the kind of the local candidate each connected peer connection of the page uses
LOCAL_CANDIDATES = """async () => {
  const kinds = [];
  for (const pc of window.__peers) {
    if (pc.connectionState !== "connected") continue;
    const stats = await pc.getStats();
    stats.forEach((pair) => {
      if (pair.type === "candidate-pair" && pair.nominated && pair.state === "succeeded") {
        kinds.push(stats.get(pair.localCandidateId).candidateType);
      }
    });
  }
  return kinds;
}"""


def test_a_viewer_who_can_reach_only_a_turn_server_watches_over_webrtc(
    open_page,
    check_a11y,
    live_event,  # noqa: F811
    media_service,
    turn_server,
):
    """The site names a TURN server (KOE_ICE_SERVERS, KOE_TURN_SECRET): the presenter and a
    viewer who may use nothing but relays both get through it, with the short-lived
    credentials of their media token, and the viewer sees moving video over WebRTC."""
    studio_url = live_event.replace("/live", "/studio")
    presenter = open_page()
    presenter.add_init_script(RELAY_ONLY)
    sign_in(presenter, check_a11y, "staff@example.jp")
    presenter.goto(studio_url)
    check_a11y(presenter)
    presenter.get_by_role("button", name="配信を始める").click()
    presenter.locator("#studio-status", has_text="配信中です").wait_for(timeout=30_000)

    viewer = open_page(locale="en-US")
    viewer.add_init_script(RELAY_ONLY)
    sign_in(viewer, check_a11y, "hanako@example.jp")
    viewer.goto(live_event)
    check_a11y(viewer)
    viewer.locator("#stream-status", has_text="WebRTC").wait_for(timeout=30_000)
    playing(viewer, "#player")
    # both went through the TURN server: their connections' local candidates are relayed
    assert viewer.evaluate(LOCAL_CANDIDATES) == ["relay"]
    assert presenter.evaluate(LOCAL_CANDIDATES) == ["relay"]
    log = turn_server.read_text()
    assert log.count("ALLOCATE processed, success") >= 2, log[-2000:]
    presenter.get_by_role("button", name="配信を終了する").click()
    presenter.locator("#studio-status", has_text="配信を終了しました").wait_for()
