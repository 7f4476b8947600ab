"""Benchmarks for the foundation: password hashing and request latency through the full stack.

Run with ``make bench``. Prints each figure with its setup; nothing here is asserted.
Set KOE_BENCH_DATABASE_URL to measure on PostgreSQL instead of a temporary SQLite file.
"""

from __future__ import annotations

import os
import platform
import re
import statistics
import sys
import tempfile
import time

from flask_migrate import upgrade

from app import create_app
from app.auth import operations
from app.auth.models import Role
from app.auth.passwords import hash_password, verify_password
from app.extensions import db

CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
PASSWORD = "a benchmark pass phrase"


def timed(fn, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def report(name: str, samples: list[float]) -> None:
    p95 = statistics.quantiles(samples, n=20, method="inclusive")[-1]
    mean = statistics.fmean(samples)
    print(
        f"{name:<38} n={len(samples):<5} median {statistics.median(samples):7.2f} ms"
        f"   p95 {p95:7.2f} ms   {1000 / mean:8.1f} /s (one thread)"
    )


def main(quick: bool = False) -> None:
    """Print the figures; ``quick`` (``--quick``) runs a few requests only, to check it runs."""
    n = 10 if quick else 1  # divides every sample count
    tmp = tempfile.mkdtemp(prefix="koe-bench-")
    url = os.environ.get("KOE_BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite3"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_PATH": tmp,
            "SECRET_KEY": "bench-only-secret",
            "RATELIMIT_ENABLED": False,
        }
    )
    print("Koe benchmarks")
    print(
        f"  setup: Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"database {url.split(':', 1)[0]}, Flask test client in one thread "
        f"(full WSGI stack, no network), production Argon2id cost "
        f"(t={app.config['ARGON2_TIME_COST']}, m={app.config['ARGON2_MEMORY_KIB']} KiB)"
    )
    with app.app_context():
        upgrade()
        hashed = hash_password(PASSWORD)
        report("argon2id hash", timed(lambda: hash_password(PASSWORD), max(2, 20 // n)))
        report("argon2id verify", timed(lambda: verify_password(hashed, PASSWORD), max(2, 20 // n)))
        user = operations.create_user("ベンチ", "bench@example.jp", PASSWORD, Role.RESIDENT)
        operations.create_user("管理", "admin@example.jp", PASSWORD, Role.ADMIN)
        db.session.commit()
        email = user.email
        db.session.remove()

    anonymous = app.test_client()
    report("GET / (anonymous)", timed(lambda: anonymous.get("/"), max(2, 300 // n)))
    report("GET /healthz", timed(lambda: anonymous.get("/healthz"), max(2, 300 // n)))

    def login(client, address=email):
        html = client.get("/auth/login").get_data(as_text=True)
        token = CSRF.search(html).group(1)
        response = client.post(
            "/auth/login", data={"email": address, "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 302, response.status_code

    report(
        "GET+POST log-in (hash verify)", timed(lambda: login(app.test_client()), max(2, 20 // n))
    )
    resident = app.test_client()
    login(resident)
    report("GET /account/ (signed in)", timed(lambda: resident.get("/account/"), max(2, 300 // n)))
    report(
        "GET /account/data.json",
        timed(lambda: resident.get("/account/data.json"), max(2, 300 // n)),
    )
    admin = app.test_client()
    login(admin, "admin@example.jp")
    report(
        "GET /admin/audit (signed in admin)",
        timed(lambda: admin.get("/admin/audit"), max(2, 200 // n)),
    )


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
