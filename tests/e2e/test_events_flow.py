"""Issue 7 (events, first part) in Chromium: staff create and publish an event with one place;
a resident registers and gets the confirmation with a calendar file by e-mail (a real SMTP
server); a second joins the waiting list; the first cancels and the second gets the place. The
list, past events and the month calendar in both languages, on a phone, without JavaScript.
axe checks every page."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from icalendar import Calendar

from app.auth import operations as auth_ops
from app.auth.models import Role
from app.extensions import db
from app.timeutil import TOKYO, utcnow
from tests.conftest import PASSWORD
from tests.e2e.helpers import confirm, sign_in

PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}


@pytest.fixture
def people(live_app):
    with live_app.app_context():
        for name, email, role in [
            ("防災課 職員", "staff@example.jp", Role.STAFF),
            ("区民 一郎", "ichiro@example.jp", Role.RESIDENT),
            ("区民 花子", "hanako@example.jp", Role.RESIDENT),
        ]:
            auth_ops.create_user(name, email, PASSWORD, role, verified=True)
        db.session.commit()
        db.session.remove()


def test_create_register_wait_and_move_up(open_page, check_a11y, people, smtp_server):
    smtp_server.clear()
    start = (
        (utcnow() + timedelta(days=10))
        .astimezone(TOKYO)
        .replace(hour=14, minute=0, second=0, microsecond=0)
    )
    staff = open_page()
    sign_in(staff, check_a11y, "staff@example.jp")
    staff.goto("/events/")
    check_a11y(staff)
    staff.get_by_role("link", name="イベントを作成").click()
    check_a11y(staff)
    staff.get_by_role("button", name="保存").click()  # empty: every problem said, nothing lost
    check_a11y(staff)
    assert staff.locator(".error-summary").is_visible()
    staff.locator("#title").fill("区民公開講座「防災と地域のつながり」")
    staff.locator("#description").fill("地震に備えて、地域でできることを学びます。")
    staff.locator("#speakers").fill("山田花子（声区防災課長）")
    staff.locator("#starts_at").fill(start.strftime("%Y-%m-%dT%H:%M"))
    staff.locator("#ends_at").fill((start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    staff.locator("#mode").select_option("hybrid")
    staff.locator("#venue").fill("声区役所 2階 大会議室")
    staff.locator("#venue_capacity").fill("1")  # the room's seat; online: no limit
    staff.get_by_role("button", name="保存").click()
    check_a11y(staff)
    staff.get_by_role("button", name="公開する").click()
    check_a11y(staff)
    event_url = staff.url

    ichiro = open_page()
    sign_in(ichiro, check_a11y, "ichiro@example.jp")
    ichiro.goto(event_url)
    check_a11y(ichiro)
    assert "会場: 定員1人（残り1席） · オンライン: 制限なし" in ichiro.locator("main").inner_text()
    ichiro.get_by_role("radio", name="会場").check()
    ichiro.get_by_role("button", name="参加を申し込む").click()
    check_a11y(ichiro)
    assert "申し込み済みです。 会場で参加します。" in ichiro.locator("main").inner_text()
    mail = smtp_server.wait_for("ichiro@example.jp")
    assert "申込を受け付けました" in mail["Subject"]
    (calendar,) = list(mail.iter_attachments())
    entry = Calendar.from_ical(calendar.get_content()).walk("VEVENT")[0]
    assert str(entry["SUMMARY"]) == "区民公開講座「防災と地域のつながり」"
    assert entry.decoded("DTSTART") == start

    hanako = open_page(**PHONE)
    sign_in(hanako, check_a11y, "hanako@example.jp")
    hanako.goto(event_url)
    check_a11y(hanako)
    assert "会場（満席：キャンセル待ちになります）" in hanako.locator("fieldset").inner_text()
    hanako.get_by_role("radio", name="会場").check()
    hanako.get_by_role("button", name="参加を申し込む").click()
    check_a11y(hanako)
    assert "キャンセル待ち1番です" in hanako.locator("main").inner_text()

    ichiro.get_by_role("button", name="申込を取り消す").click()
    confirm(ichiro, check_a11y)
    check_a11y(ichiro)
    promoted = smtp_server.wait_for(
        "hanako@example.jp", "【声】お席が確保できました：区民公開講座「防災と地域のつながり」"
    )
    assert "申込完了" in smtp_server.body(promoted)
    hanako.reload()
    check_a11y(hanako)
    assert "申し込み済みです。" in hanako.locator("main").inner_text()

    staff.get_by_role("link", name="申込状況").click()
    check_a11y(staff)
    assert "区民 花子" in staff.locator("table").inner_text()
    assert "区民 一郎" not in staff.locator("table").inner_text()
    with staff.expect_download() as download:
        staff.get_by_role("link", name="この一覧をCSVでダウンロード").click()
    listed = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert listed[0] == "名前,参加方法,状態,キャンセル待ち番号,申込日時"
    assert listed[1].startswith("区民 花子,会場,申込済み,,")


@pytest.mark.parametrize("locale", ["ja-JP", "en-US"])
def test_list_calendar_and_event_pages_without_javascript(
    live_app, open_page, check_a11y, people, locale
):
    with live_app.app_context():
        from app.auth.models import User
        from app.events import operations
        from app.events.models import Mode

        staff = db.session.scalar(db.select(User).where(User.email == "staff@example.jp"))
        starts = utcnow() + timedelta(days=3)
        for title, when in [
            ("子育て講座", starts),
            ("昨年の説明会", utcnow() - timedelta(days=60)),
        ]:
            data = operations.EventData(
                title=title, description="", speakers="", department="子育て支援課",
                starts_at=when, ends_at=when + timedelta(hours=1), mode=Mode.ONLINE, venue="",
                capacity=None, registration_required=True, audience=operations.Audience.EVERYONE,
            )  # fmt: skip
            operations.publish(operations.save_event(None, data, staff), staff)
        db.session.commit()
        db.session.remove()
    page = open_page(locale=locale, java_script_enabled=False, **PHONE)
    page.goto("/events/")
    check_a11y(page)
    assert "子育て講座" in page.locator("main").inner_text()
    assert "昨年の説明会" not in page.locator("main").inner_text()
    page.locator("main nav a").nth(1).click()  # past events
    check_a11y(page)
    assert "昨年の説明会" in page.locator("main").inner_text()
    page.locator("main nav a").nth(2).click()  # the calendar of this month
    check_a11y(page)
    local = starts.astimezone(TOKYO)
    if local.month != utcnow().astimezone(TOKYO).month:
        page.locator("a[rel=next]").click()
        check_a11y(page)
    page.get_by_role("link", name="子育て講座").click()
    check_a11y(page)
    event_url = page.url
    sign_in(page, check_a11y, "ichiro@example.jp")
    page.goto(event_url)
    check_a11y(page)
    page.locator("form[action$='/register'] button").click()  # a plain form: no script needed
    check_a11y(page)
    assert page.locator("form[action$='/unregister']").count() == 1
