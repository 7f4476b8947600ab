"""Chat under load (issue 7): one web process, 2,000 clients in one event, 5 messages a second.

Target: the delivery latency of a chat message (sent → shown on every client) p95 ≤ 500 ms.

One web process serves the Socket.IO namespace ``/live``: gunicorn with one gevent worker
(``KOE_SOCKETIO_ASYNC_MODE=gevent``; WebSocket by simple-websocket, or gevent-websocket's worker
when that is installed) or, with ``--server threading``, ``flask run`` as the Procfile starts it
(threads per connection; it does not reach 2,000 clients on two cores). The clients run in
other processes (``--client-processes``, 2 from 1,000 clients), all of a process in one
asyncio loop on aiohttp WebSockets, as a browser does: the session's cookie, the page's CSRF
token and the page's Origin, WebSocket only. By default they speak the Engine.IO/Socket.IO
protocol themselves (``--client raw``): python-socketio's AsyncClient (``--client
python-socketio``) costs so much a message that, on the machine the server runs on, 2,000 of
them time out their pings while they join. They connect
in waves (``--connect-concurrency`` at a time), each joins the event, and once every client
has seen the full presence count, signed-in senders (each at most 3 messages a minute, under
the chat's and the moderation's per-person limits) send ``--rate`` messages a second in total
for ``--seconds``. Each message carries its send time (as letters: digits could look like
personal data to the moderation), so every receiver computes its delivery latency; viewers
are anonymous (the event is for everyone) and share a pool of anonymous sessions.

Printed: the setup, the connect time, delivered/expected, p50/p95/p99/max latency, the
server's CPU (cores used during the send phase) and memory, the clients' CPU and event-loop
lag (a busy client delays what it measures), and whether the target was met. The check
"every message delivered once to every viewer" prints PASS or FAIL and sets the exit status;
timing is never a failure.

With ``--flood``, one more connection floods the server in the middle third of the send
phase, as a stuck or hostile page would: repeated ``join`` of the event, events the server
does not know and payloads of the wrong shape, as fast as it can, connecting again whenever
the server closes it. Printed beside the setup: what it sent and how it was answered, and
the delivery latency of the other clients' messages in each third (before the flood: the
baseline; during it; after it).

SQLite (a temporary file), or a fresh database on the PostgreSQL server of ``--pg`` or
$KOE_BENCH_DATABASE_URL (dropped at the end).

    python bench/chat_load.py [--quick] [--clients N] [--seconds S] [--server gevent|threading]
                              [--pg URL] [--only sqlite|postgresql] [--client raw|python-socketio]
                              [--flood]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import math
import os
import platform
import random
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from consultation_load import (
    COOKIE,
    SECRET,
    Account,
    Connection,
    app_config,
    drop_database,
    free_port,
    log_in,
    machine_busy,
    make_accounts,
    postgres_target,
    sqlite_target,
)
from flask_migrate import upgrade

from app import create_app
from app.auth import operations as auth_ops
from app.auth.models import Role
from app.events import operations as event_ops
from app.events.models import Audience, Mode
from app.extensions import db
from app.timeutil import utcnow

ROOT = Path(__file__).resolve().parents[1]
NAMESPACE = "/live"
TARGET_P95_MS = 500
#: each sender sends at most this many messages a minute: the chat allows 5 in 10 s and the
#: moderation rejects a sixth post within a minute (a flood)
PER_SENDER_PER_MINUTE = 3
CLIENTS = {
    "raw": "Engine.IO/Socket.IO over aiohttp WebSockets (one asyncio loop a process)",
    "python-socketio": "python-socketio AsyncClient on aiohttp (one asyncio loop a process)",
}
ANONYMOUS_SESSIONS = 100  # viewers share them, as tabs of a few browsers
PAGE_CSRF = re.compile(rb'data-csrf="([^"]+)"|name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
#: numbers written with 16 consonants: no digits (a long number could look like a phone or
#: card number to the moderation) and no vowels (no word of a blocked-word list)
LETTERS = "bcdfghjklmnpqrst"
PREFIX = "負荷試験の発言です"


def letters(n: int) -> str:
    return "".join(LETTERS[int(d, 16)] for d in f"{n:x}")


def number(word: str) -> int:
    return int("".join(f"{LETTERS.index(c):x}" for c in word), 16)


def message_text(index: int, sent_us: int, rng: random.Random) -> str:
    # the random tail keeps one person's messages apart for the duplicate and burst checks
    noise = "".join(rng.choice(LETTERS) for _ in range(24))
    return f"{PREFIX} {letters(index)} {letters(sent_us)} {noise}"


def parse_text(text: str) -> tuple[int, int] | None:
    parts = text.split()
    if len(parts) != 4 or parts[0] != PREFIX:
        return None
    try:
        return number(parts[1]), number(parts[2])
    except ValueError:
        return None


def raise_fd_limit() -> int:
    """Raise the open-file limit to the hard limit (inherited by the processes started after)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft != resource.RLIM_INFINITY and soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children (Linux /proc), 0 where unknown."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        total = 0
        for p in [str(pid), *children]:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children in MB, 0 where unknown."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        total = 0
        for p in [str(pid), *children]:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total / 1024
    except (OSError, ValueError, IndexError):
        return 0.0


