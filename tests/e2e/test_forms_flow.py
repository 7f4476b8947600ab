"""Issue 6 in Chromium: staff build a form with a conditional question and a file upload and
open it; a resident fills it in from the profile, checks the confirmation page, sends it and
gets the receipt by e-mail (a real SMTP server); staff see the answer, the chart and the CSV;
the residents' summary hides small categories. axe checks every page, in Japanese and English.
"""

from __future__ import annotations

import pytest

from app.account.models import Profile
from app.auth import operations as auth_ops
from app.auth.models import Role
from app.extensions import db
from tests.conftest import PASSWORD
from tests.e2e.helpers import confirm, sign_in

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
TEXTS = {
    "ja-JP": {
        "check": "回答を確認する",
        "send": "回答を送信する",
        "subject": "回答を受け付けました",
        "hidden": "表示していない選択肢：午前、午後、その他。",
    },
    "en-US": {
        "check": "Check my answers",
        "send": "Send my answers",
        "subject": "Your answers were received",
        "hidden": "Not shown: 午前, 午後, その他.",
    },
}


def add_question(page, check_a11y, form_id: int, **values) -> None:
    page.goto(f"/forms/{form_id}/questions/new")
    check_a11y(page)
    page.locator("#kind").select_option(values.pop("kind"))
    for name, value in values.items():
        target = page.locator(f"#{name}")
        if value is True:
            target.check()
        elif name in ("show_if", "prefill"):
            target.select_option(label=value) if name == "show_if" else target.select_option(value)
        else:
            target.fill(value)
    page.locator("main form button[type=submit]").click()
    check_a11y(page)


@pytest.mark.parametrize("locale", ["ja-JP", "en-US"])
def test_build_fill_receive_and_summarise_a_form(live_app, open_page, check_a11y, mailbox, locale):
    t = TEXTS[locale]
    with live_app.app_context():
        auth_ops.create_user("職員", "staff@example.jp", PASSWORD, Role.STAFF)
        resident = auth_ops.create_user("区民", "resident@example.jp", PASSWORD, Role.RESIDENT)
        db.session.add(Profile(user_id=resident.id, full_name="声 花子", phone="03-1111-2222"))
        db.session.commit()
        db.session.remove()

    # staff build the form in the browser
    staff = open_page(locale=locale)
    sign_in(staff, check_a11y, "staff@example.jp")
    staff.goto("/forms/new")
    check_a11y(staff)
    staff.locator("#title").fill("保育園の見学申込")
    staff.locator("#summary_public").check()
    staff.locator("main form button[type=submit]").click()
    check_a11y(staff)
    form_id = int(staff.url.rstrip("/").split("/")[-2])
    add_question(staff, check_a11y, form_id, kind="short_text", label="お名前", required=True,
                 prefill="full_name")  # fmt: skip
    add_question(staff, check_a11y, form_id, kind="single", label="見学の希望",
                 choices="午前\n午後\nその他", required=True, public=True)  # fmt: skip
    add_question(staff, check_a11y, form_id, kind="short_text", label="ご希望の時間",
                 required=True, show_if="見学の希望", show_if_value="その他")  # fmt: skip
    add_question(staff, check_a11y, form_id, kind="file", label="母子手帳の写し",
                 maximum="2")  # fmt: skip
    staff.locator("button[name=to][value=open]").click()
    confirm(staff, check_a11y)
    check_a11y(staff)

    # a resident fills it in from the profile, checks it and sends it
    person = open_page(locale=locale)
    sign_in(person, check_a11y, "resident@example.jp")
    person.goto(f"/forms/{form_id}")
    check_a11y(person)
    person.locator(f"a[href='/forms/{form_id}?prefill=1']").click()
    check_a11y(person)
    name = person.locator("input[type=text]").first
    assert name.input_value() == "声 花子"
    later = person.locator("input[type=text]").nth(1)
    assert not later.is_visible()  # asked only for "その他" (JavaScript shows it when chosen)
    person.get_by_label("その他").check()
    assert later.is_visible()
    person.locator("input[type=text]").nth(1).fill("土曜の10時ごろ")
    person.locator("input[type=file]").set_input_files(
        files=[{"name": "techo.png", "mimeType": "image/png", "buffer": PNG}]
    )
    person.get_by_role("button", name=t["check"]).click()
    check_a11y(person)  # the confirmation page (確認画面)
    main = person.locator("main").inner_text()
    assert "声 花子" in main and "土曜の10時ごろ" in main and "techo.png" in main
    person.get_by_role("button", name=t["send"]).click()
    check_a11y(person)
    code = person.locator(".receipt-code").inner_text()
    mail = mailbox.wait_for("resident@example.jp")
    assert code in mail["Subject"] and t["subject"] in mail["Subject"]

    # staff see the answer, the chart and the CSV
    staff.goto(f"/forms/{form_id}/answers")
    check_a11y(staff)
    assert code in staff.locator("main").inner_text()
    staff.goto(f"/forms/{form_id}/summary")
    check_a11y(staff)
    assert staff.locator("svg[role=img]").count() == 1
    csv = staff.request.get(f"/forms/{form_id}/answers.csv")
    assert csv.ok and "土曜の10時ごろ" in csv.text() and "techo.png" in csv.text()

    # the residents' summary: a choice with one answer is too small to show
    person.goto(f"/forms/{form_id}/results")
    check_a11y(person)
    assert person.locator("main table").count() == 0
    assert t["hidden"] in person.locator("main").inner_text()

    # without JavaScript, on a phone: the conditional question shows, with its note
    plain = open_page(
        locale=locale, java_script_enabled=False, viewport={"width": 375, "height": 740}
    )
    sign_in(plain, check_a11y, "staff@example.jp")
    plain.goto(f"/forms/{form_id}")
    check_a11y(plain)
    assert plain.locator("input[type=text]").nth(1).is_visible()
    assert plain.locator("[data-when-note]").is_visible()
