"""Background jobs in the database: slow work (mail to thousands, clustering) leaves the web
process. ``flask --app wsgi koe worker`` runs them; `make run` starts one worker.

A job is a row: its kind, a JSON payload of ids (never personal data), when it may run, how
often it was tried. A worker claims one job at a time for a lease (``FOR UPDATE SKIP LOCKED``
on PostgreSQL, so several workers never take the same job; SQLite serialises writers), runs
its handler in a request context for the site's base URL (mail links), and marks it done. A
failure is retried with growing back-off, then kept as failed with the error's type (never its
text, which may quote an address). Delivery is at least once: a handler must be safe to repeat.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, DateTime, Integer, String, delete, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.timeutil import as_utc, utcnow

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5
_HANDLERS: dict[str, Callable[..., None]] = {}

#: what each kind of job does, in words an admin reads (the jobs page)
KIND_LABELS = {
    "receipt_mail": _l("Opinion receipt mail"),
    "answer_mail": _l("Mail: the ward answered an opinion"),
    "results_mail": _l("Mail: results published"),
    "event_mail": _l("Event mail (registration, waiting list, reminder, change)"),
    "form_receipt_mail": _l("Form receipt mail"),
    "reset_mail": _l("Password reset mail"),
    "place_opinions": _l("Placing new opinions in themes"),
    "cluster_consultation": _l("Grouping a consultation's opinions into themes"),
    "cluster_event_questions": _l("Grouping an event's questions into themes"),
    "group_form_answers": _l("Grouping a form's answers into themes"),
}


class Job(db.Model):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    failed: Mapped[bool] = mapped_column(default=False)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def handler(kind: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register the function that runs jobs of ``kind`` (called with the payload as kwargs)."""

    def register(fn: Callable[..., None]) -> Callable[..., None]:
        _HANDLERS[kind] = fn
        return fn

    return register


def enqueue(kind: str, **payload: Any) -> Job:
    """Add a job to the session; it runs once the caller commits."""
    job = Job(kind=kind, payload=payload, run_at=utcnow())
    db.session.add(job)
    return job


def enqueue_many(kind: str, payloads: list[dict[str, Any]]) -> None:
    """Add many jobs of one kind in one statement (thousands of mails at publication)."""
    if payloads:
        now = utcnow()
        db.session.execute(
            Job.__table__.insert(),
            [
                {
                    "kind": kind,
                    "payload": p,
                    "run_at": now,
                    "attempts": 0,
                    "failed": False,
                    "created_at": now,
                }
                for p in payloads
            ],
        )


def _claim() -> Job | None:
    """Lease the next due job to this worker, or None.

    The lease is a compare-and-set (an UPDATE that matches only while the job is free), so two
    workers never both take a job, on SQLite too; PostgreSQL also skips rows others hold.
    """
    now = utcnow()
    free = (
        Job.finished_at.is_(None),
        Job.run_at <= now,
        or_(Job.locked_until.is_(None), Job.locked_until < now),
    )
    query = select(Job.id).where(*free).order_by(Job.run_at, Job.id).limit(5)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    for job_id in db.session.scalars(query).all():
        taken = db.session.execute(
            update(Job)
            .where(Job.id == job_id, *free)
            .values(locked_until=now + LEASE, attempts=Job.attempts + 1)
        )
        if taken.rowcount == 1:
            db.session.commit()
            return db.session.get(Job, job_id)
    db.session.rollback()
    return None


def run_one() -> bool:
    """Run the next due job; return False when none is due."""
    job = _claim()
    if job is None:
        return False
    job_id, kind, payload, attempts = job.id, job.kind, dict(job.payload), job.attempts
    try:
        fn = _HANDLERS[kind]
        with current_app.test_request_context("/", base_url=current_app.config["BASE_URL"]):
            fn(**payload)
    except Exception as exc:
        db.session.rollback()
        current_app.logger.error(
            "job %s (%s) failed on attempt %d: %s", job_id, kind, attempts, type(exc).__name__
        )
        job = db.session.get(Job, job_id)
        job.last_error = type(exc).__name__
        job.locked_until = None
        if attempts >= MAX_ATTEMPTS:
            job.finished_at, job.failed = utcnow(), True
        else:
            job.run_at = utcnow() + timedelta(seconds=30 * 2**attempts)
        db.session.commit()
        return True
    job = db.session.get(Job, job_id)
    job.finished_at, job.locked_until, job.last_error = utcnow(), None, None
    db.session.commit()
    return True


