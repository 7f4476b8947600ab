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


def confirm(page, check_a11y) -> None:
    """On the confirmation page of an irreversible action (axe on it), press the confirm
    button: the page has one form in main, and a cancel link."""
    form = page.get_by_role("main").locator("form")
    form.locator("input[name=confirm][value=yes]").wait_for(state="attached")
    check_a11y(page)
    form.locator("button[type=submit]").click()
