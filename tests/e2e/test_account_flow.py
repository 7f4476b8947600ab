"""A resident's first visit in a real browser: register, confirm, log in, profile, log out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.account.models import Profile
from app.extensions import db
from tests.conftest import PASSWORD

JAPANESE = {
    "lang": "ja",
    "log_in": "ログイン",
    "register": "新規登録",
    "display_name": "表示名",
    "email": "メールアドレス",
    "password": "パスワード",
    "agree": "利用規約とプライバシーポリシーに同意します。",
    "create": "アカウントを作成する",
    "check_mail": "メールを確認してください",
    "confirm_heading": "メールアドレスの確認",
    "confirm": "メールアドレスを確認する",
    "confirmed": "メールアドレスを確認しました。",
    "logged_in": "ログインしました。",
    "my_account": "マイアカウント",
    "edit_profile": "プロフィールを編集する",
    "full_name": "氏名",
    "furigana": "ふりがな",
    "postal_code": "郵便番号",
    "phone": "電話番号",
    "area": "お住まいの地区",
    "central": "中部地区",
    "save": "保存する",
    "saved": "プロフィールを保存しました。",
    "my_data_link": "わたしのデータを見る・ダウンロードする",
    "my_data": "わたしのデータ",
    "log_out": "ログアウト",
    "logged_out": "ログアウトしました。",
}
ENGLISH = {
    "lang": "en",
    "log_in": "Log in",
    "register": "Register",
    "display_name": "Display name",
    "email": "E-mail address",
    "password": "Password",
    "agree": "I agree to the terms of use and the privacy policy.",
    "create": "Create an account",
    "check_mail": "Check your e-mail",
    "confirm_heading": "Confirm your e-mail address",
    "confirm": "Confirm my e-mail address",
    "confirmed": "Your e-mail address is confirmed.",
    "logged_in": "You are logged in.",
    "my_account": "My account",
    "edit_profile": "Edit my profile",
    "full_name": "Full name",
    "furigana": "Furigana",
    "postal_code": "Postal code",
    "phone": "Phone number",
    "area": "Area of the ward",
    "central": "Central district",
    "save": "Save",
    "saved": "Your profile is saved.",
    "my_data_link": "See and download my data",
    "my_data": "My data",
    "log_out": "Log out",
    "logged_out": "You are logged out.",
}


def heading(page: Page, name: str):
    return page.get_by_role("heading", level=1, name=name, exact=True)


def summary_value(page: Page, term: str):
    """The <dd> that follows the <dt> reading ``term``."""
    return page.locator(f"xpath=//dt[normalize-space()='{term}']/following-sibling::dd[1]")


@pytest.mark.parametrize("t", [JAPANESE, ENGLISH], ids=["ja", "en"])
def test_register_verify_login_edit_profile_logout(
    t, page, check_a11y, live_server, live_app, mailbox
):
    email = f"hanako.{t['lang']}@example.jp"
    header = page.get_by_role("banner")
    status = page.get_by_role("status")

    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(header.get_by_role("link", name="ログイン", exact=True)).to_be_visible()
    check_a11y(page)
    if t is ENGLISH:
        header.get_by_role("button", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        check_a11y(page)

    # Register.
    header.get_by_role("link", name=t["register"]).click()
    expect(heading(page, t["create"])).to_be_visible()
    check_a11y(page)
    page.get_by_label(t["display_name"], exact=True).fill("はなこ")
    page.get_by_label(t["email"], exact=True).fill(email)
    page.get_by_label(t["password"], exact=True).fill(PASSWORD)
    page.get_by_label(t["agree"]).check()
    page.get_by_role("button", name=t["create"]).click()
    expect(heading(page, t["check_mail"])).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(email)
    check_a11y(page)

    # Confirm the address from the link in the mail.
    link = mailbox.link(email, "/auth/verify/")
    assert link.startswith(f"{live_server}/auth/verify/"), link
    page.goto(link)
    expect(heading(page, t["confirm_heading"])).to_be_visible()
    check_a11y(page)
    page.get_by_role("button", name=t["confirm"]).click()
    expect(status).to_contain_text(t["confirmed"])
    expect(heading(page, t["log_in"])).to_be_visible()
    check_a11y(page)

    # Log in.
    page.get_by_label(t["email"], exact=True).fill(email)
    page.get_by_label(t["password"], exact=True).fill(PASSWORD)
    page.get_by_role("button", name=t["log_in"], exact=True).click()
    expect(status).to_contain_text(t["logged_in"])
    expect(header.get_by_role("button", name=t["log_out"])).to_be_visible()
    check_a11y(page)

    # Edit the profile.
    header.get_by_role("link", name=t["my_account"]).click()
    expect(heading(page, t["my_account"])).to_be_visible()
    check_a11y(page)
    page.get_by_role("link", name=t["edit_profile"]).click()
    expect(heading(page, t["edit_profile"])).to_be_visible()
    check_a11y(page)
    page.get_by_label(t["full_name"], exact=True).fill("山田 花子")
    page.get_by_label(t["furigana"], exact=True).fill("やまだ はなこ")
    page.get_by_label(t["postal_code"], exact=True).fill("１２３４５６７")
    page.get_by_label(t["phone"], exact=True).fill("03-1234-5678")
    page.get_by_label(t["area"], exact=True).select_option(label=t["central"])
    page.get_by_role("button", name=t["save"], exact=True).click()
    expect(status).to_contain_text(t["saved"])
    expect(heading(page, t["my_account"])).to_be_visible()
    check_a11y(page)

    # The data page shows what was saved; the postal code is stored normalised.
    page.get_by_role("link", name=t["my_data_link"]).click()
    expect(heading(page, t["my_data"])).to_be_visible()
    check_a11y(page)
    expect(summary_value(page, t["full_name"])).to_have_text("山田 花子")
    expect(summary_value(page, t["furigana"])).to_have_text("やまだ はなこ")
    expect(summary_value(page, t["postal_code"])).to_have_text("123-4567")
    expect(summary_value(page, t["phone"])).to_have_text("03-1234-5678")
    expect(summary_value(page, t["area"])).to_have_text(t["central"])
    with live_app.app_context():
        assert db.session.scalar(select(Profile.postal_code)) == "123-4567"

    # Log out with the button in the header.
    header.get_by_role("button", name=t["log_out"]).click()
    expect(status).to_contain_text(t["logged_out"])
    expect(header.get_by_role("link", name=t["log_in"], exact=True)).to_be_visible()
    expect(header.get_by_role("button", name=t["log_out"])).to_have_count(0)
    expect(page.locator("html")).to_have_attribute("lang", t["lang"])
    check_a11y(page)


def test_skip_link_is_the_first_tab_stop(page, check_a11y):
    page.goto("/")
    check_a11y(page)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="本文へ移動")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))
    expect(page.locator("#main")).to_be_focused()


def test_register_form_without_javascript_on_a_phone(open_page, check_a11y, mailbox):
    page = open_page(java_script_enabled=False, viewport={"width": 375, "height": 667})
    page.goto("/auth/register")
    check_a11y(page)

    page.get_by_role("button", name="アカウントを作成する").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("次の項目を確認してください")
    check_a11y(page)
    errors = {
        "表示名": "表示名を入力してください。",
        "メールアドレス": "メールアドレスを入力してください。",
        "パスワード": "パスワードを入力してください。",
        "利用規約とプライバシーポリシーに同意します。": "登録するには同意が必要です。",
    }
    for label, message in errors.items():
        control = page.get_by_label(label, exact=True)
        expect(control).to_have_attribute("aria-invalid", "true")
        expect(control).to_have_accessible_description(re.compile(re.escape(message)))
        error_id = control.get_attribute("id") + "-error"
        expect(control).to_have_attribute("aria-describedby", re.compile(rf"\b{error_id}\b"))
        expect(page.locator(f"#{error_id}")).to_contain_text(message)
        expect(summary.get_by_role("link", name=re.compile(re.escape(message)))).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways on a phone ({width}px wide)"

    page.get_by_label("表示名", exact=True).fill("はなこ")
    page.get_by_label("メールアドレス", exact=True).fill("nojs@example.jp")
    page.get_by_label("パスワード", exact=True).fill(PASSWORD)
    page.get_by_label("利用規約とプライバシーポリシーに同意します。").check()
    page.get_by_role("button", name="アカウントを作成する").click()
    expect(heading(page, "メールを確認してください")).to_be_visible()
    check_a11y(page)
    assert mailbox.link("nojs@example.jp", "/auth/verify/")
