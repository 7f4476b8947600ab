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


def menu_link(page, name: str):
    """A link of the site menu in the header; on a narrow screen the menu is folded into a
    <details> first opened, as a person on a phone opens it."""
    banner = page.get_by_role("banner")
    folded = banner.locator("details.menu-narrow")
    if folded.is_visible() and folded.get_attribute("open") is None:
        folded.locator("summary").click()
        banner = folded
    elif folded.is_visible():
        banner = folded
    return banner.get_by_role("link", name=name, exact=True)
