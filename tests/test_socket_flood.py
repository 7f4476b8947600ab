"""A connection that floods the server is closed for good (issue 19, item 16): not only its
Socket.IO namespace, its WebSocket too, so that the frames it had sent go with it; the
server forgets its engine.io session; and another person's message still arrives. A real
web process as `make run` starts it (``flask run``, a thread per connection) and as
production runs it (gunicorn's gevent worker), a raw WebSocket for the flooder (as a stuck
script would send) and a python-socketio client for the other."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta

import pytest
import requests
import websocket

from app import create_app
from app.auth import operations as auth_ops
from app.auth.models import Role
from app.events import operations
from app.events.models import Audience, Mode
from app.extensions import db
from app.timeutil import utcnow
from tests.conftest import PASSWORD, free_port, scratch_database
from tests.test_realtime_processes import ROOT, client_of, signed_in

NS = "/live"


@pytest.fixture(params=["threading", "gevent"])
def site(request, tmp_path):
    """A migrated database with two residents and a live event, and one web process: the
    threaded server of `make run`, or gunicorn's gevent worker."""
    from flask_migrate import upgrade

    with scratch_database(tmp_path, "koe_flood") as url:
        secret = uuid.uuid4().hex
        config = {"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(tmp_path),
                  "SECRET_KEY": secret}  # fmt: skip
        app = create_app(config)
        with app.app_context():
            upgrade()
            staff = auth_ops.create_user("職員", "staff@example.jp", PASSWORD, Role.STAFF)
            for n in (1, 2):
                auth_ops.create_user(f"区民{n}", f"r{n}@example.jp", PASSWORD, Role.RESIDENT)
            start = utcnow() - timedelta(minutes=5)
            data = operations.EventData(
                title="講座", description="", speakers="", department="", starts_at=start,
                ends_at=start + timedelta(hours=1), mode=Mode.ONLINE, venue="", capacity=None,
                registration_required=False, audience=Audience.EVERYONE,
            )  # fmt: skip
            event = operations.save_event(None, data, staff)
            operations.publish(event, staff)
            db.session.commit()
            event_id = event.id
            db.engine.dispose()
        env = {k: v for k, v in os.environ.items() if not k.startswith("KOE_")}
        env.update(
            KOE_DATABASE_URL=url,
            KOE_SECRET_KEY=secret,
            KOE_INSTANCE_PATH=str(tmp_path),
            KOE_RATELIMIT_ENABLED="0",
            KOE_ARGON2_TIME_COST="1",
            KOE_ARGON2_MEMORY_KIB="1024",
        )
        port = free_port()
        if request.param == "gevent":
            # the production server: gunicorn's gevent worker (as bench/chat_load.py runs it)
            env["KOE_SOCKETIO_ASYNC_MODE"] = "gevent"
            command = [sys.executable, "-m", "gunicorn", "--worker-class", "gevent",
                       "--workers", "1", "--bind", f"127.0.0.1:{port}", "wsgi:app"]  # fmt: skip
        else:  # the web line of the Procfile (`make run`): a thread per connection
            command = [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--host",
                       "127.0.0.1", "--port", str(port), "--no-reload"]  # fmt: skip
        log = (tmp_path / "web.log").open("w")
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            url_ = f"http://127.0.0.1:{port}"
            started(url_)
            yield url_, event_id
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()


def started(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/livez", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or still loading the app
            time.sleep(0.2)
    raise AssertionError(f"{url} did not start")


def raw_connection(url: str, email: str) -> tuple[websocket.WebSocket, str]:
    """A signed-in WebSocket speaking Engine.IO 4 / Socket.IO 5 by hand, joined to ``/live``;
    and its engine.io session id."""
    browser, token = signed_in(url, email)
    cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
    ws = websocket.create_connection(
        url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket",
        header=[f"Cookie: {cookie}"],
        origin=url,
        timeout=10,
    )
    opened = ws.recv()
    assert opened.startswith("0"), opened
    ws.send(f"40{NS},{json.dumps({'csrf': token})}")
    assert ws.recv().startswith(f"40{NS},")
    return ws, json.loads(opened[1:])["sid"]


def test_a_flooding_connection_is_closed_with_its_frames_and_the_others_go_on(site):
    url, event_id = site
    got, arrived = [], threading.Event()
    other = client_of(url, "r1@example.jp", got, arrived)
    flooder, eio_sid = raw_connection(url, "r2@example.jp")
    try:
        assert other.call("join", {"event": event_id}, namespace=NS, timeout=10)["ok"]
        # far more than the pace and the refusals allow, without reading a single answer
        sent = 0
        try:
            for n in range(20_000):
                flooder.send(f'42{NS},{n}["nothing_{n}",{{"event":{event_id}}}]')
                sent += 1
        except (websocket.WebSocketConnectionClosedException, OSError):
            pass  # closed by the server while sending
        # the server closes the WebSocket itself (not only the namespace, which left the
        # socket open and its frames read one by one after it)
        seen = []
        with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
            for _ in range(10_000):
                try:
                    message = flooder.recv()
                except websocket.WebSocketTimeoutException:
                    pytest.fail(f"the flooder's WebSocket is still open: {seen[-3:]}")
                if message == "":  # the server's close frame
                    raise websocket.WebSocketConnectionClosedException
                seen.append(message)
        assert f"41{NS}," in seen  # told that its namespace was closed
        answers = [m for m in seen if m.startswith(f"43{NS},")]
        assert answers and len(answers) < 100 < sent  # refused, then closed: not read on
        # the server forgot its engine.io session
        polled = requests.get(f"{url}/socket.io/?EIO=4&transport=polling&sid={eio_sid}", timeout=10)
        # (a session still open answers "Unexpected HTTP request": it is on its WebSocket)
        assert polled.status_code == 400
        assert "Invalid session" in polled.text or "Session is disconnected" in polled.text
        # and another person's message reaches the room
        answer = other.call(
            "send",
            {"event": event_id, "client_id": uuid.uuid4().hex, "text": "洪水のあとも届く"},
            namespace=NS,
            timeout=10,
        )
        assert answer["ok"], answer
        assert arrived.wait(10)
        assert [m["text"] for m in got] == ["洪水のあとも届く"]
    finally:
        other.disconnect()
        flooder.close()
