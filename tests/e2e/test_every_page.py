"""axe-core on every page of the site, in Japanese and English, signed out and as an admin;
then the pages after closing (review, final text, answer, results, notifications) with data."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import moderation
from app.auth import operations
from app.auth.models import Role, User
from app.consultations import operations as consultation_ops
from app.consultations import results
from app.consultations.models import Consultation, Disposition, Follow, State
from app.extensions import db
from tests.conftest import PASSWORD, create_open_consultation
from tests.e2e.helpers import sign_in


def simple_pages(app) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods
        and not rule.arguments
        and rule.endpoint != "static"
        and rule.endpoint not in ("main.healthz", "main.livez")  # probes, not pages
        and rule.endpoint not in ("main.robots", "main.favicon")  # for crawlers and browsers
        and rule.endpoint != "forms.postal_address"  # JSON for a form page's script
        and not rule.rule.endswith(".json")  # downloads, not pages
        and not rule.rule.startswith("/api/")  # JSON for programs, not pages
    )


@pytest.mark.parametrize("locale", ["ja-JP", "en-US"])
def test_every_page_has_no_axe_violation(live_app, live_server, open_page, check_a11y, locale):
    with live_app.app_context():
        admin = operations.create_user("管理者", "admin@example.jp", PASSWORD, Role.ADMIN)
        resident = operations.create_user("区民", "resident@example.jp", PASSWORD, Role.RESIDENT)
        db.session.commit()
        resident_id, admin_email = resident.id, admin.email
        db.session.remove()
    pages = simple_pages(live_app)
    assert "/privacy" in pages and "/admin/audit" in pages

    page = open_page(locale=locale)
    lang = locale[:2]
    for path in [*pages, "/no-such-page"]:
        page.goto(path)
        assert page.locator("html").get_attribute("lang") == lang
        check_a11y(page)

    sign_in(page, check_a11y, admin_email)
    for path in [*pages, f"/admin/users/{resident_id}", "/admin/users/999999"]:
        page.goto(path)
        check_a11y(page)


def sign_in_as_admin(page, check_a11y, email: str) -> None:
    sign_in(page, check_a11y, email)


def closed_and_answered(live_app) -> dict:
    """A closed consultation whose opinions (one by the admin) have the ward's view, and a
    changed final text; a resident follows it. Made through the operations."""
    with live_app.app_context():
        admin = operations.create_user("管理者", "admin@example.jp", PASSWORD, Role.ADMIN)
        resident = operations.create_user("区民", "resident@example.jp", PASSWORD, Role.RESIDENT)
        db.session.commit()
        consultation = create_open_consultation(admin)
        whole, _general, _play, lights = [None, *consultation.sections]
        mine, _ = consultation_ops.submit_opinion(
            consultation, admin, moderation.scan("照明を増やしてください。"), section=lights
        )
        other, _ = consultation_ops.submit_opinion(
            consultation, resident, moderation.scan("計画に賛成です。"), section=whole
        )
        db.session.add(Follow(user_id=resident.id, consultation_id=consultation.id))
        consultation.move(State.CLOSED)
        answer = results.answer_opinions(
            consultation,
            admin,
            [mine.id],
            disposition=Disposition.REFLECTED,
            reason="第3章に通学路を明記しました。",
            body="通学路から順に照明を増やします。",
        )
        results.answer_opinions(
            consultation,
            admin,
            [other.id],
            disposition=Disposition.INCLUDED,
            reason="計画のとおり進めます。",
            summary="計画に賛成する意見",
            body="ご賛同ありがとうございます。",
        )
        results.save_final_text(
            consultation,
            admin,
            {lights.id: "夜間も安心して通れるよう、通学路から照明を増設します。"},
        )
        db.session.commit()
        ids = {
            "consultation": consultation.id,
            "answer": answer.id,
            "opinion": mine.id,
            "code": mine.receipt_code,
        }
        db.session.remove()
    return ids


def publish(live_app, consultation_id: int) -> None:
    with live_app.app_context():
        consultation = db.session.get(Consultation, consultation_id)
        admin = db.session.scalar(select(User).where(User.role == Role.ADMIN))
        assert results.publish(consultation, admin) == 2  # the admin's line, the follower
        db.session.commit()
        db.session.remove()


@pytest.mark.parametrize("locale", ["ja-JP", "en-US"])
def test_the_pages_after_closing_have_no_axe_violation(live_app, open_page, check_a11y, locale):
    ids = closed_and_answered(live_app)
    base = f"/consultations/{ids['consultation']}"
    page = open_page(locale=locale)
    sign_in_as_admin(page, check_a11y, "admin@example.jp")

    # Closed: staff answer, write the final text and preview the results.
    for path in [
        f"{base}/review",
        f"{base}/review?show=all",
        f"{base}/review?show=all&section=0",
        f"{base}/final",
        f"{base}/answers/{ids['answer']}",
        f"{base}/results",
        base,
    ]:
        page.goto(path)
        check_a11y(page)
    # A refused form shows its errors: nothing ticked, no view, no reason.
    page.goto(f"{base}/review?show=all")
    check_a11y(page)
    page.locator("#body").fill("")
    page.locator("#reason").fill("")
    page.locator("form[method=post]:has(#opinions) button[type=submit]").click()
    page.get_by_role("alert").wait_for()
    check_a11y(page)
    page.goto(f"{base}/answers/{ids['answer']}")
    check_a11y(page)
    page.locator("#body").fill("")
    page.locator("main form[method=post] button[type=submit]").click()
    page.get_by_role("alert").wait_for()
    check_a11y(page)

    # Published: the same pages frozen, the results, the notification and My voice.
    publish(live_app, ids["consultation"])
    for path in [
        f"{base}/review?show=all",
        f"{base}/final",
        f"{base}/answers/{ids['answer']}",
        f"{base}/results",
        f"{base}/results/opinions/{ids['opinion']}",
        base,
        "/notifications/",
        "/consultations/my-voice",
        f"/consultations/receipts/{ids['code']}",
    ]:
        page.goto(path)
        check_a11y(page)

    # Signed out, anyone reads the results.
    reader = open_page(locale=locale)
    for path in [f"{base}/results", f"{base}/results/opinions/{ids['opinion']}", base]:
        reader.goto(path)
        check_a11y(reader)


@pytest.mark.parametrize("locale", ["ja-JP", "en-US"])
def test_the_themes_page_has_no_axe_violation(live_app, open_page, check_a11y, locale):
    """Staff group the opinions: the empty page, a refused number, the progress, the themes
    with their map and table, in Japanese and English, with and without JavaScript."""
    import csv

    from tests.analytics.test_quality import DATASETS

    with live_app.app_context():
        admin = operations.create_user("管理者", "admin@example.jp", PASSWORD, Role.ADMIN)
        db.session.commit()
        consultation = create_open_consultation(admin)
        with (DATASETS / "resident-voices" / "voices.tsv").open(encoding="utf-8") as handle:
            texts = [r["text"] for r in csv.DictReader(handle, delimiter="\t")][:60]
        for text in [*texts, texts[0], texts[0]]:
            result = moderation.scan(text)
            if result.verdict != "reject":
                consultation_ops.submit_opinion(consultation, None, result)
        db.session.commit()
        path = f"/consultations/{consultation.id}/themes"
        db.session.remove()
    page = open_page(locale=locale)
    sign_in_as_admin(page, check_a11y, "admin@example.jp")
    page.goto(path)
    check_a11y(page)
    page.locator("#k").fill("11")
    page.locator(f"form[action='{path}'] button[type=submit]").click()
    page.get_by_role("alert").wait_for()
    check_a11y(page)
    page.locator("#k").fill("4")
    page.locator(f"form[action='{path}'] button[type=submit]").click()
    check_a11y(page)  # the progress (or already the themes: the worker is quick)
    for _ in range(100):  # the jobs worker beside the server does the grouping
        page.goto(path)
        check_a11y(page)  # the progress, until the themes are there
        if page.locator("table").count():
            break
        page.wait_for_timeout(300)
    assert page.locator("svg[role=img]").count() == 1
    assert page.locator("section.theme").count() == 4
    # each theme leads to the review page, filtered to its opinions
    page.locator("section.theme a[href*='/review?theme=']").first.click()
    assert page.locator("#filter-theme option[selected]").count() == 1
    check_a11y(page)
    plain = open_page(
        locale=locale, java_script_enabled=False, viewport={"width": 375, "height": 800}
    )
    sign_in_as_admin(plain, check_a11y, "admin@example.jp")
    plain.goto(path)
    check_a11y(plain)
