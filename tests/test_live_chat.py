"""The chat of an event over Socket.IO (``/live``), with Flask-SocketIO's test clients on the
real application and database: connect (CSRF, session), join, send once per client id,
moderation, pace, the moderators' measures, reconnecting without loss or duplicates, and
bad payloads that are answered and never break anyone's connection."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.audit import AuditEntry
from app.auth.models import Role
from app.events import operations
from app.events.chat_models import ChatMessage
from app.events.models import Audience, Mode
from app.extensions import db as _db
from app.moderation.models import ModerationItem
from app.timeutil import utcnow
from tests.conftest import login, post_form
from tests.test_naughty_strings import naughty  # noqa: F401  (a fixture)

NS = "/live"


def new_event(staff, **overrides):
    start = utcnow() - timedelta(minutes=10)
    data = operations.EventData(
        title="防災講座",
        description="",
        speakers="",
        department="防災課",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        mode=Mode.ONLINE,
        venue="",
        capacity=None,
        registration_required=False,
        audience=Audience.EVERYONE,
    )
    for name, value in overrides.items():
        setattr(data, name, value)
    event = operations.save_event(None, data, staff)
    operations.publish(event, staff)
    _db.session.commit()
    return event


class Person:
    """A browser: an HTTP client with its session, and its Socket.IO connection."""

    def __init__(self, app, user=None, lang: str = "ja") -> None:
        self.app, self.user = app, user
        self.http = app.test_client()
        self.headers = {"Accept-Language": lang}
        if user is not None:
            assert login(self.http, user.email).status_code == 302
        html = self.http.get("/events/", headers=self.headers).get_data(as_text=True)
        self.csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        self.sio = None
        self.joined: set[int] = set()  # events joined on the current connection

    def connect(self, csrf: str | None = "mine", **kwargs):
        self.joined = set()
        auth = {"csrf": self.csrf if csrf == "mine" else csrf}
        headers = {**self.headers, **kwargs.pop("headers", {})}
        self.sio = self.app.extensions["socketio"].test_client(
            self.app, namespace=NS, flask_test_client=self.http, auth=auth, headers=headers,
            **kwargs,
        )  # fmt: skip
        return self.sio

    def call(self, name: str, *args):
        return self.sio.emit(name, *args, namespace=NS, callback=True)

    def join(self, event, since=None):
        """Join as a page does once per connection; joined already, as a reloaded page does
        (a new connection: a second join on one connection answers only ``already``)."""
        if event.id in self.joined:
            self.sio.disconnect(namespace=NS)
            self.connect()
        data = {"event": event.id} if since is None else {"event": event.id, "since": since}
        answer = self.call("join", data)
        assert answer["ok"], answer
        self.joined.add(event.id)
        return answer

    def send(self, event, text: str, client_id: str | None = None):
        client_id = client_id or uuid.uuid4().hex
        return self.call("send", {"event": event.id, "client_id": client_id, "text": text})

    def received(self, name: str | None = None) -> list:
        return [
            m["args"][0] for m in self.sio.get_received(NS) if name is None or m["name"] == name
        ]


@pytest.fixture
def people(app, db, make_user):
    staff = make_user(role=Role.STAFF)
    event = new_event(staff)

    def person(role=Role.RESIDENT, lang="ja", **kwargs):
        return Person(app, make_user(role=role, **kwargs) if role else None, lang)

    return event, person


def test_connect_needs_the_session_csrf_token(people):
    _event, person = people
    hanako = person()
    assert not hanako.connect(csrf=None).is_connected(NS)
    assert not hanako.connect(csrf="forged").is_connected(NS)
    assert hanako.connect().is_connected(NS)


def test_send_reaches_everyone_once_with_its_id(people):
    event, person = people
    hanako, ichiro, guest = person(), person(), person(role=None)
    for p in (hanako, ichiro, guest):
        p.connect()
        p.join(event)
    for p in (hanako, ichiro, guest):
        p.received()
    answer = hanako.send(event, "避難所の場所はどこで確認できますか？", "client-0001")
    assert answer["ok"] and not answer["duplicate"]
    message = answer["message"]
    assert message["text"] == "避難所の場所はどこで確認できますか？"
    assert message["client_id"] == "client-0001"  # the sender matches its pending line
    for p in (hanako, ichiro, guest):
        (got,) = p.received("chat")
        assert got["id"] == message["id"] and got["client_id"] is None
    again = hanako.send(event, "避難所の場所はどこで確認できますか？", "client-0001")  # a resend
    assert again["ok"] and again["duplicate"] and again["message"]["id"] == message["id"]
    assert ichiro.received("chat") == []
    assert _db.session.scalar(select(func.count()).select_from(ChatMessage)) == 1
    refused = guest.send(event, "こんにちは")
    assert not refused["ok"] and refused["error"] == "login"
    assert "ログイン" in refused["message"]


def test_reconnect_gets_what_was_missed_without_duplicates(people):
    event, person = people
    hanako, ichiro = person(), person()
    hanako.connect()
    ichiro.connect()
    first = [hanako.join(event)] and [hanako.send(event, f"質問{n}")["message"] for n in range(3)]
    last_seen = first[1]["id"]  # ichiro's connection dropped after the second message
    ichiro.sio.disconnect(namespace=NS)
    later = hanako.send(event, "続きの質問")["message"]
    hanako.call("hide", {"event": event.id, "message": first[0]["id"]})  # not a moderator
    ichiro.connect()
    answer = ichiro.join(event, since=last_seen)
    assert [m["id"] for m in answer["messages"]] == [first[2]["id"], later["id"]]


def test_held_message_seen_by_author_and_moderators_until_released(people):
    event, person = people
    hanako, ichiro, moderator = person(), person(), person(role=Role.MODERATOR)
    for p in (hanako, ichiro, moderator):
        p.connect()
        p.join(event)
    for p in (hanako, ichiro, moderator):
        p.received()
    answer = hanako.send(event, "詳しくは090-1234-5678までお電話ください")
    assert answer["ok"] and answer["message"]["held"]
    assert "090-1234-5678" not in answer["message"]["text"]  # masked even for its author
    assert [m["held"] for m in hanako.received("chat")] == [True]
    assert ichiro.received() == []
    (held,) = moderator.received("held")
    assert moderator.join(event)["held"][0]["id"] == held["id"]
    assert ichiro.join(event)["messages"] == []
    denied = ichiro.call("release", {"event": event.id, "message": held["id"]})
    assert denied["error"] == "forbidden"
    assert moderator.call("release", {"event": event.id, "message": held["id"]})["ok"]
    assert [m["id"] for m in ichiro.received("chat")] == [held["id"]]
    assert "moderation.approve" in set(_db.session.scalars(select(AuditEntry.action)))


def test_a_moderator_hides_a_message_for_everyone_at_once(people):
    event, person = people
    hanako, ichiro, moderator = person(), person(), person(role=Role.MODERATOR)
    for p in (hanako, ichiro, moderator):
        p.connect()
        p.join(event)
    message = hanako.send(event, "関係のない宣伝です")["message"]
    for p in (hanako, ichiro, moderator):
        p.received()
    assert moderator.call("hide", {"event": event.id, "message": message["id"]})["ok"]
    for p in (hanako, ichiro, moderator):
        assert p.received("removed") == [{"ids": [message["id"]]}]
    assert ichiro.join(event)["messages"] == []
    # a client that was away learns it on reconnecting
    assert message["id"] in ichiro.join(event, since=message["id"])["removed"]
    assert "chat.hide" in set(_db.session.scalars(select(AuditEntry.action)))


def test_time_out_ban_and_silent_mute(people, app):
    event, person = people
    rude, other, moderator = person(), person(), person(role=Role.MODERATOR)
    for p in (rude, other, moderator):
        p.connect()
        p.join(event)
    first = rude.send(event, "一つ目")["message"]
    answer = moderator.call(
        "measure", {"event": event.id, "message": first["id"], "kind": "timeout", "minutes": 5}
    )
    assert answer["ok"]
    assert rude.send(event, "まだ書けますか")["error"] == "timeout"
    bad = moderator.call(
        "measure", {"event": event.id, "message": first["id"], "kind": "timeout", "minutes": 7}
    )
    assert bad["error"] == "bad_request"
    # a silent mute: the author sees their message, nobody else does
    quiet, _ = person(), None
    quiet.connect()
    quiet.join(event)
    said = quiet.send(event, "一言目")["message"]
    moderator.call("measure", {"event": event.id, "message": said["id"], "kind": "mute"})
    other.received()
    muted = quiet.send(event, "二言目")
    assert muted["ok"]
    assert [m["text"] for m in quiet.received("chat")][-1] == "二言目"
    assert other.received("chat") == []
    assert "二言目" not in [m["text"] for m in other.join(event)["messages"]]
    assert "二言目" in [m["text"] for m in quiet.join(event)["messages"]]
    # a ban takes every message of the person away
    other.received()
    moderator.call("measure", {"event": event.id, "message": first["id"], "kind": "ban"})
    assert other.received("removed") == [{"ids": [first["id"]]}]
    assert rude.send(event, "もう一度")["error"] == "banned"
    kinds = {
        e.details["kind"]
        for e in _db.session.scalars(select(AuditEntry).where(AuditEntry.action == "chat.measure"))
    }
    assert kinds == {"timeout", "mute", "ban"}


def test_pace_slow_mode_length_and_chat_off(people, app):
    event, person = people
    hanako = person(lang="en")
    hanako.connect()
    hanako.join(event)
    for n in range(5):
        assert hanako.send(event, f"message {n}")["ok"]
    flood = hanako.send(event, "message 5")
    assert flood["error"] == "rate" and "too fast" in flood["message"]
    ichiro = person(lang="en")
    ichiro.connect()
    event.slow_mode_seconds = 30
    _db.session.commit()
    assert ichiro.send(event, "first")["ok"]
    slow = ichiro.send(event, "second")
    assert slow["error"] == "slow" and "30 seconds" in slow["message"]
    long = ichiro.send(event, "あ" * 503)
    assert long["error"] == "too_long" and "by 3 characters" in long["message"]
    event.chat_enabled = False
    _db.session.commit()
    assert person().connect() and ichiro.send(event, "closed?")["error"] in {"closed", "slow"}


def test_reports_hide_a_message_for_review(people, app):
    event, person = people
    author = person()
    author.connect()
    author.join(event)
    message = author.send(event, "ちょっと失礼な発言")["message"]
    readers = [person() for _ in range(app.config["REPORT_HIDE_THRESHOLD"])]
    for reader in readers:
        reader.connect()
        answer = reader.call(
            "report", {"event": event.id, "message": message["id"], "reason": "abuse"}
        )
        assert answer == {
            "ok": True,
            "counted": True,
            "message": "ご報告ありがとうございます。モデレーターが確認します。",
        }
    assert readers[0].join(event)["messages"] == []
    assert author.call(
        "report", {"event": event.id, "message": message["id"], "reason": "abuse"}
    )["error"] == "bad_request"  # fmt: skip


def test_who_may_join(people, app, make_user):
    _event, person = people
    staff = make_user(role=Role.STAFF)
    members = new_event(
        staff, audience=Audience.REGISTERED, registration_required=True, capacity=None
    )
    guest, hanako = person(role=None), person()
    for p in (guest, hanako):
        p.connect()
        answer = p.call("join", {"event": members.id})
        assert answer["error"] == "not_allowed"
    operations.register(members, hanako.user)
    _db.session.commit()
    assert hanako.call("join", {"event": members.id})["ok"]


def test_pin_an_announcement(people):
    event, person = people
    hanako, moderator = person(), person(role=Role.MODERATOR)
    for p in (hanako, moderator):
        p.connect()
        p.join(event)
    assert hanako.call("pin", {"event": event.id, "text": "x"})["error"] == "forbidden"
    assert moderator.call("pin", {"event": event.id, "text": "資料は区のページにあります"})["ok"]
    assert hanako.received("pinned")[-1] == {"text": "資料は区のページにあります"}
    assert hanako.join(event)["pinned"] == "資料は区のページにあります"


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "text",
        42,
        [],
        {},
        {"event": "1"},
        {"event": True},
        {"event": 2**40},
        {"event": 999999},
        {"event": "EVENT", "client_id": "x", "text": "x"},
    ],
)
def test_malformed_payloads_are_answered_and_the_connection_lives(people, payload):
    event, person = people
    hanako, ichiro = person(), person()
    for p in (hanako, ichiro):
        p.connect()
        p.join(event)
    for name in ("join", "send", "hide", "report", "measure", "pin", "release"):
        args = () if payload is None else (payload,)
        answer = hanako.call(name, *args)
        assert answer["ok"] is False and answer["message"], (name, payload, answer)
    unknown = hanako.call("drop_table", {"event": event.id})
    assert unknown["error"] == "unknown_event"
    bad_ids = hanako.send(event, "ok", client_id="../../etc")
    assert bad_ids["error"] == "client_id"
    assert hanako.sio.is_connected(NS)
    assert hanako.send(event, "まだつながっています")["ok"]
    assert any(m["text"] == "まだつながっています" for m in ichiro.received("chat"))


def test_naughty_strings_in_messages(people, naughty):  # noqa: F811
    event, person = people
    hanako = person()
    hanako.connect()
    hanako.join(event)
    from flask import current_app

    current_app.config["CHAT_RATE"] = (10_000, 10)
    current_app.extensions["koe_pace"].rates["send"] = (10_000, 10)  # past a page's pace
    for n, text in enumerate(naughty[::5]):
        answer = hanako.send(event, text, client_id=f"naughty-{n:04d}")
        assert answer["message"] if not answer["ok"] else answer["message"]["id"], text
    assert hanako.sio.is_connected(NS)


@pytest.fixture
def statements(app):
    """Count the SQL statements run while the test runs (``statements.count``)."""
    from sqlalchemy import event as sa_event

    class Counter:
        count = 0

        def __call__(self, *_args):
            Counter.count += 1

    counter = Counter()
    engine = _db.engine
    sa_event.listen(engine, "before_cursor_execute", counter)
    yield counter
    sa_event.remove(engine, "before_cursor_execute", counter)


def test_one_connection_flooding_joins_and_unknown_events_is_paced(people, statements):
    """A repeated join of the room reads nothing; joins, unknown and garbage events over
    their pace are refused without touching the database; a connection that floods on is
    closed; the others chat on as before."""
    event, person = people
    flood, ichiro, hanako = person(lang="en"), person(), person()
    for p in (flood, ichiro, hanako):
        p.connect()
        p.join(event)
    before = statements.count
    again = [flood.call("join", {"event": event.id}) for _ in range(3)]
    assert again == [{"ok": True, "already": True}] * 3
    assert statements.count == before  # nothing read: it has it all already
    refused = flood.call("join", {"event": event.id})  # the fifth join in a few seconds
    assert refused["ok"] is False and refused["error"] == "pace"
    assert "Wait a few seconds" in refused["message"]
    unknown = [flood.call(f"garbage_{n}", {"x": n}) for n in range(5)]
    assert [a["error"] for a in unknown] == ["unknown_event"] * 3 + ["pace"] * 2
    garbage = [flood.call("leave", "not a dict") for _ in range(2)]
    assert [a["error"] for a in garbage] == ["pace", "pace"]  # leave counts with join
    assert statements.count == before
    assert flood.sio.is_connected(NS)
    # a flood goes on past the refusals: the connection is closed, nobody else is touched
    for _ in range(40):
        if not flood.sio.is_connected(NS):
            break
        flood.sio.emit("join", {"event": event.id}, namespace=NS)
    assert not flood.sio.is_connected(NS)
    ichiro.received()
    assert hanako.send(event, "まだ話せます")["ok"]
    assert [m["text"] for m in ichiro.received("chat")] == ["まだ話せます"]
    # its place in the room is given up like any disconnect; a new page joins at once
    flood.connect()
    assert flood.call("join", {"event": event.id})["ok"]


def test_each_kind_of_event_has_its_own_pace(people, app):
    event, person = people
    hanako = person()
    hanako.connect()
    hanako.join(event)
    app.extensions["koe_pace"].rates["vote"] = (2, 10)
    votes = [hanako.call("vote", {"event": event.id, "question": 10**6}) for _ in range(3)]
    assert [a["error"] for a in votes] == ["not_found", "not_found", "pace"]
    assert hanako.send(event, "投票とは別に数えます")["ok"]  # another kind: its own bucket


@pytest.mark.parametrize("lang, words", [("ja", "壊れた文字"), ("en", "broken character")])
def test_a_lone_surrogate_is_refused_clearly_in_every_event(people, lang, words):
    """JSON may carry a lone surrogate ("\\ud800"); no database can store it. Every event
    refuses it with a clear message in the person's language, never a server error."""
    event, person = people
    hanako, moderator = person(lang=lang), person(role=Role.MODERATOR, lang=lang)
    for p in (hanako, moderator):
        p.connect()
        p.join(event)
    moderator.app.extensions["koe_pace"].rates["*"] = (100, 10)
    bad = "避難所\ud800はどこ"
    calls = [
        (hanako, "send", {"event": event.id, "client_id": uuid.uuid4().hex, "text": bad}),
        (hanako, "ask", {"event": event.id, "client_id": uuid.uuid4().hex, "text": bad}),
        (hanako, "send", {"event": event.id, "client_id": uuid.uuid4().hex, "text": [bad]}),
        (hanako, "report", {"event": event.id, "message": 1, "reason": bad}),
        (hanako, "send", {"event": event.id, bad: 1, "client_id": "x" * 9, "text": "x"}),
        (moderator, "pin", {"event": event.id, "text": bad}),
        (moderator, "caption", {"event": event.id, "text": bad}),
        (moderator, "measure", {"event": event.id, "message": 1, "kind": bad}),
    ]
    for who, name, data in calls:
        answer = who.call(name, data)
        assert answer["ok"] is False and answer["error"] == "bad_text", (name, answer)
        assert words in answer["message"]
    assert _db.session.scalar(select(func.count()).select_from(ChatMessage)) == 0
    assert hanako.send(event, "避難所はどこ")["ok"]  # the connection lives
    # the plain forms: a browser sends UTF-8, where a lone surrogate cannot be written; its
    # bytes (ED A0 80) are never taken for one, in a form or a multipart body
    for body, kind in (
        (b"csrf_token=" + hanako.csrf.encode() + b"&text=%ED%A0%80&client_id=" + b"a" * 16,
         "application/x-www-form-urlencoded"),
    ):  # fmt: skip
        page = hanako.http.post(f"/events/{event.id}/chat", data=body, content_type=kind)
        assert page.status_code in (200, 302, 303)
    for text in _db.session.scalars(select(ModerationItem.original_text)):
        text.encode("utf-8")  # stored, it is valid text


