"""Japanese and English as people read them: one way of writing times (pages, mails, calendar
files), age groups in words, no doubled or half-width marks in Japanese, the site name once,
the audit log in words, and the 【声】 mark on every mail subject."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from app import jobs
from app.auth.models import Role
from app.consultations.models import Opinion
from app.timeutil import TOKYO, utcnow
from tests.conftest import login, post_form
from tests.test_consultations import open_consultation, send  # noqa: F401  (a fixture)
from tests.test_events import create, register, resident


def set_language(client, lang: str) -> None:
    assert post_form(client, "/preferences/language", {"lang": lang}).status_code == 302


@pytest.fixture
def staff_client(app, db, make_user):
    client = app.test_client()
    assert login(client, make_user(role=Role.STAFF).email).status_code == 302
    return client


def late_evening_event(staff_client, **overrides):
    """An event from 23:12 to 1:09 the next night (Tokyo), a week ahead."""
    day = (utcnow().astimezone(TOKYO) + timedelta(days=7)).date()
    start = datetime(day.year, day.month, day.day, 23, 12, tzinfo=TOKYO)
    end = start + timedelta(hours=1, minutes=57)
    return (
        create(
            staff_client,
            starts_at=start.strftime("%Y-%m-%d %H:%M"),
            ends_at=end.strftime("%Y-%m-%d %H:%M"),
            **overrides,
        ),
        start,
        end,
    )


JA_WEEKDAYS = "月火水木金土日"


def ja_range(start: datetime, end: datetime) -> str:
    first = f"{start.year}年{start.month}月{start.day}日({JA_WEEKDAYS[start.weekday()]}) 23:12"
    last = f"{end.month}月{end.day}日({JA_WEEKDAYS[end.weekday()]}) 1:09"
    if end.year != start.year:
        last = f"{end.year}年{last}"
    return f"{first}～{last}"


def en_range(start: datetime, end: datetime) -> str:
    first = start.strftime("%a %-d %b %Y, 23:12")
    last = end.strftime("%a %-d %b, 01:09" if end.year == start.year else "%a %-d %b %Y, 01:09")
    return f"{first} – {last} (JST)"


def test_event_times_are_written_one_way_in_pages_mails_and_calendar_files(
    app, db, staff_client, make_user, mailbox
):
    event, start, end = late_evening_event(staff_client)
    client, user = resident(app, make_user)
    html = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert ja_range(start, end) in html
    listing = client.get("/events/").get_data(as_text=True)
    assert ja_range(start, end) in listing
    for page in (html, listing):
        assert "秒" not in page and "日本標準時" not in page and "（日本時間）" not in page
    assert register(client, event).status_code == 302
    assert jobs.run_pending() == 1
    mail = mailbox.last_to(user.email)
    assert f"日時：{ja_range(start, end)}" in mailbox.body(mail)
    (part,) = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]
    description = str(Calendar.from_ical(part.get_content()).walk("VEVENT")[0]["DESCRIPTION"])
    assert description.startswith(f"日時：{ja_range(start, end)}")

    set_language(client, "en")
    html = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert en_range(start, end) in html
    ics = client.get(f"/events/{event.id}/event.ics").get_data(as_text=True)
    assert "When: " + en_range(start, end).replace(",", "\\,") in ics.replace("\r\n ", "")


def test_a_single_moment_has_no_seconds(client, db, open_consultation):  # noqa: F811
    html = client.get(f"/consultations/{open_consultation.id}").get_data(as_text=True)
    period = re.search(r"<dd class=\"when\">(\d{4}年\d+月\d+日\(.\) \d+:\d\d)～", html)
    assert period, "the period is written 2026年12月7日(月) 9:00～…"
    assert "秒" not in html and "日本標準時" not in html


def test_opinion_form_in_japanese_words_and_optional_said_once(
    client,
    db,
    open_consultation,  # noqa: F811
    logged_in,
):
    logged_in()
    html = client.get(f"/consultations/{open_consultation.id}").get_data(as_text=True)
    options = re.findall(r'<option value="(\d0s|80\+)">([^<]*)</option>', html)
    assert options[0] == ("10s", "10代") and options[-1] == ("80+", "80代以上")
    assert "（任意）（任意）" not in html and "任意・" not in html
    assert html.count("（任意）") >= 2  # age group and area, each marked once by the field macro


def test_receipt_sentence_has_no_stray_full_stop(client, db, open_consultation, logged_in):  # noqa: F811
    logged_in()
    response = send(client, open_consultation, "遊具を増やしてください。")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    code = db.session.scalar(select(Opinion.receipt_code))
    text = re.sub(r"<[^>]+>", "", html)
    assert f"受付番号は {code} です。" in text
    assert f"{code}." not in text


def test_places_left_in_full_width_brackets(app, db, staff_client, make_user):
    event, _start, _end = late_evening_event(staff_client, capacity="79")
    client, _user = resident(app, make_user)
    html = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "定員79人（残り79席）" in html and "(残り" not in html


def test_site_name_is_read_once(client, db):
    html = client.get("/", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    brand = re.search(r'<a class="brand"[^>]*>(.*?)</a>', html).group(1)
    assert re.sub(r"<[^>]+>", "", brand).strip() == "声"
    english = client.application.test_client()
    html = english.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    brand = re.search(r'<a class="brand"[^>]*>(.*?)</a>', html).group(1)
    assert 'aria-hidden="true">声</span> Koe' in brand


def test_audit_log_in_words_with_readable_details(client, db, make_user, logged_in):
    logged_in(Role.ADMIN)
    target = make_user(role=Role.STAFF)
    page = f"/admin/users/{target.id}"
    response = post_form(client, f"{page}/department", {"department": "環境清掃課"}, page=page)
    assert response.status_code == 302
    set_language(client, "ja")
    html = client.get("/admin/audit").get_data(as_text=True)
    table = html[html.index("<table") :]
    assert "担当部署を設定しました" in table and "アカウント" in table
    assert "to: 環境清掃課" in table
    assert "user.set_department" not in table and "\\u" not in table and ">User " not in table
    set_language(client, "en")
    html = client.get("/admin/audit").get_data(as_text=True)
    assert ">Department set</option>" in html and "Department set</td>" in html


def test_every_mail_subject_has_the_mark(app, db, staff_client, make_user, mailbox):
    event, _start, _end = late_evening_event(staff_client)
    client, user = resident(app, make_user)
    assert register(client, event).status_code == 302
    jobs.run_pending()
    assert mailbox.last_to(user.email)["Subject"].startswith("【声】")
    set_language(client, "en")
    assert post_form(client, "/auth/reset", {"email": user.email}).status_code in (200, 302)
    subjects = [m["Subject"] for m in mailbox.to(user.email)]
    assert all(s.startswith(("【声】", "[Koe] ")) for s in subjects), subjects
    assert not any(s.startswith("【声】【声】") for s in subjects)


def test_presence_is_words_not_a_pictograph(app, db, staff_client, make_user):
    event, _start, _end = late_evening_event(staff_client)
    client, _user = resident(app, make_user)
    html = client.get(f"/events/{event.id}/live").get_data(as_text=True)
    assert 'data-text="視聴中：__N__人"' in html
    script = client.get("/static/js/live.js").get_data(as_text=True)
    assert not re.search("[\U0001f300-\U0001faff]", script + html)
