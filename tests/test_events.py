"""Events: staff create, publish, change and cancel them; residents register, wait for a place,
cancel, get a calendar file and a reminder; the list, the past events and the month calendar."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from app import jobs
from app.audit import AuditEntry
from app.auth.models import Role
from app.events import operations
from app.events.models import (
    Attendance,
    Audience,
    Event,
    EventState,
    Mode,
    Registration,
    RegistrationStatus,
)
from app.timeutil import TOKYO, as_utc, utcnow
from tests.conftest import login, post_form
from tests.test_naughty_strings import assert_escaped, naughty  # noqa: F401  (a fixture)

FORM = {
    "title": "区民公開講座「防災と地域のつながり」",
    "description": "地震に備えて、地域でできることを学びます。\nhttps://example.jp/bousai",
    "speakers": "山田花子（声区防災課長）\n佐藤一郎（声大学教授）",
    "department": "防災課",
    "starts_at": "",
    "ends_at": "",
    "mode": "hybrid",
    "venue": "声区役所 2階 大会議室",
    "registration_required": "y",
    "capacity": "2",
    "audience": "everyone",
}


def tokyo_text(when) -> str:
    return as_utc(when).astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")


def event_form(**overrides) -> dict:
    start = utcnow().replace(second=0, microsecond=0) + timedelta(days=7)
    data = dict(FORM, starts_at=tokyo_text(start), ends_at=tokyo_text(start + timedelta(hours=2)))
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def create(client, **overrides) -> Event:
    """Through the staff pages: create, then publish."""
    response = post_form(client, "/events/new", event_form(**overrides), page="/events/new")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    event_id = int(re.search(r"/events/(\d+)$", response.headers["Location"]).group(1))
    page = f"/events/{event_id}"
    assert post_form(client, f"{page}/publish", {}, page=page).status_code == 302
    from app.extensions import db

    db.session.expire_all()
    return db.session.get(Event, event_id)


@pytest.fixture
def staff_client(app, db, make_user):
    staff = make_user(role=Role.STAFF)
    client = app.test_client()
    assert login(client, staff.email).status_code == 302
    return client


def resident(app, make_user, **kwargs):
    user = make_user(**kwargs)
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client, user


def register(client, event: Event, attendance: str | None = "online"):
    """Press Register (a hybrid event asks how one takes part; online unless told)."""
    page = f"/events/{event.id}"
    data = {"attendance": attendance} if attendance else {}
    return post_form(client, f"{page}/register", data, page=page)


def move(client, event: Event, attendance: str):
    page = f"/events/{event.id}"
    return post_form(client, f"{page}/attendance", {"attendance": attendance}, page=page)


def status_of(db, event: Event, user) -> RegistrationStatus | None:
    db.session.expire_all()
    registration = operations.registration_of(event, user)
    return registration.status if registration else None


def test_staff_create_publish_and_residents_see_it(app, db, staff_client):
    event = create(staff_client)
    assert event.state == EventState.PUBLISHED and event.mode == Mode.HYBRID
    assert event.speaker_list == ["山田花子（声区防災課長）", "佐藤一郎（声大学教授）"]
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"event.create", "event.publish"} <= actions
    anonymous = app.test_client()
    html = anonymous.get("/events/").get_data(as_text=True)
    assert event.title in html
    page = anonymous.get(f"/events/{event.id}").get_data(as_text=True)
    assert "声区役所 2階 大会議室" in page and "佐藤一郎" in page
    assert 'href="https://example.jp/bousai"' in page  # the description's link, escaped text
    assert "申し込むにはログインしてください。" in page  # Japanese first


def test_draft_events_are_hidden_from_residents(app, db, staff_client, make_user):
    response = post_form(staff_client, "/events/new", event_form(), page="/events/new")
    event_id = int(response.headers["Location"].rsplit("/", 1)[1])
    client, _user = resident(app, make_user)
    assert client.get(f"/events/{event_id}").status_code == 404
    assert client.get(f"/events/{event_id}/event.ics").status_code == 404
    assert "区民公開講座" not in client.get("/events/").get_data(as_text=True)
    assert client.get("/events/new").status_code == 403
    assert post_form(client, f"/events/{event_id}/publish", {}).status_code == 403
    assert staff_client.get(f"/events/{event_id}").status_code == 200


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title": "　"}, "Title"),
        ({"starts_at": "来週"}, "2026-12-01 09:00"),
        ({"ends_at": None}, "2026-12-01 09:00"),
        ({"venue": ""}, "venue"),
        ({"capacity": "0"}, "1 to 100,000"),
        ({"capacity": "abc"}, "Places"),
        ({"registration_required": None, "audience": "registered"}, "registration is required"),
        ({"registration_required": None}, "Places are counted by registration"),
        ({"mode": "satellite"}, "Choose from the list"),
        ({"title": "x" * 201}, "characters"),
    ],
)
def test_bad_event_forms_say_why_and_keep_the_text(staff_client, db, overrides, message):
    data = event_form(**overrides)
    response = post_form(
        staff_client, "/events/new", data, page="/events/new", headers={"Accept-Language": "en"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    assert "防災と地域のつながり" in html or overrides.get("title")  # what was typed stays
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0


def test_the_end_must_follow_the_start(staff_client, db):
    data = event_form()
    data["ends_at"] = data["starts_at"]
    response = post_form(
        staff_client, "/events/new", data, page="/events/new", headers={"Accept-Language": "ja"}
    )
    assert response.status_code == 400
    assert "終了は開始より後" in response.get_data(as_text=True)


def test_register_confirmation_mail_with_calendar_file(app, db, staff_client, make_user, mailbox):
    event = create(staff_client)
    client, user = resident(app, make_user)
    assert register(client, event).status_code == 302
    assert status_of(db, event, user) == RegistrationStatus.CONFIRMED
    assert register(client, event).status_code == 302  # twice: the same place, one mail
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 1
    assert jobs.run_pending() == 1
    mail = mailbox.last_to(user.email)
    assert event.title in mail["Subject"]
    body = mailbox.body(mail)
    assert "声区役所 2階 大会議室" in body and f"/events/{event.id}" in body
    (part,) = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]
    entry = Calendar.from_ical(part.get_content()).walk("VEVENT")[0]
    assert str(entry["SUMMARY"]) == event.title
    assert entry.decoded("DTSTART") == as_utc(event.starts_at)
    assert entry.decoded("DTEND") == as_utc(event.ends_at)
    assert str(entry["STATUS"]) == "CONFIRMED" and int(entry["SEQUENCE"]) == 0
    page = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "You are registered." in page or "申し込み済みです" in page


def test_full_event_waiting_list_and_promotion_in_order(app, db, staff_client, make_user, mailbox):
    event = create(staff_client, capacity="1")
    first, a = resident(app, make_user)
    second, b = resident(app, make_user)
    third, c = resident(app, make_user)
    for client in (first, second, third):
        register(client, event)
    assert [status_of(db, event, u) for u in (a, b, c)] == [
        RegistrationStatus.CONFIRMED,
        RegistrationStatus.WAITING,
        RegistrationStatus.WAITING,
    ]
    page = third.get(f"/events/{event.id}", headers={"Accept-Language": "en"})
    assert "number 2 on the waiting list" in page.get_data(as_text=True)
    jobs.run_pending()  # mails in the language of the page they registered from (Japanese)
    assert "キャンセル待ち1番" in mailbox.body(mailbox.last_to(b.email))
    assert not list(mailbox.last_to(b.email).iter_attachments())  # no calendar entry yet
    # the first cancels: the first waiting gets the place, the next moves up
    page = f"/events/{event.id}"
    assert post_form(first, f"{page}/unregister", {"confirm": "yes"}, page=page).status_code == 302
    assert status_of(db, event, a) == RegistrationStatus.CANCELLED
    assert status_of(db, event, b) == RegistrationStatus.CONFIRMED
    assert status_of(db, event, c) == RegistrationStatus.WAITING
    jobs.run_pending()
    promoted = mailbox.last_to(b.email)
    assert "A place is yours" in promoted["Subject"] or "お席" in promoted["Subject"]
    assert any(p.get_content_type() == "text/calendar" for p in promoted.iter_attachments())
    # the one who cancelled can register again: at the end of the queue
    register(first, event)
    assert status_of(db, event, a) == RegistrationStatus.WAITING
    assert operations.waiting_position(operations.registration_of(event, a)) == 2


def test_more_places_move_the_waiting_list_up(app, db, staff_client, make_user):
    event = create(staff_client, capacity="1")
    users = []
    for _ in range(3):
        client, user = resident(app, make_user)
        register(client, event)
        users.append(user)
    page = f"/events/{event.id}/edit"
    response = post_form(staff_client, page, event_form(capacity="2"), page=page)
    assert response.status_code == 302
    assert [status_of(db, event, u) for u in users] == [
        RegistrationStatus.CONFIRMED,
        RegistrationStatus.CONFIRMED,
        RegistrationStatus.WAITING,
    ]


def test_capacity_holds_when_many_register_at_once(app, db, staff_client, make_user):
    """Twelve people press Register for the last three places at the same moment."""
    event = create(staff_client, capacity="3")
    clients = [resident(app, make_user) for _ in range(12)]
    tokens = {}
    for client, user in clients:
        html = client.get(f"/events/{event.id}").get_data(as_text=True)
        tokens[user.id] = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    start = threading.Barrier(len(clients))
    codes = []

    def press(client, user):
        start.wait()
        response = client.post(
            f"/events/{event.id}/register",
            data={"csrf_token": tokens[user.id], "attendance": "online"},
        )
        codes.append(response.status_code)

    threads = [threading.Thread(target=press, args=pair) for pair in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [302] * 12
    db.session.expire_all()
    rows = db.session.execute(
        select(Registration.status, func.count())
        .where(Registration.event_id == event.id)
        .group_by(Registration.status)
    ).all()
    assert dict(rows) == {RegistrationStatus.CONFIRMED: 3, RegistrationStatus.WAITING: 9}


def test_change_of_time_tells_everyone_with_a_new_sequence(
    app, db, staff_client, make_user, mailbox
):
    event = create(staff_client)
    client, user = resident(app, make_user)
    register(client, event)
    jobs.run_pending()
    later = as_utc(event.starts_at) + timedelta(days=1)
    page = f"/events/{event.id}/edit"
    data = event_form(starts_at=tokyo_text(later), ends_at=tokyo_text(later + timedelta(hours=2)))
    assert post_form(staff_client, page, data, page=page).status_code == 302
    jobs.run_pending()
    mail = mailbox.last_to(user.email)
    assert "Changed" in mail["Subject"] or "変更" in mail["Subject"]
    (part,) = list(mail.iter_attachments())
    entry = Calendar.from_ical(part.get_content()).walk("VEVENT")[0]
    assert int(entry["SEQUENCE"]) == 1 and entry.decoded("DTSTART") == later
    # a change of the description alone mails nobody
    before = len(mailbox.to(user.email))
    data["description"] = "内容を少し変えました。"
    post_form(staff_client, page, data, page=page)
    jobs.run_pending()
    assert len(mailbox.to(user.email)) == before


def test_cancel_tells_registered_and_waiting_and_closes_registration(
    app, db, staff_client, make_user, mailbox
):
    event = create(staff_client, capacity="1")
    one, a = resident(app, make_user)
    two, b = resident(app, make_user)
    register(one, event)
    register(two, event)
    jobs.run_pending()
    page = f"/events/{event.id}"
    asked = post_form(staff_client, f"{page}/cancel", {}, page=page)  # not ticked: asked first
    assert asked.status_code == 200 and "中止" in asked.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Event, event.id).state == EventState.PUBLISHED
    post_form(staff_client, f"{page}/cancel", {"confirm": "yes"}, page=page)
    db.session.expire_all()
    assert db.session.get(Event, event.id).state == EventState.CANCELLED
    jobs.run_pending()
    for user in (a, b):
        mail = mailbox.last_to(user.email)
        (part,) = list(mail.iter_attachments())
        ical = Calendar.from_ical(part.get_content())
        assert str(ical["METHOD"]) == "CANCEL"
        assert str(ical.walk("VEVENT")[0]["STATUS"]) == "CANCELLED"
    three, _c = resident(app, make_user)
    response = register(three, event)
    assert response.status_code == 302
    assert "現在申込を受け付けていません" in three.get(page).get_data(as_text=True)
    assert "event.cancel" in set(db.session.scalars(select(AuditEntry.action)))


def test_reminder_once_a_day_before_to_confirmed_only(app, db, staff_client, make_user, mailbox):
    soon = utcnow().replace(second=0, microsecond=0) + timedelta(hours=5)
    event = create(
        staff_client,
        capacity="1",
        starts_at=tokyo_text(soon),
        ends_at=tokyo_text(soon + timedelta(hours=1)),
    )
    later = create(staff_client)  # a week away: no reminder yet
    one, a = resident(app, make_user)
    two, b = resident(app, make_user)
    register(one, event)
    register(two, event)
    register(one, later)
    jobs.run_pending()
    mailbox.clear()
    assert operations.send_reminders() == 1
    assert operations.send_reminders() == 0  # once
    jobs.run_pending()
    assert [m["Subject"] for m in mailbox.messages if m["To"] == a.email]
    assert mailbox.to(b.email) == []  # waiting: no reminder
    assert len(mailbox.messages) == 1


def test_calendar_file_link(app, db, staff_client):
    event = create(staff_client, mode="online", venue="")
    response = app.test_client().get(f"/events/{event.id}/event.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    entry = Calendar.from_ical(response.data).walk("VEVENT")[0]
    assert str(entry["UID"]).startswith(f"event-{event.id}@")
    assert f"/events/{event.id}" in str(entry["URL"])


def test_past_events_and_the_month_calendar(app, db, staff_client):
    event = create(staff_client)
    start = as_utc(event.starts_at).astimezone(TOKYO)
    gone = utcnow().replace(microsecond=0) - timedelta(days=40)
    old = create(
        staff_client,
        title="昨年の子育て講座",
        starts_at=tokyo_text(gone),
        ends_at=tokyo_text(gone + timedelta(hours=1)),
    )
    client = app.test_client()
    upcoming = client.get("/events/").get_data(as_text=True)
    assert event.title in upcoming and old.title not in upcoming
    past = client.get("/events/?when=past").get_data(as_text=True)
    assert old.title in past and event.title not in past
    assert client.get("/events/calendar").status_code == 302
    month = client.get(
        f"/events/calendar/{start.year}/{start.month}", headers={"Accept-Language": "ja"}
    ).get_data(as_text=True)
    assert event.title in month and f"{start.year}年{start.month}月" in month
    assert f"{start.hour}:{start.minute:02d} " in month  # 9:05, as Japanese times are written
    english = client.get(
        f"/events/calendar/{start.year}/{start.month}", headers={"Accept-Language": "en"}
    ).get_data(as_text=True)
    assert f"{start.year}" in english and "Mon" in english
    for bad in ("/events/calendar/2026/13", "/events/calendar/1999/1", "/events/calendar/2026/0"):
        assert client.get(bad).status_code == 404


def test_who_may_watch(app, db, staff_client, make_user):
    event = create(staff_client, audience="registered", capacity="1")
    client, user = resident(app, make_user)
    other_client, other = resident(app, make_user)
    assert not operations.may_watch(event, None)
    assert not operations.may_watch(event, user)
    register(client, event)
    register(other_client, event)
    db.session.expire_all()
    assert operations.may_watch(event, user)
    assert not operations.may_watch(event, other)  # waiting
    event.audience = Audience.SIGNED_IN
    assert operations.may_watch(event, other) and not operations.may_watch(event, None)


def test_unverified_people_cannot_register(app, db, staff_client, make_user):
    event = create(staff_client)
    client, user = resident(app, make_user, verified=False)
    register(client, event)
    assert status_of(db, event, user) is None
    page = client.get(f"/events/{event.id}")
    assert "先にメールアドレスの確認を済ませてください" in page.get_data(as_text=True)


def test_naughty_strings_in_every_field(staff_client, db, naughty):  # noqa: F811
    for text in naughty[::7]:
        data = event_form(title=text[:200] or "x", description=text, speakers=text, venue=text)
        response = post_form(staff_client, "/events/new", data, page="/events/new")
        assert response.status_code in (302, 400), text
        html = (
            staff_client.get(response.headers["Location"])
            if response.status_code == 302
            else response
        ).get_data(as_text=True)
        assert_escaped(html, text)


# --- a hybrid event's places at the venue and online ----------------------------------------


def attendance_of(db, event: Event, user) -> Attendance:
    db.session.expire_all()
    return operations.registration_of(event, user).attendance


def test_a_hybrid_event_counts_its_places_at_the_venue_and_online_apart(
    app, db, staff_client, make_user, mailbox
):
    event = create(staff_client, venue_capacity="1", capacity="1")
    (a_client, a), (b_client, b), (c_client, c), (d_client, d) = (
        resident(app, make_user) for _ in range(4)
    )
    page = a_client.get(f"/events/{event.id}", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert "How will you take part?" in html and 'name="attendance" value="venue"' in html
    # no choice: said why, nothing stored
    response = register(a_client, event, attendance=None)
    assert response.status_code == 302 and status_of(db, event, a) is None
    html = a_client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "参加方法を選んでください（会場またはオンライン）。" in html
    assert register(a_client, event, "somewhere").status_code == 302
    assert status_of(db, event, a) is None
    register(a_client, event, "venue")
    register(b_client, event, "venue")
    register(c_client, event, "online")
    register(d_client, event, "online")
    assert [(status_of(db, event, u), attendance_of(db, event, u)) for u in (a, b, c, d)] == [
        (RegistrationStatus.CONFIRMED, Attendance.VENUE),
        (RegistrationStatus.WAITING, Attendance.VENUE),
        (RegistrationStatus.CONFIRMED, Attendance.ONLINE),
        (RegistrationStatus.WAITING, Attendance.ONLINE),
    ]
    # each waiting list has its own numbers
    b_reg = operations.registration_of(event, b)
    d_reg = operations.registration_of(event, d)
    assert operations.waiting_position(b_reg) == operations.waiting_position(d_reg) == 1
    html = b_client.get(f"/events/{event.id}", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert "number 1 on the waiting list" in html and "places at the venue" in html
    jobs.run_pending()
    assert "会場で参加" in mailbox.body(mailbox.last_to(a.email))
    assert "オンラインで参加" in mailbox.body(mailbox.last_to(c.email))
    # a confirmed person moves only to a free place, and otherwise keeps theirs
    assert move(a_client, event, "online").status_code == 302
    assert (status_of(db, event, a), attendance_of(db, event, a)) == (
        RegistrationStatus.CONFIRMED,
        Attendance.VENUE,
    )
    # someone waiting for the venue moves to the end of the online list
    move(b_client, event, "online")
    assert (status_of(db, event, b), attendance_of(db, event, b)) == (
        RegistrationStatus.WAITING,
        Attendance.ONLINE,
    )
    assert operations.waiting_position(operations.registration_of(event, b)) == 2
    # the seat freed goes to nobody (its list is empty); then b takes it
    post_form(
        a_client, f"/events/{event.id}/unregister", {"confirm": "yes"}, page=f"/events/{event.id}"
    )
    assert status_of(db, event, a) == RegistrationStatus.CANCELLED
    assert status_of(db, event, b) == RegistrationStatus.WAITING
    move(b_client, event, "venue")
    assert (status_of(db, event, b), attendance_of(db, event, b)) == (
        RegistrationStatus.CONFIRMED,
        Attendance.VENUE,
    )
    # c leaves online: its place goes to d, the first waiting online
    post_form(
        c_client, f"/events/{event.id}/unregister", {"confirm": "yes"}, page=f"/events/{event.id}"
    )
    assert status_of(db, event, d) == RegistrationStatus.CONFIRMED
    counts = {
        c.attendance: (c.confirmed, c.waiting, c.left) for c in operations.place_counts(event)
    }
    assert counts == {Attendance.VENUE: (1, 0, 0), Attendance.ONLINE: (1, 0, 0)}


def test_an_online_event_takes_no_venue_places(app, db, staff_client, make_user):
    response = post_form(
        staff_client,
        "/events/new",
        event_form(mode="online", venue="", venue_capacity="10"),
        page="/events/new",
    )
    assert response.status_code == 400
    assert "会場の席" in response.get_data(as_text=True) or "venue" in response.get_data(
        as_text=True
    )
    event = create(staff_client, mode="online", venue="", capacity="1")
    client, user = resident(app, make_user)
    register(client, event, attendance="venue")  # ignored: an online event is online
    assert attendance_of(db, event, user) == Attendance.ONLINE
    # an event with people at the venue stays hybrid
    hybrid = create(staff_client, venue_capacity="5")
    client, user = resident(app, make_user)
    register(client, hybrid, "venue")
    page = f"/events/{hybrid.id}/edit"
    response = post_form(staff_client, page, event_form(mode="online", venue=""), page=page)
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Event, hybrid.id).mode == Mode.HYBRID


def test_staff_download_the_registrations_as_csv(app, db, staff_client, make_user):
    event = create(staff_client, venue_capacity="1")
    first, _ = resident(app, make_user, display_name='=HYPERLINK("http://evil")')
    second, _ = resident(app, make_user, display_name="区民 花子")
    register(first, event, "venue")
    register(second, event, "venue")
    page = staff_client.get(f"/events/{event.id}/registrations").get_data(as_text=True)
    assert f"/events/{event.id}/registrations.csv" in page
    response = staff_client.get(f"/events/{event.id}/registrations.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    lines = response.get_data().decode("utf-8-sig").splitlines()
    assert len(lines) == 3
    assert lines[0] == "名前,参加方法,状態,キャンセル待ち番号,申込日時"
    # a name a spreadsheet would run as a formula starts with an apostrophe
    assert lines[1].startswith('"\'=HYPERLINK(""http://evil"")",会場,申込済み,,')
    assert lines[1].endswith("+09:00")  # Tokyo time
    assert lines[2].startswith("区民 花子,") and lines[2].split(",")[3] == "1"  # waiting no. 1
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "event.registrations_export")
    ).one()
    assert entry.details == {"rows": 2}
    # a resident may not
    assert first.get(f"/events/{event.id}/registrations.csv").status_code == 403


@pytest.mark.parametrize("app_config", [{}, {"MAIL_SERVER": None}], ids=["smtp", "outbox"])
def test_every_event_mail_leaves_through_smtp_and_the_outbox(
    app, db, staff_client, make_user, mailbox, app_config
):
    """Registration, waiting list, moving up, reminder, change and cancellation: each mail goes
    out (with its calendar file where it has one), through SMTP and through the dev outbox."""
    from app.mail import OutboxMessage

    soon = utcnow().replace(second=0, microsecond=0) + timedelta(hours=5)
    event = create(
        staff_client,
        capacity="1",
        starts_at=tokyo_text(soon),
        ends_at=tokyo_text(soon + timedelta(hours=1)),
    )
    one, a = resident(app, make_user)
    two, b = resident(app, make_user)
    register(one, event)  # confirmed
    register(two, event)  # waiting
    jobs.run_pending()  # (a waiting mail not yet sent when a place frees is left out)
    page = f"/events/{event.id}"
    left = post_form(one, f"{page}/unregister", {"confirm": "yes"}, page=page)
    assert left.status_code == 302  # b moves up
    assert operations.send_reminders() == 1
    later = soon + timedelta(days=1)
    data = event_form(
        capacity="1", starts_at=tokyo_text(later), ends_at=tokyo_text(later + timedelta(hours=1))
    )
    assert post_form(staff_client, f"{page}/edit", data, page=f"{page}/edit").status_code == 302
    post_form(staff_client, f"{page}/cancel", {"confirm": "yes"}, page=page)
    jobs.run_pending()
    assert jobs.counts() == {"waiting": 0, "failed": 0, "oldest_due_seconds": 0}
    db.session.expire_all()
    ics = f"event-{event.id}.ics"

    def delivered(address):
        """(subject, text and attachment names) of each mail to ``address``, in order."""
        if app_config:
            kept = db.session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.recipient == address)
                .order_by(OutboxMessage.id)
            )
            return [(m.subject, m.body) for m in kept]
        return [
            (
                m["Subject"],
                mailbox.body(m) + " ".join(p.get_filename() for p in m.iter_attachments()),
            )
            for m in mailbox.to(address)
        ]

    if app_config:
        assert mailbox.messages == []
    got = delivered(b.email)
    subjects = [subject for subject, _ in got]
    assert len(got) == 5, subjects  # waiting, moved up, reminder, changed, cancelled
    assert [ics in body for _, body in got] == [False, True, False, True, True], subjects
    assert all(f"/events/{event.id}" in body for _, body in got)
    ((_subject, registered),) = delivered(a.email)  # registered, with the calendar file
    assert ics in registered and f"/events/{event.id}" in registered
    if app_config:  # the admin reads it, with its calendar file named
        admin, _admin = resident(app, make_user, role=Role.ADMIN)
        last = max(db.session.scalars(select(OutboxMessage.id)))
        page = admin.get(f"/admin/outbox/{last}").get_data(as_text=True)
        assert f"[{ics} (text/calendar)]" in page and event.title in page
