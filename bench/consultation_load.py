"""Consultations under load (issue 4): the page and the opinion POST with 10,000 opinions, and a
burst of 10,000 opinions in the last minute before closing.

1. With 10,000 opinions in a consultation, 50 concurrent clients (each signed in with its own
   session) fetch the consultation page, then post opinions. Targets: page p95 ≤ 50 ms, POST
   p95 ≤ 100 ms. A trivial endpoint of the same app (``GET /livez``) is measured in the same run
   and the page's throughput is printed as a ratio of it. Twice: in a closed loop (each
   client sends its next request as soon as the answer comes: the server saturated, so p95 is
   about clients ÷ throughput), and as 50 people browsing (a random pause of mean 1 s before
   each request: the latency a person sees when 50 use the site at once). The same requests
   from one client show the time of one request without queueing.
2. A burst of 10,000 opinion POSTs from 100 clients in the last minute before closing, some sent
   twice at once (double click), some abandoned and sent again with the same key (a timeout),
   some sent again after their receipt; a few more are sent after closing. Then the database
   is checked: every acknowledged receipt is stored exactly once, no receipt or (author, key)
   twice, nothing stored with a time after closing. This part prints PASS or FAIL and the exit
   status is non-zero on FAIL. Timing is never a failure.

The app runs in gunicorn (gthread) in its own process; this process seeds through the app's
operations, then is the client (stdlib http.client with keep-alive, one thread per client).
SQLite (a temporary file) always; PostgreSQL too with ``--pg URL`` or KOE_BENCH_DATABASE_URL
(a server: a fresh database koe_bench_<random> is created there and dropped at the end).

    python bench/consultation_load.py [--quick] [--pg URL] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import http.client
import itertools
import math
import os
import platform
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from flask_migrate import upgrade
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.engine import make_url

import moderation
from app import create_app
from app.auth import operations as auth_ops
from app.auth.models import Role, User
from app.consultations import operations as consultation_ops
from app.consultations.models import Consultation, Opinion, ReactionKind, State
from app.extensions import db
from app.moderation.models import ItemStatus, ModerationItem

ROOT = Path(__file__).resolve().parents[1]
VOICES = ROOT.parent / "shared" / "datasets" / "resident-voices" / "voices.tsv"
PASSWORD = "a benchmark pass phrase"
SECRET = "bench-only-secret-consultation-load"  # one key for every worker: sessions work anywhere
COOKIE = "koe_session"
CSRF = re.compile(rb'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
RECEIPT = re.compile(r"/consultations/receipts/([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})")
ERRORS = re.compile(rb'<div class="error-summary".*?</div>', re.S)
TAG = re.compile(r"<[^>]+>")
AREAS = ("", "north", "central", "south", "east", "west")
AGE_BANDS = ("", "20s", "30s", "40s", "50s", "60s", "70s")
#: moderation refuses a sixth post from one person within a minute (flood), so each account
#: posts at most this many times in a phase
POSTS_PER_ACCOUNT = 4
DRAFT = """# 第1章 総則
この計画は、声区のみどりを守り、増やし、区民が身近に自然を楽しめるまちをつくるためのものです。

# 第2章 公園
公園の遊具とベンチを更新し、日陰をつくる樹木を植えます。

# 第3章 街路樹
幹線道路の街路樹を順次植え替え、落ち葉の清掃を地域と協力して行います。

# 第4章 屋上緑化
区の施設の屋上を緑化し、民間の建物には助成を行います。

# 第5章 推進体制
区民、事業者、区が協力して計画を進め、毎年その進み具合を公表します。"""


@dataclass(frozen=True)
class Settings:
    opinions: int  # in the consultation whose page is measured
    clients: int
    page_requests: int
    post_requests: int
    livez_requests: int
    serial_pages: int  # one client alone: the time of one request without queueing
    serial_posts: int
    paced_pages: int  # 50 people browsing: each waits a random pause (mean ``think``) between
    paced_posts: int  # requests, as a person reads before the next click
    think: float
    reactions: int
    burst: int
    burst_clients: int
    burst_window: float  # seconds from the start of the burst to the closing time
    close_during_burst: bool  # else the consultation closes just after the burst's answers
    grace: float  # after closing, no new burst opinion is started after this many seconds
    workers: int = 2
    threads: int = 8
    timeout: float = 30.0  # the client gives up on an answer (and sends again with the same key)


FULL = Settings(
    opinions=10_000,
    clients=50,
    page_requests=1_000,
    post_requests=500,
    livez_requests=10_000,
    serial_pages=50,
    serial_posts=20,
    paced_pages=1_000,
    paced_posts=200,
    think=1.0,
    reactions=2_000,
    burst=10_000,
    burst_clients=100,
    burst_window=60.0,
    close_during_burst=True,
    grace=10.0,
)
QUICK = Settings(
    opinions=500,
    clients=10,
    page_requests=60,
    post_requests=40,
    livez_requests=1_000,
    serial_pages=5,
    serial_posts=4,
    paced_pages=20,
    paced_posts=10,
    think=0.2,
    reactions=100,
    burst=120,
    burst_clients=20,
    burst_window=10.0,
    close_during_burst=False,
    grace=2.0,
)


# --- texts --------------------------------------------------------------------------------


def load_voices() -> list[str]:
    """Residents' opinions from ../shared/datasets (read there, never copied); else generated."""
    try:
        with VOICES.open(encoding="utf-8") as fh:
            voices = [row["text"].strip() for row in csv.DictReader(fh, delimiter="\t")]
        if len(voices) >= 50:
            return [v for v in voices if v]
    except (OSError, KeyError, csv.Error):
        pass
    places = ["駅前の広場", "中央公園", "区立図書館", "川沿いの遊歩道", "商店街", "小学校の通学路"]
    wishes = [
        "にベンチを増やしてほしいです",
        "の木陰が夏にとても助かっています",
        "の街灯が暗いので明るくしてください",
        "に花壇をつくってはどうでしょうか",
        "の落ち葉の掃除を地域でも手伝いたいです",
        "の樹木を切らずに残してほしいです",
    ]
    reasons = [
        "子どもと毎日通るので",
        "高齢の母が散歩するので",
        "夜に帰宅することが多いので",
        "休日によく利用するので",
        "",
    ]
    return [f"{r}{p}{w}" for p, w, r in itertools.product(places, wishes, reasons)]


