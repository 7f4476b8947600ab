"""Online forms under load: 200 people send a form at the same moment, and an export of
100,000 answers as CSV.

    python bench/forms_bench.py [--quick] [--pg URL] [--only sqlite|postgresql]

The app runs under gunicorn (as bench/consultation_load.py starts it) on a fresh SQLite file and,
given a PostgreSQL server (``--pg`` or $KOE_BENCH_DATABASE_URL), on a fresh database there.

1. 200 signed-in residents, one thread each, send the same form (one answer per person) at once
   through its last step; each then sends it again with the same key, as a double click does.
   Printed: the latency of the first sends (p50, p95, max) and the rate; checked: every
   acknowledged answer is stored exactly once, and the repeat gives back the same receipt.
2. A form with 100,000 stored answers is downloaded as CSV over HTTP: the time to the first
   byte and to the last, and the size. Its memory is measured apart, in a child process that
   streams the same export with 10,000 and with 100,000 answers (peak RSS of each: flat memory
   means they are about equal).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from consultation_load import (
    PASSWORD,
    Account,
    Connection,
    Server,
    app_config,
    drop_database,
    in_parallel,
    log_in,
    make_accounts,
    postgres_target,
    sqlite_target,
)
from flask_migrate import upgrade
from sqlalchemy import func, select

from app import create_app
from app.auth import operations as auth_ops
from app.auth.models import Role
from app.consultations.operations import new_receipt_code
from app.extensions import db
from app.forms import operations
from app.forms.models import FieldKind, FormState, OnlineForm, Submission

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Settings:
    clients: int
    export: int
    workers: int = 2
    threads: int = 8


FULL = Settings(clients=200, export=100_000)
QUICK = Settings(clients=20, export=2_000)
QUESTIONS = [
    (FieldKind.SHORT_TEXT, "お名前", []),
    (FieldKind.SINGLE, "年代", ["10代", "20代", "30代", "40代以上"]),
    (FieldKind.MULTIPLE, "よく使う公園", ["中央公園", "川沿い公園", "その他"]),
    (FieldKind.NUMBER, "月の利用回数", []),
    (FieldKind.LONG_TEXT, "ご意見", []),
]


def new_form(staff, title: str) -> OnlineForm:
    survey = OnlineForm(title=title, state=FormState.DRAFT, created_by_id=staff.id)
    survey.receipt_mail = False  # the bench measures the form, not the mail job
    db.session.add(survey)
    db.session.flush()
    for kind, label, choices in QUESTIONS:
        operations.add_field(survey, staff, kind=kind, label=label, choices=choices)
    operations.move(survey, FormState.OPEN, staff)
    return survey


def answers_for(survey: OnlineForm, n: int) -> dict:
    keys = [f.key for f in survey.fields]
    return {
        keys[0]: f"区民{n:06d}",
        keys[1]: ["10代", "20代", "30代", "40代以上"][n % 4],
        keys[2]: ["中央公園", "その他"][: 1 + n % 2],
        keys[3]: n % 31,
        keys[4]: "夜の公園をもっと明るくしてください。ベンチも増やしてほしいです。",
    }


def export_sizes(s: Settings) -> list[int]:
    return sorted({min(s.export, 10_000), s.export})


def seed(app, s: Settings) -> tuple[int, dict[int, int], list[Account]]:
    """The form people send, one form per export size with its answers, the accounts."""
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        staff = auth_ops.create_user("職員", "staff@bench.example.jp", PASSWORD, Role.STAFF)
        sent = new_form(staff, "同時送信の測定")
        exports = {}
        for size in export_sizes(s):
            exported = new_form(staff, f"書き出しの測定（{size}件）")
            db.session.commit()
            rows = []
            for n in range(size):
                rows.append(
                    {
                        "form_id": exported.id,
                        "receipt_code": new_receipt_code(),
                        "answers": answers_for(exported, n),
                        "created_at": exported.created_at,
                    }
                )
                if len(rows) == 5000 or n == size - 1:
                    db.session.execute(Submission.__table__.insert(), rows)
                    rows = []
            db.session.commit()
            exports[size] = exported.id
        accounts = make_accounts("form", s.clients, 0)
        accounts.insert(0, Account(staff.email))
        return sent.id, exports, accounts


def answer_form(account: Account, key: str, n: int, field_keys) -> dict:
    return {
        "csrf_token": account.csrf,
        "key": key,
        "step": "send",
        field_keys[0]: f"区民{n:06d}",
        field_keys[1]: "20代",
        field_keys[2]: "中央公園",
        field_keys[3]: str(n % 31),
        field_keys[4]: "照明を増やしてください。",
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run(target, tmp: str, s: Settings) -> list[str]:
    failed = []
    app = create_app(app_config(target, tmp))
    print(f"\n== {target.label} ==")
    started = time.perf_counter()
    sent_id, exports, accounts = seed(app, s)
    export_id = exports[s.export]
    staff, people = accounts[0], accounts[1:]
    with app.app_context():
        field_keys = [f.key for f in db.session.get(OnlineForm, sent_id).fields]
    print(
        f"  seeded {len(people)} residents and a form with {s.export:,} stored answers in"
        f" {time.perf_counter() - started:.1f} s"
    )
    server = Server(target, tmp, s)
    try:
        print(
            f"  server: gunicorn {s.workers} workers × {s.threads} threads (gthread);"
            f" client: one thread per person, stdlib http.client"
        )
        connections = [Connection(server.port, 60) for _ in people]
        for conn, account in zip(connections, people, strict=True):
            log_in(conn, account)
        keys = [secrets.token_urlsafe(16) for _ in people]
        first: list = [None] * len(people)
        again: list = [None] * len(people)

        def send(i: int) -> None:
            form = answer_form(people[i], keys[i], i, field_keys)
            first[i] = connections[i].send("POST", f"/forms/{sent_id}", people[i], form)
            again[i] = connections[i].send("POST", f"/forms/{sent_id}", people[i], form)

        wall = in_parallel(len(people), send)
        acknowledged = [r for r in first if r.status == 302]
        latencies = [r.ms for r in first]
        same = sum(
            1
            for a, b in zip(first, again, strict=True)
            if a.status == 302 and b.status == 302 and a.location == b.location
        )
        with app.app_context():
            stored = db.session.scalar(
                select(func.count()).select_from(Submission).where(Submission.form_id == sent_id)
            )
            people_stored = db.session.scalar(
                select(func.count(func.distinct(Submission.user_id))).where(
                    Submission.form_id == sent_id
                )
            )
        print(
            f"  {len(people)} people send at once: p50 {statistics.median(latencies):.0f} ms,"
            f" p95 {percentile(latencies, 95):.0f} ms, max {max(latencies):.0f} ms;"
            f" {len(people) / wall:.0f} answers/s over {wall:.1f} s"
        )
        ok = len(acknowledged) == len(people) == stored == people_stored == same
        print(
            f"  exactly once: {len(acknowledged)} acknowledged, {stored} stored"
            f" ({people_stored} people), {same} repeats gave the same receipt:"
            f" {'PASS' if ok else 'FAIL'}"
        )
        if not ok:
            failed.append(f"{target.label}: concurrent answers not stored exactly once")
        # the export over HTTP, as staff download it
        conn = Connection(server.port, 600)
        log_in(conn, staff)
        started = time.perf_counter()
        conn.start("GET", f"/forms/{export_id}/answers.csv", staff)
        response = conn.http.getresponse()
        response.read(1)
        first_byte = time.perf_counter() - started
        size = 1 + len(response.read())
        total = time.perf_counter() - started
        lines_ok = response.status == 200
        print(
            f"  CSV of {s.export:,} answers over HTTP: first byte {first_byte * 1000:.0f} ms,"
            f" all {total:.1f} s, {size / 1e6:.1f} MB"
            + ("" if lines_ok else f" (HTTP {response.status})")
        )
        if not lines_ok:
            failed.append(f"{target.label}: the export failed")
    finally:
        server.stop()
    # memory: the same export streamed in a child process, at two sizes
    peaks = {}
    for count, form_id in exports.items():
        out = subprocess.run(  # noqa: S603  (our own interpreter and arguments)
            [sys.executable, __file__, "--child-export", str(form_id), "--url", target.url],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        peaks[count] = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        "  export memory (child process, peak RSS): "
        + ", ".join(
            f"{n:,} answers {p['peak_mb']:.0f} MB in {p['seconds']:.1f} s ({p['lines'] - 1:,} rows)"
            for n, p in peaks.items()
        )
    )
    return failed


def child_export(form_id: int, url: str) -> None:
    """Stream the export of one form, as the route does, and report time and peak memory."""
    from app.auth.models import User

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False}
    )
    with app.test_request_context("/"):
        survey = db.session.get(OnlineForm, form_id)
        user = db.session.get(User, survey.created_by_id)
        started = time.perf_counter()
        size = lines = 0
        for chunk in operations.csv_lines(survey, user):
            size += len(chunk)
            lines += 1
        db.session.rollback()  # (the audit entry of this measurement is not kept)
    print(
        json.dumps(
            {
                "lines": lines,
                "bytes": size,
                "seconds": time.perf_counter() - started,
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run, to check it works")
    parser.add_argument("--pg", default=os.environ.get("KOE_BENCH_DATABASE_URL"))
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--child-export", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_export:
        child_export(args.child_export, args.url)
        return 0
    s = QUICK if args.quick else FULL
    print("Koe online forms benchmark" + (" (quick)" if args.quick else ""))
    print(f"  setup: Python {platform.python_version()}, {os.cpu_count()} CPUs")
    kinds = [k for k in ("sqlite", "postgresql") if args.only in (None, k)]
    if "postgresql" in kinds and not args.pg:
        kinds.remove("postgresql")
    failed = []
    for kind in kinds:
        with tempfile.TemporaryDirectory(prefix="koe-forms-") as tmp:
            target = sqlite_target(tmp) if kind == "sqlite" else postgres_target(args.pg)
            try:
                failed += run(target, tmp, s)
            finally:
                drop_database(target)
    print()
    print("RESULT: " + ("PASS" if not failed else "FAIL (" + "; ".join(failed) + ")"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
