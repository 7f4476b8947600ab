"""Consultations in Chromium: staff open one, residents send opinions and follow the receipt.

Axe checks every page; the resident's part runs in Japanese and in English, and once more on a
phone without JavaScript.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.auth import operations
from app.auth.models import Role, User
from app.consultations import operations as consultation_ops
from app.consultations.models import Consultation, Opinion, State
from app.extensions import db
from app.moderation.models import ItemStatus, ModerationItem
from app.timeutil import TOKYO, utcnow
from tests.conftest import PASSWORD, create_open_consultation
from tests.e2e.helpers import confirm

TITLE = "声区公園整備計画（案）"
DRAFT = """# 第1章 総則
この計画は、声区の公園をより使いやすくするためのものです。

# 第2章 遊具の更新
老朽化した遊具を、令和9年度までに順次更新します。

# 第3章 夜間の照明
夜間も安心して通れるよう、照明を増やします。"""
RECEIPT_CODE = re.compile(r"^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$")

JAPANESE = {
    "locale": "ja-JP",
    "email": "メールアドレス",
    "password": "パスワード",
    "log_in": "ログイン",
    "logged_in": "ログインしました。",
    "consultations": "意見募集",
    "about": "対象",
    "opinion": "ご意見",
    "show_name": "意見に表示名を表示する（選ばない場合は匿名）",
    "send": "意見を送信する",
    "received": "ありがとうございます。ご意見を受け付けました。",
    "your_code": "受付番号は",
    "subject": "【声】ご意見を受け付けました（受付番号 {code}）",
    "receipt_heading": "意見 {code}",
    "published": "公開中",
    "published_opinions": "公開されている意見",
    "lookup": "受付番号で意見の状況を確かめる",
    "code": "受付番号",
    "check": "確かめる",
    "text": "夜の公園が暗いので、照明を早めに増やしてください。",
}
ENGLISH = {
    "locale": "en-US",
    "email": "E-mail address",
    "password": "Password",
    "log_in": "Log in",
    "logged_in": "You are logged in.",
    "consultations": "Consultations",
    "about": "About",
    "opinion": "Your opinion",
    "show_name": "Show my display name with my opinion (otherwise: anonymous)",
    "send": "Send my opinion",
    "received": "Thank you. Your opinion was received.",
    "your_code": "Your receipt code is",
    "subject": "[Koe] Your opinion was received: {code}",
    "receipt_heading": "Opinion {code}",
    "published": "Published",
    "published_opinions": "Published opinions",
    "lookup": "Check an opinion by its receipt code",
    "code": "Receipt code",
    "check": "Check",
    "text": "The park is dark at night: please add the lights soon.",
}


def heading(page: Page, name: str):
    return page.get_by_role("heading", level=1, name=name, exact=True)


def sign_in(page: Page, check_a11y, email: str, t: dict = JAPANESE) -> None:
    page.goto("/auth/login")
    check_a11y(page)
    page.get_by_label(t["email"], exact=True).fill(email)
    page.get_by_label(t["password"], exact=True).fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name=t["log_in"], exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(t["logged_in"])
    check_a11y(page)


def local(dt: datetime) -> str:
    """A ``datetime-local`` value in Tokyo time."""
    return dt.astimezone(TOKYO).strftime("%Y-%m-%dT%H:%M")


def create_people(live_app, *residents: str) -> None:
    with live_app.app_context():
        operations.create_user("政策 佐藤", "staff@example.jp", PASSWORD, Role.STAFF)
        for n, email in enumerate(residents, start=1):
            operations.create_user(f"区民 花子{n}", email, PASSWORD, Role.RESIDENT)
        db.session.commit()
        db.session.remove()


def staff_open_a_consultation(page: Page, check_a11y) -> None:
    """Staff write a consultation through the form and open it from the staff box."""
    sign_in(page, check_a11y, "staff@example.jp")
    page.get_by_role("banner").get_by_role("link", name="意見募集", exact=True).click()
    expect(heading(page, "意見募集")).to_be_visible()
    check_a11y(page)
    page.get_by_role("main").get_by_role("link", name="新しい意見募集").click()
    expect(heading(page, "新しい意見募集")).to_be_visible()
    check_a11y(page)

    now = utcnow()
    page.get_by_label("題名", exact=True).fill(TITLE)
    page.get_by_label("概要", exact=True).fill("区内の公園整備の方針について、ご意見を募集します。")
    page.get_by_label("担当部署", exact=True).fill("都市整備部 公園課")
    page.get_by_label("問い合わせ先", exact=True).fill("電話 03-0000-0000（公園課）")
    page.get_by_label("分野", exact=True).fill("公園, 子育て")
    page.get_by_label("募集開始（日本時間）", exact=True).fill(local(now - timedelta(hours=1)))
    page.get_by_label("募集終了（日本時間）", exact=True).fill(local(now + timedelta(days=30)))
    page.get_by_label("案", exact=True).fill(DRAFT)
    page.get_by_role("button", name="保存する", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("意見募集を下書きとして保存しました。")
    expect(heading(page, TITLE)).to_be_visible()
    expect(page.get_by_role("heading", level=3)).to_have_text(
        ["第1章 総則", "第2章 遊具の更新", "第3章 夜間の照明"]
    )
    check_a11y(page)

    staff_box = page.get_by_role("region", name="職員用")
    staff_box.get_by_role("button", name="今すぐ意見募集を始める", exact=True).click()
    confirm(page, check_a11y)  # opening at once fixes the draft: Koe asks first
    expect(page.get_by_role("status")).to_contain_text("意見募集を始めました。")
    expect(page.locator(".badge")).to_have_text("意見募集中")
    expect(staff_box.get_by_role("button", name="今すぐ意見募集を終える")).to_be_visible()
    check_a11y(page)


def resident_send_an_opinion(page: Page, check_a11y, mailbox, email: str, t: dict) -> str:
    """A resident finds the consultation, sends an opinion and follows its receipt code."""
    sign_in(page, check_a11y, email, t)
    page.get_by_role("banner").get_by_role("link", name=t["consultations"], exact=True).click()
    expect(heading(page, t["consultations"])).to_be_visible()
    check_a11y(page)
    page.get_by_role("link", name=TITLE).click()
    expect(heading(page, TITLE)).to_be_visible()
    check_a11y(page)

    page.get_by_label(t["about"], exact=True).select_option(label="第3章 夜間の照明")
    page.get_by_label(t["opinion"], exact=True).fill(t["text"])
    page.get_by_label(t["show_name"]).check()
    page.get_by_role("button", name=t["send"]).click()
    notice = page.get_by_role("status").filter(has_text=t["received"])
    expect(notice).to_contain_text(t["your_code"])
    code = notice.locator(".receipt-code").inner_text()
    assert len(code) == 14 and RECEIPT_CODE.match(code), code
    expect(heading(page, t["receipt_heading"].format(code=code))).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(t["published"])
    check_a11y(page)

    # The receipt arrived at the SMTP server, with the code.
    mail = mailbox.wait_for(email)
    assert mail["Subject"] == t["subject"].format(code=code)
    assert code in mailbox.body(mail)

    # The opinion is on the consultation page, under the published opinions, with the name.
    page.get_by_role("main").get_by_role("link", name=TITLE).click()
    expect(heading(page, TITLE)).to_be_visible()
    published = page.locator(
        f"xpath=//h2[normalize-space()='{t['published_opinions']}']/following-sibling::ol[1]"
    )
    expect(published.get_by_role("listitem")).to_have_count(1)
    expect(published).to_contain_text(t["text"])
    expect(published).to_contain_text("区民 花子")
    expect(published).to_contain_text("第3章 夜間の照明")
    check_a11y(page)

    # Anyone finds it again by the code, typed loosely: lower case, without the hyphens.
    page.get_by_role("banner").get_by_role("link", name=t["consultations"], exact=True).click()
    check_a11y(page)
    page.get_by_role("link", name=t["lookup"]).click()
    expect(heading(page, t["lookup"])).to_be_visible()
    check_a11y(page)
    page.get_by_label(t["code"], exact=True).fill(code.replace("-", "").lower())
    page.get_by_role("main").get_by_role("button", name=t["check"], exact=True).click()
    expect(heading(page, t["receipt_heading"].format(code=code))).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/consultations/receipts/{code}$"))
    expect(page.get_by_role("main")).to_contain_text(t["published"])
    expect(page.get_by_role("main")).to_contain_text(t["text"])
    check_a11y(page)
    return code


@pytest.mark.parametrize("t", [JAPANESE, ENGLISH], ids=["ja", "en"])
def test_staff_open_a_consultation_and_a_resident_sends_an_opinion(
    t, live_app, open_page, check_a11y, mailbox
):
    email = f"hanako.{t['locale'].lower()}@example.jp"
    create_people(live_app, email)
    staff_open_a_consultation(open_page(), check_a11y)
    resident = open_page(locale=t["locale"])
    code = resident_send_an_opinion(resident, check_a11y, mailbox, email, t)

    with live_app.app_context():
        opinion = db.session.scalar(select(Opinion).where(Opinion.receipt_code == code))
        item = consultation_ops.item_of(opinion)
        assert opinion.show_name and opinion.section.heading == "第3章 夜間の照明"
        assert item.status == ItemStatus.PUBLISHED and item.original_text == t["text"]
        assert opinion.consultation.state == State.OPEN
        db.session.remove()


def open_consultation(live_app) -> int:
    """An open consultation made through the operations (the staff part is tested above)."""
    with live_app.app_context():
        staff = db.session.scalar(select(User).where(User.role == Role.STAFF))
        consultation_id = create_open_consultation(staff, title=TITLE, draft=DRAFT).id
        db.session.remove()
    return consultation_id


def test_opinion_form_without_javascript_on_a_phone(live_app, open_page, check_a11y, mailbox):
    create_people(live_app, "phone@example.jp")
    consultation_id = open_consultation(live_app)
    page = open_page(java_script_enabled=False, viewport={"width": 375, "height": 740})
    sign_in(page, check_a11y, "phone@example.jp")
    page.goto(f"/consultations/{consultation_id}")
    expect(heading(page, TITLE)).to_be_visible()
    check_a11y(page)

    # Nothing written: an error summary that links to the field, and the field says why.
    page.get_by_role("button", name="意見を送信する").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("次の項目を確認してください")
    expect(summary.get_by_role("link", name=re.compile("ご意見を書いてください。"))).to_be_visible()
    body = page.get_by_label("ご意見", exact=True)
    expect(body).to_have_attribute("aria-invalid", "true")
    expect(body).to_have_accessible_description(re.compile("ご意見を書いてください。"))
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways on a phone ({width}px wide)"
    check_a11y(page)

    # A phone number: received, but held for a check, and never shown in public.
    text = "詳しくは090-1234-5678に電話をください。"
    body.fill(text)
    page.get_by_role("button", name="意見を送信する").click()
    notice = page.get_by_role("status").filter(has_text="ご意見を受け付けました。")
    expect(notice).to_contain_text("受付番号は")
    code = notice.locator(".receipt-code").inner_text()
    assert RECEIPT_CODE.match(code), code
    expect(page.get_by_role("main")).to_contain_text("公開前の確認待ちです")
    expect(page.get_by_role("main")).not_to_contain_text("090-1234-5678")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways on a phone ({width}px wide)"
    check_a11y(page)
    assert code in mailbox.wait_for("phone@example.jp")["Subject"]

    page.get_by_role("main").get_by_role("link", name=TITLE).click()
    expect(heading(page, TITLE)).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("公開されている意見はまだありません。")
    assert "090-1234-5678" not in page.content()
    check_a11y(page)

    with live_app.app_context():
        item = db.session.scalar(select(ModerationItem).where(ModerationItem.source == "opinion"))
        assert item.status == ItemStatus.HELD and item.original_text == text
        assert item.public_text == "詳しくは［電話番号］に電話をください。"
        assert db.session.scalar(select(Consultation.id)) == consultation_id
        db.session.remove()


def test_staff_enter_a_fax_opinion(live_app, page, check_a11y):
    create_people(live_app)
    consultation_id = open_consultation(live_app)
    sign_in(page, check_a11y, "staff@example.jp")
    page.goto(f"/consultations/{consultation_id}")
    check_a11y(page)
    page.get_by_role("link", name="声（こえ）以外で届いた意見を入力する").click()
    expect(heading(page, "声（こえ）以外で届いた意見を入力する")).to_be_visible()
    check_a11y(page)
    page.get_by_label("受付方法").select_option("fax")
    page.get_by_label("提出された意見（原文のまま）").fill("駐輪場を増やしてください。")
    page.get_by_role("button", name="意見を入力する").click()
    expect(page.get_by_role("status")).to_contain_text("意見を入力しました。受付番号は")
    check_a11y(page)
