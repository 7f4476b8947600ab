"""Issue 6 in Chromium: a form in sections, one section a page, filled by keyboard alone (Tab,
arrows, Enter), Next and Back keeping every answer, checked and sent; axe on every page, in
Japanese and English."""

from __future__ import annotations

import pytest

from app.auth import operations as auth_ops
from app.auth.models import Role
from app.extensions import db
from app.forms import operations
from app.forms.models import FieldKind, FormState, OnlineForm, Submission
from tests.conftest import PASSWORD
from tests.e2e.helpers import tab_to

TEXTS = {
    "ja-JP": {"page2": "ページ 2 / 2", "back": "戻る", "check": "回答を確認する",
              "send": "回答を送信する", "next": "次へ"},
    "en-US": {"page2": "Page 2 of 2", "back": "Back", "check": "Check my answers",
              "send": "Send my answers", "next": "Next"},
}  # fmt: skip


def enter(page) -> None:
    """Press Enter and wait for the page it sends the form to."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


@pytest.mark.parametrize("locale", ["ja-JP", "en-US"])
def test_a_form_in_pages_by_keyboard_alone(live_app, open_page, check_a11y, locale):
    t = TEXTS[locale]
    with live_app.app_context():
        staff = auth_ops.create_user("職員", "staff@example.jp", PASSWORD, Role.STAFF)
        course = OnlineForm(title="防災講座の申込", state=FormState.DRAFT, login_required=False,
                            one_per_person=False, paged=True)  # fmt: skip
        db.session.add(course)
        for kind, label, choices in [
            (FieldKind.SECTION, "あなたについて", []),
            (FieldKind.SHORT_TEXT, "お名前", []),
            (FieldKind.SINGLE, "参加の方法", ["会場", "オンライン"]),
            (FieldKind.SECTION, "ご質問", []),
            (FieldKind.LONG_TEXT, "講師への質問", []),
        ]:
            operations.add_field(course, staff, kind=kind, label=label, choices=choices,
                                 required=kind != FieldKind.SECTION)  # fmt: skip
        operations.move(course, FormState.OPEN, staff)
        db.session.commit()
        form_id = course.id
        db.session.remove()

    page = open_page(locale=locale)
    page.goto(f"/forms/{form_id}")
    check_a11y(page)
    main = page.locator("main")
    tab_to(page, page.get_by_label("お名前"))
    page.keyboard.type("声 花子")
    tab_to(page, page.get_by_label("会場"))
    page.keyboard.press("ArrowDown")  # the next choice of the group: オンライン
    assert page.get_by_label("オンライン").is_checked()
    enter(page)  # the form's main button: Next
    assert t["page2"] in main.inner_text()
    check_a11y(page)
    tab_to(page, page.get_by_label("講師への質問"))
    page.keyboard.type("避難所の場所を知りたいです。")
    tab_to(page, page.get_by_role("button", name=t["back"]))
    enter(page)
    check_a11y(page)
    assert page.get_by_label("お名前").input_value() == "声 花子"  # kept
    assert page.get_by_label("オンライン").is_checked()
    tab_to(page, page.get_by_role("button", name=t["next"]))
    enter(page)
    check_a11y(page)
    assert page.get_by_label("講師への質問").input_value() == "避難所の場所を知りたいです。"
    tab_to(page, page.get_by_role("button", name=t["check"]))
    enter(page)
    check_a11y(page)  # the confirmation page
    text = main.inner_text()
    assert "声 花子" in text and "オンライン" in text and "避難所の場所" in text
    tab_to(page, page.get_by_role("button", name=t["send"]))
    enter(page)
    check_a11y(page)
    with live_app.app_context():
        stored = db.session.query(Submission).one()
        assert sorted(stored.answers.values()) == sorted(
            ["声 花子", "オンライン", "避難所の場所を知りたいです。"]
        )
        db.session.remove()
