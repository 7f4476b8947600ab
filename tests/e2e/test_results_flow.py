"""Issue 4 in Chromium: from an opinion to the ward's published answer, and back to it.

Staff open a consultation; a resident sends an opinion and gets the receipt by e-mail; another
resident agrees with it; a third person follows the consultation. Staff close it, answer the
opinion with a view, a disposition and a reason, change the final text and publish the results.
The resident is told (in the site and by e-mail), lands on their own line of the results and
follows "My voice" to the change in the final text. Everything runs in Japanese and in
English, axe checks every page, and the staff part and the results work on a phone without
JavaScript.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

import moderation
from app.auth import operations
from app.auth.models import Role, User
from app.consultations import operations as consultation_ops
from app.consultations.models import Answer, Consultation, Disposition, Opinion, State
from app.extensions import db
from app.notifications.models import Notification
from app.timeutil import utcnow
from tests.conftest import PASSWORD
from tests.e2e.helpers import confirm, tab_to
from tests.e2e.test_consultations import DRAFT, TITLE

LIGHTS = "第3章 夜間の照明"
LIGHTS_DRAFT = "夜間も安心して通れるよう、照明を増やします。"
LIGHTS_FINAL = "夜間も安心して通れるよう、通学路から順にLED照明を増設します。"
PHONE = {"width": 375, "height": 740}

JAPANESE = {
    "locale": "ja-JP",
    "lang": "ja",
    "email": "メールアドレス",
    "password": "パスワード",
    "log_in": "ログイン",
    "logged_in": "ログインしました。",
    "consultations": "意見募集",
    "open": "今すぐ意見募集を始める",
    "close": "今すぐ意見募集を終える",
    "opened": "意見募集を始めました。",
    "state_changed": "意見募集を終了しました。",
    "closed": "募集終了",
    "results_published": "結果公表済み",
    "staff": "職員用",
    "about": "対象",
    "opinion": "ご意見",
    "show_name": "意見に表示名を表示する（選ばない場合は匿名）",
    "send": "意見を送信する",
    "received": "ありがとうございます。ご意見を受け付けました。",
    "receipt_subject": "【声】ご意見を受け付けました（受付番号 {code}）",
    "receipt_heading": "意見 {code}",
    "text": "夜の公園が暗いので、通学路から照明を早めに増やしてください。",
    "agree": "賛成",
    "reaction_saved": "リアクションを保存しました。",
    "follow": "この意見募集をフォローする",
    "following": "この意見募集をフォローしています。結果が公表されたらお知らせします。",
    "unfollow": "フォローをやめる",
    "review": "意見への回答",
    "progress_open": "1 件に区の考え方または対応がまだありません。",
    "progress_done": "0 件に区の考え方または対応がまだありません。",
    "pick": "受付番号 {code} · " + LIGHTS,
    "legend": "まとめて回答する意見を選ぶ",
    "answer_choice": "区の考え方",
    "new_answer": "新しい考え方（下に記入）",
    "view": "新しい区の考え方",
    "view_text": "通学路の照明から順に増やし、令和8年度中にLEDへ切り替えます。",
    "disposition": "対応",
    "reflected": "反映する",
    "reason": "対応の理由",
    "reason_text": "ご意見を踏まえ、第3章に通学路を優先することを明記しました。",
    "save_answer": "選んだ意見に保存する",
    "answer_saved": "1 件の意見に区の考え方を保存しました。",
    "nothing_left": "表示する意見はありません。",
    "show": "表示",
    "every_opinion": "すべての意見",
    "final": "最終案を書く",
    "final_heading": "最終案",
    "save_final": "最終案を保存する",
    "final_saved": "最終案を保存しました。案と異なる項目は 1 件です。",
    "changes": "案からの変更",
    "changed": "変更あり",
    "removed": "削除",
    "added": "追加",
    "publish": "結果を公表する",
    "published_flash": "結果を公表し、2 人にお知らせしました。",
    "results_heading": "結果：" + TITLE,
    "answers_heading": "意見と区の考え方",
    "notifications": "お知らせ",
    "unread": "1 件の未読",
    "notification": f"「{TITLE}」へのご意見 {{code}} について、区の考え方が公表されました。",
    "results_notification": f"「{TITLE}」の結果が公表されました。",
    "new": "新着",
    "mark_read": "すべて既読にする",
    "all_read": "すべてのお知らせを既読にしました。",
    "my_voice": "わたしの声",
    "reflected_in_text": "最終案に反映",
    "see_change": "最終案での変更を見る",
    "see_line": "結果の表でこの意見の行を見る（No. 1）",
    "see_results": "結果を見る：意見ごとの区の考え方と最終案",
    "answer_subject": "【声】ご意見 {code} に区の考え方が公表されました",
    "results_subject": f"【声】「{TITLE}」の結果が公表されました",
}
ENGLISH = {
    "locale": "en-US",
    "lang": "en",
    "email": "E-mail address",
    "password": "Password",
    "log_in": "Log in",
    "logged_in": "You are logged in.",
    "consultations": "Consultations",
    "open": "Start taking opinions now",
    "close": "Stop taking opinions now",
    "opened": "The consultation takes opinions from now on.",
    "state_changed": "The consultation no longer takes opinions.",
    "closed": "Closed",
    "results_published": "Results published",
    "staff": "For staff",
    "about": "About",
    "opinion": "Your opinion",
    "show_name": "Show my display name with my opinion (otherwise: anonymous)",
    "send": "Send my opinion",
    "received": "Thank you. Your opinion was received.",
    "receipt_subject": "[Koe] Your opinion was received: {code}",
    "receipt_heading": "Opinion {code}",
    "text": "The park is dark at night: please add lights on the school routes first.",
    "agree": "Agree",
    "reaction_saved": "Your reaction is saved.",
    "follow": "Follow this consultation",
    "following": "You follow this consultation; you will be told when its results are published.",
    "unfollow": "Stop following",
    "review": "Answer the opinions",
    "progress_open": "1 opinion has no view or disposition yet.",
    "progress_done": "0 opinions have no view or disposition yet.",
    "pick": "Receipt code {code} · " + LIGHTS,
    "legend": "Tick the opinions to answer together",
    "answer_choice": "The ward's view",
    "new_answer": "A new view (write it below)",
    "view": "New view of the ward",
    "view_text": "We add lights along the school routes first and move to LED within 2026.",
    "disposition": "Disposition",
    "reflected": "Reflected",
    "reason": "Reason for the disposition",
    "reason_text": "Section 3 now says that the school routes come first.",
    "save_answer": "Save for the ticked opinions",
    # "1 opinions" / "1 sections" / "2 people": the English messages use gettext, not ngettext.
    "answer_saved": "The ward's view is saved for 1 opinion",
    "nothing_left": "No opinions to show here.",
    "show": "Show",
    "every_opinion": "Every opinion",
    "final": "Write the final text",
    "final_heading": "The final text",
    "save_final": "Save the final text",
    "final_saved": "The final text is saved; 1 section",
    "changes": "Changes against the draft",
    "changed": "Changed",
    "removed": "removed",
    "added": "added",
    "publish": "Publish the results",
    "published_flash": "The results are published; 2 people are told.",
    "results_heading": "Results: " + TITLE,
    "answers_heading": "The opinions and the ward's view",
    "notifications": "Notifications",
    "unread": "1 unread",
    "notification": f'The ward published its answer to your opinion {{code}} on "{TITLE}".',
    "results_notification": f'The results of "{TITLE}" are published.',
    "new": "New",
    "mark_read": "Mark all as read",
    "all_read": "All notifications are marked as read.",
    "my_voice": "My voice",
    "reflected_in_text": "Reflected in the final text",
    "see_change": "See the change in the final text",
    "see_line": "See this opinion's line in the results (No. 1)",
    "see_results": "See the results: the ward's view on each opinion and the final text",
    "answer_subject": "[Koe] The ward answered your opinion {code}",
    "results_subject": f'[Koe] The results of "{TITLE}" are published',
}


# --- helpers -------------------------------------------------------------------------------


def heading(page: Page, name: str):
    return page.get_by_role("heading", level=1, name=name, exact=True)


def flash(page: Page):
    return page.locator(".flashes[role=status]")


def sign_in(page: Page, check_a11y, email: str, t: dict) -> None:
    page.goto("/auth/login")
    check_a11y(page)
    page.get_by_label(t["email"], exact=True).fill(email)
    page.get_by_label(t["password"], exact=True).fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name=t["log_in"], exact=True).click()
    expect(flash(page)).to_contain_text(t["logged_in"])
    check_a11y(page)


def assert_fits_a_phone(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways on a phone ({width}px wide)"


def create_people(live_app, lang: str) -> dict[str, str]:
    """Staff, the resident who writes, one who reacts and one who follows (in ``lang``)."""
    people = {
        "staff": ("政策 佐藤", Role.STAFF),
        "author": ("区民 花子", Role.RESIDENT),
        "reader": ("区民 次郎", Role.RESIDENT),
        "follower": ("区民 三郎", Role.RESIDENT),
    }
    emails = {}
    with live_app.app_context():
        for key, (name, role) in people.items():
            email = f"{key}.{lang}@example.jp"
            user = operations.create_user(name, email, PASSWORD, role)
            user.locale = lang  # as if they had registered from a browser in that language
            emails[key] = email
        db.session.commit()
        db.session.remove()
    return emails


def draft_consultation(live_app, staff_email: str) -> int:
    """A consultation saved as a draft (writing it through the form is tested elsewhere)."""
    with live_app.app_context():
        staff = db.session.scalar(select(User).where(User.email == staff_email))
        now = utcnow()
        data = consultation_ops.ConsultationData(
            title=TITLE,
            summary="区内の公園整備の方針について、ご意見を募集します。",
            department="都市整備部 公園課",
            contact="電話 03-0000-0000（公園課）",
            topics="公園",
            area=None,
            opens_at=now - timedelta(hours=1),
            closes_at=now + timedelta(days=30),
            draft=DRAFT,
        )
        consultation = consultation_ops.save_consultation(None, data, staff)
        db.session.commit()
        consultation_id = consultation.id
        db.session.remove()
    return consultation_id


def opinion_id(live_app, code: str) -> int:
    with live_app.app_context():
        found = db.session.scalar(select(Opinion.id).where(Opinion.receipt_code == code))
        db.session.remove()
    return found


def section_id(live_app, consultation_id: int, heading_text: str) -> int:
    with live_app.app_context():
        consultation = db.session.get(Consultation, consultation_id)
        found = next(s.id for s in consultation.sections if s.heading == heading_text)
        db.session.remove()
    return found


# --- the steps of the flow ---------------------------------------------------------------------


def staff_open(page: Page, check_a11y, consultation_id: int, t: dict) -> None:
    page.goto(f"/consultations/{consultation_id}")
    expect(heading(page, TITLE)).to_be_visible()
    check_a11y(page)
    staff_box = page.get_by_role("region", name=t["staff"])
    staff_box.get_by_role("button", name=t["open"], exact=True).click()
    confirm(page, check_a11y)
    expect(flash(page)).to_contain_text(t["opened"])
    expect(staff_box.get_by_role("button", name=t["close"], exact=True)).to_be_visible()
    check_a11y(page)


def resident_send(page: Page, check_a11y, mailbox, email: str, t: dict) -> str:
    """The resident finds the consultation, sends an opinion and gets the receipt by mail."""
    page.get_by_role("banner").get_by_role("link", name=t["consultations"], exact=True).click()
    expect(heading(page, t["consultations"])).to_be_visible()
    check_a11y(page)
    page.get_by_role("link", name=TITLE).click()
    expect(heading(page, TITLE)).to_be_visible()
    check_a11y(page)
    page.get_by_label(t["about"], exact=True).select_option(label=LIGHTS)
    page.get_by_label(t["opinion"], exact=True).fill(t["text"])
    page.get_by_label(t["show_name"]).check()
    page.get_by_role("button", name=t["send"]).click()
    code = page.locator(".receipt-code").inner_text()
    expect(page.get_by_role("status").filter(has_text=t["received"])).to_contain_text(code)
    expect(heading(page, t["receipt_heading"].format(code=code))).to_be_visible()
    check_a11y(page)

    mail = mailbox.wait_for(email, t["receipt_subject"].format(code=code))
    assert code in mailbox.body(mail)
    return code


def resident_agree(page: Page, check_a11y, consultation_id: int, t: dict) -> None:
    page.goto(f"/consultations/{consultation_id}")
    expect(heading(page, TITLE)).to_be_visible()
    check_a11y(page)
    agree = page.locator("ol.opinions").get_by_role("button", name=re.compile(f"^{t['agree']} "))
    expect(agree).to_have_text(f"{t['agree']} 0")
    agree.click()
    expect(flash(page)).to_contain_text(t["reaction_saved"])
    expect(agree).to_have_text(f"{t['agree']} 1")
    expect(agree).to_have_attribute("aria-pressed", "true")
    check_a11y(page)


def someone_follows(page: Page, check_a11y, consultation_id: int, t: dict) -> None:
    page.goto(f"/consultations/{consultation_id}")
    check_a11y(page)
    page.get_by_role("button", name=t["follow"], exact=True).click()
    expect(flash(page)).to_contain_text(t["following"])
    expect(page.get_by_role("button", name=t["unfollow"], exact=True)).to_be_visible()
    check_a11y(page)


def staff_close(page: Page, check_a11y, consultation_id: int, t: dict) -> None:
    page.goto(f"/consultations/{consultation_id}")
    check_a11y(page)
    staff_box = page.get_by_role("region", name=t["staff"])
    staff_box.get_by_role("button", name=t["close"], exact=True).click()
    confirm(page, check_a11y)
    expect(flash(page)).to_contain_text(t["state_changed"])
    expect(page.locator(".summary .badge")).to_have_text(t["closed"])
    check_a11y(page)
    staff_box.get_by_role("link", name=t["review"], exact=True).click()
    expect(heading(page, t["review"])).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(t["progress_open"])
    check_a11y(page)


def staff_answer(page: Page, check_a11y, code: str, t: dict, *, keyboard: bool) -> None:
    """On the review page: tick the opinion, write the view, choose the disposition, save."""
    opinions = page.get_by_role("group", name=t["legend"])
    pick = opinions.get_by_role("checkbox", name=t["pick"].format(code=code), exact=True)
    expect(pick).to_be_enabled()
    expect(pick).not_to_be_checked()
    if keyboard:
        page.locator("#main").focus()
        tab_to(page, pick)
        page.keyboard.press("Space")
    else:
        pick.check()
    expect(pick).to_be_checked()
    answer = page.get_by_label(t["answer_choice"], exact=True)
    expect(answer.locator("option:checked")).to_have_text(t["new_answer"])
    page.get_by_label(t["view"], exact=True).fill(t["view_text"])
    page.get_by_label(t["disposition"], exact=True).select_option(label=t["reflected"])
    page.get_by_label(t["reason"], exact=True).fill(t["reason_text"])
    page.get_by_role("button", name=t["save_answer"], exact=True).click()
    expect(flash(page)).to_contain_text(t["answer_saved"])
    # Only the opinions still to answer are listed by default: none is left.
    expect(page.get_by_role("main")).to_contain_text(t["nothing_left"])
    expect(page.get_by_role("main")).to_contain_text(t["progress_done"])
    check_a11y(page)

    # Every opinion: the one answered shows its view and disposition.
    page.get_by_label(t["show"], exact=True).select_option(label=t["every_opinion"])
    page.get_by_role("main").get_by_role("button", name=t["show"], exact=True).click()
    expect(page).to_have_url(re.compile(r"show=all"))
    line = page.locator("ol.review-list > li")
    expect(line).to_have_count(1)
    expect(line).to_contain_text(t["view_text"][:30])
    expect(line).to_contain_text(f"{t['reflected']} — {t['reason_text']}")
    check_a11y(page)


def staff_write_final_text(page: Page, check_a11y, lights_id: int, t: dict) -> None:
    page.get_by_role("link", name=t["final"], exact=True).click()
    expect(heading(page, t["final_heading"])).to_be_visible()
    check_a11y(page)
    text = page.get_by_role("textbox", name=LIGHTS, exact=True)
    expect(text).to_have_value(LIGHTS_DRAFT)
    text.fill(LIGHTS_FINAL)
    page.get_by_role("button", name=t["save_final"], exact=True).click()
    expect(flash(page)).to_contain_text(t["final_saved"])
    expect(page.get_by_role("textbox", name=LIGHTS, exact=True)).to_have_value(LIGHTS_FINAL)
    expect(page.get_by_role("heading", level=2, name=t["changes"])).to_be_visible()
    assert_diff(page, lights_id, t)
    check_a11y(page)


def assert_diff(page: Page, lights_id: int, t: dict) -> None:
    """The section of the final text shows what was removed and added, also in words."""
    section = page.locator(f"#diff-{lights_id}")
    expect(section.get_by_role("heading", level=3)).to_have_text(f"{LIGHTS} {t['changed']}")
    expect(section.locator("del").first).to_be_visible()
    expect(section.locator("ins").first).to_be_visible()
    inserted = "".join(section.locator("ins").all_text_contents())
    assert "通学路から順に" in inserted and "LED" in inserted, inserted
    deleted = "".join(section.locator("del").all_text_contents())
    assert f"[{t['removed']}: " in deleted, deleted
    # Read as text, the section is the final text with the changes marked in words.
    final_only = section.locator("p.diff").evaluate(
        """p => { const c = p.cloneNode(true);
                  c.querySelectorAll('del, .visually-hidden').forEach(e => e.remove());
                  return c.textContent; }"""
    )
    assert final_only == LIGHTS_FINAL, final_only
    # The marks are not told by colour alone: struck through and underlined.
    line = section.locator("del").first.evaluate("e => getComputedStyle(e).textDecorationLine")
    assert "line-through" in line, line
    line = section.locator("ins").first.evaluate("e => getComputedStyle(e).textDecorationLine")
    assert "underline" in line, line


def staff_publish(page: Page, check_a11y, t: dict) -> None:
    page.get_by_role("link", name=t["review"], exact=True).click()
    expect(heading(page, t["review"])).to_be_visible()
    check_a11y(page)
    page.get_by_role("button", name=t["publish"], exact=True).click()
    confirm(page, check_a11y)
    expect(flash(page)).to_contain_text(t["published_flash"])
    expect(heading(page, t["results_heading"])).to_be_visible()
    expect(page).to_have_url(re.compile(r"/results$"))
    main = page.get_by_role("main")
    expect(main).to_contain_text(t["text"])
    expect(main).to_contain_text(t["view_text"])
    check_a11y(page)


def resident_reads_the_answer(
    page: Page, check_a11y, mailbox, email: str, code: str, ids: dict, t: dict
) -> None:
    """Told in the site: notification → own line → My voice → the change; and by e-mail."""
    opinion, lights_id, consultation_id = ids["opinion"], ids["lights"], ids["consultation"]
    page.goto("/")
    check_a11y(page)
    link = page.get_by_role("banner").get_by_role(
        "link", name=f"{t['notifications']} {t['unread']}", exact=True
    )
    expect(link.locator(".badge")).to_contain_text("1")
    link.click()
    expect(heading(page, t["notifications"])).to_be_visible()
    item = page.locator("ol.notifications > li")
    expect(item).to_have_count(1)
    expect(item).to_have_class(re.compile(r"\bunread\b"))
    expect(item).to_contain_text(t["new"])
    check_a11y(page)

    item.get_by_role("link", name=t["notification"].format(code=code), exact=True).click()
    expect(heading(page, t["results_heading"])).to_be_visible()
    expect(page).to_have_url(
        re.compile(rf"/consultations/{consultation_id}/results\?page=1#opinion-{opinion}$")
    )
    line = page.locator(f"#opinion-{opinion}")
    expect(line).to_be_in_viewport()
    assert line.evaluate("e => e.matches(':target')")
    assert line.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"  # it stands out
    expect(line).to_contain_text(t["text"])
    expect(line).to_contain_text(f"{t['disposition']}: {t['reflected']}")
    check_a11y(page)

    # The notification stays listed; marked read, the header badge goes.
    page.get_by_role("banner").get_by_role("link", name=t["notifications"]).click()
    check_a11y(page)
    page.get_by_role("button", name=t["mark_read"], exact=True).click()
    expect(flash(page)).to_contain_text(t["all_read"])
    expect(page.locator("ol.notifications > li.unread")).to_have_count(0)
    expect(
        page.get_by_role("banner").get_by_role("link", name=t["notifications"], exact=True)
    ).to_be_visible()
    check_a11y(page)

    # My voice: the answer, the disposition, "reflected in the final text", and the way there.
    page.get_by_role("banner").get_by_role("link", name=t["my_voice"], exact=True).click()
    expect(heading(page, t["my_voice"])).to_be_visible()
    entry = page.locator("ol.my-voice > li")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text(t["view_text"])
    expect(entry).to_contain_text(f"{t['disposition']}: {t['reflected']} — {t['reason_text']}")
    expect(entry.locator(".timeline > li", has_text=t["reflected_in_text"])).to_have_count(1)
    expect(entry.get_by_role("link", name=t["see_line"], exact=True)).to_be_visible()
    check_a11y(page)
    entry.get_by_role("link", name=t["see_change"], exact=True).click()
    expect(heading(page, t["results_heading"])).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/results#diff-{lights_id}$"))
    expect(page.locator(f"#diff-{lights_id}")).to_be_in_viewport()
    assert_diff(page, lights_id, t)
    check_a11y(page)

    # The receipt shows the answer too, and the consultation links to the results.
    page.goto(f"/consultations/receipts/{code}")
    expect(heading(page, t["receipt_heading"].format(code=code))).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(t["view_text"])
    expect(page.get_by_role("link", name=t["see_change"], exact=True)).to_have_attribute(
        "href", f"/consultations/{consultation_id}/results#diff-{lights_id}"
    )
    check_a11y(page)
    page.get_by_role("main").get_by_role("link", name=TITLE, exact=True).click()
    expect(heading(page, TITLE)).to_be_visible()
    expect(page.locator(".summary .badge")).to_have_text(t["results_published"])
    expect(page.get_by_role("link", name=t["see_results"], exact=True)).to_be_visible()
    check_a11y(page)

    # The answer arrived by e-mail, in the resident's language, with the link to their line.
    mail = mailbox.wait_for(email, t["answer_subject"].format(code=code))
    body = mailbox.body(mail)
    assert t["reflected"] in body, body
    url = next(u for u in re.findall(r"https?://\S+", body) if "/results/opinions/" in u)
    assert urlsplit(url).path == f"/consultations/{consultation_id}/results/opinions/{opinion}"
    page.goto(url)
    expect(page).to_have_url(re.compile(rf"#opinion-{opinion}$"))
    expect(page.locator(f"#opinion-{opinion}")).to_be_in_viewport()
    check_a11y(page)


# --- the tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("t", [JAPANESE, ENGLISH], ids=["ja", "en"])
def test_from_an_opinion_to_the_published_answer(t, live_app, open_page, check_a11y, mailbox):
    emails = create_people(live_app, t["lang"])
    consultation_id = draft_consultation(live_app, emails["staff"])

    staff = open_page(locale=t["locale"])
    sign_in(staff, check_a11y, emails["staff"], t)
    staff_open(staff, check_a11y, consultation_id, t)

    author = open_page(locale=t["locale"])
    sign_in(author, check_a11y, emails["author"], t)
    code = resident_send(author, check_a11y, mailbox, emails["author"], t)

    reader = open_page(locale=t["locale"])
    sign_in(reader, check_a11y, emails["reader"], t)
    resident_agree(reader, check_a11y, consultation_id, t)

    follower = open_page(locale=t["locale"])
    sign_in(follower, check_a11y, emails["follower"], t)
    someone_follows(follower, check_a11y, consultation_id, t)

    ids = {
        "consultation": consultation_id,
        "opinion": opinion_id(live_app, code),
        "lights": section_id(live_app, consultation_id, LIGHTS),
    }
    staff_close(staff, check_a11y, consultation_id, t)
    staff_answer(staff, check_a11y, code, t, keyboard=True)
    staff_write_final_text(staff, check_a11y, ids["lights"], t)
    staff_publish(staff, check_a11y, t)

    resident_reads_the_answer(author, check_a11y, mailbox, emails["author"], code, ids, t)

    # The follower, who sent nothing, is told of the results, in the site and by e-mail.
    follower.goto("/notifications/")
    expect(follower.locator("ol.notifications > li")).to_have_text(
        re.compile(re.escape(t["results_notification"]))
    )
    check_a11y(follower)
    mail = mailbox.wait_for(emails["follower"], t["results_subject"])
    assert f"/consultations/{consultation_id}/results" in mailbox.body(mail)
    assert not mailbox.to(emails["reader"])  # reacting is not following

    with live_app.app_context():
        opinion = db.session.get(Opinion, ids["opinion"])
        assert opinion.disposition == Disposition.REFLECTED
        assert opinion.answer.number == 1 and opinion.answer.body == t["view_text"]
        assert opinion.section.final_body == LIGHTS_FINAL
        assert opinion.consultation.state == State.PUBLISHED
        db.session.remove()


def closed_consultation_with_opinions(live_app, emails: dict, *texts: str) -> tuple[int, list]:
    """A closed consultation with opinions on the lights, sent by the author and the reader."""
    consultation_id = draft_consultation(live_app, emails["staff"])
    with live_app.app_context():
        staff = db.session.scalar(select(User).where(User.email == emails["staff"]))
        consultation = db.session.get(Consultation, consultation_id)
        consultation_ops.move(consultation, State.OPEN, staff)
        lights = next(s for s in consultation.sections if s.heading == LIGHTS)
        codes = []
        for key, text in zip(("author", "reader"), texts, strict=True):
            author = db.session.scalar(select(User).where(User.email == emails[key]))
            opinion, _ = consultation_ops.submit_opinion(
                consultation, author, moderation.scan(text), section=lights
            )
            codes.append(opinion.receipt_code)
        consultation.move(State.CLOSED)
        db.session.commit()
        db.session.remove()
    return consultation_id, codes


def test_review_and_publish_without_javascript_on_a_phone(live_app, open_page, check_a11y, mailbox):
    t = JAPANESE
    emails = create_people(live_app, "ja")
    consultation_id, codes = closed_consultation_with_opinions(
        live_app, emails, "通学路の照明を先に増やしてください。", "街灯をLEDにしてください。"
    )
    lights_id = section_id(live_app, consultation_id, LIGHTS)
    page = open_page(java_script_enabled=False, viewport=PHONE)
    sign_in(page, check_a11y, emails["staff"], t)
    page.goto(f"/consultations/{consultation_id}/review")
    expect(heading(page, t["review"])).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("2 件に区の考え方または対応がまだありません。")
    assert_fits_a_phone(page)
    check_a11y(page)

    # Publishing too early is refused and says why.
    page.get_by_role("button", name=t["publish"], exact=True).click()
    expect(page.locator(".flash-error")).to_contain_text("2 件に区の考え方")
    check_a11y(page)

    # Nothing ticked, no reason: the errors are summarised, linked and tied to their fields.
    page.get_by_label(t["view"], exact=True).fill("通学路から順に照明を増やします。")
    page.get_by_role("button", name=t["save_answer"], exact=True).click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("次の項目を確認してください")
    expect(
        summary.get_by_role("link", name=re.compile("意見を1件以上選んでください。"))
    ).to_have_attribute("href", "#opinions")
    expect(page.locator("#opinions-error")).to_contain_text("意見を1件以上選んでください。")
    reason = page.get_by_label(t["reason"], exact=True)
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_have_accessible_description(re.compile("対応の理由を入力してください。"))
    expect(page.get_by_label(t["view"], exact=True)).to_have_value(
        "通学路から順に照明を増やします。"
    )
    assert_fits_a_phone(page)
    check_a11y(page)

    # Both opinions ticked and answered together, with a summary of what they say.
    for code in codes:
        page.get_by_role("checkbox", name=t["pick"].format(code=code), exact=True).check()
    page.get_by_label("意見の概要", exact=True).fill("通学路の照明を増やしてほしいという意見")
    page.get_by_label(t["disposition"], exact=True).select_option(label=t["reflected"])
    reason.fill(t["reason_text"])
    page.get_by_role("button", name=t["save_answer"], exact=True).click()
    expect(flash(page)).to_contain_text("2 件の意見に区の考え方を保存しました。")
    assert_fits_a_phone(page)
    check_a11y(page)

    # The view is edited on its own page.
    page.goto(f"/consultations/{consultation_id}/review?show=all")
    check_a11y(page)
    page.locator("ol.review-list > li").first.get_by_role("link", name="No. 1").click()
    expect(heading(page, "区の考え方 No. 1")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("2 件の意見への回答です。")
    assert_fits_a_phone(page)
    check_a11y(page)
    body = page.get_by_label("区の考え方", exact=True)
    body.fill("")
    page.get_by_role("button", name="保存する", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("区の考え方を入力してください。")
    expect(body).to_have_attribute("aria-invalid", "true")
    check_a11y(page)
    body.fill(JAPANESE["view_text"])
    page.get_by_role("button", name="保存する", exact=True).click()
    expect(flash(page)).to_contain_text("区の考え方を保存しました。")
    check_a11y(page)

    # The final text, then publish from the review page.
    page.goto(f"/consultations/{consultation_id}/final")
    check_a11y(page)
    page.get_by_role("textbox", name=LIGHTS, exact=True).fill(LIGHTS_FINAL)
    page.get_by_role("button", name=t["save_final"], exact=True).click()
    expect(flash(page)).to_contain_text(t["final_saved"])
    assert_diff(page, lights_id, t)
    assert_fits_a_phone(page)
    check_a11y(page)
    page.get_by_role("link", name=t["review"], exact=True).click()
    check_a11y(page)
    page.get_by_role("button", name=t["publish"], exact=True).click()
    confirm(page, check_a11y)
    expect(flash(page)).to_contain_text("結果を公表し、")
    expect(heading(page, t["results_heading"])).to_be_visible()
    assert_fits_a_phone(page)
    check_a11y(page)

    # Published: the review page and the final text are read-only.
    page.goto(f"/consultations/{consultation_id}/review?show=all")
    expect(page.get_by_role("button", name=t["publish"])).to_have_count(0)
    for code in codes:
        expect(
            page.get_by_role("checkbox", name=t["pick"].format(code=code), exact=True)
        ).to_be_disabled()
    check_a11y(page)
    page.goto(f"/consultations/{consultation_id}/final")
    expect(page.get_by_role("button", name=t["save_final"])).to_have_count(0)
    check_a11y(page)

    # Anyone reads the results on a phone without JavaScript; the table scrolls in its box.
    for locale in ("ja-JP", "en-US"):
        reader = open_page(locale=locale, java_script_enabled=False, viewport=PHONE)
        reader.goto(f"/consultations/{consultation_id}/results")
        table = reader.get_by_role("region", name=re.compile("項目別・対応別の意見数|Opinions by"))
        expect(table.get_by_role("table")).to_be_visible()
        expect(reader.locator("article.result-group")).to_have_count(1)
        expect(reader.locator("ul.result-opinions > li")).to_have_count(2)
        assert_diff(reader, lights_id, JAPANESE if locale == "ja-JP" else ENGLISH)
        assert_fits_a_phone(reader)
        check_a11y(reader)

    with live_app.app_context():
        answers = list(db.session.scalars(select(Answer)))
        assert len(answers) == 1 and answers[0].summary == "通学路の照明を増やしてほしいという意見"
        assert db.session.scalar(select(Notification.id).limit(1)) is not None
        db.session.remove()