# engine.io's gevent driver takes gevent-websocket when it is installed (then the server must be
# its gunicorn worker), else simple-websocket under gunicorn's own gevent worker
if importlib.util.find_spec("geventwebsocket") is not None:
    GEVENT_WORKER = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"
    WEBSOCKET = "gevent-websocket"
else:
    GEVENT_WORKER, WEBSOCKET = "gevent", "simple-websocket"


# --- the web process --------------------------------------------------------------------------


class Server:
    """The one web process, in its own process group, configured by KOE_* variables."""

    def __init__(self, mode: str, url: str, tmp: str, clients: int) -> None:
        self.mode = mode
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(tmp) / "web.log"
        self.log_file = self.log.open("w")  # a full pipe would stop the server
        env = {k: v for k, v in os.environ.items() if not k.startswith("KOE_")}
        env.update(
            KOE_DATABASE_URL=url,
            KOE_SECRET_KEY=SECRET,
            KOE_INSTANCE_PATH=tmp,
            KOE_BASE_URL=self.url,
            KOE_SOCKETIO_ASYNC_MODE=mode,
            KOE_RATELIMIT_ENABLED="0",
            KOE_ARGON2_TIME_COST="1",
            KOE_ARGON2_MEMORY_KIB="1024",
        )
        if mode == "gevent":
            # gunicorn's gevent worker patches the standard library before it loads the app
            self.command = [
                sys.executable,
                "-m",
                "gunicorn",
                "--worker-class",
                GEVENT_WORKER,
                "--workers",
                "1",
                "--worker-connections",
                str(clients + 1000),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--backlog",
                "4096",
                "--timeout",
                "120",
                "--graceful-timeout",
                "3",
                "--log-level",
                "warning",
                "--chdir",
                str(ROOT),
                "wsgi:app",
            ]
            self.label = f"gunicorn, 1 gevent worker ({WEBSOCKET}), async mode gevent"
        else:
            self.command = [  # the web line of the Procfile
                sys.executable,
                "-m",
                "flask",
                "--app",
                "wsgi",
                "run",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-reload",
            ]
            self.label = "flask run (Werkzeug, a thread per connection), async mode threading"
        self.process = subprocess.Popen(  # noqa: S603  (our own interpreter and arguments)
            self.command,
            cwd=ROOT,
            env=env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the web process exited:\n{self.log.read_text()[-3000:]}")
            try:
                if Connection(self.port, 2).send("GET", "/livez").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the web process did not answer:\n{self.log.read_text()[-3000:]}")

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)

    def rss_mb(self) -> float:
        return rss_mb(self.process.pid)

    def errors(self) -> Counter:
        """The exceptions in the log (the last line of each traceback) and error lines, counted."""
        lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        found: Counter = Counter()
        in_traceback = False
        for line in lines:
            if line.startswith("Traceback"):
                in_traceback = True
            elif in_traceback and line and not line[0].isspace():
                if not line.startswith(("The above exception", "During handling")):
                    found[line[:160]] += 1
                    in_traceback = False
            elif "ERROR" in line or "CRITICAL" in line:
                found[line[:160]] += 1
        if os.environ.get("KOE_BENCH_KEEP_LOG"):
            Path(os.environ["KOE_BENCH_KEEP_LOG"]).write_text("\n".join(lines))
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.log_file.close()


# --- seeding and sessions -------------------------------------------------------------------


def seed(app, senders: int) -> tuple[int, list[Account]]:
    """Schema by the migrations; staff, senders and a published event open to everyone."""
    with app.app_context():
        upgrade()
        staff = auth_ops.create_user("職員", "staff@bench.example.jp", "x" * 24, Role.STAFF)
        accounts = make_accounts("sender", senders, 1)
        start = utcnow() - timedelta(minutes=5)
        data = event_ops.EventData(
            title="区政オンライン説明会", description="チャットの負荷試験", speakers="",
            department="広報課", starts_at=start, ends_at=start + timedelta(hours=2),
            mode=Mode.ONLINE, venue="", capacity=None, registration_required=False,
            audience=Audience.EVERYONE,
        )  # fmt: skip
        event = event_ops.save_event(None, data, staff)
        event.chat_enabled = True
        event_ops.publish(event, staff)
        db.session.commit()
        event_id = event.id
        db.session.remove()
        db.engine.dispose()
    return event_id, accounts


def page_csrf(body: bytes) -> str:
    found = PAGE_CSRF.search(body)
    if found is None:
        raise RuntimeError("no CSRF token on the live page")
    return (found.group(1) or found.group(2)).decode()


