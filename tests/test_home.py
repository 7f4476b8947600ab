"""The home page shows what is open now, each card one link; a person who may not post
(unconfirmed address, muted account) is told above the form, before typing."""

from __future__ import annotations

import re
from datetime import timedelta

from app.auth.models import Role
from app.consultations.models import State
from app.events import operations as event_ops
from app.extensions import db as _db
from app.moderation import operations as moderation_ops
from app.moderation.models import SanctionKind
from tests.conftest import create_open_consultation, login, post_form
from tests.test_live_chat import new_event
from tests.test_online_forms import build


def cards(page: str, heading_id: str) -> list[str]:
    """The titles of the cards in the list labelled by ``heading_id``; each card is one link."""
    found = re.search(rf'<ul class="cards" aria-labelledby="{heading_id}">(.*?)</ul>', page, re.S)
    if not found:
        return []
    titles = []
    for card in re.findall(r'<li class="card linked">(.*?)</li>', found.group(1), re.S):
        links = re.findall(r'<a class="card-link" href="([^"]+)">([^<]+)</a>', card)
        assert len(links) == 1, card  # the whole card is this one link
        titles.append(links[0][1])
    return titles


def test_the_home_page_shows_what_is_open_now(app, client, db, make_user):
    staff = make_user(role=Role.STAFF)
    open_one = create_open_consultation(staff, title="公園整備計画（案）")
    closed = create_open_consultation(staff, title="締め切った計画（案）")
    closed.move(State.CLOSED)
    past_event = new_event(staff)
    past_event.title = "防災講座（終了）"
    past_event.ends_at = past_event.starts_at + timedelta(minutes=1)
    past_event.starts_at -= timedelta(days=1)
    past_event.ends_at -= timedelta(days=1)
    coming = new_event(staff, title="区民公開講座", starts_at=_later(3))
    cancelled = new_event(staff, title="中止した講座", starts_at=_later(4))
    event_ops.cancel(cancelled, staff)
    _db.session.commit()
    staff_client = app.test_client()
    login(staff_client, staff.email)
    online_form = build(staff_client)
    post_form(staff_client, "/forms/new", {"title": "下書きのフォーム"}, page="/forms/new")

    page = client.get("/").get_data(as_text=True)
    assert cards(page, "open-consultations") == [open_one.title]
    assert cards(page, "open-forms") == [online_form.title]
    assert cards(page, "coming-events") == [coming.title]
    assert f'href="/consultations/{open_one.id}"' in page
    assert f'href="/forms/{online_form.id}"' in page and f'href="/events/{coming.id}"' in page
    # what Koe offers: each card a link too
    assert (
        'class="card-link" href="/forms/"' in page and 'class="card-link" href="/events/"' in page
    )


def test_nothing_open_is_said_in_words(client, db):
    page = client.get("/").get_data(as_text=True)
    for text in ("いま意見を募集している案件はありません。", "いま受付中のフォームはありません。",
                 "予定されているイベントはありません。"):  # fmt: skip
        assert text in page


def _later(days: int):
    from app.timeutil import utcnow

    return utcnow().replace(microsecond=0) + timedelta(days=days)


def test_an_unconfirmed_person_is_told_before_typing_an_opinion(app, client, db, make_user):
    consultation = create_open_consultation(make_user(role=Role.STAFF))
    person = make_user(verified=False, email="new@example.jp")
    login(client, person.email)
    page = client.get(f"/consultations/{consultation.id}").get_data(as_text=True)
    assert "書き込む前に、メールアドレスの確認をお願いします。new@example.jp" in page
    assert 'action="/auth/verify/resend"' in page  # how to fix it, one button
    assert 'name="body"' not in page  # no box to type into
    # a text sent anyway (an old tab) is refused and kept, with the notice
    path = f"/consultations/{consultation.id}"
    sent = post_form(
        client, f"{path}/opinions", {"body": "公園にベンチを。", "key": "k1"}, page=path
    )
    assert sent.status_code == 422
    assert "公園にベンチを。" in sent.get_data(as_text=True)

    verified = app.test_client()
    login(verified, make_user().email)
    page = verified.get(f"/consultations/{consultation.id}").get_data(as_text=True)
    assert 'name="body"' in page and "メールアドレスの確認" not in page


def test_a_muted_person_is_told_before_typing_an_opinion_a_chat_message_or_a_question(
    app, client, db, make_user
):
    moderator = make_user(role=Role.MODERATOR)
    consultation = create_open_consultation(make_user(role=Role.STAFF))
    event = new_event(make_user(role=Role.STAFF), questions_enabled=True)
    person = make_user()
    moderation_ops.sanction(person, moderator, SanctionKind.MUTE, 3, "同じ投稿の繰り返し")
    _db.session.commit()
    login(client, person.email)
    page = client.get(f"/consultations/{consultation.id}").get_data(as_text=True)
    assert "まで投稿できません。理由：同じ投稿の繰り返し" in page and 'name="body"' not in page

    live = client.get(f"/events/{event.id}/live").get_data(as_text=True)
    assert live.count("まで投稿できません。理由：同じ投稿の繰り返し") == 2  # chat and questions
    assert 'id="chat-form"' not in live and 'id="ask-form"' not in live
    # and the chat refuses them too (it did not: a muted account could still chat)
    live_path = f"/events/{event.id}/live"
    said = {"text": "こんにちは", "client_id": "abcdefgh12"}
    refused = post_form(client, f"/events/{event.id}/chat", said, page=live_path)
    assert refused.status_code == 400
    assert "投稿が制限されている間は、投稿できません" in refused.get_data(as_text=True)


def test_an_unconfirmed_person_is_told_before_the_chat_and_registering(app, client, db, make_user):
    staff = make_user(role=Role.STAFF)
    event = new_event(staff)
    signup = new_event(staff, title="申込制の講座", registration_required=True, capacity=10,
                       starts_at=_later(2))  # fmt: skip
    signup.ends_at = signup.starts_at + timedelta(hours=1)
    _db.session.commit()
    person = make_user(verified=False, email="new@example.jp")
    login(client, person.email)
    live = client.get(f"/events/{event.id}/live").get_data(as_text=True)
    assert "書き込む前に、メールアドレスの確認をお願いします。" in live
    assert 'id="chat-form"' not in live
    show = client.get(f"/events/{signup.id}").get_data(as_text=True)
    assert "申し込むには、メールアドレスの確認が必要です。" in show
    assert f'action="/events/{signup.id}/register"' not in show
