"""Issue 5 in Chromium: staff group the demo consultation's opinions, edit the themes, answer
theme by theme and publish; the resident sees the themes and their own opinion's theme.

The demo data (``flask koe seed-demo``) is the starting point, as on a fresh ``make run``: its
grouping is queued by the seed and run by the jobs worker beside the server. axe checks every
page; the residents' pages are also checked in English, and on a phone without JavaScript.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from app.cli import DEMO_PASSWORD
from app.consultations.models import Consultation
from app.extensions import db
from app.timeutil import utcnow
from tests.e2e.helpers import confirm, sign_in

PARKS = "声区公園整備計画（案）"
NAME = "夜の公園の照明と防犯"


def wait_for_themes(page, check_a11y, path: str, count: int | None = None) -> None:
    """Reload the themes page until the worker has finished (the progress is gone)."""
    for _ in range(150):
        page.goto(path)
        check_a11y(page)
        sections = page.locator("section.theme").count()
        if not page.locator("progress").count() and sections and count in (None, sections):
            return
        page.wait_for_timeout(300)
    raise AssertionError(f"the grouping did not finish: {page.url}")


def theme_ids(page) -> list[int]:
    links = page.locator("section.theme a[href*='/themes/']").all()
    return [int(re.search(r"/themes/(\d+)", a.get_attribute("href")).group(1)) for a in links]


def test_staff_answer_by_theme_and_residents_see_their_theme(live_app, open_page, check_a11y):
    with live_app.app_context():
        seeded = live_app.test_cli_runner().invoke(args=["koe", "seed-demo"])
        assert seeded.exit_code == 0, seeded.output
        parks = db.session.scalar(select(Consultation).where(Consultation.title == PARKS))
        pid = parks.id
        db.session.remove()
    path = f"/consultations/{pid}/themes"
    staff = open_page()
    sign_in(staff, check_a11y, "staff@demo.koe.example", DEMO_PASSWORD)
    wait_for_themes(staff, check_a11y, path)  # the demo's own grouping

    # group again into 4 themes
    staff.locator("#k").fill("4")
    staff.locator(f"form[action='{path}'] button[type=submit]").click()
    check_a11y(staff)
    wait_for_themes(staff, check_a11y, path, 4)
    first, *_, last = theme_ids(staff)

    # rename and keep the name
    staff.goto(f"{path}/{first}")
    check_a11y(staff)
    staff.locator("#label").fill(NAME)
    staff.locator("#pinned").check()
    staff.locator("form[action$='/rename'] button[type=submit]").click()
    check_a11y(staff)
    assert NAME in staff.locator("h1").inner_text()

    # merge the last theme into the first
    staff.goto(f"{path}/{last}")
    check_a11y(staff)
    staff.locator("#into").select_option(str(first))
    staff.locator("form[action$='/merge'] button[type=submit]").click()
    confirm(staff, check_a11y)
    check_a11y(staff)
    assert staff.url.endswith(f"{path}/{first}")

    # move one opinion of the first theme to another
    staff.locator("input[name=opinions]").first.check()
    target = staff.locator("#target option").nth(0).get_attribute("value")
    staff.locator("#target").select_option(target)
    staff.locator("form[action$='/move'] button[type=submit]").click()
    check_a11y(staff)
    assert staff.locator("[role=status], .flash").count() >= 1
    staff.goto(path)
    check_a11y(staff)
    assert staff.locator("section.theme").count() == 3
    assert NAME in staff.locator("main").inner_text()

    # the consultation closes; staff answer each theme at once, then publish
    with live_app.app_context():
        db.session.get(Consultation, pid).closes_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
        db.session.remove()

    def save_view() -> None:
        """Give what the form selects its disposition and reason, and save."""
        staff.locator("#disposition").select_option("partly_reflected")
        staff.locator("#reason").fill("計画の第2章から第4章に反映しました。")
        staff.locator("form[method=post] button[type=submit]").last.click()
        check_a11y(staff)

    for theme in theme_ids(staff):
        body = f"テーマ{theme}のご意見を踏まえ、整備の優先順位に反映します。"
        staff.goto(f"/consultations/{pid}/review?theme={theme}&show=all")
        check_a11y(staff)
        if staff.locator("#whole").count():  # a theme with a core (never 「その他」)
            staff.locator("#whole").check()
            staff.locator("#body").fill(body)
            save_view()
        # the whole-theme answer reached the core; staff read the opinions marked 要確認
        # and give them the same view with a tick each
        staff.goto(f"/consultations/{pid}/review?theme={theme}&show=open")
        check_a11y(staff)
        if staff.locator("input[name=opinions]").count():
            assert staff.locator(".check-note").count() >= 1
            for box in staff.locator("input[name=opinions]").all():
                box.check()
            view = staff.locator("#answer option", has_text=f"テーマ{theme}のご意見")
            if view.count():
                staff.locator("#answer").select_option(view.first.get_attribute("value"))
            else:
                staff.locator("#body").fill(body)
            save_view()
    staff.goto(f"/consultations/{pid}/review")
    check_a11y(staff)
    staff.locator(f"form[action='/consultations/{pid}/publish'] button").click()
    confirm(staff, check_a11y)
    check_a11y(staff)

    # the resident finds the theme of their opinion under "My voice", and the ward's view
    resident = open_page()
    sign_in(resident, check_a11y, "resident@demo.koe.example", DEMO_PASSWORD)
    resident.goto("/consultations/my-voice")
    check_a11y(resident)
    link = resident.locator(f"a[href*='/consultations/{pid}/voices#theme-']").first
    label = link.inner_text()
    assert label
    link.click()
    check_a11y(resident)
    section = resident.locator(f"section#{resident.url.rsplit('#', 1)[1]}")
    assert label in section.locator("h2").inner_text()
    assert "整備の優先順位に反映します" in section.inner_text()
    assert NAME in resident.locator("main").inner_text()
    resident.goto(f"/consultations/{pid}/results")
    check_a11y(resident)
    assert resident.locator(f"a[href='/consultations/{pid}/voices']").count() == 1

    # in English, and on a phone without JavaScript
    english = open_page(locale="en-US")
    english.goto(f"/consultations/{pid}/voices")
    check_a11y(english)
    assert "What others are saying" in english.locator("h1").inner_text()
    sign_in(english, check_a11y, "staff@demo.koe.example", DEMO_PASSWORD)
    english.goto(f"{path}/{first}")
    check_a11y(english)
    plain = open_page(java_script_enabled=False, viewport={"width": 375, "height": 740})
    plain.goto(f"/consultations/{pid}/voices")
    check_a11y(plain)
    assert plain.locator("section.theme").count() == 3
