"""The web app's side of the stream (issue 7): media tokens, the media service's signed
webhook (live, viewers, ended, the recording), the studio, the archive, and the CSP that lets
pages reach the media service. The media service itself is tested in tests/media/."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from app.audit import AuditEntry
from app.auth.models import Role
from app.events import media
from app.events.models import Event, StreamState
from app.events.qa_models import CaptionLine
from app.extensions import db as _db
from app.timeutil import utcnow
from realtime.media import TOKEN_SALT, WEBHOOK_PATH, sign_body
from tests.test_live_chat import NS, Person, new_event
from tests.test_live_qa import edit_form


@pytest.fixture
def people(app, db, make_user):
    staff = make_user(role=Role.STAFF)
    event = new_event(staff)

    def person(role=Role.RESIDENT, lang="ja", **kwargs):
        return Person(app, make_user(role=role, **kwargs) if role else None, lang)

    return event, person, staff


def report(app, client, body: dict | bytes, *, secret=None, timestamp=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with app.app_context():
        secret = secret or media.secret()
    headers = sign_body(secret, raw, timestamp) | {"Content-Type": "application/json"}
    return client.post(WEBHOOK_PATH, data=raw, headers=headers)


def test_tokens_by_role(app, people):
    event, person, staff = people
    hanako, office, guest = person(), Person(app, staff), person(role=None)
    url = f"/events/{event.id}/media/token"
    watch = hanako.http.post(url, data={"role": "watch", "csrf_token": hanako.csrf})
    assert watch.status_code == 200
    info = watch.get_json()
    assert info["whep"].endswith(f"/whep/{event.id}") and info["whip"] is None
    assert info["hls"].endswith(f"/hls/{event.id}/index.m3u8")
    with app.app_context():
        serializer = URLSafeTimedSerializer(media.secret(), salt=TOKEN_SALT)
    assert serializer.loads(info["token"], max_age=300) == {
        "e": event.id,
        "r": "watch",
        "u": hanako.user.id,
    }
    refused = hanako.http.post(url, data={"role": "publish", "csrf_token": hanako.csrf})
    assert refused.status_code == 403
    publish = office.http.post(url, data={"role": "publish", "csrf_token": office.csrf})
    assert publish.get_json()["whip"].endswith(f"/whip/{event.id}")
    assert serializer.loads(publish.get_json()["token"])["r"] == "publish"
    assert hanako.http.post(url, data={"role": "watch"}).status_code == 400  # no CSRF token
    assert hanako.http.post(url, data={"role": "x", "csrf_token": hanako.csrf}).status_code == 400
    # a guest watches an event for everyone, not one for signed-in people
    assert guest.http.post(url, data={"csrf_token": guest.csrf}).status_code == 200
    event.audience = event.audience.__class__("signed_in")
    _db.session.commit()
    assert guest.http.post(url, data={"csrf_token": guest.csrf}).status_code == 403


def test_the_webhook_reports_live_viewers_and_the_end(app, people):
    event, person, _staff = people
    viewer = person(role=None)
    viewer.connect()
    assert viewer.join(event)["stream"] == {"state": "idle", "viewers": 0, "started_at": None}
    viewer.received()
    client = app.test_client()
    live = {"event": event.id, "state": "live", "viewers": 0, "hls": f"/hls/{event.id}/index.m3u8"}
    answer = report(app, client, live | {"at": utcnow().isoformat()})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    (told,) = viewer.received("stream")
    assert told["state"] == "live" and told["started_at"]
    assert report(app, client, live | {"viewers": 7}).status_code == 200
    assert viewer.received("stream")[-1]["viewers"] == 7
    _db.session.expire_all()
    row = _db.session.get(Event, event.id)
    assert row.stream_state == StreamState.LIVE and row.stream_viewers == 7
    started = row.stream_started_at
    assert report(app, client, live | {"state": "ended", "download": 5}).status_code == 400
    ended = live | {"state": "ended", "viewers": 0, "download": f"/hls/{event.id}/recording.mp4"}
    assert report(app, client, ended).status_code == 200
    _db.session.expire_all()
    row = _db.session.get(Event, event.id)
    assert row.stream_state == StreamState.ENDED and row.stream_ended_at >= started
    assert row.recording_url == f"{app.config['MEDIA_URL']}/hls/{event.id}/index.m3u8"
    assert row.recording_download_url == (f"{app.config['MEDIA_URL']}/hls/{event.id}/recording.mp4")
    assert viewer.received("stream")[-1]["state"] == "ended"
    actions = _db.session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.action.like("event.stream%"))
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["event.stream_live", "event.stream_ended"]


def test_the_webhook_refuses_what_is_not_signed_or_not_a_report(app, people):
    event, _person, _staff = people
    client = app.test_client()
    body = {"event": event.id, "state": "live", "viewers": 1}
    assert report(app, client, body, secret="not-the-secret").status_code == 401
    stale = int(time.time()) - 3600  # a replay an hour later
    assert report(app, client, body, timestamp=stale).status_code == 401
    unsigned = client.post(WEBHOOK_PATH, json=body)
    assert unsigned.status_code == 401
    for bad in (
        b"not json",
        b"[1, 2]",
        json.dumps(body | {"state": "paused"}).encode(),
        json.dumps(body | {"event": "1"}).encode(),
        json.dumps(body | {"viewers": -1}).encode(),
        json.dumps(body | {"hls": 5}).encode(),
        # a lone surrogate (JSON allows "\ud800", the database does not): 400, never a 500
        json.dumps(body | {"state": "ended", "recovered": True, "hls": "/hls/\ud800"}).encode(),
    ):
        assert report(app, client, bad).status_code == 400, bad
    assert report(app, client, body | {"event": 99999}).status_code == 404
    _db.session.expire_all()
    assert _db.session.get(Event, event.id).stream_state == StreamState.IDLE


def test_studio_for_staff_only(app, people):
    event, person, staff = people
    office, hanako = Person(app, staff), person()
    page = office.http.get(f"/events/{event.id}/studio")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "配信を始める" in html and "js/studio.js" in html
    assert hanako.http.get(f"/events/{event.id}/studio").status_code == 403
    state = hanako.http.get(f"/events/{event.id}/stream.json").get_json()
    assert state["state"] == "idle"


def test_pages_may_reach_the_media_service(app, people):
    event, person, _staff = people
    page = person().http.get(f"/events/{event.id}/live")
    csp = page.headers["Content-Security-Policy"]
    origin = app.config["MEDIA_URL"]
    assert f"connect-src 'self' {origin}" in csp and f"media-src 'self' blob: {origin}" in csp
    html = page.get_data(as_text=True)
    assert "vendor/hls.min.js" in html and "js/player.js" in html


def test_the_archive_plays_the_recording_with_captions_chat_and_questions(app, people):
    event, person, _staff = people
    guest = person(role=None)
    assert guest.http.get(f"/events/{event.id}/archive").status_code == 404  # not over yet
    event.starts_at = utcnow() - timedelta(hours=3)
    event.ends_at = utcnow() - timedelta(hours=1)
    event.stream_started_at = event.starts_at + timedelta(minutes=2)
    event.stream_state = StreamState.ENDED
    event.recording_url = f"{app.config['MEDIA_URL']}/hls/{event.id}/index.m3u8"
    event.recording_download_url = f"{app.config['MEDIA_URL']}/hls/{event.id}/recording.mp4"
    said = event.starts_at + timedelta(minutes=3)
    _db.session.add(CaptionLine(event_id=event.id, text="<i>本日は</i>どうも", created_at=said))
    _db.session.commit()
    page = guest.http.get(f"/events/{event.id}/archive")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'data-hls="{event.recording_url}"' in html
    assert f'href="{event.recording_download_url}"' in html  # to keep, to watch offline
    assert f'src="/events/{event.id}/captions.vtt" default' in html
    assert "&lt;i&gt;本日は&lt;/i&gt;どうも" in html
    # the captions are timed from when the stream went live: one minute in
    vtt = guest.http.get(f"/events/{event.id}/captions.vtt").get_data(as_text=True)
    assert "00:01:00.000 --> " in vtt
    # the event page links the archive once it is over
    show = guest.http.get(f"/events/{event.id}").get_data(as_text=True)
    assert f"/events/{event.id}/archive" in show


def test_join_reports_the_stream(app, people):
    event, person, _staff = people
    event.stream_state, event.stream_viewers = StreamState.LIVE, 3
    event.stream_started_at = utcnow()
    _db.session.commit()
    viewer = person(role=None)
    viewer.connect()
    answer = viewer.join(event)
    assert answer["stream"]["state"] == "live" and answer["stream"]["viewers"] == 3
    assert viewer.sio.is_connected(NS)
    page = viewer.http.get(f"/events/{event.id}/live").get_data(as_text=True)
    assert f"/hls/{event.id}/index.m3u8" in page  # without JavaScript: the HLS playlist


def test_an_external_engine_through_the_same_contract(app, people):
    event, person, staff = people
    office = Person(app, staff)
    page = office.http.get(f"/events/{event.id}/edit").get_data(as_text=True)
    form = edit_form(office, page, engine="external")
    for bad in ({}, {"external_playback_url": "javascript:alert(1)"},
                {"external_playback_url": "https://user:pw@cdn.example.jp/a.m3u8"}):  # fmt: skip
        refused = office.http.post(f"/events/{event.id}/edit", data=form | bad)
        assert refused.status_code == 400
    good = form | {
        "external_ingest_url": "https://live.example.jp/lecture/whip",
        "external_playback_url": " https://cdn.example.jp/lecture/index.m3u8 ",
    }
    assert office.http.post(f"/events/{event.id}/edit", data=good).status_code == 302
    info = person().http.post(
        f"/events/{event.id}/media/token", data={"csrf_token": office.csrf}
    )  # (another session's token: refused)
    assert info.status_code == 400
    viewer = person()
    info = viewer.http.post(f"/events/{event.id}/media/token", data={"csrf_token": viewer.csrf})
    assert info.get_json()["hls"] == "https://cdn.example.jp/lecture/index.m3u8"
    assert info.get_json()["whep"] == ""  # HLS only
    studio = office.http.get(f"/events/{event.id}/studio").get_data(as_text=True)
    assert "https://live.example.jp/lecture/whip" in studio


def test_an_external_engine_s_own_player_embedded(app, people, monkeypatch):
    """An engine with no HLS for the page (YouTube Live, Vimeo): its player in a frame, only
    from the origins the site allows, which the CSP lets the page frame."""
    event, person, staff = people
    office = Person(app, staff)
    page = office.http.get(f"/events/{event.id}/edit").get_data(as_text=True)
    form = edit_form(office, page, engine="external")
    embed = {"external_embed_url": "https://www.youtube-nocookie.com/embed/abc123"}
    refused = office.http.post(f"/events/{event.id}/edit", data=form | embed)
    assert refused.status_code == 400 and "KOE_EMBED_ORIGINS" in refused.get_data(as_text=True)
    monkeypatch.setitem(app.config, "EMBED_ORIGINS", ("https://www.youtube-nocookie.com",))
    for bad in (
        "http://www.youtube-nocookie.com/embed/abc123",
        "https://evil.example.jp/embed/abc123",
        "https://www.youtube-nocookie.com.evil.example.jp/embed/abc123",
        "javascript:alert(1)",
    ):
        refused = office.http.post(
            f"/events/{event.id}/edit", data=form | {"external_embed_url": bad}
        )
        assert refused.status_code == 400, bad
    assert office.http.post(f"/events/{event.id}/edit", data=form | embed).status_code == 302
    viewer = person()
    live = viewer.http.get(f"/events/{event.id}/live")
    html = live.get_data(as_text=True)
    assert 'class="player embed" src="https://www.youtube-nocookie.com/embed/abc123"' in html
    assert 'id="player"' not in html  # no video of our own to play
    assert (
        "frame-src 'self' https://www.youtube-nocookie.com"
        in live.headers["Content-Security-Policy"]
    )
    # the archive shows the same player (the service keeps the recording there)
    row = _db.session.get(Event, event.id)
    row.stream_state = StreamState.ENDED
    _db.session.commit()
    archive = viewer.http.get(f"/events/{event.id}/archive").get_data(as_text=True)
    assert 'src="https://www.youtube-nocookie.com/embed/abc123"' in archive


def test_a_stream_the_media_service_stopped_reporting_is_ended(app, people):
    """The media service died while live: the jobs worker's round ends the stream and tells
    the room; without the worker, the next page of the event does."""
    event, person, _staff = people
    viewer = person(role=None)
    viewer.connect()
    viewer.join(event)
    viewer.received()
    client = app.test_client()
    live = {"event": event.id, "state": "live", "viewers": 2, "hls": f"/hls/{event.id}/index.m3u8"}
    assert report(app, client, live).status_code == 200
    _db.session.expire_all()
    seen = _db.session.get(Event, event.id).stream_seen_at
    assert seen is not None
    silent = app.config["MEDIA_SILENT_SECONDS"]
    # still reported within the limit: live
    assert media.end_silent_streams(now=seen + timedelta(seconds=silent - 1)) == 0
    # silent for longer: ended, no recording offered, the room told, audited
    assert media.end_silent_streams(now=seen + timedelta(seconds=silent + 1)) == 1
    _db.session.expire_all()
    row = _db.session.get(Event, event.id)
    assert row.stream_state == StreamState.ENDED and row.stream_viewers == 0
    assert row.stream_ended_at == seen and row.recording_url == ""
    assert viewer.received("stream")[-1]["state"] == "ended"
    assert _db.session.scalar(
        select(AuditEntry.action).where(AuditEntry.action == "event.stream_interrupted")
    )
    # the service comes back and reports again: live again
    assert report(app, client, live).status_code == 200
    _db.session.expire_all()
    assert _db.session.get(Event, event.id).stream_state == StreamState.LIVE
    # it falls silent again, and nobody runs the worker: the next page settles it
    row = _db.session.get(Event, event.id)
    row.stream_seen_at = utcnow() - timedelta(seconds=silent + 5)
    _db.session.commit()
    state = client.get(f"/events/{event.id}/stream.json").get_json()
    assert state["state"] == "ended"
    assert viewer.received("stream")[-1]["state"] == "ended"


def test_a_recording_the_media_service_recovered_is_offered(app, people):
    """The media service was killed while live and started again: it closes the recording
    it left open and reports it late ("recovered"). Whether the web app had already ended
    the stream for its silence or still thought it live, the archive offers it."""
    event, person, _staff = people
    viewer = person(role=None)
    client = app.test_client()
    hls = f"/hls/{event.id}/index.m3u8"
    live = {"event": event.id, "state": "live", "viewers": 3, "hls": hls}
    recovered = live | {
        "state": "ended",
        "viewers": 0,
        "download": f"/hls/{event.id}/recording.mp4",
        "recovered": True,
    }
    assert report(app, client, recovered | {"recovered": "yes"}).status_code == 400
    media_url = app.config["MEDIA_URL"]

    # 1. the web app already ended it (silent for too long), without a recording
    assert report(app, client, live).status_code == 200
    _db.session.expire_all()
    seen = _db.session.get(Event, event.id).stream_seen_at
    silent = app.config["MEDIA_SILENT_SECONDS"]
    assert media.end_silent_streams(now=seen + timedelta(seconds=silent + 1)) == 1
    _db.session.expire_all()
    assert _db.session.get(Event, event.id).recording_url == ""
    page = viewer.http.get(f"/events/{event.id}/archive").get_data(as_text=True)
    assert "recording.mp4" not in page
    assert report(app, client, recovered).status_code == 200
    _db.session.expire_all()
    row = _db.session.get(Event, event.id)
    assert row.stream_state == StreamState.ENDED and row.stream_ended_at == seen
    assert row.recording_url == media_url + hls
    assert row.recording_download_url == f"{media_url}/hls/{event.id}/recording.mp4"
    page = viewer.http.get(f"/events/{event.id}/archive").get_data(as_text=True)
    assert f'data-hls="{media_url}{hls}"' in page and "recording.mp4" in page

    # 2. it restarted before the web app noticed: the stream ends where it was last heard
    row.recording_url = row.recording_download_url = ""
    _db.session.commit()
    assert report(app, client, live).status_code == 200
    _db.session.expire_all()
    seen = _db.session.get(Event, event.id).stream_seen_at
    assert report(app, client, recovered).status_code == 200
    _db.session.expire_all()
    row = _db.session.get(Event, event.id)
    assert row.stream_state == StreamState.ENDED and row.stream_ended_at == seen
    assert row.recording_url == media_url + hls and row.stream_viewers == 0
    actions = _db.session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.action.like("event.st%") | AuditEntry.action.like("event.rec%"))
        .order_by(AuditEntry.id)
    ).all()
    assert actions == [
        "event.stream_live",
        "event.stream_interrupted",
        "event.recording_recovered",
        "event.stream_live",
        "event.stream_interrupted",
        "event.recording_recovered",
    ]


def test_stun_and_turn_servers_for_the_pages(app, people, monkeypatch, tmp_path):
    """KOE_ICE_SERVERS names STUN and TURN servers for the browsers; a TURN server gets
    short-lived credentials of the TURN REST API with each media token (what coturn checks
    with its static-auth-secret), never naming the person; without the secret, or with an
    address that is not STUN or TURN, the app refuses to start and says why."""
    import base64
    import hashlib
    import hmac

    from app.config import Config

    event, person, staff = people
    hanako, office = person(), Person(app, staff)
    url = f"/events/{event.id}/media/token"
    # none by default: the page's RTCPeerConnection gets no servers
    assert hanako.http.post(url, data={"csrf_token": hanako.csrf}).get_json()["ice_servers"] == []

    monkeypatch.setenv("KOE_ICE_SERVERS", "stun:stun.example.jp:3478, turn:turn.example.jp:3478")
    monkeypatch.setenv("KOE_TURN_SECRET", "shared")
    monkeypatch.setenv("KOE_TURN_TTL", "3600")
    config = Config(tmp_path)
    app.config.update(
        ICE_SERVERS=config.ICE_SERVERS, TURN_SECRET=config.TURN_SECRET, TURN_TTL=config.TURN_TTL
    )
    before = int(time.time())
    answers = [
        hanako.http.post(url, data={"csrf_token": hanako.csrf}).get_json()["ice_servers"],
        office.http.post(url, data={"role": "publish", "csrf_token": office.csrf}).get_json()[
            "ice_servers"
        ],
    ]
    for stun, turn in answers:
        assert stun == {"urls": ["stun:stun.example.jp:3478"]}
        assert turn["urls"] == ["turn:turn.example.jp:3478"]
        expires, tag = turn["username"].split(":")
        assert before + 3600 <= int(expires) <= int(time.time()) + 3600
        assert re.fullmatch(r"koe-[0-9a-f]{8}", tag)  # random: nothing of who asked
        expected = hmac.new(b"shared", turn["username"].encode(), hashlib.sha1).digest()
        assert base64.b64decode(turn["credential"]) == expected
    assert answers[0][1]["username"] != answers[1][1]["username"]  # each token its own

    monkeypatch.delenv("KOE_TURN_SECRET")
    with pytest.raises(ValueError, match="KOE_TURN_SECRET"):
        Config(tmp_path)
    monkeypatch.setenv("KOE_ICE_SERVERS", "https://turn.example.jp")
    with pytest.raises(ValueError, match="not a stun:, turn: or turns: URL"):
        Config(tmp_path)


def test_a_question_being_answered_when_the_stream_ends_reaches_the_archive(app, people):
    """「回答中」 at the end of the stream counts as answered: the archive lists it with the
    answered ones (in Japanese and English), and the end is in the audit log."""
    from tests.test_live_qa import ask

    event, person, _staff = people
    hanako, moderator = person(), person(Role.MODERATOR)
    for p in (hanako, moderator):
        p.connect()
        p.join(event)
    done = ask(hanako, event, "避難所の備蓄は何日分ですか？")["question"]
    now = ask(hanako, event, "ペットの受け入れはありますか？")["question"]
    for question, action in ((done, "answering"), (done, "answered"), (now, "answering")):
        step = {"event": event.id, "question": question["id"], "action": action}
        assert moderator.call("question", step)["ok"]
    client = app.test_client()
    live = {"event": event.id, "state": "live", "viewers": 3, "hls": f"/hls/{event.id}/index.m3u8"}
    assert report(app, client, live).status_code == 200
    assert report(app, client, live | {"state": "ended", "viewers": 0}).status_code == 200
    _db.session.expire_all()
    row = _db.session.get(Event, event.id)
    assert row.stream_state == StreamState.ENDED
    assert [q["state"] for q in hanako.join(event)["questions"]] == ["answered", "answered"]
    for lang, heading in (("ja", "回答した質問"), ("en", "Questions answered")):
        reader = person(role=None, lang=lang)
        page = reader.http.get(f"/events/{event.id}/archive", headers=reader.headers)
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and heading in html
        assert "避難所の備蓄は何日分ですか？" in html and "ペットの受け入れはありますか？" in html
    entry = _db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "question.answered")
    ).all()[-1]
    assert entry.details == {"event": event.id, "at_the_end": True}


def test_a_question_being_answered_when_an_event_ends_without_a_stream_is_archived(app, people):
    """An event over by its time (no stream reported its end): the question left 「回答中」 is
    listed as answered in the archive."""
    from tests.test_live_qa import ask

    event, person, _staff = people
    hanako, moderator = person(), person(Role.MODERATOR)
    for p in (hanako, moderator):
        p.connect()
    question = ask(hanako, event, "資料はどこで読めますか？")["question"]
    step = {"event": event.id, "question": question["id"], "action": "answering"}
    assert moderator.call("question", step)["ok"]
    event.starts_at = utcnow() - timedelta(hours=3)
    event.ends_at = utcnow() - timedelta(hours=1)
    _db.session.commit()
    html = person(role=None).http.get(f"/events/{event.id}/archive").get_data(as_text=True)
    assert "資料はどこで読めますか？" in html and "回答した質問はありません" not in html


def test_the_studio_shows_the_chat_and_the_questions(app, people):
    """The presenter answers from the studio: the chat (with its form and the moderators'
    measures) and the questions waiting, with the moderators' buttons, in both languages;
    the page's scripts make them live."""
    from tests.test_live_qa import ask

    event, person, staff = people
    hanako = person()
    hanako.connect()
    hanako.join(event)
    assert hanako.send(event, "音声が少し小さいです")["ok"]
    assert ask(hanako, event, "資料はどこで読めますか？")["ok"]
    office = Person(app, staff)
    html = office.http.get(f"/events/{event.id}/studio").get_data(as_text=True)
    assert 'id="chat"' in html and "音声が少し小さいです" in html
    assert 'id="chat-form"' in html and "取り下げる" in html  # write, and take away
    assert 'id="qa"' in html and "資料はどこで読めますか？" in html
    assert "今から回答する" in html  # the question's buttons for the presenter
    assert "js/live.js" in html and "vendor/socket.io.min.js" in html
    english = office.http.get(
        f"/events/{event.id}/studio", headers={"Accept-Language": "en"}
    ).get_data(as_text=True)
    assert "Answer now" in english and "Your message" in english
