"""Issue 7 (the chat) in Chromium: two residents and a moderator on an event's live page. A
message reaches the other browser at once; the moderator takes one away and it disappears for
both; a held message (a phone number) waits for the moderator and appears when published; a
resident without JavaScript posts with the plain form and the others see it live. axe checks
every page, in Japanese and English."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.auth import operations as auth_ops
from app.auth.models import Role
from app.events import operations
from app.events.models import Audience, Mode
from app.extensions import db
from app.timeutil import utcnow
from tests.conftest import PASSWORD
from tests.e2e.helpers import sign_in, tab_to


@pytest.fixture
def live_event(live_app):
    with live_app.app_context():
        people = {}
        for name, email, role in [
            ("職員", "staff@example.jp", Role.STAFF),
            ("区民 一郎", "ichiro@example.jp", Role.RESIDENT),
            ("Hanako", "hanako@example.jp", Role.RESIDENT),
            ("区民 三郎", "saburo@example.jp", Role.RESIDENT),
            ("モデレーター", "mod@example.jp", Role.MODERATOR),
        ]:
            people[email] = auth_ops.create_user(name, email, PASSWORD, role, verified=True)
        start = utcnow() - timedelta(minutes=5)
        data = operations.EventData(
            title="防災講座（ライブ）", description="", speakers="", department="防災課",
            starts_at=start, ends_at=start + timedelta(hours=2), mode=Mode.ONLINE, venue="",
            capacity=None, registration_required=False, audience=Audience.EVERYONE,
        )  # fmt: skip
        staff = people["staff@example.jp"]
        event = operations.save_event(None, data, staff)
        operations.publish(event, staff)
        db.session.commit()
        yield f"/events/{event.id}/live"
        db.session.remove()


def enter(open_page, check_a11y, email: str, url: str, **options):
    page = open_page(**options)
    sign_in(page, check_a11y, email)
    page.goto(url)
    check_a11y(page)
    return page


def connected(page, text: str) -> None:
    page.locator("#chat-status", has_text=text).wait_for()


def test_chat_between_browsers_with_a_moderator(open_page, check_a11y, live_event):
    ichiro = enter(open_page, check_a11y, "ichiro@example.jp", live_event)
    hanako = enter(open_page, check_a11y, "hanako@example.jp", live_event, locale="en-US")
    moderator = enter(open_page, check_a11y, "mod@example.jp", live_event)
    connected(ichiro, "接続中")
    connected(hanako, "Connected")
    connected(moderator, "接続中")

    ichiro.get_by_role("textbox", name="メッセージ").fill("避難所はどこですか？")
    ichiro.get_by_role("button", name="送信").click()
    hanako.locator("#chat-log li", has_text="避難所はどこですか？").wait_for()
    moderator.locator("#chat-log li", has_text="避難所はどこですか？").wait_for()
    check_a11y(hanako)

    hanako.get_by_role("textbox", name="Your message").fill("関係のない宣伝です")
    hanako.get_by_role("textbox", name="Your message").press(
        "Control+Enter"
    )  # no shortcut: nothing is sent
    hanako.get_by_role("button", name="Send").click()
    line = moderator.locator("#chat-log li", has_text="関係のない宣伝です")
    line.wait_for()
    ichiro.locator("#chat-log li", has_text="関係のない宣伝です").wait_for()
    line.get_by_role("button", name="取り下げる").click()
    for page in (ichiro, hanako, moderator):
        page.locator("#chat-log li", has_text="関係のない宣伝です").wait_for(state="detached")
    check_a11y(moderator)

    # a phone number: held; its author sees it marked, the others not until it is published
    ichiro.get_by_role("textbox", name="メッセージ").fill("詳しくは090-1234-5678まで")
    ichiro.get_by_role("button", name="送信").click()
    ichiro.locator("#chat-log li.held").wait_for()
    held = moderator.locator("#held-list li.held-item")
    held.wait_for()
    assert "090-1234-5678" not in held.inner_text()  # masked even for the moderators
    assert hanako.locator("#chat-log li", has_text="詳しくは").count() == 0
    held.get_by_role("button", name="公開する").click()
    hanako.locator("#chat-log li", has_text="詳しくは").wait_for()
    check_a11y(ichiro)

    # without JavaScript: the plain form; the others see the message live
    saburo = enter(
        open_page, check_a11y, "saburo@example.jp", live_event, java_script_enabled=False
    )
    saburo.get_by_role("textbox", name="メッセージ").fill("JavaScriptなしで送ります")
    saburo.get_by_role("button", name="送信").click()
    check_a11y(saburo)
    assert saburo.locator("#chat-log li", has_text="JavaScriptなしで送ります").count() == 1
    ichiro.locator("#chat-log li", has_text="JavaScriptなしで送ります").wait_for()
    # a reload shows the same messages once each
    hanako.reload()
    check_a11y(hanako)
    connected(hanako, "Connected")
    assert hanako.locator("#chat-log li", has_text="避難所はどこですか？").count() == 1
    assert hanako.locator("#chat-log li", has_text="関係のない宣伝です").count() == 0


def test_the_chat_by_keyboard_alone(open_page, check_a11y, live_event):
    """Write and send, report a message, take one away: Tab and Enter only. After each step
    the focus is somewhere useful (the message box, the thanks, the next message)."""
    ichiro = enter(open_page, check_a11y, "ichiro@example.jp", live_event)
    hanako = enter(open_page, check_a11y, "hanako@example.jp", live_event, locale="en-US")
    moderator = enter(open_page, check_a11y, "mod@example.jp", live_event)
    for page, text in ((ichiro, "接続中"), (hanako, "Connected"), (moderator, "接続中")):
        connected(page, text)
    ichiro.get_by_role("textbox", name="メッセージ").fill("こんばんは")
    ichiro.get_by_role("button", name="送信").click()
    moderator.locator("#chat-log li", has_text="こんばんは").wait_for()

    def focused(page, locator) -> bool:
        return page.evaluate("el => document.activeElement === el", locator.element_handle())

    # Hanako writes and sends by keyboard; the box is ready for the next message
    box = hanako.get_by_role("textbox", name="Your message")
    tab_to(hanako, box, limit=120)
    hanako.keyboard.type("Can I bring my dog to the shelter?")
    tab_to(hanako, hanako.get_by_role("button", name="Send", exact=True))
    hanako.keyboard.press("Enter")
    line = ichiro.locator("#chat-log li", has_text="Can I bring my dog")
    line.wait_for()
    assert focused(hanako, box) and box.input_value() == ""

    # Ichiro reports it: open the report, choose a reason, send; the thanks takes the focus
    summary = line.locator("details.report summary")
    tab_to(ichiro, summary, limit=120)
    ichiro.keyboard.press("Enter")
    ichiro.keyboard.press("Tab")
    assert focused(ichiro, line.get_by_role("combobox"))
    ichiro.keyboard.press("Tab")
    ichiro.keyboard.press("Enter")
    thanks = line.get_by_text("ご報告ありがとうございます。モデレーターが確認します。")
    thanks.wait_for()
    assert focused(ichiro, thanks)
    check_a11y(ichiro)

    # the moderator takes it away: gone for everyone, and the focus moves to the message
    # before it instead of being lost with it
    hide = moderator.locator("#chat-log li", has_text="Can I bring my dog").get_by_role(
        "button", name="取り下げる"
    )
    tab_to(moderator, hide, limit=120)
    moderator.keyboard.press("Enter")
    for page in (ichiro, hanako, moderator):
        page.locator("#chat-log li", has_text="Can I bring my dog").wait_for(state="detached")
    before = moderator.locator("#chat-log li", has_text="こんばんは").get_by_role(
        "button", name="取り下げる"
    )
    assert focused(moderator, before)
    check_a11y(moderator)


def _engine_sockets(live_app) -> set[str]:
    return set(live_app.extensions["socketio"].server.eio.sockets)


def _cut(live_app, known: set[str]) -> set[str]:
    """Cut a page's connection (the engine.io sockets not in ``known``) as a network does,
    once it is on its WebSocket, and return their ids. engine.io's own ``disconnect`` waits
    for the socket's outgoing queue to drain, which nothing does for a socket caught between
    polling and its WebSocket: the test would wait forever."""
    eio = live_app.extensions["socketio"].server.eio
    for _ in range(200):  # up to 10 s for the upgrade to the WebSocket
        sockets = {sid: s for sid, s in list(eio.sockets.items()) if sid not in known}
        if sockets and all(s.upgraded for s in sockets.values()):
            break
        eio.sleep(0.05)
    assert sockets and all(s.upgraded for s in sockets.values())
    for sid, sock in sockets.items():
        sock.close(wait=False, abort=True)
        eio.sockets.pop(sid, None)
    return set(sockets)


def test_forced_reconnects_show_each_message_once(open_page, check_a11y, live_app, live_event):
    """Ichiro's connection is cut again and again while Hanako writes: after each reconnect
    his page catches up with what it missed, once. A message that reaches it twice (the
    catch-up and the room at the same moment) is shown once, a catch-up older than newer
    lines goes in its place, and a message taken away never comes back."""
    from sqlalchemy import select

    from app.events.chat_models import ChatMessage

    sio = live_app.extensions["socketio"]
    hanako = enter(open_page, check_a11y, "hanako@example.jp", live_event, locale="en-US")
    connected(hanako, "Connected")
    hanako_sockets = _engine_sockets(live_app)
    ichiro = enter(open_page, check_a11y, "ichiro@example.jp", live_event)
    connected(ichiro, "接続中")
    event_id = int(live_event.split("/")[2])
    box = hanako.get_by_role("textbox", name="Your message")
    texts = []
    cut: set[str] = set()
    for n in range(4):  # with the last one, five: the chat's pace for one person
        ichiro_sockets = _cut(live_app, hanako_sockets | cut)  # cut Ichiro's connection
        assert ichiro_sockets and not ichiro_sockets & cut  # a new connection each time
        cut |= ichiro_sockets
        text = f"message {n} during a reconnect"
        texts.append(text)
        box.fill(text)
        box.press("Enter")  # Enter sends
        hanako.locator("#chat-log li", has_text=text).wait_for()
        ichiro.locator("#chat-log li", has_text=text).wait_for()
        ichiro.wait_for_function(
            "() => document.getElementById('chat-status').textContent.startsWith('接続中')"
        )
    with live_app.app_context():
        ids = db.session.scalars(select(ChatMessage.id).order_by(ChatMessage.id)).all()
    room = f"event-{event_id}"

    def line(message_id: int, text: str) -> dict:
        return {"id": message_id, "event": event_id, "client_id": None, "author": "Hanako",
                "text": text, "at": utcnow().isoformat(), "held": False}  # fmt: skip

    # the same message again, as a catch-up racing the room delivers it
    sio.emit("chat", line(ids[1], texts[1]), to=room, namespace="/live")
    # taken away, then a late catch-up that still held it
    sio.emit("removed", {"ids": [ids[3]]}, to=room, namespace="/live")
    sio.emit("chat", line(ids[3], texts[3]), to=room, namespace="/live")
    ichiro.locator("#chat-log li", has_text=texts[3]).wait_for(state="detached")
    box.fill("the last one")
    box.press("Enter")
    ichiro.locator("#chat-log li", has_text="the last one").wait_for()
    shown = ichiro.locator("#chat-log li .chat-text").all_inner_texts()
    assert shown == [*texts[:3], "the last one"]
    check_a11y(ichiro)


def test_enter_sends_shift_enter_breaks_the_line(open_page, check_a11y, live_event):
    hanako = enter(open_page, check_a11y, "hanako@example.jp", live_event, locale="en-US")
    connected(hanako, "Connected")
    assert hanako.get_by_text(
        "Enter sends the message; Shift+Enter starts a new line."
    ).is_visible()
    box = hanako.get_by_role("textbox", name="Your message")
    box.fill("first line")
    box.press("Shift+Enter")
    box.type("second line")
    assert box.input_value() == "first line\nsecond line"  # nothing sent yet
    # an input method composing (Japanese): Enter confirms the conversion, it does not send
    box.evaluate(
        """el => el.dispatchEvent(new KeyboardEvent("keydown",
            {key: "Enter", isComposing: true, bubbles: true, cancelable: true}))"""
    )
    assert hanako.locator("#chat-log li").count() == 0
    box.press("Enter")
    hanako.locator("#chat-log li", has_text="second line").wait_for()
    assert box.input_value() == ""
