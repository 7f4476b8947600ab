"""axe-core on every page of the site, in Japanese and English, signed out and as an admin."""

from __future__ import annotations

import pytest

from app.auth import operations
from app.auth.models import Role
from app.extensions import db
from tests.conftest import PASSWORD


def simple_pages(app) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods
        and not rule.arguments
        and rule.endpoint != "static"
        and rule.endpoint != "main.healthz"
        and not rule.rule.endswith(".json")  # downloads, not pages
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

    page.goto("/auth/login")
    check_a11y(page)
    page.locator("#email").fill(admin_email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action^='/auth/login'] button[type=submit]").click()
    check_a11y(page)
    for path in [*pages, f"/admin/users/{resident_id}", "/admin/users/999999"]:
        page.goto(path)
        check_a11y(page)