def compose(rng: random.Random, voices: list[str], parts: tuple[int, ...] = (2, 2, 3)) -> str:
    """An opinion of a few residents' sentences: varied, so that the spam checks see no copies
    (one person's two posts of the same sentence would be refused as a duplicate)."""
    return "。".join(v.rstrip("。") for v in rng.sample(voices, rng.choice(parts))) + "。"


# --- database and seeding -------------------------------------------------------------------


@dataclass
class Target:
    label: str
    url: str
    drop: str | None = None  # a PostgreSQL database this run created (dropped at the end)
    admin_url: str | None = None


def sqlite_target(tmp: str) -> Target:
    return Target("SQLite", f"sqlite:///{tmp}/bench.sqlite3")


def postgres_target(server: str) -> Target:
    base = make_url(server)
    name = f"koe_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    url = base.set(database=name).render_as_string(hide_password=False)
    return Target("PostgreSQL", url, drop=name, admin_url=server)


def drop_database(target: Target) -> None:
    if not target.drop:
        return
    admin = create_engine(make_url(target.admin_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{target.drop}" WITH (FORCE)'))
    finally:
        admin.dispose()


def app_config(target: Target, tmp: str) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": target.url,
        "INSTANCE_PATH": tmp,
        "SECRET_KEY": SECRET,
        "RATELIMIT_ENABLED": False,
        "MAIL_SERVER": None,
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_KIB": 1024,
    }


@dataclass
class Account:
    email: str
    cookie: str | None = None
    csrf: str | None = None


@dataclass
class Seeded:
    main_id: int
    burst_id: int
    sections: list[str]  # ids of the measured consultation's sections, as the form sends them
    burst_sections: list[str]
    published: int
    held: int
    clients: list[Account]  # one main account per client (pages; seeded opinions)
    posters: list[list[Account]]  # per client, the accounts it posts with
    paced: list[list[Account]]  # per client, the accounts it posts with in the paced phase
    serial: list[Account]
    burst: list[Account]


def new_consultation(staff: User, title: str, opens: datetime, closes: datetime) -> Consultation:
    data = consultation_ops.ConsultationData(
        title=title,
        summary="区民の皆さまのご意見を募集します。",
        department="環境課みどり係",
        contact="環境課みどり係（区役所3階）",
        topics="みどり, 公園",
        area=None,
        opens_at=opens,
        closes_at=closes,
        draft=DRAFT,
    )
    consultation = consultation_ops.save_consultation(None, data, staff)
    consultation_ops.move(consultation, State.OPEN, staff)
    return consultation


def make_accounts(prefix: str, count: int, start: int) -> list[Account]:
    accounts = []
    for n in range(start, start + count):
        user = auth_ops.create_user(
            f"区民{n:05d}", f"{prefix}{n}@bench.example.jp", PASSWORD, Role.RESIDENT
        )
        accounts.append(Account(user.email))
        if n % 500 == 0:
            db.session.commit()
    db.session.commit()
    return accounts


def seed(app, s: Settings, voices: list[str], rng: random.Random) -> Seeded:
    """Schema by the migrations; users, consultations, opinions and reactions by operations."""
    with app.app_context():
        upgrade()
        now = datetime.now(UTC)
        opens = now - timedelta(days=30)
        staff = auth_ops.create_user("ベンチ職員", "staff@bench.example.jp", PASSWORD, Role.STAFF)
        main = new_consultation(
            staff, "声区みどりの基本計画（案）", opens, now + timedelta(days=30)
        )
        burst = new_consultation(
            staff,
            "声区みどりの基本計画（案）第2回",
            now - timedelta(days=1),
            now + timedelta(days=1),
        )
        db.session.commit()
        per_client = math.ceil(s.post_requests / s.clients / POSTS_PER_ACCOUNT)
        clients = make_accounts("client", s.clients, 1)
        posters = [make_accounts(f"poster{c}-", per_client, 1) for c in range(s.clients)]
        per_paced = math.ceil(s.paced_posts / s.clients / POSTS_PER_ACCOUNT)
        paced = [make_accounts(f"paced{c}-", per_paced, 1) for c in range(s.clients)]
        serial = make_accounts("serial", math.ceil(s.serial_posts / POSTS_PER_ACCOUNT), 1)
        bursters = make_accounts("burst", math.ceil(s.burst / POSTS_PER_ACCOUNT), 1)
        authors = list(
            db.session.scalars(select(User).where(User.role == Role.RESIDENT).order_by(User.id))
        )
        authors = authors[: s.clients + s.clients * per_client]

        # opinions arrived over the last month (older than a day, so the spam checks of new
        # posts do not compare with them: that is what a real consultation looks like)
        sections = list(main.sections)
        span = (now - timedelta(days=2)) - opens
        batch: dict[int, datetime] = {}
        for n in range(s.opinions):
            result = moderation.scan(compose(rng, voices, (1, 2, 2, 3)))
            while result.verdict == "reject":
                result = moderation.scan(compose(rng, voices, (1, 2, 2, 3)))
            opinion, _created = consultation_ops.submit_opinion(
                main,
                rng.choice(authors),
                result,
                section=rng.choice([None, *sections]),
                show_name=rng.random() < 0.3,
                age_band=rng.choice(AGE_BANDS) or None,
                area=rng.choice(AREAS) or None,
            )
            opinion.created_at = opens + span * (n / s.opinions)
            batch[opinion.id] = opinion.created_at
            if len(batch) == 500 or n == s.opinions - 1:
                for item in db.session.scalars(
                    select(ModerationItem).where(
                        ModerationItem.source == consultation_ops.OPINION,
                        ModerationItem.source_id.in_([str(i) for i in batch]),
                    )
                ):
                    item.created_at = item.updated_at = batch[int(item.source_id)]
                db.session.commit()
                batch.clear()

        opinion_ids = list(
            db.session.scalars(select(Opinion.id).where(Opinion.consultation_id == main.id))
        )
        readers = authors[: s.clients]
        front = opinion_ids[:200]  # the first pages get most reactions, as on a real site
        done = 0
        for _ in range(s.reactions * 2):
            if done >= s.reactions:
                break
            pool = front if rng.random() < 0.7 else opinion_ids
            opinion = db.session.get(Opinion, rng.choice(pool))
            try:
                consultation_ops.react(opinion, rng.choice(readers), rng.choice(list(ReactionKind)))
            except consultation_ops.NotAllowed:
                continue
            done += 1
            if done % 500 == 0:
                db.session.commit()
        db.session.commit()

        if db.engine.dialect.name == "postgresql":
            # planner statistics, as autovacuum keeps them on a live server after a bulk of new
            # rows (without them PostgreSQL joins opinions and items row by row: minutes a page)
            autovacuum = db.session.scalar(text("SHOW autovacuum"))
            db.session.execute(text("ANALYZE"))
            db.session.commit()
            print(f"  ANALYZE after seeding (autovacuum is {autovacuum} on this server)")
        statuses = Counter(
            db.session.scalars(
                select(ModerationItem.status).where(
                    ModerationItem.source == consultation_ops.OPINION
                )
            )
        )
        seeded = Seeded(
            main_id=main.id,
            burst_id=burst.id,
            sections=[str(x.id) for x in sections],
            burst_sections=[str(x.id) for x in burst.sections],
            published=statuses[ItemStatus.PUBLISHED],
            held=statuses[ItemStatus.HELD],
            clients=clients,
            posters=posters,
            paced=paced,
            serial=serial,
            burst=bursters,
        )
        db.session.remove()
        db.engine.dispose()
    return seeded


# --- the server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn with gthread workers in its own process group, configured by KOE_* variables."""

    def __init__(self, target: Target, tmp: str, s: Settings) -> None:
        self.port = free_port()
        self.log = Path(tmp) / "gunicorn.log"
        self._read = 0
        self.log_file = self.log.open("w")
        env = {k: v for k, v in os.environ.items() if not k.startswith("KOE_")}
        env.update(
            KOE_DATABASE_URL=target.url,
            KOE_SECRET_KEY=SECRET,
            KOE_INSTANCE_PATH=tmp,
            KOE_BASE_URL=f"http://127.0.0.1:{self.port}",
            KOE_RATELIMIT_ENABLED="0",
            KOE_ARGON2_TIME_COST="1",
            KOE_ARGON2_MEMORY_KIB="1024",
        )
        self.command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(s.workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(s.threads),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--keep-alive",
            "120",
            "--timeout",
            "120",
            "--graceful-timeout",
            "5",
            "--backlog",
            "2048",
            "--log-level",
            "warning",
            "--chdir",
            str(ROOT),
            "wsgi:app",
        ]
        self.process = subprocess.Popen(  # noqa: S603  (our own interpreter and arguments)
            self.command,
            env=env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log.read_text()[-3000:]}")
            try:
                reply = Connection(self.port, 2).send("GET", "/livez")
                if reply.status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer:\n{self.log.read_text()[-3000:]}")

    def new_errors(self) -> Counter:
        """Unhandled errors the app logged since the last call: route and exception, counted."""
        with self.log.open(encoding="utf-8", errors="replace") as fh:
            fh.seek(self._read)
            lines = fh.read().splitlines()
            self._read = fh.tell()
        found: Counter = Counter()
        route = where = None
        ours = re.compile(rf'File "{re.escape(str(ROOT))}/(?!\.venv)([^"]+)", line (\d+), in (\S+)')
        for line in lines:
            if "unhandled error on" in line:
                route, where = line.split("unhandled error on", 1)[1].strip(), None
            elif route and (frame := ours.search(line)):
                where = f"{frame.group(1)}:{frame.group(2)} {frame.group(3)}"  # our innermost
            elif (
                route
                and line
                and not line[0].isspace()
                and not line.startswith(("Traceback", "The above exception", "During handling"))
            ):
                # the first exception of the chain, and the last line of our code it went through
                found[f"{route}: {line[:140]}" + (f" (in {where})" if where else "")] += 1
                route = None
        return found

    def cpu_seconds(self) -> float:
        """CPU time of the master and its workers (Linux /proc), 0 where unknown."""
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            total = 0
            for p in [str(pid), *children]:
                fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            return total / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return 0.0

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.log_file.close()


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs from /proc/stat, for the share the machine was busy."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0, 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return float(sum(values) - idle), float(sum(values))


# --- the client -------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    location: str
    body: bytes
    ms: float
    sent: float  # wall clock (time.time()) when the request was sent
    done: float

    @property
    def receipt(self) -> str | None:
        match = RECEIPT.search(self.location) if self.status in (302, 303) else None
        return match.group(1) if match else None

    def problem(self) -> str:
        """What the page says went wrong (its error summary), short."""
        match = ERRORS.search(self.body)
        if not match:
            return f"HTTP {self.status}"
        words = " ".join(TAG.sub(" ", match.group(0).decode("utf-8", "replace")).split())
        return f"HTTP {self.status}: {words[:120]}"


class Connection:
    """One keep-alive HTTP connection; the cookie belongs to the account a request is sent for."""

    def __init__(self, port: int, timeout: float) -> None:
        self.port, self.timeout = port, timeout
        self.http: http.client.HTTPConnection | None = None
        self._pending: tuple[Account | None, float, float] | None = None

    def close(self) -> None:
        if self.http is not None:
            self.http.close()
            self.http = None

    def start(self, method: str, path: str, account: Account | None = None, form=None) -> None:
        """Send a request without reading its answer (``finish`` reads it)."""
        if self.http is None:
            self.http = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        headers = {"Accept-Language": "ja"}
        if account is not None and account.cookie:
            headers["Cookie"] = f"{COOKIE}={account.cookie}"
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self._pending = (account, time.time(), time.perf_counter())
        try:
            self.http.request(method, path, body, headers)
        except Exception:
            self.close()
            raise

    def finish(self) -> Reply:
        account, sent, started = self._pending
        try:
            response = self.http.getresponse()
            body = response.read()
        except Exception:
            self.close()
            raise
        elapsed = (time.perf_counter() - started) * 1000
        if account is not None:
            for cookie in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = cookie.partition("=")
                if name.strip() == COOKIE:
                    value = rest.split(";", 1)[0]
                    account.cookie = None if "Expires=Thu, 01 Jan 1970" in cookie else value
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return Reply(
            response.status, response.getheader("Location", ""), body, elapsed, sent, time.time()
        )

    def send(self, method: str, path: str, account: Account | None = None, form=None) -> Reply:
        reused = self.http is not None and self.http.sock is not None
        try:
            self.start(method, path, account, form)
            return self.finish()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            if not reused or method != "GET":  # a GET on a connection the server closed: again
                raise
            self.start(method, path, account, form)
            return self.finish()


def log_in(conn: Connection, account: Account) -> None:
    page = conn.send("GET", "/auth/login", account)
    token = CSRF.search(page.body).group(1).decode()
    form = {"email": account.email, "password": PASSWORD, "csrf_token": token}
    answer = conn.send("POST", "/auth/login", account, form)
    if answer.status != 302:
        raise RuntimeError(f"log-in of {account.email} failed: {answer.problem()}")
    # the new session has no CSRF token yet: any page with a form makes one
    account.csrf = CSRF.search(conn.send("GET", "/privacy", account).body).group(1).decode()


def in_parallel(count: int, work) -> float:
    """Run ``work(i)`` in ``count`` threads that start together; return the wall seconds."""
    barrier = threading.Barrier(count + 1)
    failures: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            work(i)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return time.perf_counter() - start


@dataclass
class Phase:
    name: str
    ms: list[float] = field(default_factory=list)  # expected answers only
    errors: Counter = field(default_factory=Counter)
    wall: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    busy: float = 0.0

    def add(self, reply: Reply | None, good: bool, problem: str = "") -> None:
        if good and reply is not None:
            self.ms.append(reply.ms)
        else:
            self.errors[problem or (reply.problem() if reply else "no answer")] += 1

    @property
    def n(self) -> int:
        return len(self.ms) + sum(self.errors.values())

    def percentile(self, p: int) -> float:
        if len(self.ms) < 2:
            return self.ms[0] if self.ms else float("nan")
        return statistics.quantiles(self.ms, n=100, method="inclusive")[p - 1]

    @property
    def rate(self) -> float:
        return self.n / self.wall if self.wall else 0.0

    def report(self) -> None:
        median = statistics.median(self.ms) if self.ms else float("nan")
        print(
            f"  {self.name:<40} n={self.n:<6} errors {sum(self.errors.values()):<4}"
            f" median {median:7.1f} ms  p95 {self.percentile(95):7.1f} ms"
            f"  p99 {self.percentile(99):7.1f} ms  {self.rate:7.1f} req/s"
        )
        if self.wall:
            per = self.server_cpu * 1000 / self.n if self.n else 0
            print(
                f"  {'':<40} server CPU {per:.1f} ms/request; machine busy {self.busy:.0%};"
                f" client CPU {self.client_cpu / self.wall:.0%} of one core"
            )
        for problem, count in self.errors.most_common(5):
            print(f"  {'':<40} {count} × {problem}")


def measure(
    name: str, server: Server, clients: int, per_client: int, request, think: float = 0.0
) -> Phase:
    """``clients`` threads, each sending ``per_client`` requests: back to back (closed loop,
    the server saturated), or with a random pause of mean ``think`` seconds before each (people
    reading between clicks; the pauses are exponential, so arrivals bunch as they do)."""
    phase = Phase(name)
    cpu, client_cpu, machine = server.cpu_seconds(), time.process_time(), machine_busy()

    def work(i: int) -> None:
        conn = Connection(server.port, 60)
        pauses = random.Random(i)
        try:
            for j in range(per_client):
                if think:
                    time.sleep(pauses.expovariate(1 / think))
                try:
                    request(conn, i, j, phase)
                except (OSError, http.client.HTTPException) as exc:
                    phase.add(None, False, type(exc).__name__)
        finally:
            conn.close()

    phase.wall = in_parallel(clients, work)
    phase.server_cpu = server.cpu_seconds() - cpu
    phase.client_cpu = time.process_time() - client_cpu
    busy, total = machine_busy()
    phase.busy = (busy - machine[0]) / (total - machine[1]) if total > machine[1] else 0.0
    return phase


def opinion_form(account: Account, rng: random.Random, voices, sections, key=None) -> dict:
    form = {
        "csrf_token": account.csrf,
        "key": key or uuid.uuid4().hex,
        "section": rng.choice(["", *sections]),
        "body": compose(rng, voices),
        "age_band": rng.choice(AGE_BANDS),
        "area": rng.choice(AREAS),
    }
    if rng.random() < 0.3:
        form["show_name"] = "y"
    return form


# --- the burst --------------------------------------------------------------------------------


@dataclass
class Job:
    n: int
    account: Account
    form: dict
    mode: str  # once, double (two at once), abandon (then again), again (after the receipt)
    late: bool = False  # sent after closing on purpose
    unsent: bool = False  # time was up before it was sent
    #: (kind, the answer or None, what went wrong, wall clock when sent)
    attempts: list[tuple[str, Reply | None, str, float]] = field(default_factory=list)


class Burst:
    """Send the burst's opinions; the consultation closes during it or just after it."""

    def __init__(self, app, s: Settings, server: Server, seeded: Seeded, voices, rng) -> None:
        self.app, self.s, self.server, self.seeded = app, s, server, seeded
        self.path = f"/consultations/{seeded.burst_id}/opinions"
        late = max(10, s.burst // 100)
        modes = rng.choices(("once", "double", "abandon", "again"), (93, 3, 2, 2), k=s.burst)
        accounts = seeded.burst
        self.jobs = [
            Job(
                n,
                accounts[n % len(accounts)],  # an account's posts are len(accounts) jobs apart
                opinion_form(
                    accounts[n % len(accounts)],
                    rng,
                    voices,
                    seeded.burst_sections,
                    key=f"burst-{n}-{uuid.uuid4().hex[:8]}",
                ),
                modes[n],
            )
            for n in range(s.burst)
        ]
        self.main = deque(self.jobs)
        self.late = deque(
            Job(
                s.burst + n,
                accounts[n % len(accounts)],
                opinion_form(accounts[n % len(accounts)], rng, voices, seeded.burst_sections),
                "once",
                late=True,
            )
            for n in range(late)
        )
        self.jobs.extend(self.late)
        self.lock = threading.Lock()
        self.rng = random.Random(rng.random())
        self.closes: float | None = None  # wall clock of the closing time, once set
        self.running = 0
        self.main_done = threading.Event()

    def close_at(self, when: datetime) -> None:
        with self.app.app_context():
            db.session.execute(
                update(Consultation)
                .where(Consultation.id == self.seeded.burst_id)
                .values(closes_at=when)
            )
            db.session.commit()
            db.session.remove()
        self.closes = when.timestamp()

    def run(self) -> float:
        if self.s.close_during_burst:
            self.close_at(datetime.now(UTC) + timedelta(seconds=self.s.burst_window))
        else:
            threading.Thread(target=self._close_after_main, daemon=True).start()
        return in_parallel(self.s.burst_clients, self._client)

    def _close_after_main(self) -> None:
        self.main_done.wait()
        self.close_at(datetime.now(UTC) + timedelta(seconds=1))

    def _next_main(self) -> Job | None:
        with self.lock:
            if self.main and self.closes and time.time() > self.closes + self.s.grace:
                for job in self.main:  # time is up: these are never sent
                    job.unsent = True
                self.main.clear()
            if self.main:
                self.running += 1
                return self.main.popleft()
            if self.running == 0:
                self.main_done.set()
            return None

    def _client(self, _i: int) -> None:
        conn = Connection(self.server.port, self.s.timeout)
        spare = Connection(self.server.port, self.s.timeout)
        try:
            while (job := self._next_main()) is not None:
                try:
                    self._send(job, conn, spare)
                finally:
                    with self.lock:
                        self.running -= 1
                        if not self.main and self.running == 0:
                            self.main_done.set()
            while True:  # the late ones, after closing
                while self.closes is None or time.time() < self.closes:
                    time.sleep(0.05)
                with self.lock:
                    job = self.late.popleft() if self.late else None
                if job is None:
                    return
                self._send(job, conn, spare)
        finally:
            conn.close()
            spare.close()

    def _attempt(self, conn: Connection, job: Job, kind: str) -> Reply | None:
        sent = time.time()
        try:
            reply = conn.send("POST", self.path, job.account, job.form)
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            job.attempts.append((kind, None, type(exc).__name__, sent))
            return None
        job.attempts.append((kind, reply, "", sent))
        return reply

    def _double(self, job: Job, conn: Connection, spare: Connection) -> Reply | None:
        """A double click: the same form twice at the same moment, on two connections."""
        started = []
        for c in (conn, spare):
            try:
                c.start("POST", self.path, job.account, job.form)
                started.append(c)
            except OSError as exc:
                job.attempts.append(("double", None, type(exc).__name__, time.time()))
        best = None
        for c in started:
            try:
                answer = c.finish()
            except (OSError, http.client.HTTPException) as exc:
                job.attempts.append(("double", None, type(exc).__name__, time.time()))
                continue
            job.attempts.append(("double", answer, "", answer.sent))
            if best is None or answer.receipt:
                best = answer
        return best

    def _send(self, job: Job, conn: Connection, spare: Connection) -> None:
        rng = self.rng
        reply: Reply | None = None
        if job.mode == "double":
            reply = self._double(job, conn, spare)
        elif job.mode == "abandon":  # the browser gives up on the answer; the person sends again
            sent = time.time()
            try:
                spare.start("POST", self.path, job.account, job.form)
                time.sleep(rng.uniform(0.005, 0.05))
            except OSError:
                pass
            spare.close()
            job.attempts.append(("abandoned", None, "abandoned", sent))
            time.sleep(rng.uniform(0.2, 1.0))
        else:
            reply = self._attempt(conn, job, "first")
        # no answer, or a server error: send again with the same key, as a person would
        for n in range(5):
            if reply is not None and reply.status < 500:
                break
            if job.mode != "abandon" or n:
                time.sleep(0.2 * (n + 1))
            reply = self._attempt(conn, job, "again")
        if job.mode == "again" and reply is not None and reply.receipt:
            time.sleep(rng.uniform(0.05, 0.5))  # back, then send the same form once more
            self._attempt(conn, job, "resubmit")


def check_burst(burst: Burst, wall: float) -> list[str]:
    """Print what happened to the burst and compare with the database; return the failures."""
    s, jobs = burst.s, burst.jobs
    closes = burst.closes or float("inf")
    acks: dict[str, set[str]] = {}  # key → receipt codes the client was given
    outcome: Counter = Counter()
    refusals: Counter = Counter()
    first_ms: list[float] = []
    ack_times: list[float] = []
    accepted_after_close = 0  # opinions whose every attempt was sent after closing, yet receipted
    for job in jobs:
        if job.unsent:
            outcome["not sent (time was up)"] += 1
            continue
        key = job.form["key"]
        final = None
        for kind, reply, _note, _sent in job.attempts:
            if reply is None:
                continue
            if kind in ("first", "double") and reply.receipt:
                first_ms.append(reply.ms)
            if reply.receipt:
                if key not in acks:
                    ack_times.append(reply.done)
                acks.setdefault(key, set()).add(reply.receipt)
            elif reply.status < 500:
                refusals[reply.problem()] += 1
            final = reply
        if key in acks and all(sent > closes for *_rest, sent in job.attempts):
            accepted_after_close += 1
        if key in acks:
            outcome["acknowledged (receipt)"] += 1
        elif final is not None and final.status < 500:
            outcome["refused (an answer without receipt)"] += 1
        else:
            outcome["no answer after 6 tries"] += 1
    modes = Counter(job.mode for job in jobs if not job.late)
    in_window = [t for t in ack_times if t <= closes]
    start = min((a[3] for j in jobs for a in j.attempts), default=0.0)
    print(
        f"  burst: {s.burst} opinions from {s.burst_clients} clients"
        f" ({len(burst.seeded.burst)} accounts), {sum(j.late for j in jobs)} more"
        f" sent after closing; closing "
        + (
            f"{s.burst_window:.0f} s after the start"
            if s.close_during_burst
            else "1 s after the last answer of the burst"
        )
    )
    print(
        f"  burst: {modes['double']} sent twice at once, {modes['abandon']} abandoned and sent"
        f" again, {modes['again']} sent again after their receipt (the same key each time)"
    )
    for name, count in sorted(outcome.items()):
        print(f"  burst: {name:<38} {count}")
    for problem, count in refusals.most_common(4):
        print(f"  burst:   {count} × {problem}")
    if first_ms:
        print(
            f"  burst: POST answered with a receipt: median {statistics.median(first_ms):.0f} ms,"
            f" p95 {statistics.quantiles(first_ms, n=20, method='inclusive')[-1]:.0f} ms"
            if len(first_ms) > 1
            else f"  burst: POST answered with a receipt: {first_ms[0]:.0f} ms"
        )
    if in_window and burst.closes:
        span = max(min(closes, max(ack_times)) - start, 1e-9)
        print(
            f"  burst: {len(in_window)} receipts before closing in {span:.1f} s:"
            f" {len(in_window) / span:.1f} opinions/s"
            f" (10,000 in a minute needs {10_000 / 60:.0f}/s); whole burst {wall:.1f} s"
        )

    failures = []
    with burst.app.app_context():
        rows = db.session.execute(
            select(
                Opinion.id,
                Opinion.receipt_code,
                Opinion.author_id,
                Opinion.idempotency_key,
                Opinion.created_at,
            ).where(Opinion.consultation_id == burst.seeded.burst_id)
        ).all()
        item_ids = set(
            db.session.scalars(
                select(ModerationItem.source_id).where(
                    ModerationItem.source == consultation_ops.OPINION,
                    ModerationItem.source_id.in_([str(r.id) for r in rows] or ["-"]),
                )
            )
        )
        db.session.remove()
    stored = Counter(r.receipt_code for r in rows)
    pairs = Counter((r.author_id, r.idempotency_key) for r in rows)
    acked = {code for codes in acks.values() for code in codes}
    closes_dt = datetime.fromtimestamp(closes, UTC) if burst.closes else None
    after = [r for r in rows if closes_dt and _utc(r.created_at) > closes_dt]
    by_key = {job.form["key"]: job for job in jobs}
    unacked = [r for r in rows if r.receipt_code not in acked]
    lost = acked - set(stored)
    print(
        f"  burst: stored {len(rows)} opinions; distinct acknowledged receipts {len(acked)};"
        f" moderation items {len(item_ids)}"
    )
    checks = [
        ("stored opinions == distinct acknowledged receipts", len(rows) == len(acked)),
        ("every acknowledged receipt is stored", not lost),
        ("no receipt code stored twice", all(n == 1 for n in stored.values())),
        ("no (author, key) stored twice", all(n == 1 for n in pairs.values())),
        (
            "one receipt per key (double submits, retries)",
            all(len(codes) == 1 for codes in acks.values()),
        ),
        ("every stored opinion has its moderation item", len(item_ids) == len(rows)),
        ("nothing stored with a time after closing", not after),
        ("no receipt for an opinion sent after closing", accepted_after_close == 0),
    ]
    for name, ok in checks:
        print(f"  burst check: {name:<50} {'ok' if ok else 'FAILED'}")
        if not ok:
            failures.append(name)
    if lost:
        print(f"  burst:   acknowledged but not stored: {sorted(lost)[:5]}")
    if unacked:
        reasons = Counter()
        for row in unacked:
            job = by_key.get(row.idempotency_key)
            notes = (
                [n or (r.problem() if r else "") for _k, r, n, _t in job.attempts] if job else []
            )
            last = job.attempts[-1] if job and job.attempts else None
            if last and last[1] is not None and last[1].status < 500:
                reasons[f"the last answer was {last[1].problem()}"] += 1
            else:
                reasons[f"the client never saw the answer ({', '.join(sorted(set(notes)))})"] += 1
        print(f"  burst:   stored without a receipt shown to the client: {len(unacked)}")
        for reason, count in reasons.most_common(4):
            print(f"  burst:     {count} × {reason}")
    if after:
        late_by = max((_utc(r.created_at) - closes_dt).total_seconds() for r in after)
        sent_before = sum(
            1
            for r in after
            if (job := by_key.get(r.idempotency_key)) and any(a[3] < closes for a in job.attempts)
        )
        print(
            f"  burst:   {len(after)} stored with a time after closing (up to {late_by:.2f} s"
            f" late); {sent_before} of them were sent before closing (checked open, stamped"
            f" later)"
        )
    return failures


def recent_posts(app) -> int:
    """Texts of the last 10 minutes: the spam check of a new opinion compares it with each."""
    with app.app_context():
        since = datetime.now(UTC) - timedelta(minutes=10)
        count = db.session.scalar(
            select(func.count(ModerationItem.id)).where(ModerationItem.created_at >= since)
        )
        db.session.remove()
    return count or 0


def report_errors(server: Server) -> None:
    errors = server.new_errors()
    print(f"  server log: {sum(errors.values())} unhandled errors")
    for error, count in errors.most_common(5):
        print(f"    {count} × {error}")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --- one database -----------------------------------------------------------------------------


def run(target: Target, tmp: str, s: Settings, voices: list[str]) -> list[str]:
    rng = random.Random(4)
    app = create_app(app_config(target, tmp))
    print(f"\n== {target.label} ==")
    started = time.perf_counter()
    seeded = seed(app, s, voices, rng)
    print(
        f"  seeded {s.opinions} opinions ({seeded.published} published, {seeded.held} held by"
        f" moderation), {s.reactions} reactions, users for {s.clients} clients + posters +"
        f" {len(seeded.burst)} burst accounts in {time.perf_counter() - started:.1f} s"
    )
    server = Server(target, tmp, s)
    try:
        print(
            f"  server: gunicorn {s.workers} workers × {s.threads} threads (gthread) on"
            f" 127.0.0.1:{server.port}; database {target.label}; mail to the dev outbox"
            f" (a row per receipt); rate limits off; Argon2id t=1 m=1024 KiB (bench accounts)"
        )
        print(
            f"  client: this process, one thread per client, stdlib http.client keep-alive,"
            f" {s.clients} clients for the page and POST (each its own session and"
            f" {len(seeded.posters[0])} accounts to post with), {s.burst_clients} for the burst"
        )
        every = [*seeded.clients, *seeded.serial]
        every += [a for pool in (*seeded.posters, *seeded.paced) for a in pool]
        every += seeded.burst
        started = time.perf_counter()
        chunks = [every[i :: s.clients] for i in range(s.clients)]

        def login_chunk(i: int) -> None:
            conn = Connection(server.port, 60)
            for account in chunks[i]:
                log_in(conn, account)
            conn.close()

        in_parallel(s.clients, login_chunk)
        print(f"  logged in {len(every)} accounts in {time.perf_counter() - started:.1f} s")
        page = f"/consultations/{seeded.main_id}"
        post = f"/consultations/{seeded.main_id}/opinions"

        def warm(conn, i, _j, _phase):
            conn.send("GET", page, seeded.clients[i])

        measure("warm-up", server, s.clients, 2, warm)

        def livez(conn, _i, _j, phase):
            reply = conn.send("GET", "/livez")
            phase.add(reply, reply.status == 200 and reply.body == b"ok")

        def show(conn, i, _j, phase):
            reply = conn.send("GET", page, seeded.clients[i])
            phase.add(reply, reply.status == 200 and b'id="opinion-form"' in reply.body)

        def poster(accounts):
            def send(conn, i, j, phase):
                pool = accounts(i)
                account = pool[j % len(pool)]
                form = opinion_form(account, rng, voices, seeded.sections)
                reply = conn.send("POST", post, account, form)
                phase.add(reply, reply.receipt is not None)

            return send

        phases = [
            measure(
                "GET /livez (trivial)", server, s.clients, s.livez_requests // s.clients, livez
            ),
            measure(
                "GET /consultations/<id> (signed in)",
                server,
                s.clients,
                s.page_requests // s.clients,
                show,
            ),
        ]
        window = [recent_posts(app)]
        phases.append(
            measure(
                "POST /consultations/<id>/opinions",
                server,
                s.clients,
                s.post_requests // s.clients,
                poster(lambda i: seeded.posters[i]),
            )
        )
        window.append(recent_posts(app))
        paced = [
            measure(
                "GET /consultations/<id> (signed in)",
                server,
                s.clients,
                s.paced_pages // s.clients,
                show,
                think=s.think,
            ),
            measure(
                "POST /consultations/<id>/opinions",
                server,
                s.clients,
                s.paced_posts // s.clients,
                poster(lambda i: seeded.paced[i]),
                think=s.think,
            ),
        ]
        alone = [
            measure("GET /consultations/<id> (one client)", server, 1, s.serial_pages, show),
            measure(
                "POST /consultations/<id>/opinions (one client)",
                server,
                1,
                s.serial_posts,
                poster(lambda _i: seeded.serial),
            ),
        ]
        print(
            f"  {s.opinions} opinions in the consultation, {s.clients} concurrent clients"
            f" (closed loop, no pause):"
        )
        for phase in phases:
            phase.report()
        print(
            f"  {s.clients} clients as people browsing (a random pause of mean {s.think:g} s"
            f" before each request, about {s.clients / s.think:.0f} requests a second offered):"
        )
        for phase in paced:
            phase.report()
        print("  one client alone (no queueing; the time of one request):")
        for phase in alone:
            phase.report()
        print(
            f"  (moderation compares each new opinion with the posts of the last 10 minutes that"
            f" share a key of its index: {window[0]} posts when the POSTs began,"
            f" {window[1]} at their end)"
        )
        trivial, shown, posted = phases
        print(
            f"  trivial endpoint GET /livez: {trivial.rate:.1f} req/s;"
            f" page/trivial throughput ratio {shown.rate / trivial.rate:.3f};"
            f" POST/trivial {posted.rate / trivial.rate:.3f}"
        )
        for label, limit, saturated, browsing in (
            ("page", 50, shown, paced[0]),
            ("POST", 100, posted, paced[1]),
        ):
            verdicts = [
                f"{how} {'met' if p95 <= limit else 'missed'} (p95 {p95:.1f} ms)"
                for how, p95 in (
                    ("closed loop:", saturated.percentile(95)),
                    ("people browsing:", browsing.percentile(95)),
                )
            ]
            print(f"  target {label} p95 ≤ {limit} ms: {'; '.join(verdicts)}")
        report_errors(server)

        burst = Burst(app, s, server, seeded, voices, rng)
        print(f"  burst: {recent_posts(app)} posts of the last 10 minutes when it began")
        wall = burst.run()
        failures = check_burst(burst, wall)
        report_errors(server)
        result = "PASS" if not failures else "FAIL"
        print(f"  every acknowledged opinion stored exactly once ({target.label}): {result}")
        return failures
    finally:
        server.stop()
        with app.app_context():
            db.engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run, to check it works")
    parser.add_argument(
        "--pg",
        default=os.environ.get("KOE_BENCH_DATABASE_URL"),
        help="PostgreSQL server URL (default $KOE_BENCH_DATABASE_URL); a fresh database is used",
    )
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--workers", type=int, help="gunicorn worker processes (default 2)")
    parser.add_argument("--threads", type=int, help="threads per worker (default 8)")
    args = parser.parse_args()
    s = QUICK if args.quick else FULL
    s = replace(s, workers=args.workers or s.workers, threads=args.threads or s.threads)
    voices = load_voices()
    print("Koe consultation load benchmark" + (" (quick)" if args.quick else ""))
    before = machine_busy()
    time.sleep(1)
    after = machine_busy()
    idle_busy = (after[0] - before[0]) / max(after[1] - before[1], 1)
    print(
        f"  setup: Python {platform.python_version()}, {os.cpu_count()} CPUs, {len(voices)}"
        f" resident texts from {'../shared/datasets' if VOICES.exists() else 'a generator'};"
        f" machine {idle_busy:.0%} busy in the second before the run"
    )
    if idle_busy > 0.2:
        print("  note: other processes use the machine; the timings share it with them")

    def stop(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    kinds = [k for k in ("sqlite", "postgresql") if args.only in (None, k)]
    if "postgresql" in kinds and not args.pg:
        if args.only:
            parser.error("--only postgresql needs --pg URL or KOE_BENCH_DATABASE_URL")
        kinds.remove("postgresql")
    failed = []
    for kind in kinds:
        with tempfile.TemporaryDirectory(prefix="koe-load-") as tmp:
            target = sqlite_target(tmp) if kind == "sqlite" else postgres_target(args.pg)
            try:
                failed += [f"{target.label}: {f}" for f in run(target, tmp, s, voices)]
            finally:
                drop_database(target)
    print()
    print("RESULT: " + ("PASS" if not failed else "FAIL (" + "; ".join(failed) + ")"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
