"""Background jobs: claimed once, run in the worker, retried with back-off, kept when failing."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import jobs
from app.extensions import db as _db
from app.timeutil import as_utc, utcnow

RUNS: list[tuple[str, int]] = []


@jobs.handler("test_record")
def _record(n: int) -> None:
    RUNS.append(("ran", n))


@jobs.handler("test_fail")
def _fail(n: int) -> None:
    raise ConnectionRefusedError("smtp down for someone@example.jp")


@pytest.fixture(autouse=True)
def _clear():
    RUNS.clear()


def test_a_job_runs_once_after_commit(db):
    jobs.enqueue("test_record", n=1)
    jobs.enqueue_many("test_record", [{"n": 2}, {"n": 3}])
    _db.session.commit()
    assert jobs.run_pending() == 3
    assert RUNS == [("ran", 1), ("ran", 2), ("ran", 3)]
    assert jobs.run_pending() == 0
    assert jobs.counts() == {"waiting": 0, "failed": 0, "oldest_due_seconds": 0}


def test_failures_back_off_then_stay_failed_without_the_message(db, caplog):
    job = jobs.enqueue("test_fail", n=1)
    _db.session.commit()
    for attempt in range(1, jobs.MAX_ATTEMPTS + 1):
        assert jobs.run_pending() == 1
        _db.session.expire_all()
        job = _db.session.get(jobs.Job, job.id)
        assert job.attempts == attempt and job.last_error == "ConnectionRefusedError"
        if attempt < jobs.MAX_ATTEMPTS:
            assert as_utc(job.run_at) > utcnow() + timedelta(seconds=29)  # not before its back-off
            assert jobs.run_pending() == 0
            job.run_at = utcnow()  # time passes
            _db.session.commit()
    assert job.failed and job.finished_at is not None
    assert jobs.counts() == {"waiting": 0, "failed": 1, "oldest_due_seconds": 0}
    assert "someone@example.jp" not in caplog.text


def test_a_leased_job_is_not_taken_twice(db):
    job = jobs.enqueue("test_record", n=7)
    _db.session.commit()
    claimed = jobs._claim()
    assert claimed.id == job.id
    assert jobs._claim() is None  # leased to the first worker
    claimed.locked_until = utcnow() - timedelta(seconds=1)  # that worker died
    _db.session.commit()
    assert jobs.run_pending() == 1 and RUNS == [("ran", 7)]


def test_concurrent_workers_run_each_job_once(app, db):
    jobs.enqueue_many("test_record", [{"n": n} for n in range(40)])
    _db.session.commit()

    def worker() -> None:
        with app.app_context():
            jobs.run_pending()
            _db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(n for _, n in RUNS) == list(range(40))
    assert all(j.finished_at for j in _db.session.scalars(select(jobs.Job)))


def test_the_worker_command_runs_due_jobs(app, db):
    from app.cli import worker

    jobs.enqueue("test_record", n=5)
    _db.session.commit()
    result = app.test_cli_runner().invoke(worker, ["--once"])
    assert result.exit_code == 0 and "1 job(s) run" in result.output
    assert RUNS == [("ran", 5)]


def test_the_procfile_starts_a_worker():
    from pathlib import Path

    procfile = (Path(__file__).resolve().parents[1] / "Procfile").read_text()
    assert "jobs: .venv/bin/flask --app wsgi koe worker" in procfile


def test_the_worker_loop_picks_up_new_jobs_and_stops(app, db):
    stop = threading.Event()
    worker = threading.Thread(target=jobs.work, args=(app, 0.05, stop))
    worker.start()
    try:
        jobs.enqueue("test_record", n=9)
        _db.session.commit()
        for _ in range(200):
            if RUNS:
                break
            stop.wait(0.05)
    finally:
        stop.set()
        worker.join(timeout=10)
    assert RUNS == [("ran", 9)] and not worker.is_alive()


def test_housekeeping_runs_when_due_and_a_failure_does_not_stop_it(app, db):
    from app import jobs as jobs_module

    ran = []

    def tidy() -> None:
        ran.append("tidy")

    def broken() -> None:
        raise RuntimeError("disk full")

    saved = list(jobs_module._PERIODIC)
    try:
        jobs_module.every(3600)(broken)
        jobs_module.every(3600)(tidy)
        last: dict[str, float] = {}
        jobs_module.run_periodic(last)
        jobs_module.run_periodic(last)  # not due again for an hour
        assert ran == ["tidy"]
        last = {name: when - 3601 for name, when in last.items()}
        jobs_module.run_periodic(last)
        assert ran == ["tidy", "tidy"]
    finally:
        jobs_module._PERIODIC[:] = saved
