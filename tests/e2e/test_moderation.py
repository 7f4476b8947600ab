"""A moderator works the queue in Chromium; staff edit the blocked words; axe on every page."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.auth import operations
from app.auth.models import Role
from app.extensions import db
from app.moderation import operations as moderation_ops
from app.moderation.models import ItemStatus, ModerationItem
from tests.conftest import PASSWORD
from tests.e2e.helpers import confirm, menu_link


def sign_in(page: Page, check_a11y, email: str) -> None:
    page.goto("/auth/login")
    check_a11y(page)
    page.get_by_label("メールアドレス", exact=True).fill(email)
    page.get_by_label("パスワード", exact=True).fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="ログイン", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("ログインしました。")
    check_a11y(page)


def test_moderator_works_the_queue(live_app, page, check_a11y):
    with live_app.app_context():
        operations.create_user("見守り 鈴木", "mod@example.jp", PASSWORD, Role.MODERATOR)
        for i, name in enumerate(["田中 090-1234-5678", "ばかやろう", "山田 a@example.jp"]):
            resident = operations.create_user(
                f"区民{i}", f"r{i}@example.jp", PASSWORD, Role.RESIDENT
            )
            result = moderation_ops.scan_text(name, resident, spam=False)
            moderation_ops.record("display_name", resident.id, resident, result)
        db.session.commit()
        ids = list(db.session.scalars(select(ModerationItem.id).order_by(ModerationItem.id)))
        db.session.remove()

    sign_in(page, check_a11y, "mod@example.jp")
    menu_link(page, "モデレーション").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("確認待ち一覧")
    expect(page.get_by_role("main")).to_contain_text("3件の項目が判断を待っています")
    expect(page.locator("mark.finding").first).to_contain_text("電話番号:")
    check_a11y(page)

    # Reject two in one go, by keyboard-reachable checkboxes and a labelled reason.
    page.get_by_label(f"項目 {ids[1]} を選ぶ").check()
    page.get_by_label(f"項目 {ids[2]} を選ぶ").check()
    page.get_by_label("非公開にする理由").select_option("abuse")
    page.get_by_role("button", name="非公開にする").click()
    expect(page.get_by_role("status")).to_contain_text("2件を判断しました。")
    expect(page.get_by_role("main")).to_contain_text("1件の項目が判断を待っています")
    check_a11y(page)

    # Open the last one, mask more in the public copy, approve it.
    page.get_by_role("link", name=f"項目 {ids[0]} を開く").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"項目 {ids[0]}")
    check_a11y(page)
    page.get_by_label("公開用の文面").fill("田中さん 090-1234-5678")
    page.get_by_role("button", name="公開用の文面を保存する").click()
    expect(page.get_by_role("status")).to_contain_text("公開用の文面を保存しました。")
    expect(page.get_by_label("公開用の文面")).to_have_value("田中さん ［電話番号］")
    check_a11y(page)
    page.get_by_role("button", name="承認して公開する").click()
    expect(page.get_by_role("main")).to_contain_text("確認待ちの項目はありません。")
    check_a11y(page)

    with live_app.app_context():
        statuses = [db.session.get(ModerationItem, i).status for i in ids]
        db.session.remove()
    assert statuses == [ItemStatus.PUBLISHED, ItemStatus.REJECTED, ItemStatus.REJECTED]


def test_staff_edit_the_blocked_words(live_app, open_page, check_a11y):
    with live_app.app_context():
        operations.create_user("政策 佐藤", "staff@example.jp", PASSWORD, Role.STAFF)
        db.session.commit()
        db.session.remove()
    page = open_page(viewport={"width": 375, "height": 740})  # on a phone
    sign_in(page, check_a11y, "staff@example.jp")
    menu_link(page, "モデレーション").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("禁止語句")
    check_a11y(page)
    page.get_by_role("button", name="追加する").click()  # empty: an error, nothing lost
    expect(page.locator(".error-summary")).to_contain_text("語句を入力してください。")
    check_a11y(page)
    page.get_by_label("語句", exact=True).fill("まちがいだらけ")
    page.get_by_label("扱い").select_option("reject")
    page.get_by_role("button", name="追加する").click()
    expect(page.get_by_role("status")).to_contain_text("語句を追加しました。")
    expect(page.get_by_role("cell", name="まちがいだらけ", exact=True)).to_be_visible()
    check_a11y(page)
    page.get_by_role("button", name="まちがいだらけ を削除").click()
    confirm(page, check_a11y)
    expect(page.get_by_role("status")).to_contain_text("語句を削除しました。")
    check_a11y(page)


def test_readers_report_and_a_moderator_sanctions(live_app, open_page, check_a11y, mailbox):
    live_app.config["REPORT_HIDE_THRESHOLD"] = 1
    with live_app.app_context():
        operations.create_user("見守り 鈴木", "mod@example.jp", PASSWORD, Role.MODERATOR)
        operations.create_user("読者", "reader@example.jp", PASSWORD, Role.RESIDENT)
        author = operations.create_user("あらし", "troll@example.jp", PASSWORD, Role.RESIDENT)
        result = moderation_ops.scan_text("あらし", author, spam=False)
        moderation_ops.record("display_name", author.id, author, result)
        db.session.commit()
        author_id = author.id
        db.session.remove()

    # A reader reports the name from the public page, without JavaScript.
    reader = open_page(java_script_enabled=False)
    sign_in(reader, check_a11y, "reader@example.jp")
    reader.goto(f"/people/{author_id}")
    expect(reader.get_by_role("heading", level=1)).to_have_text("あらし")
    check_a11y(reader)
    reader.get_by_text("この内容を報告する").click()
    reader.get_by_label("報告する理由").select_option("abuse")
    reader.get_by_role("button", name="報告を送る").click()
    expect(reader.get_by_role("status")).to_contain_text("ご報告ありがとうございます")
    expect(reader.get_by_role("heading", level=1)).to_have_text(f"区民{author_id}")  # hidden
    check_a11y(reader)

    # The moderator finds it in the queue, opens it and mutes the author for a week.
    page = open_page()
    sign_in(page, check_a11y, "mod@example.jp")
    page.goto("/moderation/")
    expect(page.get_by_role("main")).to_contain_text("読者からの報告")
    check_a11y(page)
    page.get_by_role("link", name="を開く").first.click()
    check_a11y(page)
    page.get_by_role("link", name="措置").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("あらし への措置")
    check_a11y(page)
    page.get_by_label("措置", exact=True).select_option("mute")
    page.get_by_label("期間").select_option("7")
    page.get_by_label("理由（本人に通知されます）").fill("報告された表示名のため")
    page.get_by_role("button", name="措置を記録して本人に通知する").click()
    expect(page.get_by_role("status")).to_contain_text("措置を記録し、本人に通知しました。")
    expect(page.get_by_role("cell", name="報告された表示名のため")).to_be_visible()
    check_a11y(page)
    assert "報告された表示名のため" in mailbox.body(mailbox.last_to("troll@example.jp"))

    page.goto("/moderation/statistics")
    expect(page.get_by_role("heading", level=1)).to_have_text("モデレーションの統計")
    check_a11y(page)
