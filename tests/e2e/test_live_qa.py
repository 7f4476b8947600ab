"""Issue 7 (Q&A and captions) in Chromium: staff name a captioner; a resident asks, another
(in English, by keyboard) upvotes, the moderator answers it ("answering now" for everyone)
and marks it answered (the archive); the captioner's lines show over the video for every
viewer; a resident without JavaScript asks and votes with the plain forms. axe checks every
page."""

from __future__ import annotations

from tests.e2e.test_live_chat import connected, enter, live_event  # noqa: F401  (a fixture)


def test_questions_and_captions_between_browsers(open_page, check_a11y, live_event):  # noqa: F811
    staff = enter(open_page, check_a11y, "staff@example.jp", live_event)
    staff.get_by_role("textbox", name="メールアドレスで字幕担当者を追加").fill("saburo@example.jp")
    staff.get_by_role("button", name="追加する", exact=True).click()
    staff.locator(".flash", has_text="字幕担当者を追加しました").wait_for()
    check_a11y(staff)

    ichiro = enter(open_page, check_a11y, "ichiro@example.jp", live_event)
    hanako = enter(open_page, check_a11y, "hanako@example.jp", live_event, locale="en-US")
    moderator = enter(open_page, check_a11y, "mod@example.jp", live_event)
    captioner = enter(open_page, check_a11y, "saburo@example.jp", live_event)
    for page, text in ((ichiro, "接続中"), (hanako, "Connected"), (moderator, "接続中")):
        connected(page, text)
    connected(captioner, "接続中")

    # ask: the others see it at once
    ichiro.get_by_role("textbox", name="あなたの質問").fill("避難所にペットは連れて行けますか？")
    ichiro.get_by_role("button", name="質問する").click()
    question = hanako.locator("#q-open li", has_text="避難所にペットは連れて行けますか？")
    question.wait_for()
    check_a11y(hanako)

    # upvote by keyboard; the asker sees the count move
    upvote = question.get_by_role("button", name="Upvote")
    upvote.focus()
    upvote.press("Enter")
    hanako.locator("#q-open li button[aria-pressed=true]").wait_for()
    ichiro.locator("#q-open li .q-votes", has_text="賛同 1").wait_for()
    assert ichiro.locator("#q-open li").get_by_role("button", name="賛同する").count() == 0

    # the moderator answers it now: pinned for everyone; then answered: the archive
    item = moderator.locator("#q-open li", has_text="避難所にペットは")
    item.get_by_role("button", name="今から回答する").click()
    for page in (ichiro, hanako, moderator):
        page.locator("#q-now li", has_text="避難所にペットは").wait_for()
    check_a11y(ichiro)
    moderator.locator("#q-now li").get_by_role("button", name="回答済みにする").click()
    for page in (ichiro, hanako):
        page.locator("#q-answered li", has_text="避難所にペットは").wait_for()
        assert page.locator("#q-now li").count() == 0
    check_a11y(moderator)

    # captions: the captioner presses Enter, every viewer sees the line over the video
    line = captioner.get_by_role("textbox", name="字幕の文")
    line.fill("ペットとの避難については、同行避難が原則です。")
    line.press("Enter")
    for page in (ichiro, hanako, moderator):
        page.locator("#captions", has_text="同行避難が原則です").wait_for()
    assert line.input_value() == ""  # ready for the next line at once
    check_a11y(captioner)
    check_a11y(hanako)

    # without JavaScript: ask and upvote with plain forms; the others see both live
    plain = enter(
        open_page, check_a11y, "hanako@example.jp", live_event, locale="en-US",
        java_script_enabled=False,
    )  # fmt: skip
    plain.get_by_role("textbox", name="Your question").fill("備蓄は何日分必要ですか？")
    plain.get_by_role("button", name="Ask", exact=True).click()
    check_a11y(plain)
    ichiro.locator("#q-open li", has_text="備蓄は何日分必要ですか？").wait_for()
    saburo = enter(
        open_page, check_a11y, "saburo@example.jp", live_event, java_script_enabled=False
    )
    saburo.locator("#q-open li", has_text="備蓄は何日分").get_by_role(
        "button", name="賛同する"
    ).click()
    check_a11y(saburo)
    ichiro.locator("#q-open li .q-votes", has_text="賛同 1").wait_for()
    assert saburo.locator("#captions", has_text="同行避難が原則です").count() == 1
