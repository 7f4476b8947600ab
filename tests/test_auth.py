"""Registration, verification, log-in and log-out, password reset."""

from __future__ import annotations

from sqlalchemy import select

from app import jobs
from app.audit import AuditEntry
from app.auth.models import User, UserSession
from app.jobs import Job
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


def test_registration_costs_the_same_for_a_taken_and_a_new_address(
    client, make_user, mailbox, monkeypatch
):
    """No timing tells who has an account: both paths hash the password once and send one mail."""
    from argon2 import PasswordHasher

    calls = []
    for name in ("hash", "verify"):
        original = getattr(PasswordHasher, name)

        def counting(self, *args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(PasswordHasher, name, counting)
    make_user(email="taken@example.jp")
    work = {}
    for email in ("taken@example.jp", "new@example.jp"):
        calls.clear()
        mailbox.clear()
        response = register(client, email=email)
        assert response.status_code == 200 and email in response.get_data(as_text=True)
        work[email] = (list(calls), len(mailbox.messages))
    assert work["taken@example.jp"] == work["new@example.jp"] == (["hash"], 1)


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
    assert jobs.run_pending() == 1  # the worker sends it
    link = mailbox.link("reset@example.jp", "/auth/reset/")
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    response = post_form(client, path, {"password": "a brand new passphrase"}, page=path)
    assert response.status_code == 302
    assert login(client, user.email, "a brand new passphrase").status_code == 302
    # used once: the link no longer works, and the other browser was logged out
    assert client.get(path).status_code == 302
    assert other.get("/account/").status_code == 302


def test_reset_for_unknown_address_looks_the_same(client, db, make_user, mailbox):
    """The same page and the same work (one job, no mail during the request) on both paths."""
    make_user(email="known@example.jp", verified=False)
    for email in ("nobody@example.jp", "known@example.jp"):
        response = post_form(client, "/auth/reset", {"email": email})
        assert response.status_code == 200
        assert email in response.get_data(as_text=True)
    assert mailbox.messages == []  # no SMTP delivery times the answer
    assert [job.kind for job in db.session.scalars(select(Job))] == ["reset_mail"] * 2
    assert jobs.run_pending() == 2
    assert [m["To"] for m in mailbox.messages] == ["known@example.jp"]
    assert "/auth/reset/" in mailbox.body(mailbox.messages[0])


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