def sessions(server: Server, event_id: int, senders: list[Account], anonymous: int):
    """Log the senders in; open ``anonymous`` anonymous sessions at the live page."""
    conn = Connection(server.port, 60)
    page = f"/events/{event_id}/live"
    for account in senders:
        log_in(conn, account)
        account.csrf = page_csrf(conn.send("GET", page, account).body)
    viewers = []
    for _ in range(anonymous):
        account = Account("")
        reply = conn.send("GET", page, account)
        if reply.status != 200 or not account.cookie:
            raise RuntimeError(f"the live page answered {reply.status} without a session")
        account.csrf = page_csrf(reply.body)
        viewers.append(account)
    conn.close()
    return viewers


# --- the clients (run in their own processes) -----------------------------------------------


class Client:
    """One browser tab: a Socket.IO connection to ``/live`` that joined the event."""

    def __init__(self, spec: dict, url: str) -> None:
        self.spec, self.url = spec, url
        self.received: Counter = Counter()
        self.latencies: list[float] = []
        self.thirds: list[list[float]] = [[], [], []]  # by when the message was sent
        self.unknown = 0
        self.presence = 0
        self.presence_at = 0.0
        self.dropped = False
        self.drop = ""
        self.drop_at = 0.0
        self.error = ""
        self.connect_ms = 0.0

    def on_chat(self, message) -> None:
        now = time.time()
        parsed = parse_text(message.get("text", "")) if isinstance(message, dict) else None
        if parsed is None:
            self.unknown += 1
            return
        index, sent_us = parsed
        self.received[index] += 1
        latency = now * 1000 - sent_us / 1000
        self.latencies.append(latency)
        if MESSAGES:
            self.thirds[min(2, 3 * index // MESSAGES)].append(latency)

    def on_presence(self, data) -> None:
        if isinstance(data, dict) and isinstance(data.get("count"), int):
            self.presence = data["count"]
            self.presence_at = time.monotonic()

    def on_disconnect(self, reason: str) -> None:
        if not self.dropped:
            self.dropped, self.drop, self.drop_at = True, reason, time.time()

    async def start(self, event_id: int) -> bool:
        started = time.perf_counter()
        try:
            await self.connect()
            answer = await self.call("join", {"event": event_id}, timeout=120)
        except Exception as exc:
            self.error = f"connect: {type(exc).__name__} {str(exc)[:80]}"
            return False
        if not (isinstance(answer, dict) and answer.get("ok")):
            self.error = f"join refused: {answer}"
            return False
        if isinstance(answer.get("presence"), int):
            self.presence = max(self.presence, answer["presence"])
        self.connect_ms = (time.perf_counter() - started) * 1000
        return True

    async def connect(self) -> None:
        raise NotImplementedError

    async def call(self, event: str, data: dict, timeout: float):
        raise NotImplementedError


class SocketIOClient(Client):
    """python-socketio's AsyncClient (as the tests use its threaded twin)."""

    def __init__(self, spec: dict, url: str, http) -> None:
        import aiohttp
        import socketio

        super().__init__(spec, url)
        self.sio = socketio.AsyncClient(
            reconnection=False,
            handle_sigint=False,
            request_timeout=60,
            # its own session for its own cookie jar; one connection pool for all
            http_session=lambda: aiohttp.ClientSession(
                connector=http.connector, connector_owner=False
            ),
        )

        async def on_chat(message):
            self.on_chat(message)

        async def on_presence(data):
            self.on_presence(data)

        async def on_disconnect(*reason):
            self.on_disconnect(str(reason[0]) if reason else "disconnect")

        self.sio.on("chat", on_chat, namespace=NAMESPACE)
        self.sio.on("presence", on_presence, namespace=NAMESPACE)
        self.sio.on("disconnect", on_disconnect, namespace=NAMESPACE)

    async def connect(self) -> None:
        await self.sio.connect(
            self.url,
            namespaces=[NAMESPACE],
            auth={"csrf": self.spec["csrf"]},
            headers={"Cookie": f"{COOKIE}={self.spec['cookie']}", "Origin": self.url},
            transports=["websocket"],
            wait_timeout=120,
        )

    async def call(self, event: str, data: dict, timeout: float):
        return await self.sio.call(event, data, NAMESPACE, timeout=timeout)


class RawClient(Client):
    """The Engine.IO 4 / Socket.IO 5 protocol over one aiohttp WebSocket, as the browser's
    socket.io client speaks it (text packets only): a few microseconds a message where
    python-socketio takes tens, so that 2,000 clients on a machine shared with the server
    measure the server rather than themselves."""

    def __init__(self, spec: dict, url: str, http) -> None:
        super().__init__(spec, url)
        self.http = http
        self.ws = None
        self.acks: dict[int, asyncio.Future] = {}
        self.next_ack = 0
        self.joined: asyncio.Future | None = None
        self.reader: asyncio.Task | None = None
        self.on_answer = None  # the flooder counts the answers it does not wait for

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        self.ws = await self.http.ws_connect(
            self.url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket",
            headers={"Cookie": f"{COOKIE}={self.spec['cookie']}", "Origin": self.url},
            timeout=aiohttp_timeout(120),
        )
        opened = await asyncio.wait_for(self.ws.receive_str(), 120)
        if not opened.startswith("0"):
            raise ConnectionError(f"no Engine.IO open packet: {opened[:80]}")
        self.joined = loop.create_future()
        self.reader = asyncio.create_task(self.read())
        await self.ws.send_str(f"40{NAMESPACE},{json.dumps({'csrf': self.spec['csrf']})}")
        await asyncio.wait_for(self.joined, 120)

    async def call(self, event: str, data: dict, timeout: float):
        self.next_ack += 1
        ack = self.next_ack
        future = asyncio.get_running_loop().create_future()
        self.acks[ack] = future
        payload = json.dumps([event, data], ensure_ascii=False)
        await self.ws.send_str(f"42{NAMESPACE},{ack}{payload}")
        try:
            (answer,) = await asyncio.wait_for(future, timeout)
        finally:
            self.acks.pop(ack, None)
        return answer

    async def read(self) -> None:
        ws, prefix = self.ws, f"{NAMESPACE},"
        reason = "server closed the connection"
        try:
            while True:
                message = await ws.receive()
                if message.type != WS_TEXT:
                    break
                data = message.data
                if data == "2":  # the server's ping
                    await ws.send_str("3")
                    continue
                if not data.startswith("4") or len(data) < 2:
                    continue
                kind, body = data[1], data[2:]
                body = body.removeprefix(prefix)
                if kind == "2":  # an event
                    name, payload = json.loads(body)
                    if name == "chat":
                        self.on_chat(payload)
                    elif name == "presence":
                        self.on_presence(payload)
                elif kind == "3":  # an acknowledgement: the id, then the answer
                    digits = len(body) - len(body.lstrip("0123456789"))
                    future = self.acks.get(int(body[:digits]))
                    if future is not None and not future.done():
                        future.set_result(json.loads(body[digits:]))
                    elif self.on_answer is not None:
                        self.on_answer(json.loads(body[digits:])[0])
                elif kind == "0" and not self.joined.done():
                    self.joined.set_result(True)
                elif kind == "4" and not self.joined.done():
                    self.joined.set_exception(ConnectionError(f"refused: {body[:80]}"))
                elif kind == "1":
                    reason = "server disconnected the namespace"
                    break
        except Exception as exc:
            reason = f"{type(exc).__name__}"
        self.on_disconnect(reason)
        if self.joined is not None and not self.joined.done():
            self.joined.set_exception(ConnectionError(reason))
        for future in self.acks.values():
            if not future.done():
                future.set_exception(ConnectionError(reason))


WS_TEXT = None  # aiohttp.WSMsgType.TEXT, set when a client process starts
MESSAGES = 0  # messages of the send phase, set when a client process starts


async def flood(client: RawClient, event_id: int, start: float, end: float) -> dict:
    """From ``start`` to ``end`` (wall clock), send as fast as the connection takes them:
    a dozen ``join``s of the event, a dozen events nobody handles and a dozen payloads of the
    wrong shape, over and over, without waiting for answers; connect again when closed."""
    sent: Counter = Counter()
    answers: Counter = Counter()
    reconnects = 0

    def count(answer) -> None:
        error = answer.get("error") if isinstance(answer, dict) else None
        answers["already" if isinstance(answer, dict) and answer.get("already") else error] += 1

    client.on_answer = count
    await asyncio.sleep(max(0.0, start - time.time()))
    n = 0
    while time.time() < end:
        if client.dropped:
            reconnects += 1
            client.dropped = False
            try:
                await client.connect()
            except Exception:
                await asyncio.sleep(0.05)
                client.dropped = True
                continue
        batch = (
            [("join", {"event": event_id})] * 12
            + [(f"nothing_{n + k}", {"event": event_id}) for k in range(12)]
            + [("send", "not an object")] * 12
        )
        try:
            for name, data in batch:
                n += 1
                await client.ws.send_str(f"42{NAMESPACE},{n}{json.dumps([name, data])}")
                sent[name if name in ("join", "send") else "unknown"] += 1
        except Exception:
            client.dropped = True
        await asyncio.sleep(0)  # let the reader take the answers
    return {
        "sent": {"join": sent["join"], "unknown": sent["unknown"], "garbage": sent["send"]},
        "answers": {str(k): v for k, v in answers.most_common()},
        "reconnects": reconnects,
    }


def aiohttp_timeout(seconds: float):
    import aiohttp

    return aiohttp.ClientWSTimeout(ws_receive=None, ws_close=seconds)


async def client_process(cfg: dict, index: int) -> dict:
    import aiohttp

    global WS_TEXT, MESSAGES
    WS_TEXT = aiohttp.WSMsgType.TEXT
    MESSAGES = cfg["messages"]
    loop = asyncio.get_running_loop()

    def say(**fields) -> None:
        print(json.dumps(fields), flush=True)

    # cookies go in each client's headers: one session, one pool, no shared cookie jar
    http = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), cookie_jar=aiohttp.DummyCookieJar()
    )
    kind = RawClient if cfg["client"] == "raw" else SocketIOClient
    specs = [spec for n, spec in enumerate(cfg["clients"]) if n % cfg["processes"] == index]
    clients = [kind(spec, cfg["url"], http) for spec in specs]
    gate = asyncio.Semaphore(cfg["connect_concurrency"])

    async def start(client: Client) -> bool:
        async with gate:
            return await client.start(cfg["event"])

    started = time.perf_counter()
    tasks = [asyncio.create_task(start(c)) for c in clients]
    _done, late = await asyncio.wait(tasks, timeout=cfg["connect_timeout"])
    for task in late:
        task.cancel()
    for client, task in zip(clients, tasks, strict=True):
        if task in late:
            client.error = f"not connected within {cfg['connect_timeout']:.0f} s"
    connected = [c for c in clients if not c.error]
    joined_s = time.perf_counter() - started
    flooder = None
    if cfg.get("flood") and index == 0:  # one more connection, apart from the measured ones
        flooder = RawClient(cfg["flood"], cfg["url"], http)
        if not await flooder.start(cfg["event"]):
            raise RuntimeError(f"the flooding client could not join: {flooder.error}")
    # every join tells the room the new count: wait until the last one has reached everyone
    # (or, when some were lost, until no count has come for a few seconds)
    deadline = time.monotonic() + cfg["settle_timeout"]
    while time.monotonic() < deadline and any(c.presence < cfg["total"] for c in connected):
        if time.monotonic() - max((c.presence_at for c in connected), default=0) > 5:
            break
        await asyncio.sleep(0.2)
    settled_s = time.perf_counter() - started
    say(
        ready=True,
        connected=len(connected),
        failed=len(clients) - len(connected),
        errors=Counter(c.error for c in clients if c.error).most_common(5),
        joined_s=joined_s,
        settled_s=settled_s,
        settled=sum(c.presence >= cfg["total"] for c in connected),
        dropped=sum(c.dropped for c in connected),
        connect_ms=[c.connect_ms for c in connected],
    )
    line = await loop.run_in_executor(None, sys.stdin.readline)
    go = float(line.split()[1])
    count = cfg["messages"]
    end = go + count / cfg["rate"]

    lags: list[float] = []

    async def watch_lag() -> None:
        while time.time() < end:
            before = time.perf_counter()
            await asyncio.sleep(0.05)
            lags.append((time.perf_counter() - before - 0.05) * 1000)

    # message k is sent by sender k % senders, from the process that holds that sender
    mine = {c.spec["sender"]: c for c in clients if "sender" in c.spec}
    acks: dict[int, str] = {}
    ack_ms: list[float] = []
    rng = random.Random(index)

    async def send(k: int) -> None:
        sender = mine[k % cfg["senders"]]
        if sender.error or sender.dropped:
            acks[k] = "its sender is not connected"
            return
        sent_us = time.time_ns() // 1000
        text = message_text(k, sent_us, rng)
        try:
            answer = await sender.call(
                "send",
                {"event": cfg["event"], "client_id": f"bench-{k:06d}-{index}", "text": text},
                timeout=60,
            )
            ack_ms.append(time.time() * 1000 - sent_us / 1000)
            ok = isinstance(answer, dict) and answer.get("ok")
            acks[k] = "ok" if ok else f"refused: {answer.get('error') if answer else answer}"
        except Exception as exc:
            acks[k] = f"{type(exc).__name__}"

    await asyncio.sleep(max(0.0, go - time.time()))
    lag_task = asyncio.create_task(watch_lag())
    third = count / cfg["rate"] / 3
    flood_task = (
        asyncio.create_task(flood(flooder, cfg["event"], go + third, go + 2 * third))
        if flooder is not None
        else None
    )
    tasks = []
    for k in range(count):
        if k % cfg["senders"] in mine:
            await asyncio.sleep(max(0.0, go + k / cfg["rate"] - time.time()))
            tasks.append(asyncio.create_task(send(k)))
    await asyncio.sleep(max(0.0, end - time.time()))
    await lag_task
    drain_until = time.monotonic() + cfg["drain"]
    while time.monotonic() < drain_until and any(
        len(c.received) < count for c in connected if not c.dropped
    ):
        await asyncio.sleep(0.2)
    if tasks:
        await asyncio.wait(tasks, timeout=max(0.1, drain_until - time.monotonic()))
    received: Counter = Counter()
    for c in connected:
        received.update(c.received.keys())
    flooded = await flood_task if flood_task is not None else None
    say(
        result=True,
        flood=flooded,
        thirds=[[round(x, 1) for c in connected for x in c.thirds[t]] for t in range(3)],
        acks={str(k): v for k, v in acks.items()},
        received={str(k): v for k, v in received.items()},
        duplicates=sum(v - 1 for c in connected for v in c.received.values() if v > 1),
        unknown=sum(c.unknown for c in connected),
        dropped=sum(c.dropped for c in connected),
        drops=Counter(c.drop for c in connected if c.dropped).most_common(5),
        drop_times=sorted(c.drop_at for c in connected if c.dropped),
        latencies=[round(x, 1) for c in connected for x in c.latencies],
        ack_ms=ack_ms,
        lag_p95=percentile(lags, 95),
        lag_max=max(lags, default=0.0),
    )
    # no goodbye: each disconnect would tell the whole room the new count; the server stops next
    os._exit(0)


