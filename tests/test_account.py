"""The resident's account: profile, e-mail and password changes, their data, deletion."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from app.account.models import Profile
from app.audit import AuditEntry
from app.auth.models import Role, User, UserSession
from tests.conftest import PASSWORD, login, post_form

PROFILE = {
    "display_name": "やまだ",
    "full_name": "山田 花子",
    "furigana": "ヤマダ ハナコ",
    "postal_code": "〒１２３－４５６７",
    "address": "東京都声区中央一丁目2番3号\n声ハイツ101",
    "phone": "０３－１２３４－５６７８",
    "birth_year": "１９８５",
    "area": "north",
}


def test_account_pages_need_login(client):
    for path in ("/account/", "/account/profile", "/account/data", "/account/data.json"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/auth/login?next=" in response.headers["Location"]


def test_edit_profile_normalises_and_stores(client, db, logged_in):
    user = logged_in()
    response = post_form(client, "/account/profile", PROFILE)
    assert response.status_code == 302
    db.session.expire_all()
    profile = db.session.scalar(select(Profile).where(Profile.user_id == user.id))
    assert profile.full_name == "山田 花子"
    assert profile.furigana == "ヤマダ ハナコ"
    assert profile.postal_code == "123-4567"
    assert profile.phone == "03-1234-5678"
    assert profile.birth_year == 1985
    assert profile.address == "東京都声区中央一丁目2番3号\n声ハイツ101"
    assert profile.area == "north"
    assert db.session.get(User, user.id).display_name == "やまだ"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.profile"))
    assert "phone" in entry.details["fields"]
    assert "03" not in json.dumps(entry.details)  # names of fields, never the values


def test_profile_errors_keep_what_was_typed(client, db, logged_in):
    user = logged_in()
    bad = {
        **PROFILE,
        "furigana": "Yamada",
        "postal_code": "12-345",
        "phone": "12345",
        "birth_year": "1850",
        "area": "atlantis",
    }
    html = post_form(client, "/account/profile", bad).get_data(as_text=True)
    for message in (
        "ひらがなまたはカタカナ",
        "7桁の数字で入力してください",
        "国内で通話できる電話番号",
        "1900から",
        "一覧から地区を選んでください",
    ):
        assert message in html
    assert "東京都声区中央一丁目2番3号" in html  # nothing typed is lost
    assert 'aria-invalid="true"' in html
    assert db.session.scalar(select(Profile).where(Profile.user_id == user.id)) is None


def test_optional_fields_may_be_empty(client, db, logged_in):
    user = logged_in()
    response = post_form(client, "/account/profile", {"display_name": "なまえ"})
    assert response.status_code == 302
    profile = db.session.scalar(select(Profile).where(Profile.user_id == user.id))
    assert profile.phone is None and profile.area is None


def test_mobile_and_international_numbers(client, db, logged_in):
    user = logged_in()
    for typed, stored in [("090-1234-5678", "090-1234-5678"), ("+81 3 1234 5678", "03-1234-5678")]:
        post_form(client, "/account/profile", {"display_name": "x", "phone": typed})
        db.session.expire_all()
        assert db.session.get(User, user.id).profile.phone == stored


def test_data_page_and_json_download(client, logged_in):
    user = logged_in()
    post_form(client, "/account/profile", PROFILE)
    html = client.get("/account/data").get_data(as_text=True)
    assert "山田 花子" in html and "123-4567" in html and "北部地区" in html
    response = client.get("/account/data.json")
    assert response.headers["Content-Disposition"].startswith("attachment")
    data = response.get_json()
    assert data["account"]["email"] == user.email
    assert data["profile"]["address"] == PROFILE["address"]
    assert data["profile"]["birth_year"] == 1985
    assert any(item["action"] == "user.login" for item in data["activity"])
    assert "password_hash" not in response.get_data(as_text=True)


def test_change_password_ends_other_sessions(app, client, db, logged_in, mailbox):
    user = logged_in()
    other = app.test_client()
    login(other, user.email)
    assert db.session.scalar(select(func.count()).select_from(UserSession)) == 2
    wrong = post_form(
        client, "/account/password", {"current_password": "nope nope", "password": "new pass 123"}
    )
    assert "パスワードが正しくありません" in wrong.get_data(as_text=True)
    response = post_form(
        client, "/account/password", {"current_password": PASSWORD, "password": "new pass 123"}
    )
    assert response.status_code == 302
    assert client.get("/account/").status_code == 200  # this browser stays in
    assert other.get("/account/").status_code == 302  # the other one is out
    assert login(client.application.test_client(), user.email, "new pass 123").status_code == 302
    assert "パスワードが変更されました" in mailbox.last_to(user.email)["Subject"]


def test_change_email_needs_password_and_confirmation(client, db, logged_in, mailbox):
    user = logged_in(email="old@example.jp")
    wrong = post_form(
        client, "/account/email", {"email": "new@example.jp", "current_password": "wrong one"}
    )
    assert "パスワードが正しくありません" in wrong.get_data(as_text=True)
    assert mailbox.messages == []
    post_form(client, "/account/email", {"email": "new@example.jp", "current_password": PASSWORD})
    db.session.expire_all()
    assert db.session.get(User, user.id).email == "old@example.jp"  # not yet
    path = "/" + mailbox.link("new@example.jp", "/account/email/confirm/").split("/", 3)[3]
    assert "new@example.jp" in client.get(path).get_data(as_text=True)
    assert post_form(client, path, {}, page=path).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).email == "new@example.jp"
    assert mailbox.to("old@example.jp")  # the old address is told


def test_change_email_link_of_another_account_is_refused(app, client, db, make_user, mailbox):
    victim = make_user(email="victim@example.jp")
    attacker = make_user(email="attacker@example.jp")
    login(client, attacker.email)
    post_form(client, "/account/email", {"email": "mine@example.jp", "current_password": PASSWORD})
    path = "/" + mailbox.link("mine@example.jp", "/account/email/confirm/").split("/", 3)[3]
    victim_client = app.test_client()
    login(victim_client, victim.email)
    post_form(victim_client, path, {}, page=path)
    db.session.expire_all()
    assert db.session.get(User, victim.id).email == "victim@example.jp"


def test_delete_account_removes_personal_data(client, db, logged_in, mailbox):
    user = logged_in()
    user_id, email = user.id, user.email
    post_form(client, "/account/profile", PROFILE)
    no_confirm = post_form(client, "/account/delete", {"current_password": PASSWORD})
    assert "チェックを入れてください" in no_confirm.get_data(as_text=True)
    response = post_form(client, "/account/delete", {"current_password": PASSWORD, "confirm": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user_id) is None
    assert db.session.scalar(select(Profile)) is None
    assert db.session.scalar(select(UserSession)) is None
    entries = db.session.scalars(select(AuditEntry)).all()
    assert all(e.actor_id is None for e in entries)
    assert email not in json.dumps([e.details for e in entries])
    assert mailbox.to(email)
    assert client.get("/account/").status_code == 302


def test_data_download_holds_everything_of_the_person_and_nothing_of_others(
    app, client, db, make_user
):
    from app.consultations import operations as consultation_ops
    from app.consultations.models import ReactionKind
    from app.forms import operations as form_ops
    from app.moderation import operations as moderation_ops
    from tests.conftest import create_open_consultation
    from tests.test_events import create as create_event
    from tests.test_events import register
    from tests.test_online_forms import answers, build

    staff = make_user(role=Role.STAFF)
    staff_client = app.test_client()
    login(staff_client, staff.email)
    event = create_event(staff_client)
    online_form = build(staff_client)
    consultation = create_open_consultation(staff)
    me = make_user(display_name="わたし")
    other = make_user(display_name="となりの人", email="neighbour@example.jp")

    def opinion(author, text):
        scan = moderation_ops.scan_text(text, None, spam=False)
        return consultation_ops.submit_opinion(consultation, author, scan)[0]

    mine = opinion(me, "公園のベンチを増やしてください。")
    theirs = opinion(other, "となりの人だけの意見です。夜の照明が暗いです。")
    consultation_ops.react(theirs, me, ReactionKind.AGREE)
    form_ops.submit(online_form, me, answers(online_form), None)
    form_ops.submit(online_form, other, answers(online_form, お名前="隣人 太郎"), None)
    db.session.commit()
    mine_code, theirs_id = mine.receipt_code, theirs.id
    login(client, me.email)
    assert register(client, event).status_code == 302

    body = client.get("/account/data.json").get_data(as_text=True)
    data = json.loads(body)
    assert [o["receipt_code"] for o in data["opinions"]] == [mine_code]
    assert data["reactions"] == [
        {"opinion_id": theirs_id, "kind": "agree", "at": data["reactions"][0]["at"]}
    ]
    assert [a["form"]["title"] for a in data["form_answers"]] == ["公園利用アンケート"]
    assert "区民 花子" in json.dumps(data["form_answers"], ensure_ascii=False)
    registration = data["event_registrations"][0]
    assert registration["event"]["title"] == event.title
    assert registration["status"] == "confirmed"
    assert any(t["text"] == "公園のベンチを増やしてください。" for t in data["texts"])
    # nothing of the neighbour: not their text, answers, name or address
    for foreign in ("となりの人", "隣人 太郎", "neighbour@example.jp"):
        assert foreign not in body
    html = client.get("/account/data").get_data(as_text=True)
    assert mine_code in html and "イベントの申込み" in html


def test_log_out_of_all_other_devices(app, client, db, logged_in, make_user):
    user = logged_in()
    phone, tablet, neighbour = app.test_client(), app.test_client(), app.test_client()
    login(phone, user.email)
    login(tablet, user.email)
    login(neighbour, make_user().email)
    assert phone.get("/account/").status_code == 200
    page = client.get("/account/").get_data(as_text=True)
    assert "3台の端末でログインしています" in page
    # a state change: refused without the form's token
    assert client.post("/account/sessions/end-others").status_code == 400
    assert phone.get("/account/").status_code == 200
    response = post_form(client, "/account/sessions/end-others", {}, page="/account/")
    assert response.status_code == 302
    page = client.get("/account/").get_data(as_text=True)  # this browser stays in
    assert "ほかの2台の端末からログアウトしました" in page
    assert phone.get("/account/").status_code == 302
    assert tablet.get("/account/").status_code == 302
    assert neighbour.get("/account/").status_code == 200  # another person's session is theirs
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "user.logout_elsewhere")
    )
    assert entry.details == {"sessions_ended": 2}
