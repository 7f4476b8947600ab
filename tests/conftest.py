"""Fixtures: ``app`` → ``db`` → ``client``, a real SMTP server, factories and helpers.

The suite runs on SQLite by default and on PostgreSQL when ``KOE_TEST_DATABASE_URL`` names a
server: it then creates a fresh database of its own there and drops it at the end.
"""

from __future__ import annotations

import contextvars
import os
import re
import secrets
import socket
import subprocess
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from app.auth import operations
from app.auth.models import Role, User
from app.consultations import operations as consultation_ops
from app.consultations.models import State
from app.extensions import db as _db
from app.moderation.models import BlockedWord
from app.timeutil import utcnow
from moderation import default_entries

PASSWORD = "correct horse battery staple"
CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)


# --- database -----------------------------------------------------------------------------


@contextmanager
def scratch_database(directory: Path, prefix: str = "koe_test"):
    """Yield the URL of a new empty database: a SQLite file in ``directory``, or a fresh
    PostgreSQL database (dropped afterwards) when KOE_TEST_DATABASE_URL names a server."""
    server = os.environ.get("KOE_TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{directory / (prefix + '.sqlite3')}"
        return
    base = make_url(server)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        # a test database need not survive a power cut: commits skip the wait for the disk
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """The URL of an empty database for this run (SQLite file or fresh PostgreSQL)."""
    with scratch_database(tmp_path_factory.mktemp("db")) as url:
        yield url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(process: subprocess.Popen, timeout: float = 10) -> None:
    """Stop a child process the tests started: SIGTERM, then SIGKILL after ``timeout``."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Mailbox:
    """Messages received by the test SMTP server."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        msg = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append(msg)
        return "250 OK"

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def last_to(self, address: str) -> EmailMessage:
        found = self.to(address)
        assert found, f"no mail to {address}; got {[m['To'] for m in self.messages]}"
        return found[-1]

    def wait_for(self, address: str, subject: str | None = None, timeout: float = 20.0):
        """The last mail to ``address`` (with ``subject``), waiting for a jobs worker to send it."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.to(address) if subject is None or m["Subject"] == subject]
            if found:
                return found[-1]
            if time.monotonic() > deadline:
                got = [m["Subject"] for m in self.to(address)]
                raise AssertionError(f"no mail {subject!r} to {address}; got {got}")
            time.sleep(0.1)

    @staticmethod
    def body(msg: EmailMessage) -> str:
        return msg.get_body(("plain",)).get_content()

    def link(self, address: str, path_part: str) -> str:
        """Return the first URL in the last mail to ``address`` that contains ``path_part``."""
        body = self.body(self.last_to(address))
        for url in re.findall(r"https?://\S+", body):
            if path_part in url:
                return url
        raise AssertionError(f"no link with {path_part!r} in:\n{body}")


@pytest.fixture(scope="session")
def smtp_server():
    """Run a real SMTP server (aiosmtpd) on a free local port for the whole run."""
    mailbox = Mailbox()
    mailbox.port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    yield mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server):
    """The messages sent during this test."""
    smtp_server.clear()
    return smtp_server


def make_config(database_url: str, smtp_port: int, tmp_path, **extra) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_PATH": str(tmp_path),
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_port,
        "RATELIMIT_ENABLED": False,
        # Cheap hashes keep the suite fast; production cost is set in Config.
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_KIB": 1024,
    }
    config.update(extra)
    return config


@pytest.fixture(scope="session")
def _schema(database_url, smtp_server, tmp_path_factory):
    """Build the schema once per run through the Alembic migrations."""
    app = create_app(make_config(database_url, smtp_server.port, tmp_path_factory.mktemp("i")))
    with app.app_context():
        upgrade()
        _db.engine.dispose()


def _empty_all_tables() -> None:
    """Empty every table, then put back what the migrations seed (the blocked-word list)."""
    tables = list(reversed(_db.metadata.sorted_tables))
    if _db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        _db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            _db.session.execute(table.delete())
    seen = set()
    for entry in default_entries():
        if (entry.word, entry.exception) not in seen:
            seen.add((entry.word, entry.exception))
            _db.session.add(
                BlockedWord(word=entry.word, severity=entry.severity, exception=entry.exception)
            )
    _db.session.commit()


@pytest.fixture
def app_config():
    """Per-test overrides of the application configuration (override this fixture)."""
    return {}


class IsolatedClient(FlaskClient):
    """A test client whose requests run in their own app context, as in production.

    The fixture keeps an app context open for the test body; without this, requests would
    share its ``g`` and database session and hide bugs (stale CSRF tokens, uncommitted rows).
    """

    def open(self, *args, **kwargs):
        # buffered: a streamed body is read inside the request's own context, as a server does
        kwargs.setdefault("buffered", True)
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def app(_schema, database_url, smtp_server, tmp_path, app_config):
    """Create an application bound to the test database and the test SMTP server."""
    application = create_app(make_config(database_url, smtp_server.port, tmp_path, **app_config))
    application.test_client_class = IsolatedClient
    with application.app_context():
        yield application
        _db.session.remove()
        _empty_all_tables()
        _db.engine.dispose()


@pytest.fixture
def db(app):
    """The database, emptied after the test."""
    return _db


@pytest.fixture
def client(app, db):
    """A test client of the application."""
    return app.test_client()


# --- factories and helpers -----------------------------------------------------------------


@pytest.fixture
def make_user(db):
    """Create users: ``make_user(role=Role.STAFF, email=..., verified=True)``."""
    counter = iter(range(1, 10_000))

    def factory(
        role: Role = Role.RESIDENT,
        email: str | None = None,
        display_name: str | None = None,
        password: str = PASSWORD,
        verified: bool = True,
    ) -> User:
        n = next(counter)
        user = operations.create_user(
            display_name or f"テスト利用者{n}",
            email or f"user{n}-{uuid.uuid4().hex[:6]}@example.jp",
            password,
            role,
            verified=verified,
        )
        db.session.commit()
        return user

    return factory


def csrf_token(client, path: str = "/") -> str:
    """Fetch ``path`` and return the CSRF token from its forms."""
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no csrf_token on {path}"
    return match.group(1) or match.group(2)


def post_form(client, path: str, data: dict, *, page: str | None = None, **kwargs):
    """POST ``data`` to ``path`` with the CSRF token of ``page`` (default: the same path)."""
    data = dict(data)
    data.setdefault("csrf_token", csrf_token(client, page or "/"))
    return client.post(path, data=data, **kwargs)


def login(client, email: str, password: str = PASSWORD):
    """Log in through the form and return the response."""
    return post_form(client, "/auth/login", {"email": email, "password": password})


@pytest.fixture
def logged_in(client, make_user):
    """Return ``(client, user)`` for a freshly logged-in user of the given role."""

    def do(role: Role = Role.RESIDENT, **kwargs):
        user = make_user(role=role, **kwargs)
        response = login(client, user.email)
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return do


PARKS_DRAFT = """# 第1章 総則
この計画は、声区の公園をより使いやすくするためのものです。

# 第2章 遊具の更新
老朽化した遊具を、令和9年度までに順次更新します。

# 第3章 夜間の照明
夜間も安心して通れるよう、照明を増やします。"""


def create_open_consultation(staff: User, title: str = "声区公園整備計画（案）", draft=PARKS_DRAFT):
    """Make an open consultation through the operations (in an app context) and commit."""
    now = utcnow()
    data = consultation_ops.ConsultationData(
        title=title,
        summary="ご意見を募集します。",
        department="公園課",
        contact="03-0000-0000",
        topics="公園",
        area=None,
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=30),
        draft=draft,
    )
    consultation = consultation_ops.save_consultation(None, data, staff)
    consultation_ops.move(consultation, State.OPEN, staff)
    _db.session.commit()
    return consultation


PHONE_TEXT = "ごみの収集日を増やしてください。詳しくは090-1234-5678まで。"


@pytest.fixture
def voices_consultation(db, make_user):
    """An open consultation with 80 residents' opinions (resident-voices) from 8 residents, and
    the same text with a phone number twice (held by moderation)."""
    from app.moderation import operations as moderation_ops
    from tests.analytics.test_quality import rows

    staff = make_user(role=Role.STAFF)
    made = create_open_consultation(staff)
    texts, _ = rows("resident-voices/voices.tsv", "\t")
    authors = [make_user() for _ in range(8)]
    for n, body in enumerate([*texts[:80], PHONE_TEXT, PHONE_TEXT]):
        scan = moderation_ops.scan_text(body, None, spam=False)
        if scan.verdict != "reject":
            consultation_ops.submit_opinion(made, authors[n % 8], scan)
    db.session.commit()
    return made
