"""Steps the browser tests share."""

from __future__ import annotations

from tests.conftest import PASSWORD


def sign_in(page, check_a11y, email: str, password: str = PASSWORD) -> None:
    """Log in through the form, axe on the form and on the page it leads to."""
    page.goto("/auth/login")
    check_a11y(page)
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.locator("form[action^='/auth/login'] button[type=submit]").click()
    check_a11y(page)
