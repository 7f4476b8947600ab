"""The moderation library in the app: display names, the queue, decisions and word lists."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from app.audit import AuditEntry
from app.auth.models import Role, User
from app.moderation.models import BlockedWord, ItemStatus, ModerationItem
from tests.conftest import PASSWORD, login, post_form


def register(client, name, email="name@example.jp", lang=None):
    headers = {"Accept-Language": lang} if lang else {}
    data = {"display_name": name, "email": email, "password": PASSWORD, "agree": "y"}
    return post_form(client, "/auth/register", data, headers=headers)


def item_of(db, user_id):
    db.session.expire_all()
    return db.session.scalar(
        select(ModerationItem).where(
            ModerationItem.source == "display_name", ModerationItem.source_id == str(user_id)
        )
    )


def test_the_seed_word_list_is_in_the_database(db):
    words = set(db.session.scalars(select(BlockedWord.word)))
    assert {"死ね", "ばか", "idiot"} <= words


def test_a_threatening_display_name_is_refused_in_the_users_language(client, db):
    html = register(client, "死ねばいいのに").get_data(as_text=True)
    assert "攻撃的な表現が含まれているため" in html
    html = register(client, "I will kill you all", lang="en").get_data(as_text=True)
    assert "threatening or abusive words" in html
    assert db.session.scalar(select(User)) is None


def test_a_my_number_in_a_display_name_is_refused_and_never_stored(client, db):
    html = register(client, "田中 1234-5678-9018").get_data(as_text=True)
    assert "マイナンバー" in html
    assert db.session.scalar(select(User)) is None
    assert db.session.scalar(select(ModerationItem)) is None


def test_a_clean_display_name_is_published(client, db):
    register(client, "やまだ はなこ")
    user = db.session.scalar(select(User))
    item = item_of(db, user.id)
    assert item.status == ItemStatus.PUBLISHED and item.public_text == "やまだ はなこ"


def test_personal_data_in_a_display_name_is_held_and_masked(client, db):
    register(client, "田中 090-1234-5678")
    user = db.session.scalar(select(User))
    item = item_of(db, user.id)
    assert item.status == ItemStatus.HELD
    assert item.reasons == ["personal_data"]
    assert item.public_text == "田中 ［電話番号］"
    assert item.findings[0]["kind"] == "phone"
    assert "090" not in str(item.findings)  # spans, never the data


def test_changing_the_display_name_rescans_it(client, db, logged_in):
    user = logged_in()
    post_form(client, "/account/profile", {"display_name": "バカ野郎"})
    item = item_of(db, user.id)
    assert item.status == ItemStatus.HELD and item.reasons == ["blocked_word_review"]
    post_form(client, "/account/profile", {"display_name": "おだやか"})
    assert item_of(db, user.id).status == ItemStatus.PUBLISHED


@pytest.fixture
def held(client, db, make_user):
    """Three residents whose display names wait for a moderator."""
    from app.auth.models import User as U

    ids = []
    for i, name in enumerate(["田中 03-1234-5678", "ばかやろう", "mail me: a@example.jp"]):
        register(client, name, email=f"held{i}@example.jp")
        ids.append(db.session.scalar(select(U.id).where(U.email == f"held{i}@example.jp")))
    return [item_of(db, i).id for i in ids]


@pytest.mark.parametrize("role", [Role.RESIDENT, Role.STAFF])
def test_the_queue_is_for_moderators(client, logged_in, role):
    logged_in(role)
    assert client.get("/moderation/").status_code == 403


def test_queue_shows_reasons_and_highlighted_findings(client, held, logged_in):
    logged_in(Role.MODERATOR)
    html = client.get("/moderation/").get_data(as_text=True)
    assert "3件の項目が判断を待っています" in html
    assert (
        '<mark class="finding"><span class="finding-kind">電話番号:</span> 03-1234-5678</mark>'
        in html
    )
    assert "個人情報" in html


def test_approve_one_item(client, db, held, logged_in):
    moderator = logged_in(Role.MODERATOR)
    path = f"/moderation/items/{held[0]}"
    response = post_form(client, path, {"action": "approve", "d-code": "other"}, page=path)
    assert response.status_code == 302
    db.session.expire_all()
    item = db.session.get(ModerationItem, held[0])
    assert item.status == ItemStatus.PUBLISHED and item.decided_by_id == moderator.id
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "moderation.approve"))
    assert entry.actor_id == moderator.id and entry.target_id == str(held[0])


def test_bulk_reject_with_a_reason_code(client, db, held, logged_in):
    logged_in(Role.MODERATOR)
    response = post_form(
        client,
        "/moderation/decide",
        {"action": "reject", "code": "abuse", "item_id": [str(i) for i in held[1:]]},
        page="/moderation/",
    )
    assert response.status_code == 302
    db.session.expire_all()
    statuses = [db.session.get(ModerationItem, i).status for i in held]
    assert statuses == [ItemStatus.HELD, ItemStatus.REJECTED, ItemStatus.REJECTED]
    assert db.session.get(ModerationItem, held[1]).decision_code == "abuse"
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "moderation.reject")
    ).all()
    assert len(entries) == 2 and all(e.details["code"] == "abuse" for e in entries)
    # deciding again is refused politely, not a crash
    response = post_form(
        client,
        "/moderation/decide",
        {"action": "reject", "code": "abuse", "item_id": str(held[1])},
        page="/moderation/",
    )
    assert response.status_code == 302


def test_bulk_decision_needs_items_and_a_known_code(client, db, held, logged_in):
    logged_in(Role.MODERATOR)
    post_form(
        client, "/moderation/decide", {"action": "reject", "code": "because"}, page="/moderation/"
    )
    post_form(
        client, "/moderation/decide", {"action": "approve", "code": "other"}, page="/moderation/"
    )
    db.session.expire_all()
    assert all(db.session.get(ModerationItem, i).status == ItemStatus.HELD for i in held)


def test_edit_the_public_copy_masks_again(client, db, held, logged_in):
    logged_in(Role.MODERATOR)
    path = f"/moderation/items/{held[2]}"
    response = post_form(
        client, path, {"action": "edit", "c-public_text": "連絡先 b@example.jp まで"}, page=path
    )
    assert response.status_code == 302
    db.session.expire_all()
    item = db.session.get(ModerationItem, held[2])
    assert item.public_text == "連絡先 ［メールアドレス］ まで" and item.public_edited
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "moderation.edit"))


def test_staff_edit_the_word_list_and_it_takes_effect(app, client, db, logged_in):
    logged_in(Role.STAFF)
    response = post_form(
        client,
        "/moderation/words",
        {"word": "へんなことば", "severity": "reject"},
        page="/moderation/words",
    )
    assert response.status_code == 302
    other = app.test_client()
    html = register(other, "ヘンナ コトバさん", email="w@example.jp").get_data(as_text=True)
    assert "攻撃的な表現" in html
    duplicate = post_form(
        client,
        "/moderation/words",
        {"word": "へんなことば", "severity": "hold"},
        page="/moderation/words",
    )
    assert "すでに一覧にあります" in duplicate.get_data(as_text=True)
    entry = db.session.scalar(select(BlockedWord).where(BlockedWord.word == "へんなことば"))
    post_form(
        client, f"/moderation/words/{entry.id}/delete", {"confirm": "yes"}, page="/moderation/words"
    )
    assert register(other, "ヘンナ コトバさん", email="w@example.jp").status_code == 200
    assert db.session.scalar(select(User).where(User.email == "w@example.jp")) is not None
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"moderation.word_add", "moderation.word_remove"} <= actions


def test_an_exception_protects_an_innocent_word(client, db, logged_in):
    logged_in(Role.ADMIN)
    post_form(
        client,
        "/moderation/words",
        {"word": "ばかうけ", "severity": "hold", "exception": "y"},
        page="/moderation/words",
    )
    post_form(client, "/account/profile", {"display_name": "ばかうけ好き"})
    user = db.session.scalar(select(User))
    assert item_of(db, user.id).status == ItemStatus.PUBLISHED


def test_deleting_the_account_deletes_the_display_name_item(client, db, logged_in):
    logged_in()
    post_form(client, "/account/profile", {"display_name": "田中 03-1234-5678"})
    data = client.get("/account/data.json").get_json()
    assert data["texts"][0]["public_text"] == "田中 ［電話番号］"
    post_form(client, "/account/delete", {"current_password": PASSWORD, "confirm": "y"})
    db.session.expire_all()
    assert db.session.scalar(select(ModerationItem)) is None


def test_the_author_sees_that_their_name_waits_for_a_check(client, db, logged_in):
    user = logged_in()
    post_form(client, "/account/profile", {"display_name": "田中 03-1234-5678"})
    html = client.get("/account/").get_data(as_text=True)
    assert "モデレーターの確認を待っています" in html and f"区民{user.id}" in html


def test_linkify_filter_escapes_and_links(app):
    template = app.jinja_env.from_string("{{ text|linkify }}")
    html = template.render(text='<img src=x> 詳しくは https://koe.example.jp/a?b=1&c=2 "')
    assert html.startswith("&lt;img src=x&gt; 詳しくは ")
    assert '<a href="https://koe.example.jp/a?b=1&amp;c=2" rel="nofollow noopener ugc">' in html


def test_the_same_text_from_many_people_is_found_through_the_index(app, db, make_user):
    """A campaign: three people post the same text (the fourth one's is a burst); the check
    reads only the recent items that share a key of the near-duplicate index, which each
    stored text gets, an edit replaces, and the jobs worker forgets after the window."""
    from datetime import timedelta

    from app.moderation import operations as ops
    from app.moderation.models import ModerationBand
    from app.timeutil import utcnow

    campaign = "駅前の再開発計画には反対です。緑と商店街を残してください。"
    people = [make_user() for _ in range(4)]
    for n in range(60):  # other recent texts, not alike
        other = f"{n}番目の意見：図書館の開館時間を{n}時まで延ばしてほしいです。"
        ops.record("opinion", 9000 + n, None, ops.scan_text(other))  # on paper
    items = []
    for n, person in enumerate(people[:3]):
        result = ops.scan_text(campaign if n != 1 else campaign + "！", person)
        assert "burst" not in result.verdict.codes  # two others are not yet a campaign
        items.append(ops.record("opinion", 9100 + n, person, result))
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(ModerationBand)) == 63 * 8
    assert "burst" in ops.scan_text(campaign, people[3]).verdict.codes
    assert "burst" not in ops.scan_text("公園にベンチを増やしてください。", people[3]).verdict.codes

    # an edit replaces the item's keys: one of the three says something else now
    ops.record("opinion", 9102, people[2], ops.scan_text("緑を残すことに賛成です。", people[2]))
    db.session.commit()
    assert "burst" not in ops.scan_text(campaign, people[3]).verdict.codes
    assert db.session.scalar(select(func.count()).select_from(ModerationBand)) == 63 * 8

    # after the window: neither read nor kept
    ops.record("opinion", 9102, people[2], ops.scan_text(campaign, people[2]))
    db.session.commit()
    later = utcnow() + ops.BURST_WINDOW + timedelta(minutes=1)
    assert ops.forget_old_bands(now=later) == 63 * 8
    assert db.session.scalar(select(func.count()).select_from(ModerationBand)) == 0
    # deleting an item deletes its keys (the database's cascade)
    ops.record("opinion", 9109, people[0], ops.scan_text("新しい意見です", people[0]))
    db.session.commit()
    db.session.execute(delete(ModerationItem).where(ModerationItem.source_id == "9109"))
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(ModerationBand)) == 0


def test_the_queue_links_each_item_to_the_page_it_was_written_on(client, db, make_user, logged_in):
    """A held opinion links to its consultation, a held display name to the person's page."""
    from app.consultations import operations as consultation_ops
    from app.moderation import operations as moderation_ops
    from tests.conftest import create_open_consultation

    register(client, "ばかやろう", email="held@example.jp")
    named = db.session.scalar(select(User).where(User.email == "held@example.jp"))
    consultation = create_open_consultation(make_user(role=Role.STAFF), title="声区<公園>計画")
    author = make_user()
    scan = moderation_ops.scan_text("ベンチを増やして。090-1234-5678", author)
    opinion, _ = consultation_ops.submit_opinion(consultation, author, scan)
    item = consultation_ops.item_of(opinion)
    db.session.commit()
    moderator = client.application.test_client()
    login(moderator, make_user(role=Role.MODERATOR).email)
    html = moderator.get("/moderation/").get_data(as_text=True)
    link = f'<a href="/consultations/{consultation.id}">声区&lt;公園&gt;計画</a>'
    assert link in html
    assert f'<a href="/people/{named.id}">' in html
    html = moderator.get(f"/moderation/items/{item.id}").get_data(as_text=True)
    assert link in html
