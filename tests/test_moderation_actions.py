"""Reports hide items, sanctions mute and ban with the user told, statistics are public."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.audit import AuditEntry
from app.auth.models import Role, UserSession
from app.moderation import operations as moderation_ops
from app.moderation.models import ItemStatus, ModerationItem, Report, Sanction
from app.timeutil import utcnow
from tests.conftest import PASSWORD, login, post_form


@pytest.fixture
def app_config():
    return {"REPORT_HIDE_THRESHOLD": 2}


@pytest.fixture
def author(db, make_user):
    """A resident whose display name is published."""
    user = make_user(display_name="みどり")
    result = moderation_ops.scan_text("みどり", user, spam=False)
    moderation_ops.record("display_name", user.id, user, result)
    db.session.commit()
    return user


def item_of(db, user):
    db.session.expire_all()
    return db.session.scalar(select(ModerationItem).where(ModerationItem.author_id == user.id))


def report_as(app, make_user, author, reason="abuse"):
    reader = make_user()
    client = app.test_client()
    login(client, reader.email)
    page = f"/people/{author.id}"
    item_id = item_of_id(author)
    return client, post_form(
        client, f"/moderation/items/{item_id}/report", {"reason": reason, "next": page}, page=page
    )


def item_of_id(author):
    from app.extensions import db

    return db.session.scalar(select(ModerationItem.id).where(ModerationItem.author_id == author.id))


def test_the_public_page_shows_the_public_name_and_a_report_form(app, client, author, logged_in):
    html = client.get(f"/people/{author.id}").get_data(as_text=True)
    assert "みどり" in html and "報告" not in html  # anonymous visitors cannot report
    logged_in()
    html = client.get(f"/people/{author.id}").get_data(as_text=True)
    assert "報告する" in html and 'name="reason"' in html


def test_reports_hide_an_item_until_a_moderator_decides(app, client, db, author, make_user):
    _, response = report_as(app, make_user, author)
    assert response.status_code == 302
    assert item_of(db, author).status == ItemStatus.PUBLISHED
    report_as(app, make_user, author, reason="spam")
    item = item_of(db, author)
    assert item.status == ItemStatus.HELD and "reported" in item.reasons
    html = app.test_client().get(f"/people/{author.id}").get_data(as_text=True)
    assert "みどり" not in html and f"区民{author.id}" in html  # hidden
    assert db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "moderation.hidden_by_reports")
    )

    moderator = make_user(role=Role.MODERATOR)
    login(client, moderator.email)
    assert "読者からの報告" in client.get("/moderation/").get_data(as_text=True)
    path = f"/moderation/items/{item.id}"
    post_form(client, path, {"action": "approve", "d-code": "other"}, page=path)
    item = item_of(db, author)
    assert item.status == ItemStatus.PUBLISHED and item.report_count == 0
    assert all(r.resolved_at for r in db.session.scalars(select(Report)))


def test_a_report_counts_once_and_not_for_ones_own_item(app, client, db, author, make_user):
    reader = make_user()
    login(client, reader.email)
    item_id = item_of_id(author)
    page = f"/people/{author.id}"
    for _ in range(2):
        post_form(client, f"/moderation/items/{item_id}/report", {"reason": "abuse"}, page=page)
    assert item_of(db, author).report_count == 1
    own = app.test_client()
    login(own, author.email)
    response = post_form(own, f"/moderation/items/{item_id}/report", {"reason": "abuse"}, page=page)
    assert response.status_code == 403


def test_reporting_needs_a_login_and_a_valid_reason(app, client, db, author, make_user):
    item_id = item_of_id(author)
    response = post_form(client, f"/moderation/items/{item_id}/report", {"reason": "abuse"})
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    login(client, make_user().email)
    post_form(client, f"/moderation/items/{item_id}/report", {"reason": "because"})
    assert item_of(db, author).report_count == 0


def test_mute_stops_posting_and_the_user_is_told(app, client, db, author, make_user, mailbox):
    moderator = make_user(role=Role.MODERATOR)
    login(client, moderator.email)
    path = f"/moderation/users/{author.id}/sanctions"
    response = post_form(
        client, path, {"kind": "mute", "days": "7", "reason": "繰り返しの中傷"}, page=path
    )
    assert response.status_code == 302
    mail = mailbox.last_to(author.email)
    assert "制限" in mail["Subject"] and "繰り返しの中傷" in mailbox.body(mail)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "moderation.mute"))
    assert entry.actor_id == moderator.id and entry.target_id == str(author.id)

    muted = app.test_client()
    login(muted, author.email)
    assert "繰り返しの中傷" in muted.get("/account/").get_data(as_text=True)
    html = post_form(muted, "/account/profile", {"display_name": "あたらしい名前"}).get_data(
        as_text=True
    )
    assert "投稿できません" in html
    sanctions = muted.get("/account/data.json").get_json()["sanctions"]
    assert sanctions[0]["kind"] == "mute" and sanctions[0]["reason"] == "繰り返しの中傷"
    db.session.expire_all()
    assert db.session.get(type(author), author.id).display_name == "みどり"


def test_ban_ends_sessions_and_refuses_login_until_lifted(app, client, db, author, make_user):
    banned = app.test_client()
    login(banned, author.email)
    moderator = make_user(role=Role.MODERATOR)
    login(client, moderator.email)
    path = f"/moderation/users/{author.id}/sanctions"
    post_form(client, path, {"kind": "ban", "days": "3", "reason": "スパムの投稿"}, page=path)
    assert banned.get("/account/").status_code == 302
    assert db.session.scalar(select(UserSession).where(UserSession.user_id == author.id)) is None
    html = login(app.test_client(), author.email).get_data(as_text=True)
    assert "利用を停止しています" in html and "スパムの投稿" in html

    sanction = db.session.scalar(select(Sanction))
    post_form(client, f"/moderation/sanctions/{sanction.id}/lift", {}, page=path)
    assert login(app.test_client(), author.email).status_code == 302


def test_an_expired_sanction_no_longer_applies(app, db, author, make_user):
    moderator = make_user(role=Role.MODERATOR)
    moderation_ops.sanction(author, moderator, moderation_ops.SanctionKind.BAN, 1, "test")
    db.session.commit()
    db.session.execute(update(Sanction).values(ends_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    assert login(app.test_client(), author.email, PASSWORD).status_code == 302


def test_sanctions_are_for_moderators_and_not_against_staff(client, db, make_user, logged_in):
    staff = make_user(role=Role.STAFF)
    resident = make_user()
    logged_in(Role.STAFF)
    assert client.get(f"/moderation/users/{resident.id}/sanctions").status_code == 403
    moderator_client = client.application.test_client()
    login(moderator_client, make_user(role=Role.MODERATOR).email)
    assert moderator_client.get(f"/moderation/users/{staff.id}/sanctions").status_code == 403
    page = moderator_client.get(f"/moderation/users/{resident.id}/sanctions")
    assert page.status_code == 200
    empty = post_form(
        moderator_client,
        f"/moderation/users/{resident.id}/sanctions",
        {"kind": "ban", "days": "9999", "reason": " "},
        page=f"/moderation/users/{resident.id}/sanctions",
    ).get_data(as_text=True)
    assert "理由を入力してください" in empty and "一覧から選んでください" in empty
    assert db.session.scalar(select(Sanction)) is None


def test_public_statistics(app, client, db, make_user):
    moderator = make_user(role=Role.MODERATOR)
    held = []
    for name in ["田中 03-1234-5678", "ばかもの", "山田 a@example.jp"]:
        user = make_user()
        result = moderation_ops.scan_text(name, user, spam=False)
        held.append(moderation_ops.record("display_name", user.id, user, result))
    db.session.commit()
    moderation_ops.approve(held[0], moderator)
    moderation_ops.reject(held[1], moderator, "abuse")
    db.session.commit()
    stats = moderation_ops.statistics()
    assert stats["total"] == 3 and stats["decided"] == 2
    assert stats["by_status"] == {"published": 1, "rejected": 1, "held": 1}
    assert stats["by_reason"]["personal_data"] == 2
    assert stats["by_code"] == {"abuse": 1}
    assert stats["median_hours"] is not None
    html = client.get("/moderation/statistics").get_data(as_text=True)  # no login needed
    assert "モデレーションの統計" in html and "判断までの時間（中央値）" in html
    html = client.get("/moderation/statistics", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert "Median time to a decision" in html


def test_a_moderator_takes_down_an_approved_opinion_after_a_confirmation(
    app, client, db, make_user, logged_in
):
    """An approved opinion leaves the public page and the open data; the author is told."""
    from app.consultations import operations as consultation_ops
    from app.notifications.models import Notification
    from tests.conftest import create_open_consultation

    author = make_user()
    consultation = create_open_consultation(make_user(role=Role.STAFF))
    scan = moderation_ops.scan_text("公園の照明を明るくしてください。090-1234-5678", author)
    opinion, _ = consultation_ops.submit_opinion(consultation, author, scan)
    item = consultation_ops.item_of(opinion)
    db.session.commit()
    moderator = logged_in(Role.MODERATOR)
    page = f"/moderation/items/{item.id}"
    post_form(client, page, {"action": "approve", "d-code": "other"}, page=page)
    public = f"/consultations/{consultation.id}"
    api = f"/api/v1/consultations/{consultation.id}/opinions"
    assert "公園の照明を明るく" in app.test_client().get(public).get_data(as_text=True)
    assert "公園の照明を明るく" in app.test_client().get(api).get_data(as_text=True)

    confirm = f"/moderation/items/{item.id}/take-down"
    listed = client.get("/moderation/", query_string={"status": "published"})
    assert f'href="{confirm}"' in listed.get_data(as_text=True)  # found among published items
    html = client.get(page).get_data(as_text=True)
    assert f'href="{confirm}"' in html
    html = client.get(confirm).get_data(as_text=True)
    assert "はい、非公開にします" in html and "公園の照明を明るく" in html
    assert item_of(db, author).status == ItemStatus.PUBLISHED  # asking changes nothing
    assert client.post(confirm, data={"code": "abuse"}).status_code == 400  # no CSRF token
    response = post_form(client, confirm, {"code": "nonsense"}, page=confirm)
    assert response.status_code == 200 and item_of(db, author).status == ItemStatus.PUBLISHED
    response = post_form(client, confirm, {"code": "abuse"}, page=confirm)
    assert response.status_code == 302

    taken = item_of(db, author)
    assert taken.status == ItemStatus.REJECTED and taken.decision_code == "abuse"
    assert taken.decided_by_id == moderator.id
    for path in (public, api, f"{api}?format=csv"):
        assert "公園の照明を明るく" not in app.test_client().get(path).get_data(as_text=True)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "moderation.take_down"))
    assert entry is not None and entry.actor_id == moderator.id
    told = db.session.scalar(select(Notification).where(Notification.user_id == author.id))
    assert told is not None and told.kind == "text_taken_down"
    reader = app.test_client()
    login(reader, author.email)
    html = reader.get("/notifications/").get_data(as_text=True)
    assert "モデレーターが非公開にしました" in html
    # a second take-down changes nothing
    response = post_form(client, confirm, {"code": "spam"}, page=page)
    assert response.status_code == 302 and item_of(db, author).decision_code == "abuse"
