"""Background jobs: claimed once, run in the worker, retried with back-off, kept when failing."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import jobs
from app.audit import AuditEntry
from app.auth.models import Role
from app.extensions import db as _db
from app.timeutil import as_utc, utcnow
from tests.conftest import post_form

RUNS: list[tuple[str, int]] = []


@jobs.handler("test_record")
def _record(n: int) -> None:
    RUNS.append(("ran", n))


@jobs.handler("test_fail")
def _fail(n: int) -> None:
    raise ConnectionRefusedError("smtp down for someone@example.jp")


MAIL_SERVER_UP = {"up": False}


@jobs.handler("test_flaky")
def _flaky(n: int) -> None:
    if not MAIL_SERVER_UP["up"]:
        raise ConnectionRefusedError("smtp down for someone@example.jp")
    RUNS.append(("ran", n))


@pytest.fixture(autouse=True)
def _clear():
    RUNS.clear()
    MAIL_SERVER_UP["up"] = False


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


def _run_until_failed(job_id: int) -> jobs.Job:
    """Run a failing job through all its attempts (time passes between them)."""
    for _ in range(jobs.MAX_ATTEMPTS):
        _db.session.execute(
            jobs.Job.__table__.update()
            .where(jobs.Job.id == job_id)
            .values(run_at=utcnow() - timedelta(seconds=1))
        )
        _db.session.commit()
        jobs.run_pending()
    _db.session.expire_all()
    job = _db.session.get(jobs.Job, job_id)
    assert job.failed
    return job


def test_admins_see_failed_and_waiting_jobs_and_retry_them(client, db, logged_in):
    failed = jobs.enqueue("test_flaky", n=1)
    mail = jobs.enqueue("event_mail", registration_id=999, about="reminder")
    _db.session.commit()
    failed = _run_until_failed(failed.id)
    jobs.enqueue("receipt_mail", opinion_id=12345)  # waiting
    _db.session.commit()
    logged_in(Role.ADMIN)
    assert 'href="/admin/jobs"' in client.get("/admin/").get_data(as_text=True)
    html = client.get("/admin/jobs").get_data(as_text=True)
    assert "バックグラウンド処理" in html
    assert "ConnectionRefusedError" in html and "test_flaky" in html
    assert "意見の受付メール" in html  # the waiting job, in words
    assert "someone@example.jp" not in html and "12345" not in html  # no error text, no payload
    post_form(client, "/preferences/language", {"lang": "en", "next": "/admin/jobs"})
    english = client.get("/admin/jobs").get_data(as_text=True)
    assert "Background jobs" in english and "Opinion receipt mail" in english
    post_form(client, "/preferences/language", {"lang": "ja", "next": "/admin/jobs"})
    # a retry is a POST with the CSRF token
    assert client.post(f"/admin/jobs/{failed.id}/retry").status_code == 400
    MAIL_SERVER_UP["up"] = True
    response = post_form(client, f"/admin/jobs/{failed.id}/retry", {}, page="/admin/jobs")
    assert response.status_code == 302
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "もう一度実行待ちにしました" in page and "ConnectionRefusedError" not in page
    _db.session.expire_all()
    job = _db.session.get(jobs.Job, failed.id)
    assert (job.failed, job.finished_at, job.attempts) == (False, None, 0)
    entry = _db.session.scalar(select(AuditEntry).where(AuditEntry.action == "job.retry"))
    assert entry.target_id == str(failed.id) and entry.details["error"] == "ConnectionRefusedError"
    jobs.run_pending()
    assert ("ran", 1) in RUNS
    assert jobs.counts()["failed"] == 0
    # a job that has not failed is not "retried"
    response = post_form(client, f"/admin/jobs/{mail.id}/retry", {}, page="/admin/jobs")
    assert response.status_code == 302
    retries = select(db.func.count()).where(AuditEntry.action == "job.retry")
    assert _db.session.scalar(retries) == 1


def test_retry_every_failed_job_at_once(client, db, logged_in):
    ids = []
    for n in range(2):
        job = jobs.enqueue("test_flaky", n=n)
        _db.session.commit()
        ids.append(_run_until_failed(job.id).id)
    logged_in(Role.ADMIN)
    response = post_form(client, "/admin/jobs/retry-failed", {}, page="/admin/jobs")
    assert response.status_code == 302
    assert jobs.counts()["failed"] == 0 and jobs.counts()["waiting"] == 2


@pytest.mark.parametrize("role", [Role.RESIDENT, Role.STAFF, Role.MODERATOR])
def test_the_jobs_page_is_for_admins_only(client, db, logged_in, role):
    job = jobs.enqueue("test_fail", n=1)
    _db.session.commit()
    _run_until_failed(job.id)
    logged_in(role)
    assert client.get("/admin/jobs").status_code == 403
    response = post_form(client, f"/admin/jobs/{job.id}/retry", {})
    assert response.status_code == 403
    assert jobs.counts()["failed"] == 1


def _finished(days_ago: float, failed: bool = False) -> int:
    job = jobs.enqueue("test_record", n=0)
    job.finished_at = utcnow() - timedelta(days=days_ago)
    job.failed = failed
    _db.session.commit()
    return job.id


@pytest.fixture
def app_config():
    return {"JOBS_RETENTION_DAYS": 2, "JOBS_FAILED_RETENTION_DAYS": 10}


def test_finished_jobs_are_purged_by_the_workers_housekeeping(app, db):
    keep = [_finished(1), _finished(9, failed=True)]
    gone = [_finished(3), _finished(11, failed=True)]
    jobs.enqueue("test_record", n=1)  # waiting: never purged
    _db.session.commit()
    keep.append(_db.session.scalar(select(db.func.max(jobs.Job.id))))
    jobs.run_periodic({})
    left = set(_db.session.scalars(select(jobs.Job.id)))
    assert left == set(keep) and not left & set(gone)
    entry = _db.session.scalar(select(AuditEntry).where(AuditEntry.action == "job.purge"))
    assert entry.details == {"done": 1, "failed": 1}


def test_the_jobs_commands_list_retry_and_purge(app, db):
    from app.cli import koe

    runner = app.test_cli_runner()
    old = _finished(5)
    job = jobs.enqueue("test_flaky", n=7)
    _db.session.commit()
    _run_until_failed(job.id)
    result = runner.invoke(koe, ["jobs", "list"])
    assert result.exit_code == 0, result.output
    assert "failed 1" in result.output
    assert f"#{job.id} test_flaky ConnectionRefusedError" in result.output
    assert "someone@example.jp" not in result.output
    assert runner.invoke(koe, ["jobs", "retry"]).exit_code != 0  # which ones?
    assert "no job 99999" in runner.invoke(koe, ["jobs", "retry", "99999"]).output
    MAIL_SERVER_UP["up"] = True
    result = runner.invoke(koe, ["jobs", "retry", str(job.id)])
    assert result.exit_code == 0 and "1 job(s) queued again" in result.output
    assert jobs.run_pending() == 1 and RUNS == [("ran", 7)]
    result = runner.invoke(koe, ["jobs", "purge"])
    assert result.exit_code == 0 and "deleted 1 finished" in result.output
    assert _db.session.get(jobs.Job, old) is None
