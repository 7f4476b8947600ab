"""Two web processes (started as `make run` starts one: ``flask run``) share an event's chat
through Redis: a message sent to one arrives at a client of the other, the presence count
covers both, and a page of another origin cannot connect. Real processes, real Redis, real
Socket.IO clients (python-socketio over WebSocket)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import socketio

from app import create_app
from app.auth import operations as auth_ops
from app.auth.models import Role
from app.events import operations
from app.events.models import Audience, Mode
from app.extensions import db
from app.timeutil import utcnow
from tests.conftest import PASSWORD, free_port, scratch_database

ROOT = Path(__file__).resolve().parent.parent
REDIS = os.environ.get("KOE_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(not REDIS, reason="KOE_TEST_REDIS_URL is not set (no Redis)")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def site(tmp_path):
    """A migrated database with two residents and a live event, and two web processes."""
    from flask_migrate import upgrade

    with scratch_database(tmp_path, "koe_rt") as url:
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
            KOE_REDIS_URL=REDIS,
            KOE_SOCKETIO_CHANNEL=f"koe-test-{uuid.uuid4().hex}",  # pub/sub spans databases
            KOE_RATELIMIT_ENABLED="0",
            KOE_ARGON2_TIME_COST="1",
            KOE_ARGON2_MEMORY_KIB="1024",
        )
        servers, urls = [], []
        log = (tmp_path / "web.log").open("w")  # a full pipe would stop a server
        try:
            for _ in range(2):
                port = free_port()
                servers.append(
                    subprocess.Popen(  # the web line of the Procfile
                        [
                            sys.executable,
                            "-m",
                            "flask",
                            "--app",
                            "wsgi",
                            "run",
                            "--host",
                            "127.0.0.1",
                            "--port",
                            str(port),
                            "--no-reload",
                        ],
                        cwd=ROOT,
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=log,
                    )
                )
                urls.append(f"http://127.0.0.1:{port}")
            for url_ in urls:
                wait_for(url_)
            yield urls, event_id
        finally:
            for server in servers:
                server.terminate()
            for server in servers:
                try:
                    server.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    server.kill()
            log.close()


def wait_for(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/livez", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not start")


def signed_in(url: str, email: str) -> tuple[requests.Session, str]:
    browser = requests.Session()
    token = CSRF.search(browser.get(f"{url}/auth/login").text).group(1)
    answer = browser.post(
        f"{url}/auth/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )
    assert answer.status_code == 302
    return browser, CSRF.search(browser.get(f"{url}/events/").text).group(1)


def client_of(url: str, email: str, received: list, arrived: threading.Event, **headers):
    browser, token = signed_in(url, email)
    cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
    sio = socketio.Client(reconnection=False)

    def on_chat(message):
        received.append(message)
        arrived.set()

    sio.on("chat", on_chat, namespace="/live")
    sio.connect(
        url,
        namespaces=["/live"],
        auth={"csrf": token},
        headers={"Cookie": cookie, **headers},
        transports=["websocket"],
        wait_timeout=10,
    )
    return sio


def test_a_message_sent_to_one_process_reaches_a_client_of_the_other(site):
    (first, second), event_id = site
    got_a, got_b = [], []
    arrived_a, arrived_b = threading.Event(), threading.Event()
    a = client_of(first, "r1@example.jp", got_a, arrived_a)
    b = client_of(second, "r2@example.jp", got_b, arrived_b)
    try:
        joined_a = a.call("join", {"event": event_id}, namespace="/live", timeout=10)
        joined_b = b.call("join", {"event": event_id}, namespace="/live", timeout=10)
        assert joined_a["ok"] and joined_b["ok"]
        assert joined_b["presence"] == 2  # both processes' connections are counted
        answer = b.call(
            "send",
            {"event": event_id, "client_id": uuid.uuid4().hex, "text": "別のプロセスから"},
            namespace="/live",
            timeout=10,
        )
        assert answer["ok"], answer
        assert arrived_a.wait(10), "the message did not cross to the other process"
        assert [m["text"] for m in got_a] == ["別のプロセスから"]
        assert got_a[0]["id"] == answer["message"]["id"]
    finally:
        a.disconnect()
        b.disconnect()


def test_another_origin_cannot_connect(site):
    (first, _second), _event_id = site
    with pytest.raises(socketio.exceptions.ConnectionError):
        client_of(first, "r1@example.jp", [], threading.Event(), Origin="https://evil.example")
