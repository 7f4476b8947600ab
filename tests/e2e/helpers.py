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


def tab_to(page, target, limit: int = 60) -> None:
    """Press Tab until ``target`` (a locator) has the focus; fail after ``limit`` presses."""
    handle = target.element_handle()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("el => document.activeElement === el", handle):
            return
    raise AssertionError(f"{target} is not reachable with Tab")
