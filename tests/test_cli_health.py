"""The `flask koe` commands and the health check."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import event, func, select

from app import jobs
from app.account.models import Profile
from app.auth.models import Role, User
from app.auth.operations import authenticate
from app.consultations import results
from app.consultations.models import Consultation, State
from app.consultations.operations import published_opinions
from app.forms import operations as forms_ops
from app.forms.models import OnlineForm
from app.jobs import Job
from app.moderation.models import ItemStatus, ModerationItem
from app.timeutil import as_utc, utcnow


def test_seed_demo_is_idempotent_and_prints_accounts(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["koe", "seed-demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "admin@demo.koe.example" in result.output and "koe-demo-2026" in result.output
    roles = set(db.session.scalars(select(User.role)))
    assert roles == {Role.ADMIN, Role.STAFF, Role.MODERATOR, Role.RESIDENT}
    assert db.session.scalar(select(Profile.address)).startswith("東京都")
    held = db.session.scalars(
        select(ModerationItem).where(ModerationItem.status == ItemStatus.HELD)
    ).all()
    assert len(held) == 2  # the demo moderator has work
    consultations = db.session.scalars(select(Consultation).order_by(Consultation.id)).all()
    assert [c.current_state() for c in consultations] == [State.OPEN, State.PUBLISHED]
    # the open one: 33 opinions from every channel, all published, its grouping queued for
    # the jobs worker and shown to residents
    parks = consultations[0]
    assert len(published_opinions(parks)) == 33
    assert {o.channel.value for o, _ in published_opinions(parks)} == {
        "web",
        "paper",
        "counter",
        "fax",
        "email",
    }
    assert parks.themes_public
    assert (
        db.session.scalar(
            select(func.count()).select_from(Job).where(Job.kind == "cluster_consultation")
        )
        == 2
    )
    # a survey, open, with 60 answers and its summary published; a conditional question
    survey = db.session.scalar(select(OnlineForm))
    assert survey.accepts_answers() and survey.summary_public
    assert forms_ops.count(survey) == 60 and survey.fields[2].show_if_id == survey.fields[1].id
    total, shown = forms_ops.public_summaries(survey)
    assert total == 60 and [i.field.label for i in shown][:2] == ["年代", "よく利用する公園"]
    # the published one has opinions from every channel, each answered, and a changed text
    published = consultations[1]
    assert {o.channel.value for o, _ in published_opinions(published)} == {
        "web",
        "paper",
        "counter",
        "fax",
    }
    assert results.readiness(published).without_answer == 0
    assert sum(d.changed for d in results.section_diffs(published)) == 2
    # events: an upcoming lecture, and a past briefing with its captions, chat and answered
    # questions (their votes are real votes of other demo accounts)
    from app.events import captions, chat, qa
    from app.events.models import Event
    from app.events.qa_models import QuestionVote

    upcoming, past = db.session.scalars(select(Event).order_by(Event.starts_at.desc())).all()
    assert not upcoming.is_over() and past.is_over()
    assert captions.webvtt_text(past).count(" --> ") == 6
    # its recording: a real HLS playlist, closed, where the media service serves it
    playlist = Path(app.config["MEDIA_ROOT"]) / "hls" / str(past.id) / "index.m3u8"
    assert "#EXT-X-ENDLIST" in playlist.read_text()
    assert past.recording_url.endswith(f"/hls/{past.id}/index.m3u8")
    assert (playlist.parent / "recording.mp4").stat().st_size > 10_000  # and as one MP4
    assert past.recording_download_url.endswith(f"/hls/{past.id}/recording.mp4")
    with app.test_request_context():  # (their names are in the page's language)
        assert len(chat.history(past, None)) == 2
        answered = qa.questions(past, None)
    assert [q["state"] for q in answered] == ["answered", "answered"]
    assert [q["votes"] for q in answered] == [5, 3]
    assert db.session.scalar(select(func.count()).select_from(QuestionVote)) == 8
    users = db.session.scalar(select(func.count()).select_from(User))
    runner.invoke(args=["koe", "seed-demo", "--if-empty"])
    assert db.session.scalar(select(func.count()).select_from(User)) == users
    assert authenticate("admin@demo.koe.example", "koe-demo-2026") is not None


def test_seed_demo_is_a_ward_people_recognise(app, db, client):
    """Staff in ward departments, events at the hours a ward holds them, and reactions enough
    for the parks opinions to show groups of people; the jobs it queues all succeed."""
    from app.events.models import Event
    from app.timeutil import TOKYO

    result = app.test_cli_runner().invoke(args=["koe", "seed-demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    departments = {
        u.email: u.department
        for u in db.session.scalars(select(User).where(User.role == Role.STAFF))
    }
    assert departments["staff@demo.koe.example"] == "道路公園課"
    assert {"子ども家庭支援課", "環境清掃課"} <= set(departments.values())
    assert None not in departments.values()
    # the demo staff reads the answers of the survey of their department
    survey = db.session.scalar(select(OnlineForm))
    assert survey.department == "道路公園課"
    upcoming, past = db.session.scalars(select(Event).order_by(Event.starts_at.desc())).all()
    starts = [as_utc(e.starts_at).astimezone(TOKYO) for e in (upcoming, past)]
    assert [(s.hour, s.minute) for s in starts] == [(14, 0), (19, 0)]
    assert [s.strftime("%a") for s in starts] == ["Sat", "Wed"]
    # consultations and the survey open at 9:00 and close at 17:00 Tokyo time, as a ward's do
    periods = [(c.opens_at, c.closes_at) for c in db.session.scalars(select(Consultation))]
    periods.append((survey.opens_at, survey.closes_at))
    hours = {
        (as_utc(a).astimezone(TOKYO).hour, as_utc(b).astimezone(TOKYO).hour) for a, b in periods
    }
    assert hours == {(9, 17)}
    ran = jobs.run_pending()
    assert ran >= 2
    assert db.session.scalar(select(func.count()).select_from(Job).where(Job.failed)) == 0
    parks = db.session.scalar(select(Consultation).order_by(Consultation.id))
    html = client.get(
        f"/consultations/{parks.id}/voices", headers={"Accept-Language": "ja"}
    ).get_data(as_text=True)
    assert "グループA" in html and "グループB" in html, html[:2000]
    health = client.get("/healthz").get_json()
    assert "failed" not in str(health.get("jobs", {})) or health["jobs"]["failed"] == 0


def test_create_user_and_set_role(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "koe",
            "create-user",
            "sato@example.jp",
            "--name",
            "佐藤",
            "--role",
            "staff",
            "--password",
            "a long staff password",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User))
    assert user.role == Role.STAFF and user.is_verified
    result = runner.invoke(args=["koe", "set-role", "sato@example.jp", "moderator"])
    assert result.exit_code == 0
    db.session.expire_all()
    assert db.session.get(User, user.id).role == Role.MODERATOR


def test_cli_refuses_bad_input(app, make_user):
    make_user(email="dup@example.jp")
    runner = app.test_cli_runner()
    bad_role = runner.invoke(args=["koe", "set-role", "dup@example.jp", "king"])
    assert bad_role.exit_code != 0 and "choose one of" in bad_role.output
    dup = runner.invoke(
        args=[
            "koe",
            "create-user",
            "dup@example.jp",
            "--name",
            "x",
            "--password",
            "long password 1",
        ]
    )
    assert dup.exit_code != 0 and "exists" in dup.output
    weak = runner.invoke(
        args=["koe", "create-user", "w@example.jp", "--name", "x", "--password", "password"]
    )
    assert weak.exit_code != 0
    missing = runner.invoke(args=["koe", "set-role", "none@example.jp", "staff"])
    assert missing.exit_code != 0


def test_healthz(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "database": "ok",
        "redis": "not configured",
        "jobs": {"waiting": 0, "failed": 0, "oldest_due_seconds": 0},
        # no media service here: reported, not judged (only live streams need it)
        "media": {"state": "unreachable"},
    }


def test_healthz_reports_the_jobs_backlog_without_failing(client, db):
    """A stopped worker shows as jobs waiting longer and longer; the web stays in service."""
    late = jobs.enqueue("receipt_mail", opinion_id=1)
    late.run_at = utcnow() - timedelta(minutes=10)
    jobs.enqueue("receipt_mail", opinion_id=2).run_at = utcnow() + timedelta(hours=1)
    broken = jobs.enqueue("receipt_mail", opinion_id=3)
    broken.failed, broken.finished_at = True, utcnow()
    db.session.commit()
    response = client.get("/healthz")
    assert response.status_code == 200
    backlog = response.get_json()["jobs"]
    assert backlog["waiting"] == 2 and backlog["failed"] == 1
    assert 595 <= backlog["oldest_due_seconds"] <= 700


def test_healthz_reports_a_broken_redis(app, client):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["redis"] == "error"


def test_livez_answers_without_the_database(client, db):
    statements = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        response = client.get("/livez")
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == "ok"
    assert statements == []
