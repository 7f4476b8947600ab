"""Registration, verification, log-in and log-out, password reset."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit import AuditEntry
from app.auth.models import User, UserSession
from tests.conftest import PASSWORD, csrf_token, login, post_form


def register(client, email="hanako@example.jp", name="山田 花子", password=PASSWORD, **extra):
    data = {"display_name": name, "email": email, "password": password, "agree": "y", **extra}
    return post_form(client, "/auth/register", data)


def test_register_verify_login_logout(client, db, mailbox):
    response = register(client)
    assert response.status_code == 200
    assert "hanako@example.jp" in response.get_data(as_text=True)
    user = db.session.scalar(select(User).where(User.email == "hanako@example.jp"))
    assert user.display_name == "山田 花子" and not user.is_verified
    assert user.password_hash.startswith("$argon2id$")

    link = mailbox.link("hanako@example.jp", "/auth/verify/")
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = client.get("/" + path)
    assert page.status_code == 200
    db.session.expire_all()
    assert not db.session.get(User, user.id).is_verified  # a GET changes nothing
    response = post_form(client, "/" + path, {}, page="/" + path)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).is_verified

    response = login(client, "HANAKO@example.jp")
    assert response.status_code == 302
    assert "ログアウト" in client.get("/").get_data(as_text=True)
    assert db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))

    response = post_form(client, "/auth/logout", {})
    assert response.status_code == 302
    assert "ログイン" in client.get("/").get_data(as_text=True)
    assert db.session.scalar(select(UserSession).where(UserSession.user_id == user.id)) is None
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"user.register", "user.verify_email", "user.login"} <= actions


def test_full_width_email_is_normalised(client, db, mailbox):
    register(client, email="ＨＡＮＡＫＯ＠ｅｘａｍｐｌｅ．ｊｐ")
    assert db.session.scalar(select(User.email)) == "hanako@example.jp"


def test_register_errors_are_shown_in_japanese(client, db):
    response = register(client, email="not-an-address", name="   ", password="password")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "表示名を入力してください。" in html
    assert "name@example.jp のような形式" in html
    assert "よく使われている" in html
    assert db.session.scalar(select(User)) is None


def test_register_errors_in_english(client, db):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    html = register(client, password="short").get_data(as_text=True)
    assert "Use at least 8 characters." in html
    assert '<html lang="en"' in html


def test_duplicate_registration_reveals_nothing_and_tells_the_owner(client, make_user, mailbox):
    user = make_user(email="taken@example.jp")
    response = register(client, email="taken@example.jp")
    assert response.status_code == 200
    assert "taken@example.jp" in response.get_data(as_text=True)
    assert "すでに登録されています" in mailbox.body(mailbox.last_to(user.email))


def test_password_rules(client, db):
    for bad in ("1234567", "x" * 129, "password1", "qwertyuiop"):
        register(client, email=f"{len(bad)}@example.jp", password=bad)
    assert db.session.scalar(select(User)) is None
    register(client, email="ok@example.jp", password="短いけど十分な長さ")
    assert db.session.scalar(select(User)) is not None


def test_login_failure_is_generic(client, make_user):
    user = make_user()
    wrong = login(client, user.email, "wrong password here").get_data(as_text=True)
    unknown = login(client, "nobody@example.jp").get_data(as_text=True)
    message = "メールアドレスまたはパスワードが正しくありません。"
    assert message in wrong and message in unknown


def test_login_redirects_only_to_local_next(client, make_user):
    user = make_user()
    for target, expected in [
        ("/account/", "/account/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
    ]:
        token = csrf_token(client, "/auth/login")
        response = client.post(
            "/auth/login",
            query_string={"next": target},
            data={"email": user.email, "password": PASSWORD, "csrf_token": token},
        )
        assert response.headers["Location"] == expected, target
        post_form(client, "/auth/logout", {})


def test_new_session_on_login(client, make_user):
    user = make_user()
    client.get("/")
    before = client.get_cookie("koe_session").value
    login(client, user.email)
    assert client.get_cookie("koe_session").value != before


def test_logout_makes_the_old_cookie_useless(app, client, make_user):
    user = make_user()
    login(client, user.email)
    stolen = client.get_cookie("koe_session").value
    post_form(client, "/auth/logout", {})
    other = app.test_client()
    other.set_cookie("koe_session", stolen)
    assert other.get("/account/").status_code == 302


def test_password_reset(client, db, make_user, mailbox):
    user = make_user(email="reset@example.jp")
    other = client.application.test_client()
    login(other, user.email)
    response = post_form(client, "/auth/reset", {"email": "reset@example.jp"})
    assert response.status_code == 200
    link = mailbox.link("reset@example.jp", "/auth/reset/")
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    response = post_form(client, path, {"password": "a brand new passphrase"}, page=path)
    assert response.status_code == 302
    assert login(client, user.email, "a brand new passphrase").status_code == 302
    # used once: the link no longer works, and the other browser was logged out
    assert client.get(path).status_code == 302
    assert other.get("/account/").status_code == 302


def test_reset_for_unknown_address_looks_the_same(client, mailbox):
    response = post_form(client, "/auth/reset", {"email": "nobody@example.jp"})
    assert response.status_code == 200
    assert "nobody@example.jp" in response.get_data(as_text=True)
    assert mailbox.messages == []


def test_expired_or_forged_tokens_are_refused(client, make_user):
    make_user()
    assert "無効" in client.get("/auth/verify/forged-token").get_data(as_text=True)
    assert client.get("/auth/reset/forged").status_code == 302


def test_mail_failure_is_logged_without_the_address(app, client, db, caplog):
    app.config["MAIL_PORT"] = 1  # nothing listens there
    response = post_form(
        client,
        "/auth/register",
        {"display_name": "x", "email": "private@example.jp", "password": PASSWORD, "agree": "y"},
    )
    assert response.status_code == 200  # the account exists; the link can be sent again
    assert db.session.scalar(select(User.email)) == "private@example.jp"
    assert "mail delivery failed" in caplog.text
    assert "private@example.jp" not in caplog.text


class TestRateLimits:
    """Limits count what an attacker does (wrong passwords, mails sent), not what staff do."""

    @pytest.fixture
    def app_config(self):
        return {
            "RATELIMIT_ENABLED": True,
            "LOGIN_LIMIT_IP": "4 per 10 minutes",
            "LOGIN_LIMIT_ACCOUNT": "2 per 10 minutes",
            "REGISTER_LIMIT_IP": "3 per hour",
            "RESET_LIMIT_ACCOUNT": "2 per hour",
            "PASSWORD_CHECK_LIMIT": "2 per 10 minutes",
        }

    def test_successful_log_ins_from_one_office_never_lock_it_out(self, app, make_user):
        staff = [make_user() for _ in range(3)]
        for _round in range(3):  # 9 log-ins from one address: more than the limit of 4
            for user in staff:
                client = app.test_client()
                assert login(client, user.email).status_code == 302
                assert post_form(client, "/auth/logout", {}).status_code == 302
        # wrong passwords count: 4 of them (on two accounts) close the door to this address
        client = app.test_client()
        for user in staff[:2]:
            for _ in range(2):
                assert login(client, user.email, "wrong password").status_code == 200
        assert login(client, staff[2].email).status_code == 429

    def test_full_width_and_upper_case_addresses_count_against_one_account(self, app, make_user):
        user = make_user(email="resb@example.jp")
        client = app.test_client()
        for variant in ("ｒｅｓｂ＠ｅｘａｍｐｌｅ．ｊｐ", "RESB@Example.JP"):
            response = login(client, variant, "wrong password")
            assert response.status_code == 200
            assert "正しくありません" in response.get_data(as_text=True)
        assert login(client, user.email).status_code == 429  # this account: two failures
        other = make_user()
        assert login(client, other.email).status_code == 302  # the address is still welcome

    def test_registration_counts_the_mails_it_sends_not_the_typing_mistakes(self, client, db):
        for _ in range(5):  # a weak password, shown again: no mail, not counted
            response = register(client, email="typo@example.jp", password="password")
            assert response.status_code == 200 and "よく使われている" in response.get_data(
                as_text=True
            )
        for n in range(3):
            assert register(client, email=f"new{n}@example.jp").status_code == 200
        assert register(client, email="new9@example.jp").status_code == 429
        assert db.session.scalar(select(User).where(User.email == "new2@example.jp"))

    def test_reset_requests_count_per_normalised_account(self, client, make_user, mailbox):
        make_user(email="reset@example.jp")
        for variant in ("reset@example.jp", "ＲＥＳＥＴ＠ｅｘａｍｐｌｅ．ｊｐ"):
            assert post_form(client, "/auth/reset", {"email": variant}).status_code == 200
        assert len(mailbox.to("reset@example.jp")) == 2
        response = post_form(client, "/auth/reset", {"email": "Reset@example.jp"})
        assert response.status_code == 429
        assert len(mailbox.to("reset@example.jp")) == 2

    def test_wrong_current_passwords_are_limited_per_account(self, client, logged_in):
        logged_in()
        data = {"current_password": "wrong password", "email": "new@example.jp"}
        for _ in range(2):
            response = post_form(client, "/account/email", data, page="/account/email")
            assert response.status_code == 200
            assert "パスワードが正しくありません" in response.get_data(as_text=True)
        data = {"current_password": "wrong password", "confirm": "y"}
        assert post_form(client, "/account/delete", data, page="/account/delete").status_code == 429