# --- one run ----------------------------------------------------------------------------------


class Child:
    def __init__(self, cfg_path: Path, index: int, tmp: str) -> None:
        self.log = (Path(tmp) / f"clients-{index}.log").open("w")
        self.process = subprocess.Popen(  # noqa: S603  (our own interpreter and arguments)
            [sys.executable, __file__, "--client-worker", str(cfg_path), "--worker-index",
             str(index)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True,
        )  # fmt: skip

    def read(self, key: str) -> dict:
        while True:
            line = self.process.stdout.readline()
            if not line:
                self.log.flush()
                tail = Path(self.log.name).read_text()[-2000:]
                raise RuntimeError(f"a client process ended early:\n{tail}")
            with contextlib.suppress(json.JSONDecodeError):
                data = json.loads(line)
                if data.get(key):
                    return data

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self.log.close()


def run(args, target, tmp: str) -> list[str]:
    rate, seconds, clients = args.rate, args.seconds, args.clients
    count = max(1, round(rate * seconds))
    senders = max(2, math.ceil(rate * min(seconds, 60) / PER_SENDER_PER_MINUTE))
    senders = min(senders, clients)
    app = create_app(app_config(target, tmp))
    started = time.perf_counter()
    event_id, sender_accounts = seed(app, senders)
    print(f"  seeded {senders} senders and an event in {time.perf_counter() - started:.1f} s")
    server = Server(args.server, target.url, tmp, clients)
    children: list[Child] = []
    try:
        print(f"  server: {server.label}; one process, 127.0.0.1:{server.port}; {target.label}")
        started = time.perf_counter()
        viewers = sessions(
            server, event_id, sender_accounts, max(1, min(ANONYMOUS_SESSIONS, clients - senders))
        )
        print(
            f"  sessions: {senders} senders logged in, {len(viewers)} anonymous sessions for"
            f" {clients - senders} viewers in {time.perf_counter() - started:.1f} s"
        )
        # the senders spread over the clients (and so over the client processes)
        spread = set(range(0, clients, max(1, clients // senders))[:senders])
        specs, s_iter, v = [], enumerate(sender_accounts), 0
        for n in range(clients):
            if n in spread:
                j, a = next(s_iter)
                specs.append({"cookie": a.cookie, "csrf": a.csrf, "sender": j})
            else:
                a = viewers[v % len(viewers)]
                v += 1
                specs.append({"cookie": a.cookie, "csrf": a.csrf})
        cfg = {
            "url": server.url,
            "event": event_id,
            "clients": specs,
            "total": clients,
            "processes": args.client_processes,
            "connect_concurrency": args.connect_concurrency,
            "connect_timeout": args.connect_timeout,
            "settle_timeout": 120,
            "rate": rate,
            "messages": count,
            "drain": max(10.0, seconds),
            "client": args.client,
            "senders": senders,
            # an anonymous viewer's session: a page anyone can open
            "flood": {"cookie": viewers[0].cookie, "csrf": viewers[0].csrf} if args.flood else None,
        }
        cfg_path = Path(tmp) / "clients.json"
        cfg_path.write_text(json.dumps(cfg))
        print(
            f"  clients: {clients} ({senders} signed-in senders, {clients - senders} anonymous"
            f" viewers) in {args.client_processes} other process(es), {CLIENTS[args.client]},"
            f" WebSocket, {args.connect_concurrency} connecting at a time"
        )
        cpu0, t0 = server.cpu_seconds(), time.perf_counter()
        children = [Child(cfg_path, i, tmp) for i in range(args.client_processes)]
        ready = [child.read("ready") for child in children]
        connect_wall = time.perf_counter() - t0
        connect_cpu = server.cpu_seconds() - cpu0
        connect_child_cpu = sum(cpu_seconds(c.process.pid) for c in children)
        connected = sum(r["connected"] for r in ready)
        failed = sum(r["failed"] for r in ready)
        connect_ms = [x for r in ready for x in r["connect_ms"]]
        print(
            f"  connect: {connected}/{clients} connected and joined in"
            f" {max(r['joined_s'] for r in ready):.1f} s (one client: p50"
            f" {percentile(connect_ms, 50):.0f} ms, p95 {percentile(connect_ms, 95):.0f} ms);"
            f" presence count reached everyone after {max(r['settled_s'] for r in ready):.1f} s;"
            f" server CPU {connect_cpu:.1f} s ({connect_cpu / connect_wall:.2f} cores), clients'"
            f" {connect_child_cpu:.1f} s"
        )
        for r in ready:
            for error, n in r["errors"]:
                print(f"  connect:   {n} × {error}")
        settled = sum(r["settled"] for r in ready)
        if settled < connected:
            print(f"  connect:   only {settled} clients saw the full count before sending")
        go = time.time() + 1.0
        for child in children:
            child.process.stdin.write(f"go {go}\n")
            child.process.stdin.flush()
        time.sleep(max(0.0, go - time.time()))
        cpu0, busy0 = server.cpu_seconds(), machine_busy()
        child_cpu0 = sum(cpu_seconds(c.process.pid) for c in children)
        t0 = time.perf_counter()
        time.sleep(count / rate)
        wall = time.perf_counter() - t0
        cpu = server.cpu_seconds() - cpu0
        child_cpu = sum(cpu_seconds(c.process.pid) for c in children) - child_cpu0
        busy1 = machine_busy()
        busy = (busy1[0] - busy0[0]) / max(busy1[1] - busy0[1], 1)
        rss = server.rss_mb()
        results = [child.read("result") for child in children]
        acks = {}
        for r in results:
            acks.update(r["acks"])
        received: Counter = Counter()
        for r in results:
            received.update({int(k): v for k, v in r["received"].items()})
        latencies = [x for r in results for x in r["latencies"]]
        duplicates = sum(r["duplicates"] for r in results)
        unknown = sum(r["unknown"] for r in results)
        dropped = sum(r["dropped"] for r in results)
        sent_ok = [k for k, v in acks.items() if v == "ok"]
        refused = Counter(v for v in acks.values() if v != "ok")
        expected = len(sent_ok) * connected
        delivered = sum(received[int(k)] for k in sent_ok)
        print(
            f"  sent: {count} messages in {count / rate:.0f} s ({rate:g}/s) by {senders} senders;"
            f" {len(sent_ok)} acknowledged"
            + (f"; {sum(refused.values())} not: {dict(refused)}" if refused else "")
        )
        print(
            f"  delivered: {delivered}/{expected} (message × connected client); {duplicates}"
            f" twice; {dropped} clients dropped; {unknown} unknown messages"
        )
        if dropped:
            times = sorted(t - go for r in results for t in r["drop_times"])
            reasons = Counter()
            for r in results:
                reasons.update(dict(r["drops"]))
            print(
                f"  dropped: {dict(reasons)}, from {times[0]:+.0f} s to {times[-1]:+.0f} s"
                " after the send phase began"
            )
        p50, p95, p99 = (percentile(latencies, p) for p in (50, 95, 99))
        print(
            f"  delivery latency: p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms,"
            f" max {max(latencies, default=float('nan')):.0f} ms ({len(latencies)} deliveries)"
        )
        if args.flood:
            (flooded,) = [r["flood"] for r in results if r.get("flood")]
            third = count / rate / 3
            print(
                f"  flood: one more connection, from {third:.0f} s to {2 * third:.0f} s, sent"
                f" {sum(flooded['sent'].values())} events ({flooded['sent']['join']} join,"
                f" {flooded['sent']['unknown']} unknown, {flooded['sent']['garbage']} garbage"
                f" send); answered {flooded['answers']}; closed by the server and connected"
                f" again {flooded['reconnects']} times"
            )
            for t, name in enumerate(("before the flood (baseline)", "during it", "after it")):
                part = [x for r in results for x in r["thirds"][t]]
                print(
                    f"  delivery latency {name}: p50 {percentile(part, 50):.0f} ms, p95"
                    f" {percentile(part, 95):.0f} ms, max {max(part, default=float('nan')):.0f}"
                    f" ms ({len(part)} deliveries)"
                )
        ack_ms = [x for r in results for x in r["ack_ms"]]
        print(
            f"  a sender's acknowledgement (stored, moderated, sent to the room): p50"
            f" {percentile(ack_ms, 50):.0f} ms, p95 {percentile(ack_ms, 95):.0f} ms, max"
            f" {max(ack_ms, default=float('nan')):.0f} ms"
        )
        print(
            f"  server CPU during the send phase: {cpu / wall:.2f} cores ({cpu:.1f} s in"
            f" {wall:.1f} s); RSS {rss:.0f} MB; clients' CPU {child_cpu / wall:.2f} cores, event"
            f" loop lag p95 {max(r['lag_p95'] for r in results):.0f} ms, max"
            f" {max(r['lag_max'] for r in results):.0f} ms; machine {busy:.0%} busy"
        )
        errors = server.errors()
        if errors:
            print(f"  server log: {sum(errors.values())} errors")
            for error, n in errors.most_common(5):
                print(f"    {n} × {error}")
        verdict = "met" if p95 <= TARGET_P95_MS else "missed"
        print(f"  target p95 ≤ {TARGET_P95_MS} ms with {clients} clients: {verdict}")
        failures = []
        if failed or connected < clients:
            failures.append(f"{clients - connected} clients could not connect")
        if len(sent_ok) < count:
            failures.append(f"{count - len(sent_ok)} messages not acknowledged")
        if dropped:
            failures.append(f"{dropped} clients dropped")
        if duplicates or unknown:
            failures.append(f"{duplicates} duplicates, {unknown} unknown messages")
        if delivered < expected:
            failures.append(f"{expected - delivered} deliveries missing")
        result = "PASS" if not failures else "FAIL (" + "; ".join(failures) + ")"
        print(f"  every message delivered once to every viewer: {result}")
        return failures
    finally:
        server.stop()
        for child in children:
            child.stop()
        with app.app_context():
            db.engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50 clients for 5 s")
    parser.add_argument("--clients", type=int, help="clients in the event (default 2000)")
    parser.add_argument("--seconds", type=float, help="length of the send phase (default 30)")
    parser.add_argument("--rate", type=float, default=5.0, help="messages a second (default 5)")
    parser.add_argument("--server", choices=("gevent", "threading"), help="default gevent")
    parser.add_argument("--client-processes", type=int, help="default 1 (2 from 1,000 clients)")
    parser.add_argument("--connect-concurrency", type=int, default=50)
    parser.add_argument(
        "--connect-timeout", type=float, default=180, help="seconds for every client to join"
    )
    parser.add_argument(
        "--client",
        choices=("raw", "python-socketio"),
        default="raw",
        help="the protocol over aiohttp directly (default), or python-socketio's AsyncClient",
    )
    parser.add_argument(
        "--pg",
        default=os.environ.get("KOE_BENCH_DATABASE_URL"),
        help="PostgreSQL server URL (default $KOE_BENCH_DATABASE_URL); a fresh database is used",
    )
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="default: --pg if set")
    parser.add_argument(
        "--flood",
        action="store_true",
        help="one more connection floods joins, unknown and garbage events in the middle third",
    )
    parser.add_argument("--client-worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-index", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    limit = raise_fd_limit()
    if args.client_worker:
        cfg = json.loads(Path(args.client_worker).read_text())
        asyncio.run(client_process(cfg, args.worker_index))
        return 0
    args.clients = args.clients or (50 if args.quick else 2000)
    args.seconds = args.seconds or (5.0 if args.quick else 30.0)
    if args.client_processes is None:
        args.client_processes = 2 if args.clients >= 1000 else 1
    missing = [name for name in ("aiohttp", "socketio") if importlib.util.find_spec(name) is None]
    if missing:
        # the clients need python-socketio[asyncio_client]; nothing to measure without them
        print(f"Koe chat load benchmark: skipped ({', '.join(missing)} not installed)")
        return 0
    if args.server == "gevent" and importlib.util.find_spec("gevent") is None:
        parser.error("--server gevent needs gevent (pip install gevent)")
    args.server = args.server or (
        "gevent" if importlib.util.find_spec("gevent") is not None else "threading"
    )
    print("Koe chat load benchmark" + (" (quick)" if args.quick else ""))
    before = machine_busy()
    time.sleep(1)
    after = machine_busy()
    idle_busy = (after[0] - before[0]) / max(after[1] - before[1], 1)
    print(
        f"  setup: Python {platform.python_version()}, {os.cpu_count()} CPUs, async mode"
        f" {args.server}, {args.clients} clients"
        + (" and one flooding connection" if args.flood else "")
        + f", {args.seconds:g} s at {args.rate:g} messages/s,"
        f" open files ≤ {limit}; machine {idle_busy:.0%} busy in the second before the run"
    )
    print("  (server and clients share this machine's CPUs)")

    def stop(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    with tempfile.TemporaryDirectory(prefix="koe-chat-") as tmp:
        if args.only == "postgresql" and not args.pg:
            parser.error("--only postgresql needs --pg URL or KOE_BENCH_DATABASE_URL")
        use_pg = args.pg and args.only != "sqlite"
        target = postgres_target(args.pg) if use_pg else sqlite_target(tmp)
        try:
            failed = run(args, target, tmp)
        finally:
            drop_database(target)
    print()
    print("RESULT: " + ("PASS" if not failed else "FAIL (" + "; ".join(failed) + ")"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