def run_pending(limit: int | None = None) -> int:
    """Run due jobs until none is left (or ``limit``); return how many ran."""
    done = 0
    while (limit is None or done < limit) and run_one():
        done += 1
    return done


_PERIODIC: list[tuple[float, Callable[[], None]]] = []


def every(seconds: float) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """Register housekeeping the worker runs when idle, at most once per ``seconds``."""

    def register(fn: Callable[[], None]) -> Callable[[], None]:
        _PERIODIC.append((seconds, fn))
        return fn

    return register


def run_periodic(last: dict[str, float]) -> None:
    """Run each housekeeping task whose time has come (``last``: when each ran, by name)."""
    now = time.monotonic()
    for seconds, fn in _PERIODIC:
        name = f"{fn.__module__}.{fn.__name__}"
        if now - last.get(name, -seconds) < seconds:
            continue
        last[name] = now
        try:
            with current_app.test_request_context("/", base_url=current_app.config["BASE_URL"]):
                fn()
        except Exception as exc:
            db.session.rollback()
            current_app.logger.error("housekeeping %s failed: %s", name, type(exc).__name__)


def work(app: Flask, idle_sleep: float = 1.0, stop: threading.Event | None = None) -> None:
    """The worker loop: run due jobs, do the housekeeping when idle, sleep, stop on SIGTERM or
    SIGINT (or ``stop``, for a worker in a thread)."""
    if stop is None:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    last: dict[str, float] = {}
    with app.app_context():
        while not stop.is_set():
            if not run_one():
                run_periodic(last)
                db.session.remove()
                stop.wait(idle_sleep)


def counts() -> dict[str, int]:
    """Jobs waiting, failed, and how long the oldest due job has waited (for /healthz)."""
    now = utcnow()
    waiting = db.session.scalar(
        select(db.func.count()).select_from(Job).where(Job.finished_at.is_(None))
    )
    failed = db.session.scalar(select(db.func.count()).select_from(Job).where(Job.failed.is_(True)))
    oldest = db.session.scalar(
        select(db.func.min(Job.run_at)).where(Job.finished_at.is_(None), Job.run_at <= now)
    )
    late = int((now - as_utc(oldest)).total_seconds()) if oldest is not None else 0
    return {"waiting": waiting, "failed": failed, "oldest_due_seconds": late}


def waiting_jobs(limit: int = 100) -> list[Job]:
    """Jobs not finished yet, the next due first."""
    query = select(Job).where(Job.finished_at.is_(None)).order_by(Job.run_at, Job.id)
    return list(db.session.scalars(query.limit(limit)))


def failed_jobs(limit: int = 100) -> list[Job]:
    """Jobs given up after their last attempt, the latest first."""
    query = select(Job).where(Job.failed.is_(True)).order_by(Job.finished_at.desc(), Job.id.desc())
    return list(db.session.scalars(query.limit(limit)))


def retry(job: Job) -> bool:
    """Put a failed job back in the queue, due now, with fresh attempts; audit-logged. False
    when the job has not failed (waiting or done: nothing to retry)."""
    from app import audit  # (audit builds on the accounts, which queue jobs)

    if not job.failed:
        return False
    error = job.last_error
    job.failed, job.finished_at, job.locked_until = False, None, None
    job.attempts, job.run_at, job.last_error = 0, utcnow(), None
    audit.record("job.retry", job, details={"kind": job.kind, "error": error})
    return True


def purge(now: datetime | None = None) -> tuple[int, int]:
    """Delete finished jobs past their retention: done ones after ``JOBS_RETENTION_DAYS``,
    failed ones after ``JOBS_FAILED_RETENTION_DAYS`` (longer: an admin may retry them);
    return how many of each. Audit-logged when it deleted any."""
    from app import audit

    now = now or utcnow()
    cfg = current_app.config
    done = db.session.execute(
        delete(Job).where(
            Job.finished_at < now - timedelta(days=cfg["JOBS_RETENTION_DAYS"]),
            Job.failed.is_(False),
        )
    ).rowcount
    failed = db.session.execute(
        delete(Job).where(
            Job.finished_at < now - timedelta(days=cfg["JOBS_FAILED_RETENTION_DAYS"]),
            Job.failed.is_(True),
        )
    ).rowcount
    if done or failed:
        audit.record("job.purge", details={"done": done, "failed": failed}, actor=None)
    return done, failed


@every(3600)
def purge_finished_jobs() -> None:
    """The worker's hourly housekeeping: finished jobs past their retention leave the table."""
    purge()
    db.session.commit()