def test_a_catch_up_is_the_last_messages_after_the_page_s_last_one(people, monkeypatch):
    """A page that reconnects gets only what came after the last message it has, never one
    it has; when it missed more than a catch-up holds, the last ones and ``more``."""
    from app.events import chat

    monkeypatch.setattr(chat, "CATCH_UP_MAX", 4)
    event, person = people
    writers, reader = [person() for _ in range(3)], person()
    for p in (*writers, reader):
        p.connect()
        p.join(event)
    sent = [
        w.send(event, f"{w.user.id}の発言{n}")["message"]["id"] for n in range(2) for w in writers
    ]
    answer = reader.join(event, since=sent[1])
    assert [m["id"] for m in answer["messages"]] == sent[2:]
    assert answer["more"] is False
    answer = reader.join(event, since=sent[0] - 1)  # it missed six: the last four, and more
    assert [m["id"] for m in answer["messages"]] == sent[-4:]
    assert answer["more"] is True
    answer = reader.join(event, since=sent[-1])
    assert answer["messages"] == [] and answer["more"] is False


def test_decisions_in_the_moderation_queue_reach_the_open_live_pages(people):
    """A moderator working the queue (not the live page): a held message they publish
    appears on the open pages, and a message they take down leaves them, once committed."""
    event, person = people
    hanako, ichiro, moderator = person(), person(), person(role=Role.MODERATOR)
    for p in (hanako, ichiro):
        p.connect()
        p.join(event)
    held = hanako.send(event, "詳しくは090-1234-5678へお電話ください")["message"]
    shown = hanako.send(event, "会場の駐輪場は何時まで使えますか？")["message"]
    assert held["held"] and not shown["held"]
    ichiro.received()

    def item_id(message_id: int) -> int:
        return _db.session.scalar(
            select(ModerationItem.id).where(
                ModerationItem.source == "chat", ModerationItem.source_id == str(message_id)
            )
        )

    page = f"/moderation/items/{item_id(held['id'])}"
    response = post_form(moderator.http, page, {"action": "approve", "d-code": "other"}, page=page)
    assert response.status_code == 302
    assert [m["id"] for m in ichiro.received("chat")] == [held["id"]]

    confirm = f"/moderation/items/{item_id(shown['id'])}/take-down"
    assert ichiro.received("removed") == []  # asking changes nothing
    moderator.http.get(confirm)
    assert ichiro.received("removed") == []
    response = post_form(moderator.http, confirm, {"code": "abuse"}, page=confirm)
    assert response.status_code == 302
    assert ichiro.received("removed") == [{"ids": [shown["id"]]}]
    assert [m["id"] for m in ichiro.join(event)["messages"]] == [held["id"]]
